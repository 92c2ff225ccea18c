import Foundation
@testable import KubescratchCore
import Testing

/// The screen with the API calls: real node objects (stage 5, stage 6 with two nodes) and the real audit log's calls,
/// at 80×24, 120×40, 160×48 and 200×60. Below 140 columns the pane takes the output's place on `a`.
@Suite struct TrafficScreenTests {
    static func traffic() -> (TrafficLog, Date) {
        var log = TrafficLog()
        log.add(TrafficTests.calls)
        return (log, TrafficTests.calls.map(\.time).max()!.addingTimeInterval(1))
    }

    func screen(stage: Int, width: Int, height: Int, showCalls: Bool = false, selected: ComponentID? = nil) throws -> String {
        let (log, now) = Self.traffic()
        var state = try FixtureStates.state(stage: stage)
        state.traffic = log
        state.trafficTime = now
        let session = TutorialSession(stages: [], completedStage: stage)
        let input = ScreenInput(session: session, lessonText: "Watch the arrows: who calls the API server.", stageTitle: "Stage \(stage)",
                                diagram: DiagramModel(state: state), width: width, height: height, selected: selected, now: now,
                                traffic: log, showCalls: showCalls)
        return ScreenComposer.compose(input).text
    }

    @Test(arguments: [5, 6])
    func theFourSizes(stage: Int) throws {
        for (width, height) in [(80, 24), (120, 40), (160, 48), (200, 60)] {
            let wide = width >= 140
            let text = try screen(stage: stage, width: width, height: height, showCalls: !wide)
            try assertSnapshot(text, named: "traffic-stage\(stage)-\(width)x\(height)")
            #expect(text.contains("API calls"), "\(width)x\(height): the pane is there")
            #expect(text.split(separator: "\n").allSatisfy { $0.count <= width })
            if wide {
                #expect(text.contains("Output"), "\(width)x\(height): wide screens keep the output pane too")
            }
        }
    }

    @Test func theArrowsCarryTheirSourcesCalls() throws {
        let text = try screen(stage: 5, width: 160, height: 48)
        let (log, now) = Self.traffic()
        let kubelet = try #require(log.label(of: .kubelet(node: "vm"), now: now))
        #expect(text.contains(String(kubelet.prefix(12))), "the kubelet's arrow says \(kubelet)")
        #expect(text.contains(log.line(log.calls[0], width: 90)), "the newest call heads the pane")
        let scheduler = try screen(stage: 5, width: 160, height: 48, selected: .kubeScheduler)
        #expect(scheduler.contains("scheduler      create pods/binding default/"), "the scheduler's binding, with Tab on it")
    }

    @Test func tabFiltersThePaneToOneComponent() throws {
        let text = try screen(stage: 5, width: 160, height: 48, selected: .kubeScheduler)
        #expect(text.contains("API calls of kube-scheduler"))
        let calls = text.split(separator: "\n").filter { $0.range(of: #"│ \d\d:\d\d:\d\d "#, options: .regularExpression) != nil }
        #expect(!calls.isEmpty && calls.allSatisfy { $0.contains("scheduler") }, "\(calls)")
    }

    @Test func withoutAnAPIServerThePaneSaysSo() {
        let session = TutorialSession(stages: [], completedStage: 0)
        let input = ScreenInput(session: session, lessonText: "", stageTitle: "Stage 1", diagram: nil, width: 80, height: 24,
                                traffic: TrafficLog(), showCalls: true)
        #expect(ScreenComposer.compose(input).text.contains("none yet: the API server logs each call from stage 2 on"))
    }

    /// node-2's kubelet and kube-proxy reach the API server by a line across the link: it names their calls too.
    @Test func nodeTwosLineNamesItsCalls() throws {
        var state = try FixtureStates.state(stage: 6)
        var log = TrafficLog()
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        log.add(APICall(time: now.addingTimeInterval(-2), user: "system:node:node-2", verb: "patch", resource: "nodes/status", name: "node-2"))
        log.add(APICall(time: now.addingTimeInterval(-3), user: "system:kube-proxy", verb: "list", resource: "services",
                        sourceIP: WorkerNetwork(.second).nodeAddress))
        state.traffic = log
        state.trafficTime = now
        let text = DiagramRenderer.grid(DiagramLayoutEngine.layout(DiagramModel(state: state), width: 200, height: 60), ascii: false).text
        #expect(text.contains("◄── kubelet (patch nodes/status"), "node-2's kubelet's call, on its line across the link")
        let model = DiagramModel(state: state)
        #expect(model.workers.first?.apiClients.first { $0.from == .kubeProxy }?.calls == "list services",
                "node-2's kube-proxy, told apart from the first node's by its address")
        #expect(model.arrows.first { $0.from == .kubeProxy && $0.to == .apiserver }?.calls == nil, "not the first node's")
    }
}
