import Foundation
import KubescratchCore

// Benchmarks of the pure diagram pipeline: model → layout → grid → text, for a stage-5 node.
// Run: swift run -c release kubescratch-bench [iterations]

func stage5State(pods: Int) -> NodeState {
    let components = ComponentID.firstNode.map { ComponentStatus(id: $0, health: .healthy, pid: 13000 + Int32($0.startOrder), port: 10250) }
    var list = [PodStatus(name: "web-static-vm", phase: "Running", ready: true, ip: "10.200.0.2", nodeName: "vm", isStatic: true),
                PodStatus(name: "pending-pod", phase: "Running", ready: true, ip: "10.200.0.4", nodeName: "vm"),
                PodStatus(name: "pinned-pod", phase: "Running", ready: true, ip: "10.200.0.3", nodeName: "vm")]
    for index in 0..<pods {
        list.append(PodStatus(name: "web-7648778cf4-\(index)", phase: "Running", ready: true, ip: "10.200.0.\(10 + index)", nodeName: "vm",
                              replicaSet: "web-7648778cf4", deployment: "web", labels: ["app": "web"]))
    }
    return NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: components, pods: list,
                     services: [ServiceStatus(name: "web", nodePort: 30080, selector: ["app": "web"])], kubeletMode: .cluster)
}

func measure(_ name: String, iterations: Int, _ body: () -> Int) {
    var samples: [Duration] = []
    var sink = 0
    for _ in 0..<max(10, iterations / 10) { sink &+= body() }  // warm-up
    let clock = ContinuousClock()
    for _ in 0..<iterations {
        let start = clock.now
        sink &+= body()
        samples.append(clock.now - start)
    }
    samples.sort()
    func micro(_ d: Duration) -> Double { Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12 }
    let median = micro(samples[samples.count / 2]), p95 = micro(samples[samples.count * 95 / 100]), max = micro(samples.last!)
    print(String(format: "%-46@ median %8.1f µs   p95 %8.1f µs   max %8.1f µs   (%d runs, %d)", name as NSString, median, p95, max, iterations, sink % 7))
}

let iterations = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 500 : 500
let previous = DiagramModel(state: stage5State(pods: 1))
for (label, pods, width, height) in [("stage 5, 3 replicas, 200x60", 3, 200, 60), ("stage 5, 3 replicas, 80x24", 3, 80, 24),
                                      ("stage 5, 30 replicas, 200x60", 30, 200, 60)] {
    let state = stage5State(pods: pods)
    measure("model+layout+grid+text: \(label)", iterations: iterations) {
        let model = DiagramModel(state: state, previous: previous)
        let grid = DiagramRenderer.grid(DiagramLayoutEngine.layout(model, width: width, height: height))
        return TextRenderer.ansi(grid).utf8.count
    }
}

// A full redraw of the terminal screen (lesson, output, diagram, status) at 200x60.
var session = TutorialSession(stages: (1...5).map { .init(number: $0, title: "Stage \($0)", steps: [.init(id: "s\($0)", title: "step")], components: []) },
                              completedStage: 4)
_ = session.handle(.next)
for index in 0..<200 { _ = session.handle(.output("line \(index) of output from kubectl get pods -o wide")) }
let lesson = String(repeating: "A paragraph of the lesson that explains what kube-proxy does with iptables rules. ", count: 40)
let screenModel = DiagramModel(state: stage5State(pods: 3))
measure("screen compose + text: 200x60", iterations: iterations) {
    let input = ScreenInput(session: session, lessonText: lesson, stageTitle: "Stage 5 — kube-proxy", diagram: screenModel, width: 200, height: 60)
    return ScreenComposer.compose(input).text.utf8.count
}
