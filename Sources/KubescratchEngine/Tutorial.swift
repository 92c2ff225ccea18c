import Foundation
import KubescratchCore

/// The lessons found in a folder, validated together.
public struct LessonBook: Sendable {
    public var lessons: [Lesson]
    public var folder: String
    /// Answers given away before their Predict prompt (LessonParser.predictLeaks): `lessons check` prints them.
    public var warnings: [LessonError] = []

    public var stages: [Lesson] { lessons.filter { $0.stage != nil }.sorted { $0.stage! < $1.stage! } }
    public func stage(_ number: Int) -> Lesson? { lessons.first { $0.stage == number } }

    /// Reads every `*.md` in the folder; collects all errors rather than stopping at the first.
    public static func load(folder: String, assetsDir: String?) throws -> LessonBook {
        let files = try FileManager.default.contentsOfDirectory(atPath: folder).filter { $0.hasSuffix(".md") }.sorted()
        var manifests: Set<String>?
        if let assetsDir {
            manifests = Set((try? FileManager.default.contentsOfDirectory(atPath: assetsDir))?.filter { $0.hasSuffix(".yaml") } ?? [])
        }
        let parser = LessonParser(knownManifests: manifests)
        var lessons: [Lesson] = []
        var errors: [LessonError] = []
        var warnings: [LessonError] = []
        for file in files where file != "README.md" {
            let path = "\(folder)/\(file)"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                errors.append(LessonError(file: path, line: 1, message: "cannot read the file as UTF-8 text"))
                continue
            }
            do {
                let lesson = try parser.parse(text, file: path)
                lessons.append(lesson)
                warnings += LessonParser.predictLeaks(in: text, lesson: lesson)
            } catch {
                errors.append(error)
            }
        }
        var seenStages: [Int: String] = [:]
        for lesson in lessons {
            guard let stage = lesson.stage else { continue }
            if let other = seenStages[stage] {
                errors.append(LessonError(file: lesson.file, line: 1, message: "stage \(stage) is also defined in \(other)"))
            }
            seenStages[stage] = lesson.file
        }
        if errors.isEmpty, lessons.contains(where: { $0.stage != nil }) {
            let missing = Lesson.stages.filter { seenStages[$0] == nil }
            if !missing.isEmpty {
                errors.append(LessonError(file: folder, line: 0, message: "no lesson for stage \(missing.map(String.init).joined(separator: ", "))"))
            }
        }
        guard errors.isEmpty else { throw LessonBookError(errors: errors) }
        return LessonBook(lessons: lessons, folder: folder, warnings: warnings)
    }
}

public struct LessonBookError: Error, CustomStringConvertible {
    public var errors: [LessonError]
    public var description: String { errors.map(\.description).joined(separator: "\n") }
}

/// Moves the real node between stages: runs stages forward, and rewinds to the start of a stage to replay it.
public final class Tutorial: @unchecked Sendable {
    public let book: LessonBook
    public let engine: Engine
    let say: @Sendable (EngineEvent) -> Void

    public init(book: LessonBook, engine: Engine) {
        self.book = book
        self.engine = engine
        self.say = engine.emit
    }

    var context: EngineContext { engine.context }
    var layout: StateLayout { context.layout }

    public func loadProgress() -> TutorialProgress? {
        guard let data = FileManager.default.contents(atPath: layout.progressFile) else { return nil }
        return try? JSONDecoder().decode(TutorialProgress.self, from: data)
    }

    public var completedStage: Int { loadProgress()?.completedStage ?? 0 }

    /// The lessons without steps: the introduction first, the wrap-up last.
    public var readings: [Lesson] { book.lessons.filter { $0.stage == nil }.sorted { $0.file < $1.file } }

    func saveProgress(_ stage: Int, unfinished: Int? = nil, stepsDone: Int? = nil, betweenSteps: Bool? = nil) throws {
        let progress = TutorialProgress(completedStage: stage, unfinishedStage: unfinished, stepsDone: stepsDone, betweenSteps: betweenSteps,
                                        facts: context.facts, images: context.imageSource,
                                binDir: context.binDir)
        try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(progress).write(to: URL(fileURLWithPath: layout.progressFile), options: .atomic)
    }

    /// Components that should run after the completed stage but do not: they died or were stopped meanwhile.
    public func missingComponents() -> [ComponentID] {
        guard let lesson = book.stage(completedStage) else { return [] }
        // Workers beyond the lesson's own (`stage 6 --nodes N`) count once they have a folder.
        let extra = lesson.components.contains(where: \.isOnWorker) ? engine.workers.flatMap { ComponentID.on($0) } : []
        return (lesson.components + extra.filter { !lesson.components.contains($0) }).filter { context.supervisor.runningRecord($0) == nil }
    }

    /// Dependency order for starting many at once (after a reboot every component is gone): the runtime and the
    /// store, then the API server, the node agent, the controllers; each worker's after the first node's.
    static let recoveryOrder: [Program] = [.containerd, .etcd, .kubeAPIServer, .kubelet, .kubeScheduler, .kubeControllerManager, .kubeProxy]

    static func recoveryRank(_ component: ComponentID) -> Int {
        (component.worker?.index ?? 0) * 100 + (recoveryOrder.firstIndex(of: component.program) ?? 99)
    }

    /// Starts again what died since the last run, with the same plan it had, in dependency order.
    public func restartMissing() async throws {
        var missing = missingComponents()
        // A reboot also takes the workers' network and mount namespaces: their components have nothing to start
        // into. Stage 6 is then taken back (its rewind removes what is left of every worker) and run again.
        if let lost = missing.compactMap(\.worker).first(where: { !engine.workerHost($0).exists }) {
            say(.note("\(lost.name)'s network namespace is gone (did the machine restart?): stage 6 is taken back and run again"))
            missing.removeAll(where: \.isOnWorker)
            try saveProgress(min(completedStage, 5), unfinished: 6)
        }
        missing.sort { Self.recoveryRank($0) < Self.recoveryRank($1) }
        defer {
            if !missing.isEmpty, missingComponents().isEmpty {
                say(.note("the node is back at the end of stage \(completedStage): \(missing.map(\.name).joined(separator: ", ")) run again"))
            }
        }
        for component in missing {
            say(.note("\(component.name) should be running after stage \(completedStage) but is not (see \(layout.log(component))): starting it again"))
            let mode: KubeletMode = completedStage >= 2 ? .cluster : .standalone
            let step = Step(id: "restart-\(component.name)", title: "Start \(component.name) again", kind: .action(.start(component, mode), expectFailure: nil))
            try await runOrThrow(step, stage: completedStage)
        }
    }

    /// One step outside a stage's run (a restart, a heal): a failure throws, naming the stage and any crash.
    func runOrThrow(_ step: Step, stage: Int) async throws {
        let result = await engine.run(step)
        try Task.checkCancellation()
        if case .failed(let detail) = result { throw StageFailure(stage: stage, step: step, detail: detail, crash: engine.lastCrash) }
    }

    /// Runs the stages after the last completed one, up to `through`, without pauses (moving a node forward, and
    /// after a failed rewind). The learner's own runs go step by step through SessionDriver.
    public func run(through last: Int, beforeStep: (@Sendable (Step) async -> Void)? = nil) async throws {
        try await recover()
        var next = completedStage + 1
        if next == 1, let introduction = readings.first { say(.reading(introduction)) }
        if next > last {
            say(.note("the node is already at the end of stage \(completedStage); `kubescratch stage N` replays a stage"))
        }
        while next <= last {
            guard let lesson = book.stage(next) else { throw TutorialError.noLesson(next) }
            try saveProgress(next - 1, unfinished: next)
            try await engine.runStage(lesson, beforeStep: beforeStep)
            try saveProgress(next)
            await keepSnapshot(of: next)
            next += 1
        }
    }

    /// Brings the node back to a known point after whatever happened since the last run (a crash, a kill, Ctrl-C):
    /// first the components of the last completed stage run again (a rewind needs the API server), then a stage
    /// left half done is taken back to its start. When that rewind still fails, the node is reset and moved
    /// forward to the start of that stage instead, so `run` never fails the same way forever.
    public func recover() async throws {
        try await healCutBreakIt()
        try await restartMissing()
        try await rewindInterruptedStage()
    }

    /// Marks a break-it section under way: if kubescratch stops in the middle, the next start heals the node.
    var breakingMarker: String { "\(layout.root)/breaking-stage" }

    /// Runs a stage's break-it section on the node (which must be at the end of that stage).
    public func runBreakIt(_ stage: Int, beforeStep: (@Sendable (Step) async -> Void)? = nil) async throws {
        guard let lesson = book.stage(stage), !lesson.breakIt.isEmpty else { return }
        try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
        try "\(stage)\n".write(toFile: breakingMarker, atomically: true, encoding: .utf8)
        try await engine.runStage(lesson.breakItSection, beforeStep: beforeStep)
        try? FileManager.default.removeItem(atPath: breakingMarker)
    }

    /// A break-it section cut short (Ctrl-C, a failed check) may have left a component stopped or a static pod
    /// removed: its undo steps (starts, static pods put back) run before anything else.
    func healCutBreakIt() async throws {
        guard let text = try? String(contentsOfFile: breakingMarker, encoding: .utf8),
              let stage = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), let lesson = book.stage(stage) else { return }
        say(.note("the break-it section of stage \(stage) did not finish last time: healing the node first"))
        for step in lesson.breakItUndo {
            try await runOrThrow(step, stage: stage)
        }
        try? FileManager.default.removeItem(atPath: breakingMarker)
    }

    /// A stage left half done (kubescratch stopped in the middle of a step) is taken back to its start.
    func rewindInterruptedStage() async throws {
        guard let unfinished = loadProgress()?.unfinishedStage else { return }
        say(.note("stage \(unfinished) did not finish last time: taking the node back to its start first"))
        do {
            try await rewindUnfinished(unfinished)
        } catch let failure as StageFailure {
            say(.note("rewinding stage \(unfinished) failed (\(failure.detail.split(separator: "\n").first ?? "")): resetting the node and moving it forward to the start of stage \(unfinished) instead"))
            await Reset(layout: layout, say: { line in self.say(.note(line)) }).run()
            guard unfinished > 1 else { return }
            try await fastForward(toEndOf: unfinished - 1)
        }
    }

    /// Undoes a stage's partial work with its (idempotent) rewind steps, or resets for stage 1.
    func rewindUnfinished(_ stage: Int) async throws {
        guard stage > 1, let lesson = book.stage(stage) else {
            await Reset(layout: layout, say: { line in self.say(.note(line)) }).run()
            return
        }
        try await engine.runStage(lesson, steps: lesson.rewind, title: "Rewind stage \(stage)")
        try saveProgress(stage - 1)
    }

    /// Leaves the node as it was at the end of stage `target - 1`.
    public func moveToStart(of target: Int) async throws {
        try await recover()
        let current = completedStage
        if target == 1 {
            say(.note("stage 1 starts from an empty node: resetting"))
            await Reset(layout: layout, say: { line in self.say(.note(line)) }).run()
            return
        }
        // From any later or earlier point: reset and restore the end of the stage before, when it was kept. A reset
        // and a restore take seconds; rewinding stage after stage, or running the stages before, takes tens.
        if current != target - 1, snapshot(endOf: target - 1) != nil {
            say(.note("moving to the start of stage \(target) from the kept end of stage \(target - 1): resetting first"))
            await Reset(layout: layout, say: { line in self.say(.note(line)) }).run()
            try await fastForward(toEndOf: target - 1)
            return
        }
        if current >= target {
            do {
                try await restartMissing()
                for stage in stride(from: current, through: target, by: -1) {
                    guard let lesson = book.stage(stage) else { throw TutorialError.noLesson(stage) }
                    say(.note("rewinding stage \(stage)"))
                    try await engine.runStage(lesson, steps: lesson.rewind, title: "Rewind stage \(stage)")
                    try saveProgress(stage - 1)
                }
                return
            } catch let failure as StageFailure {
                say(.note("rewinding failed (\(failure.detail)); starting from an empty node instead"))
                await Reset(layout: layout, say: { line in self.say(.note(line)) }).run()
            }
        }
        try await fastForward(toEndOf: target - 1)
    }
}

public enum TutorialError: Error, CustomStringConvertible {
    case noLesson(Int)
    case stuck(String)
    public var description: String {
        switch self {
        case .noLesson(let stage): "no lesson for stage \(stage) in the lessons folder"
        case .stuck(let message): message
        }
    }
}
