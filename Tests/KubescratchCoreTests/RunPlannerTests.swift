import Foundation
import KubescratchCore
import Testing

/// The planner on the shipped lessons: each case walks a request to its end the way the engine does, asking for the
/// next run with the node as that run left it (a small model of the node below), so a plan is judged by where it
/// takes the node, not by its first step only.
@Suite struct RunPlannerTests {
    static let lessons: [Lesson] = {
        let parser = LessonParser()
        return try! FileManager.default.contentsOfDirectory(atPath: Repo.lessons).filter { $0.hasSuffix(".md") && $0 != "README.md" }.sorted()
            .map { try! parser.parse(String(contentsOfFile: "\(Repo.lessons)/\($0)", encoding: .utf8), file: $0) }
    }()
    let planner = RunPlanner(lessons: Self.lessons)

    /// What each run does to the node, as far as the planner can tell; `failing` runs fail instead.
    func walk(_ request: NodeRequest, from start: NodePosition, failing: Set<PlannedRun.Kind> = []) -> (runs: [PlannedRun], end: NodePosition) {
        var position = start
        var runs: [PlannedRun] = []
        var done: [PlannedRun.Kind] = [], failed: [PlannedRun.Kind] = []
        while let run = planner.next(request, at: position, done: done, failed: failed) {
            runs.append(run)
            if runs.count > 30 { Issue.record("no end: \(runs.map(\.kind))"); break }
            if failing.contains(run.kind) { failed.append(run.kind); continue }
            done.append(run.kind)
            switch run.kind {
            case .heal: position.cutBreakIt = nil
            case .restart: position.missing.removeAll { position.lostWorkers.isEmpty || !$0.isOnWorker }
            case .rewind(let stage):
                position.completedStage = stage - 1
                position.unfinishedStage = nil
                if stage == 6 { position.workers = []; position.lostWorkers = []; position.missing = [] }
            case .reset: position = NodePosition(snapshots: position.snapshots)
            case .restore(let stage), .stage(let stage):
                position.completedStage = stage
                position.unfinishedStage = nil
                position.betweenSteps = false
            case .join(let worker): position.workers.append(worker)
            case .breakIt: break
            }
        }
        return (runs, position)
    }

    @Test func resumingBetweenStepsOnlyStartsWhatDied() {
        let at = NodePosition(completedStage: 3, unfinishedStage: 4, betweenSteps: true, missing: [.kubeScheduler])
        let (runs, end) = walk(.resume, from: at)
        #expect(runs.map(\.kind) == [.restart])
        #expect(runs[0].steps.map(\.id) == ["restart-kube-scheduler"])
        #expect(end.unfinishedStage == 4, "a clean stop goes on where it was")
        // The same node recovered (not resumed) has its unfinished stage taken back.
        #expect(walk(.recover, from: at).runs.map(\.kind) == [.restart, .rewind(4)])
    }

    @Test func deadComponentsStartInDependencyOrder() {
        let at = NodePosition(completedStage: 6, missing: [.kubeProxy, ComponentID(.kubelet, on: .second), .kubelet, .kubeAPIServer, .etcd, .containerd])
        let run = planner.next(.recover, at: at)
        #expect(run?.kind == .restart)
        #expect(run?.steps.map(\.id) == ["restart-containerd", "restart-etcd", "restart-kube-apiserver", "restart-kubelet", "restart-kube-proxy", "restart-node-2-kubelet"])
        #expect(run?.steps.last?.kind == .action(.start(ComponentID(.kubelet, on: .second), .cluster), expectFailure: nil))
        #expect(run?.note?.split(separator: "\n").first == "containerd should be running after stage 6 but is not: starting it again")
        #expect(run?.note?.split(separator: "\n").count == 6)
    }

    @Test func aRebootTakesStageSixBack() {
        let at = NodePosition(completedStage: 6, missing: [.containerd, .kubelet, ComponentID(.kubelet, on: .second)],
                              lostWorkers: [.second, WorkerNode(index: 3)!], workers: [.second, WorkerNode(index: 3)!])
        let (runs, end) = walk(.recover, from: at)
        #expect(runs.map(\.kind) == [.restart, .rewind(6)])
        #expect(runs[0].steps.map(\.id) == ["restart-containerd", "restart-kubelet"], "nothing of a lost worker is started")
        #expect(runs[1].note?.contains("network namespace is gone") == true)
        // The rewind removes node-3 by the lesson's own removal, then node-2.
        let removals = runs[1].steps.compactMap { step -> String? in
            if case .action(.worker(.remove, let node), _) = step.kind { node.name } else { nil }
        }
        #expect(removals == ["node-3", "node-2"])
        #expect(end.completedStage == 5)
    }

    @Test func aCutBreakItIsHealedFirst() {
        let at = NodePosition(completedStage: 3, cutBreakIt: 3, missing: [.kubeScheduler])
        let runs = walk(.recover, from: at).runs
        #expect(runs.first?.kind == .heal(3))
        #expect(runs.first?.steps.contains { $0.kind == .action(.start(.kubeScheduler, .cluster), expectFailure: nil) } == true)
    }

    @Test func replayingAnEarlierStageRewindsOrRestores() {
        // No kept ends: the later stages are rewound, newest first.
        let (rewinds, atThree) = walk(.moveToStart(3), from: NodePosition(completedStage: 5))
        #expect(rewinds.map(\.kind) == [.rewind(5), .rewind(4), .rewind(3)])
        #expect(atThree.completedStage == 2)
        // With the end of stage 2 kept: reset and restore it, whatever stage the node is at.
        let (restored, end) = walk(.moveToStart(3), from: NodePosition(completedStage: 6, workers: [.second], snapshots: [2, 3, 4, 5]))
        #expect(restored.map(\.kind) == [.reset, .restore(2)])
        #expect(end.completedStage == 2)
    }

    @Test func replayingALaterStageMovesForward() {
        let (runs, end) = walk(.moveToStart(5), from: NodePosition(completedStage: 2))
        #expect(runs.map(\.kind) == [.stage(3), .stage(4)])
        #expect(runs.allSatisfy(\.fastForward) && end.completedStage == 4)
        // From an empty node with the end of stage 4 kept: one restore.
        #expect(walk(.moveToStart(5), from: NodePosition(snapshots: [4])).runs.map(\.kind) == [.restore(4)])
        // Already there: nothing.
        #expect(walk(.moveToStart(5), from: NodePosition(completedStage: 4)).runs.isEmpty)
        // Stage 1 always starts from a reset node.
        #expect(walk(.moveToStart(1), from: NodePosition(completedStage: 3)).runs.map(\.kind) == [.reset])
    }

    @Test func aFailedRewindResetsAndMovesForward() {
        let (runs, end) = walk(.moveToStart(3), from: NodePosition(completedStage: 5), failing: [.rewind(4)])
        #expect(runs.map(\.kind) == [.rewind(5), .rewind(4), .reset, .stage(1), .stage(2)])
        #expect(end.completedStage == 2)
        // Recovering an interrupted stage whose rewind fails: reset, then forward to where the rewind would have left it.
        let (recovered, at) = walk(.recover, from: NodePosition(completedStage: 3, unfinishedStage: 4, snapshots: [3]), failing: [.rewind(4)])
        #expect(recovered.map(\.kind) == [.rewind(4), .reset, .restore(3)])
        #expect(at.completedStage == 3)
    }

    @Test func aFailedRestoreResetsAndRunsTheSteps() {
        let (runs, end) = walk(.moveToStart(3), from: NodePosition(snapshots: [2]), failing: [.restore(2)])
        #expect(runs.map(\.kind) == [.restore(2), .reset, .stage(1), .stage(2)])
        #expect(end.completedStage == 2)
    }

    @Test func extraWorkersJoinByTheLessonsSteps() throws {
        let node3 = WorkerNode(index: 3)!, node4 = WorkerNode(index: 4)!
        let (runs, end) = walk(.join([node4, node3]), from: NodePosition(completedStage: 6, workers: [.second]))
        #expect(runs.map(\.kind) == [.join(node3), .join(node4)])
        #expect(end.workers == [.second, node3, node4])
        let steps = runs[0].steps
        #expect(steps.map(\.kind) == [
            .action(.worker(.machine, node: node3), expectFailure: nil),
            .action(.start(ComponentID(.containerd, on: node3), .cluster), expectFailure: nil),
            .action(.worker(.images, node: node3), expectFailure: nil),
            .action(.start(ComponentID(.kubelet, on: node3), .cluster), expectFailure: nil),
            .check(.nodeIs(node: "node-3", ready: true)),
            .action(.start(ComponentID(.kubeProxy, on: node3), .cluster), expectFailure: nil),
            .action(.worker(.podRoutes, node: node3), expectFailure: nil),
        ])
        #expect(steps.allSatisfy { !$0.title.contains("node-2") } && steps.contains { $0.title.contains("node-3") })
        // The lesson's own node-2 steps are the same kinds: node-3 joins exactly as node-2 did.
        let lesson = try #require(Self.lessons.first { $0.stage == 6 })
        #expect(lesson.joinSteps(for: .second).map(\.kind) == steps.map { step in
            step.kind == .check(.nodeIs(node: "node-3", ready: true)) ? .check(.nodeIs(node: "node-2", ready: true)) : {
                switch step.kind {
                case .action(.worker(let action, _), let expect): .action(.worker(action, node: .second), expectFailure: expect)
                case .action(.start(let component, let mode), let expect): .action(.start(ComponentID(component.program, on: .second), mode), expectFailure: expect)
                default: step.kind
                }
            }()
        })
    }

    @Test func theLearnersRunGoesOnWhereItStopped() {
        // Stopped cleanly after 4 steps of stage 3: the rest of stage 3 with its windows, its break-it section, stage 4.
        let at = NodePosition(completedStage: 2, unfinishedStage: 3, betweenSteps: true, stepsDone: 4)
        let (runs, end) = walk(.learn(through: 4, breakIt: true), from: at)
        #expect(runs.map(\.kind) == [.stage(3), .breakIt(3), .stage(4), .breakIt(4)])
        #expect(runs[0].from == 4 && !runs[0].fastForward && runs[2].from == 0)
        #expect(end.completedStage == 4)
        // Without break-it sections; and a node already there runs nothing.
        #expect(walk(.learn(through: 4, breakIt: false), from: at).runs.map(\.kind) == [.stage(3), .stage(4)])
        #expect(walk(.learn(through: 4, breakIt: true), from: NodePosition(completedStage: 5)).runs.isEmpty)
        // Stopped in the middle of a step (not between two): the stage is taken back first.
        let cut = NodePosition(completedStage: 2, unfinishedStage: 3, stepsDone: 4)
        #expect(walk(.learn(through: 3, breakIt: false), from: cut).runs.map(\.kind) == [.rewind(3), .stage(3)])
    }

    @Test func breakItRunsOnce() {
        let (runs, _) = walk(.breakIt(5), from: NodePosition(completedStage: 5))
        #expect(runs.map(\.kind) == [.breakIt(5)])
        #expect(runs[0].steps.contains { if case .action(.stop(.kubeProxy), _) = $0.kind { true } else { false } })
    }
}
