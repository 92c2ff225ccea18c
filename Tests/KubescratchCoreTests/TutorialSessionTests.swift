import Foundation
import KubescratchCore
import Testing

@Suite struct TutorialSessionTests {
    static let stages: [TutorialSession.StageOutline] = (1...5).map { number in
        let components = Array(ComponentID.firstNode.prefix(number + 1 + (number > 1 ? 1 : 0)))
        return TutorialSession.StageOutline(number: number, title: "Stage \(number)",
                                            steps: (0..<3).map { .init(id: "s\(number)-\($0)", title: "step \($0)") }, components: components)
    }

    /// Runs a step the way the engine would: effect in, reports out.
    func run(_ session: inout TutorialSession, passing: Bool = true) -> [SessionEffect] {
        let effects = session.handle(.next)
        if case .runStep(let stage, let step)? = effects.first {
            let id = Self.stages[stage - 1].steps[step].id
            _ = session.handle(.stepStarted(id: id, at: Date()))
            _ = session.handle(.command("kubectl get pods"))
            _ = session.handle(.stepFinished(id: id, passed: passing, detail: passing ? "ok" : "broken"))
        }
        return effects
    }

    @Test func startsAtTheFirstStageNotDone() {
        #expect(TutorialSession(stages: Self.stages, completedStage: 0).position == .init(stage: 1, step: 0))
        let resumed = TutorialSession(stages: Self.stages, completedStage: 2)
        #expect(resumed.position == .init(stage: 3, step: 0))
        #expect(resumed.nodeAt == .init(stage: 3, step: -1))
        #expect(resumed.componentsExpected == Self.stages[1].components)
        #expect(TutorialSession(stages: Self.stages, completedStage: 5).position == .init(stage: 5, step: 3))
    }

    @Test func resumesAfterTheLastStepDone() {
        var session = TutorialSession(stages: Self.stages, stage: 2, stepsDone: 2)
        #expect(session.position == .init(stage: 2, step: 2))
        #expect(session.nodeAt == .init(stage: 2, step: 1))
        #expect(run(&session) == [.runStep(stage: 2, step: 2)])
        let none = TutorialSession(stages: Self.stages, stage: 3, stepsDone: 0)
        #expect(none.position == .init(stage: 3, step: 0) && none.nodeAt == .init(stage: 3, step: -1))
    }

    @Test func nextRunsTheStepThenMovesOn() {
        var session = TutorialSession(stages: Self.stages, completedStage: 0)
        #expect(run(&session) == [.runStep(stage: 1, step: 0)])
        #expect(session.position == .init(stage: 1, step: 1))
        #expect(session.nodeAt == .init(stage: 1, step: 0))
        #expect(session.output == ["$ kubectl get pods", "✓ ok"])
        _ = run(&session); _ = run(&session)
        #expect(session.position == .init(stage: 1, step: 3))
        #expect(session.nodeAt == .init(stage: 2, step: -1), "the end of stage 1 is the start of stage 2")
        #expect(session.handle(.next).isEmpty, "at a stage's end, next only turns the page")
        #expect(session.position == .init(stage: 2, step: 0))
        #expect(run(&session) == [.runStep(stage: 2, step: 0)])
    }

    @Test func busyIgnoresKeysAndFailureStays() {
        var session = TutorialSession(stages: Self.stages, completedStage: 0)
        #expect(session.handle(.next) == [.runStep(stage: 1, step: 0)])
        #expect(session.handle(.next).isEmpty)
        #expect(session.handle(.goToStage(2)).isEmpty && session.question == nil, "no question while busy")
        _ = session.handle(.stepFinished(id: "s1-0", passed: false, detail: "no"))
        #expect(session.position == .init(stage: 1, step: 0))
        #expect(session.results["s1-0"] == .failed("no"))
        #expect(session.message?.contains("failed") == true)
        #expect(run(&session) == [.runStep(stage: 1, step: 0)], "Enter retries the failed step")
    }

    @Test func previousOnlyMovesTheReading() {
        var session = TutorialSession(stages: Self.stages, completedStage: 1)
        _ = run(&session)
        _ = session.handle(.previous)
        #expect(session.position == .init(stage: 2, step: 0))
        #expect(session.handle(.next).isEmpty, "the node is past this step")
        #expect(session.message?.contains("Replay") == true)
        _ = session.handle(.previous)
        #expect(session.position == .init(stage: 1, step: 2))
        _ = session.handle(.next)
        #expect(session.message?.contains("past this step") == true)
    }

    /// Replay from every stage to every stage: asks, moves the node, lands at the start of the target.
    @Test(arguments: 0...5)
    func replayFromEveryStageToEveryStage(completed: Int) {
        for target in 1...5 {
            var session = TutorialSession(stages: Self.stages, completedStage: completed)
            #expect(session.handle(.goToStage(target)).isEmpty)
            #expect(session.question == .replayStage(target))
            #expect(session.handle(.answer(true)) == [.moveNode(toStartOf: target)])
            #expect(session.isBusy)
            _ = session.handle(.arrived(stage: target))
            #expect(session.position == .init(stage: target, step: 0))
            #expect(session.nodeAt == .init(stage: target, step: -1))
            #expect(run(&session) == [.runStep(stage: target, step: 0)])
        }
    }

    @Test func declinedReplayChangesNothing() {
        var session = TutorialSession(stages: Self.stages, completedStage: 3)
        _ = session.handle(.replayStage)
        #expect(session.question == .replayStage(4))
        #expect(session.handle(.answer(false)).isEmpty)
        #expect(session.position == .init(stage: 4, step: 0) && !session.isBusy)
    }

    @Test func breakItStopsAndStartsAComponent() {
        var session = TutorialSession(stages: Self.stages, completedStage: 3)
        #expect(session.handle(.toggleComponent(.kubeScheduler)) == [.stopComponent(.kubeScheduler)])
        _ = session.handle(.componentChanged(.kubeScheduler, running: false))
        #expect(session.broken == [.kubeScheduler])
        #expect(session.handle(.toggleComponent(.kubeScheduler)) == [.startComponent(.kubeScheduler)])
        _ = session.handle(.componentChanged(.kubeScheduler, running: true))
        #expect(session.broken.isEmpty)
        #expect(session.handle(.toggleComponent(.kubeProxy)).isEmpty, "not part of the node yet")
    }

    @Test func theEndIsSaid() {
        var session = TutorialSession(stages: Self.stages, completedStage: 5)
        _ = session.handle(.next)
        #expect(session.finished)
    }

    @Test func outputIsBounded() {
        var session = TutorialSession(stages: Self.stages, completedStage: 0)
        for index in 0..<(TutorialSession.outputLimit + 50) { _ = session.handle(.output("line \(index)")) }
        #expect(session.output.count == TutorialSession.outputLimit)
        #expect(session.output.last == "line \(TutorialSession.outputLimit + 49)")
    }
}

@Suite struct CrashOfferTests {
    @Test func aCrashOffersRestartWithRAndClearsWhenItRunsAgain() {
        var session = TutorialSession(stages: TutorialSessionTests.stages, completedStage: 2)
        _ = session.handle(.componentCrashed(.kubeAPIServer, "kube-apiserver killed by signal 9 (SIGKILL) after 41 s running"))
        #expect(session.crashedFirst == .kubeAPIServer)
        #expect(session.message == "kube-apiserver killed by signal 9 (SIGKILL) after 41 s running. Press r to restart it, l to look at its log.")
        #expect(session.handle(.replayStage) == [.startComponent(.kubeAPIServer)], "r restarts the crashed component instead of replaying")
        _ = session.handle(.componentChanged(.kubeAPIServer, running: true))
        #expect(session.crashed.isEmpty)
        #expect(session.handle(.replayStage).isEmpty && session.question == .replayStage(3), "without a crash, r asks to replay again")
    }

    @Test func movingTheNodeForgetsCrashes() {
        var session = TutorialSession(stages: TutorialSessionTests.stages, completedStage: 2)
        _ = session.handle(.componentCrashed(.etcd, "etcd exited with status 1 after 3 s running"))
        _ = session.handle(.arrived(stage: 2))
        #expect(session.crashed.isEmpty)
    }
}
