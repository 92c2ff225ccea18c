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

    /// Marks a break-it section under way: if kubescratch stops in the middle, the next start heals the node.
    var breakingMarker: String { "\(layout.root)/breaking-stage" }

    /// Back to a known point after whatever happened since the last run (a crash, a kill, Ctrl-C, a reboot).
    public func recover() async throws { try await carryOut(.recover) }

    /// Leaves the node as it was at the end of stage `target - 1`.
    public func moveToStart(of target: Int) async throws { try await carryOut(.moveToStart(target)) }

    /// Runs a stage's break-it section on the node (which must be at the end of that stage).
    public func runBreakIt(_ stage: Int, beforeStep: (@Sendable (Step) async -> Void)? = nil) async throws {
        try await carryOut(.breakIt(stage), beforeStep: beforeStep)
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
