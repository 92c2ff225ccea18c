import Foundation
import KubescratchCore

/// The one step runner. Every way the node moves (the learner's steps one at a time, a replay, a recovery, a
/// break-it section, a rewind, the fast-forward, a join) goes through `carryOut`, which asks the pure `RunPlanner`
/// for the next run with the node as it is now, and `runStep`, the only place a step runs: its events, the progress
/// kept around it, and its stage's end.
extension Tutorial {
    public var planner: RunPlanner { RunPlanner(lessons: book.lessons) }

    /// Where the node is now, as the planner needs it.
    public func position() -> NodePosition {
        let progress = loadProgress()
        let completed = progress?.completedStage ?? 0
        let workers = engine.workers
        let recorded = context.supervisor.recordedComponents()
        let lost = workers.filter { !engine.workerHost($0).exists && recorded.contains(ComponentID(.kubelet, on: $0)) }
        let cut = (try? String(contentsOfFile: breakingMarker, encoding: .utf8)).flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        return NodePosition(completedStage: completed, unfinishedStage: progress?.unfinishedStage, betweenSteps: progress?.betweenSteps == true,
                            stepsDone: progress?.stepsDone ?? 0, cutBreakIt: cut, missing: missingComponents(), lostWorkers: lost, workers: workers,
                            snapshots: Set(StageSnapshot.stages.filter { snapshot(endOf: $0) != nil }))
    }

    /// Components that should run after the completed stage but do not: they died or were stopped meanwhile.
    public func missingComponents() -> [ComponentID] {
        guard let lesson = book.stage(completedStage) else { return [] }
        // Workers beyond the lesson's own (`stage 6 --nodes N`) count once they have a folder.
        let extra = lesson.components.contains(where: \.isOnWorker) ? engine.workers.flatMap { ComponentID.on($0) } : []
        return (lesson.components + extra).uniqued().filter { context.supervisor.runningRecord($0) == nil }
    }

    /// Runs what the planner says until the node is where `request` wants it. A rewind or a restore that fails is
    /// not an error: the planner takes another way (a reset, then forward). Anything else that fails throws.
    /// `beforeStep`: the plain runner's pause; `afterRun`: what the caller shows after each run (the node's diagram).
    public func carryOut(_ request: NodeRequest, beforeStep: (@Sendable (Step) async -> Void)? = nil,
                         afterRun: (@Sendable (PlannedRun) async -> Void)? = nil) async throws {
        var done: [PlannedRun.Kind] = []
        var failed: [PlannedRun.Kind] = []
        for _ in 0..<60 {
            try Task.checkCancellation()
            guard let run = planner.next(request, at: position(), done: done, failed: failed) else { return }
            for line in (run.note ?? "").split(separator: "\n") { say(.note(String(line))) }
            do {
                try await execute(run, beforeStep: beforeStep)
                done.append(run.kind)
                await afterRun?(run)
            } catch is CancellationError {
                throw CancellationError()
            } catch {
                if Task.isCancelled { throw CancellationError() }
                switch run.kind {
                case .rewind(let stage), .restore(let stage):
                    let why = ((error as? StageFailure)?.detail ?? String(describing: error)).split(separator: "\n").first ?? ""
                    let what = run.kind == .restore(stage) ? "restoring the end of stage \(stage)" : "rewinding stage \(stage)"
                    say(.note("\(what) failed (\(why)): taking another way"))
                    failed.append(run.kind)
                default:
                    throw error
                }
            }
        }
        throw TutorialError.stuck("the node did not reach what was asked (\(request)) after 60 runs: \(done.map(\.description).joined(separator: ", "))")
    }

    func execute(_ run: PlannedRun, beforeStep: (@Sendable (Step) async -> Void)?) async throws {
        switch run.kind {
        case .reset:
            await Reset(layout: layout, say: { line in self.say(.note(line)) }).run()
        case .restore(let stage):
            guard let snapshot = snapshot(endOf: stage) else { throw TutorialError.stuck("no kept end of stage \(stage)") }
            try await restore(snapshot)
        case .restart:
            try await runSteps(run, beforeStep: beforeStep)
            say(.note("the node is back at the end of stage \(completedStage): \(run.steps.map { $0.id.replacingOccurrences(of: "restart-", with: "") }.joined(separator: ", ")) run again"))
        case .heal:
            try await runSteps(run, beforeStep: beforeStep)
            try? FileManager.default.removeItem(atPath: breakingMarker)
        case .breakIt(let stage):
            try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
            try "\(stage)\n".write(toFile: breakingMarker, atomically: true, encoding: .utf8)
            try await runSteps(run, beforeStep: beforeStep)
            try? FileManager.default.removeItem(atPath: breakingMarker)
        case .rewind(let stage):
            try await runSteps(run, beforeStep: beforeStep)
            try saveProgress(stage - 1)
        case .stage, .join:
            try await runSteps(run, beforeStep: beforeStep)
        }
    }

    /// Every step of a run in turn; the first that fails ends it.
    func runSteps(_ run: PlannedRun, beforeStep: (@Sendable (Step) async -> Void)?) async throws {
        engine.fastForward = run.fastForward
        defer { engine.fastForward = false }
        for index in run.steps.indices where index >= run.from {
            try Task.checkCancellation()
            await beforeStep?(run.steps[index])
            let result = await runStep(run, at: index)
            try Task.checkCancellation()
            if case .failed(let detail) = result {
                throw StageFailure(stage: run.kind.stage ?? 0, step: run.steps[index], detail: detail, stepNumber: index + 1,
                                   crash: engine.lastCrash)
            }
        }
    }

    /// How a run shows in the output: the lesson's own title and closing words for its steps and break-it section,
    /// a title of its own otherwise. Restarts and heals say what they do in notes only.
    func shown(_ run: PlannedRun) -> Lesson? {
        switch run.kind {
        case .stage(let stage): return book.stage(stage)
        case .breakIt(let stage): return book.stage(stage)?.breakItSection
        case .rewind, .join:
            // Under their own title ("Rewind stage 6 done in …"): not the stage's own run.
            return Lesson(stage: nil, title: run.title, file: "", components: [], steps: run.steps, rewind: [], closing: "")
        case .reset, .restore, .restart, .heal:
            return nil
        }
    }

    /// The only place a step runs. Around it: the run's start and end (events, the introduction before stage 1),
    /// and for a stage the progress that lets the next start go on or take it back: the learner's runs keep it
    /// after every step (a clean stop resumes there), moving forward keeps it per stage (a stop takes it back).
    public func runStep(_ run: PlannedRun, at index: Int) async -> StepResult {
        let step = run.steps[index]
        let shown = shown(run)
        let stage: Int? = if case .stage(let number) = run.kind { number } else { nil }
        let isStage = stage != nil
        if index == 0 {
            if isStage, stage == 1, let introduction = readings.first { say(.reading(introduction)) }
            if let shown { say(.stageStarted(shown)) }
        }
        if isStage, let stage, !run.fastForward || index == 0 {
            try? saveProgress(stage - 1, unfinished: stage, stepsDone: run.fastForward ? nil : index, betweenSteps: run.fastForward ? nil : false)
        }
        if shown != nil { say(.stepStarted(step, index: index + 1, count: run.steps.count)) }
        let started = Date()
        let result = run.fastForward && step.skippedWhenFastForwarding
            ? StepResult.passed("not waited for while moving forward (it only shows something; the node gets there by itself)")
            : await engine.run(step)
        // Interrupted: the step did not fail, it did not finish; the saved progress has the stage rewound next time.
        if Task.isCancelled { return .failed("interrupted") }
        if shown != nil { say(.stepFinished(step, result, seconds: Date().timeIntervalSince(started))) }
        guard result.passed else { return result }
        let last = index == run.steps.count - 1
        if isStage, let stage {
            if !last, !run.fastForward {
                try? saveProgress(stage - 1, unfinished: stage, stepsDone: index + 1, betweenSteps: true)
            }
            if last {
                try? saveProgress(stage)
            }
        }
        if last, let shown {
            say(.stageFinished(shown, seconds: Date().timeIntervalSince(engine.stageStarted ?? started)))
            if isStage, let stage { await keepSnapshot(of: stage) }
        }
        return result
    }
}

extension PlannedRun.Kind {
    /// The stage the run belongs to.
    public var stage: Int? {
        switch self {
        case .heal(let stage), .rewind(let stage), .restore(let stage), .stage(let stage), .breakIt(let stage): stage
        case .reset, .restart, .join: nil
        }
    }
}
