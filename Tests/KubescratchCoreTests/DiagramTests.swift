import Foundation
import KubescratchCore
import Testing

/// Node states built from the real API objects captured at the end of each stage of a real v1.20.2 node.
enum FixtureStates {
    static let pids: [ComponentID: Int32] = [.containerd: 13009, .kubelet: 13457, .etcd: 13374, .kubeAPIServer: 13398,
                                             .kubeScheduler: 14038, .kubeControllerManager: 14539, .kubeProxy: 15329]
    static let ports: [ComponentID: Int] = [.kubelet: 10250, .etcd: 2379, .kubeAPIServer: 6443, .kubeScheduler: 10259,
                                            .kubeControllerManager: 10257, .kubeProxy: 10256]
    static let componentsAtStage: [Int: [ComponentID]] = [
        1: [.containerd, .kubelet],
        2: [.containerd, .kubelet, .etcd, .kubeAPIServer],
        3: [.containerd, .kubelet, .etcd, .kubeAPIServer, .kubeScheduler],
        4: [.containerd, .kubelet, .etcd, .kubeAPIServer, .kubeScheduler, .kubeControllerManager],
        5: ComponentID.firstNode,
        6: ComponentID.firstNode,
    ]
    /// node-2's components as `kubescratch status` listed them at the end of the real stage 6 run (2026-12-02).
    static let node2 = WorkerNode.second
    static let workerPids: [Program: Int32] = [.containerd: 7754, .kubelet: 10340, .kubeProxy: 9305]

    static func state(stage: Int) throws -> NodeState {
        let components = componentsAtStage[stage]!.map {
            ComponentStatus(id: $0, health: .healthy, pid: pids[$0], port: ports[$0])
        }
        if stage == 1 {
            // No API server: the kubelet's own pod list (its status is empty in v1.20 standalone mode).
            let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: Repo.fixture("stage1-kubelet-pods.json")).items
            let statuses = pods.map { PodStatus(name: $0.metadata.name, phase: "Running", ready: true, ip: "10.200.0.2",
                                                nodeName: "vm", isStatic: true, labels: $0.metadata.labels ?? [:]) }
            return NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: components, pods: statuses, kubeletMode: .standalone)
        }
        let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: Repo.fixture("stage\(stage)-pods.json")).items
        let sets = try KubeDecoding.decode(KubeList<ReplicaSet>.self, from: Repo.fixture("stage\(stage)-replicasets.json")).items
        let services = try KubeDecoding.decode(KubeList<Service>.self, from: Repo.fixture("stage\(stage)-services.json")).items
        var state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: components,
                              pods: NodeState.pods(from: pods, replicaSets: sets), services: NodeState.services(from: services),
                              kubeletMode: .cluster)
        if stage == 6 {
            // The real Node object of node-2; the pod routes existed when these objects were captured.
            let nodes = try KubeDecoding.decode(KubeList<Node>.self, from: Repo.fixture("stage6-nodes.json")).items
            let node2 = try #require(nodes.first { $0.metadata.name == Self.node2.name })
            state.workers = [WorkerState(
                WorkerNetwork(Self.node2),
                components: ComponentID.on(Self.node2).map { ComponentStatus(id: $0, health: .healthy, pid: workerPids[$0.program], port: ports[ComponentID($0.program)]) },
                ready: node2.isReady, taints: node2.spec?.taints?.map(\.key) ?? [], podRoutes: true)]
        }
        return state
    }

    /// The end of a real `kubescratch stage 6 --nodes 3` run (2026-12-07, objects and PIDs captured from it): vm,
    /// node-2 and node-3 Ready, the web Deployment at 9 replicas (1 on vm, 4 on each worker), every pod route in place.
    static func threeNodes() throws -> NodeState {
        let pids: [String: Int32] = ["containerd": 28604, "kubelet": 28958, "etcd": 28940, "kube-apiserver": 28947, "kube-scheduler": 29187,
                                     "kube-controller-manager": 29371, "kube-proxy": 29926, "node-2-containerd": 30077, "node-2-kubelet": 32657,
                                     "node-2-kube-proxy": 31317, "node-3-containerd": 918, "node-3-kubelet": 957, "node-3-kube-proxy": 1248]
        func status(_ id: ComponentID) -> ComponentStatus {
            ComponentStatus(id: id, health: .healthy, pid: pids[id.name], port: ports[ComponentID(id.program)])
        }
        let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: Repo.fixture("stage6-three-nodes-pods.json")).items
        let sets = try KubeDecoding.decode(KubeList<ReplicaSet>.self, from: Repo.fixture("stage6-three-nodes-replicasets.json")).items
        let services = try KubeDecoding.decode(KubeList<Service>.self, from: Repo.fixture("stage6-three-nodes-services.json")).items
        let nodes = try KubeDecoding.decode(KubeList<Node>.self, from: Repo.fixture("stage6-three-nodes-nodes.json")).items
        var state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: ComponentID.firstNode.map(status),
                              pods: NodeState.pods(from: pods, replicaSets: sets), services: NodeState.services(from: services),
                              kubeletMode: .cluster)
        state.workers = try [WorkerNode.second, WorkerNode(index: 3)!].map { worker in
            let node = try #require(nodes.first { $0.metadata.name == worker.name })
            return WorkerState(WorkerNetwork(worker), components: ComponentID.on(worker).map(status), ready: node.isReady,
                               taints: node.spec?.taints?.map(\.key) ?? [], podRoutes: true)
        }
        return state
    }

    /// Two real moments of stage 6 (objects captured while `kubescratch stage 6` ran): `joining` (node-2's kubelet up, its
    /// Node not Ready yet, no kube-proxy, no pod routes) and `unreachable` (node-2's kubelet stopped, the Node Unknown and
    /// tainted, its pods replaced on vm). Component health is what the lesson's steps had done at that moment.
    static func stage6(_ moment: String) throws -> NodeState {
        let components = ComponentID.firstNode.map { ComponentStatus(id: $0, health: .healthy, pid: pids[$0], port: ports[$0]) }
        let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: Repo.fixture("stage6-\(moment)-pods.json")).items
        let sets = try KubeDecoding.decode(KubeList<ReplicaSet>.self, from: Repo.fixture("stage6-\(moment)-replicasets.json")).items
        let services = try KubeDecoding.decode(KubeList<Service>.self, from: Repo.fixture("stage6-\(moment)-services.json")).items
        let nodes = try KubeDecoding.decode(KubeList<Node>.self, from: Repo.fixture("stage6-\(moment)-nodes.json")).items
        let node2 = try #require(nodes.first { $0.metadata.name == Self.node2.name })
        let health: [Program: ComponentHealth] = moment == "joining"
            ? [.containerd: .healthy, .kubelet: .healthy, .kubeProxy: .stopped]
            : [.containerd: .healthy, .kubelet: .stopped, .kubeProxy: .healthy]
        var state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: components,
                              pods: NodeState.pods(from: pods, replicaSets: sets), services: NodeState.services(from: services),
                              kubeletMode: .cluster)
        state.workers = [WorkerState(
            WorkerNetwork(Self.node2),
            components: ComponentID.on(Self.node2).map { id in
                ComponentStatus(id: id, health: health[id.program]!, pid: health[id.program] == .stopped ? nil : workerPids[id.program],
                                port: ports[ComponentID(id.program)])
            },
            ready: node2.isReady, taints: node2.spec?.taints?.map(\.key) ?? [], podRoutes: moment != "joining")]
        return state
    }
}

/// Compares rendered text with a file under Snapshots/; KUBESCRATCH_RECORD_SNAPSHOTS=1 writes the files anew.
func assertSnapshot(_ text: String, named name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
    let file = folder.appendingPathComponent("\(name).txt")
    if ProcessInfo.processInfo.environment["KUBESCRATCH_RECORD_SNAPSHOTS"] == "1" {
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        try (text + "\n").write(to: file, atomically: true, encoding: .utf8)
        return
    }
    let expected = try String(contentsOf: file, encoding: .utf8)
    #expect(text + "\n" == expected, "snapshot \(name) differs; re-record with KUBESCRATCH_RECORD_SNAPSHOTS=1 if the change is wanted",
            sourceLocation: sourceLocation)
}

@Suite struct DiagramSnapshotTests {
    func render(stage: Int, width: Int, height: Int, ascii: Bool = false, previous: Int? = nil) throws -> String {
        let before = try previous.map { DiagramModel(state: try FixtureStates.state(stage: $0)) }
        let model = DiagramModel(state: try FixtureStates.state(stage: stage), previous: before)
        return DiagramRenderer.grid(DiagramLayoutEngine.layout(model, width: width, height: height, ascii: ascii), ascii: ascii).text
    }

    @Test(arguments: [1, 2, 3, 4, 5])
    func eachStageAt80x24(stage: Int) throws {
        try assertSnapshot(render(stage: stage, width: 80, height: 24, previous: stage > 1 ? stage - 1 : nil), named: "stage\(stage)-80x24")
    }

    @Test func stage5LargeAndASCII() throws {
        try assertSnapshot(render(stage: 5, width: 120, height: 40), named: "stage5-120x40")
        try assertSnapshot(render(stage: 5, width: 200, height: 60), named: "stage5-200x60")
        try assertSnapshot(render(stage: 5, width: 80, height: 24, ascii: true), named: "stage5-80x24-ascii")
    }

    /// The end of a real stage 6 run: two nodes, six web pods (four on vm, two on node-2), routes in place.
    @Test func stage6FromARealRun() throws {
        try assertSnapshot(render(stage: 6, width: 80, height: 24, previous: 5), named: "stage6-80x24")
        try assertSnapshot(render(stage: 6, width: 120, height: 40), named: "stage6-120x40")
        try assertSnapshot(render(stage: 6, width: 200, height: 60), named: "stage6-200x60")
        try assertSnapshot(render(stage: 6, width: 200, height: 60, ascii: true), named: "stage6-200x60-ascii")
        let model = DiagramModel(state: try FixtureStates.state(stage: 6))
        let second = try #require(model.workers.first)
        #expect(second.podGroups.flatMap(\.pods).count == 2, "the two web pods bound to node-2")
        #expect(model.podGroups.flatMap(\.pods).count == 7, "web-static, pending-pod, pinned-pod and four web pods on vm")
        #expect(model.nodePorts.first?.backends == 6)
    }

    @Test func whatTheRealObjectsSay() throws {
        let stage2 = DiagramModel(state: try FixtureStates.state(stage: 2))
        #expect(stage2.unscheduled.map(\.name) == ["pending-pod"])
        #expect(stage2.arrows.map { "\($0.from)>\($0.to)" }.sorted() == ["apiserver>etcd", "kubelet>apiserver", "kubelet>containerd"])
        let stage4 = DiagramModel(state: try FixtureStates.state(stage: 4))
        let group = try #require(stage4.podGroups.first { $0.header != nil })
        #expect(group.header == "deploy/web › rs/web-7648778cf4")
        #expect(group.pods.count == 3)
        let stage5 = DiagramModel(state: try FixtureStates.state(stage: 5), previous: stage4)
        #expect(stage5.nodePorts.first?.port == 30080 && stage5.nodePorts.first?.backends == 3)
        #expect(stage5.arrows.filter(\.isNew).map { "\($0.from)>\($0.to)" }.sorted() == ["kubeProxy>apiserver", "kubeProxy>iptables"])
        #expect(stage5.box(.kubeProxy)?.isNew == true && stage5.box(.apiserver)?.isNew == false)
    }

    @Test func tooSmallSaysSo() {
        let layout = DiagramLayoutEngine.layout(DiagramModel(state: NodeState(nodeName: "vm", nodeIP: "1.2.3.4")), width: 60, height: 20)
        #expect(DiagramRenderer.grid(layout).text.contains("needs at least 80×24; this is 60×20"))
    }
}
