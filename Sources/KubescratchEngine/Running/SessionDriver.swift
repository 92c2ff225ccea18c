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
            if result.passed, index == lesson.steps.count - 1 {
                await afterStage?(lesson)
                if stageNumber == tutorial.book.stages.last?.stage, tutorial.readings.count > 1, let wrapUp = tutorial.readings.last {
                    engine.emit(.reading(wrapUp))
                }
            }
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

    /// Walks the tutorial step by step up to the end of stage `last`, as the plain runner does.
    /// With `breakIt`, each stage whose steps it ran is followed by the stage's break-it section.
    public func walk(through last: Int, breakIt: Bool = false, beforeStep: (@Sendable (Step) async -> Void)? = nil) async throws {
        var finishedHere: Set<Int> = []
        var brokenHere: Set<Int> = []
        while true {
            try Task.checkCancellation()
            let current = session
            guard let stage = current.currentStage else { return }
            if current.position.step >= stage.steps.count {
                if breakIt, finishedHere.contains(stage.number), !brokenHere.contains(stage.number) {
                    brokenHere.insert(stage.number)
                    try await tutorial.runBreakIt(stage.number, beforeStep: beforeStep)
                }
                if stage.number >= last || current.stage(stage.number + 1) == nil {
                    if current.nodeAt.stage < stage.number || current.nodeAt.step < stage.steps.count - 1 { return }
                    tutorial.engine.emit(.note("the node is at the end of stage \(stage.number)"))
                    return
                }
                await send(.next)
                continue
            }
            if stage.number > last { return }
            let step = stage.steps[current.position.step]
            if let lessonStep = tutorial.book.stage(stage.number)?.steps[current.position.step] { await beforeStep?(lessonStep) }
            await send(.next)
            try Task.checkCancellation()
            let after = session
            if case .failed(let detail)? = after.results[step.id], after.position == current.position {
                let lessonStep = tutorial.book.stage(stage.number)!.steps[current.position.step]
                throw StageFailure(stage: stage.number, step: lessonStep, detail: detail, stepNumber: current.position.step + 1,
                                   crash: tutorial.engine.lastCrash)
            }
            if after.position == current.position, let message = after.message {
                throw TutorialError.stuck(message)
            }
            if after.position.step >= stage.steps.count { finishedHere.insert(stage.number) }
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
