import Foundation
import KubescratchCore

/// Carries out a tutorial session's effects on the real node and feeds the results back into the session.
/// Both the plain runner and the terminal screen drive the tutorial through this one path.
public final class SessionDriver: @unchecked Sendable {
    public let tutorial: Tutorial
    private let lock = NSLock()
    private var state: TutorialSession
    /// Called after each stage is done (the plain runner draws the node there).
    public var afterStage: (@Sendable (Lesson) async -> Void)?

    public init(tutorial: Tutorial) {
        self.tutorial = tutorial
        self.state = Self.freshSession(tutorial)
    }

    /// A session at the node's recorded progress; expected components that are not running count as broken.
    static func freshSession(_ tutorial: Tutorial) -> TutorialSession {
        let stages = tutorial.book.stages.map(TutorialSession.StageOutline.init)
        var session = TutorialSession(stages: stages, completedStage: tutorial.completedStage)
        if let progress = tutorial.loadProgress(), let stage = progress.unfinishedStage, progress.betweenSteps == true {
            session = TutorialSession(stages: stages, stage: stage, stepsDone: progress.stepsDone ?? 0)
        }
        session.broken = Set(session.componentsExpected.filter { tutorial.engine.context.supervisor.runningRecord($0) == nil })
        return session
    }

    public var session: TutorialSession { lock.withLock { state } }

    @discardableResult
    func mutate(_ event: SessionEvent) -> [SessionEffect] {
        lock.withLock { state.handle(event) }
    }

    /// Starts from the node's recorded progress: restarts components that died, then rewinds a stage left unfinished
    /// (or, after a clean stop between two steps, goes on from there).
    public func resume() async throws {
        let progress = tutorial.loadProgress()
        if let unfinished = progress?.unfinishedStage, progress?.betweenSteps == true {
            tutorial.engine.emit(.note("going on with stage \(unfinished) after step \(progress?.stepsDone ?? 0), where you stopped"))
            try await tutorial.carryOut(.resume)
        } else {
            try await tutorial.carryOut(.recover)
        }
        let fresh = Self.freshSession(tutorial)
        lock.withLock { state = fresh }
    }

    /// What the engine says while it works goes into the session's output pane too.
    public func observe(_ event: EngineEvent) {
        switch event {
        case .command(let text): mutate(.command(text))
        case .output(let text): mutate(.output(text))
        case .note(let text): mutate(.output("· " + text))
        case .waiting(let text, let elapsed): mutate(.waiting("\(text) — \(String(format: "%.1f", elapsed)) s"))
        case .componentCrashed(let crash): mutate(.componentCrashed(crash.component, crash.headline))
        default: break
        }
    }

    public func send(_ event: SessionEvent) async {
        for effect in mutate(event) { await perform(effect) }
    }

    func perform(_ effect: SessionEffect) async {
        let engine = tutorial.engine
        switch effect {
        case .runStep(let stageNumber, let index):
            guard let lesson = tutorial.book.stage(stageNumber), lesson.steps.indices.contains(index) else { return }
            let step = lesson.steps[index]
            mutate(.stepStarted(id: step.id, at: Date()))
            let result = await tutorial.runStep(PlannedRun(.stage(stageNumber), title: lesson.title, steps: lesson.steps), at: index)
            if Task.isCancelled {
                mutate(.stepFinished(id: step.id, passed: false, detail: "interrupted"))
                return
            }
            mutate(.stepFinished(id: step.id, passed: result.passed, detail: result.detail))
            if result.passed, index == lesson.steps.count - 1 { await finished(lesson) }
        case .moveNode(let target):
            do {
                try await tutorial.moveToStart(of: target)
                mutate(.arrived(stage: target))
            } catch {
                mutate(.moveFailed(String(describing: error)))
            }
        case .stopComponent(let component):
            let stop = Step(id: "break-\(component.name)", title: "Stop \(component.name) on purpose", kind: .action(.stop(component), expectFailure: nil))
            let result = await tutorial.runStep(PlannedRun(.restart, title: stop.title, steps: [stop]), at: 0)
            mutate(result.passed ? .componentChanged(component, running: false) : .componentChangeFailed(component, result.detail))
        case .startComponent(let component):
            let mode = component.isOnWorker ? .cluster : KubeletMode.onNode(atStage: session.nodeAt.stage, step: session.nodeAt.step)
            let start = Step(id: "mend-\(component.name)", title: "Start \(component.name) again", kind: .action(.start(component, mode), expectFailure: nil))
            let result = await tutorial.runStep(PlannedRun(.restart, title: start.title, steps: [start]), at: 0)
            mutate(result.passed ? .componentChanged(component, running: true) : .componentChangeFailed(component, result.detail))
        case .runBreakIt(let stage):
            let id = TutorialSession.breakItID(stage)
            do {
                try await tutorial.runBreakIt(stage)
                mutate(.stepFinished(id: id, passed: true, detail: "break-it section of stage \(stage) done: the node is healed"))
            } catch let failure as StageFailure {
                mutate(.stepFinished(id: id, passed: false, detail: failure.description))
            } catch {
                mutate(.stepFinished(id: id, passed: false, detail: Task.isCancelled ? "interrupted" : String(describing: error)))
            }
        }
    }

    /// The learner's run up to the end of stage `last`, as the plain runner does it: through the one step runner,
    /// which goes on from a stop between two steps and runs each stage's steps (and with `breakIt` its break-it
    /// section) in turn.
    public func walk(through last: Int, breakIt: Bool = false, beforeStep: (@Sendable (Step) async -> Void)? = nil) async throws {
        try await tutorial.carryOut(.learn(through: last, breakIt: breakIt), beforeStep: beforeStep) { [self] run in
            if case .stage(let stage) = run.kind, let lesson = tutorial.book.stage(stage) { await finished(lesson) }
        }
        if tutorial.completedStage >= last { tutorial.engine.emit(.note("the node is at the end of stage \(tutorial.completedStage)")) }
        let fresh = Self.freshSession(tutorial)
        lock.withLock { state = fresh }
    }

    /// A stage the learner ran is done: the plain runner draws the node, and after the last stage comes the wrap-up.
    func finished(_ lesson: Lesson) async {
        await afterStage?(lesson)
        if lesson.stage == tutorial.book.stages.last?.stage, tutorial.readings.count > 1, let wrapUp = tutorial.readings.last {
            tutorial.engine.emit(.reading(wrapUp))
        }
    }

    /// Brings the node to the start of a stage, as the screen's "go to stage" does after the learner says yes.
    public func replay(stage: Int) async throws {
        await send(.goToStage(stage))
        await send(.answer(true))
        let after = session
        if after.nodeAt != TutorialSession.Position(stage: stage, step: -1) {
            throw TutorialError.stuck(after.message ?? "could not bring the node to the start of stage \(stage)")
        }
    }
}
