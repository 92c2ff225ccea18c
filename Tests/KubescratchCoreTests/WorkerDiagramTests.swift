import KubescratchCore
import Testing

/// Stage 6's two-node states, constructed from the real stage 5 objects with node-2's parts made up here: exact
/// states for the model's rules (grouping, what is new). The snapshots come from real stage 6 captures instead.
enum ConstructedWorker {
    static let name = "node-2"
    static let pids: [ComponentID: Int32] = [.containerd: 21007, .kubelet: 21342, .kubeProxy: 22118]
    static let ports: [ComponentID: Int] = [.kubelet: 10250, .kubeProxy: 10256]

    static func components(_ health: [ComponentID: ComponentHealth]) -> [ComponentStatus] {
        [ComponentID.containerd, .kubelet, .kubeProxy].compactMap { id in
            health[id].map { ComponentStatus(id: id, health: $0, pid: pids[id], port: ports[id]) }
        }
    }

    /// node-2 as the one worker.
    static func node(_ health: [ComponentID: ComponentHealth], ready: Bool?, taints: [String] = [], podRoutes: Bool = false) -> [WorkerState] {
        [WorkerState(WorkerNetwork(.second), components: components(health), ready: ready, taints: taints, podRoutes: podRoutes)]
    }

    /// Stage 5's web Deployment scaled to 4: two of the real pods stay on vm, the third moves to node-2 and a fourth
    /// (made from it) joins it there, with addresses from node-2's pod range.
    static func spreadPods(_ pods: [PodStatus], terminatingOnSecond: Bool = false) -> [PodStatus] {
        let web = pods.filter { $0.deployment == "web" }.sorted { $0.name < $1.name }
        var moved = web[2]
        moved.nodeName = name
        moved.ip = "10.200.1.2"
        var fourth = moved
        fourth.name = "web-7648778cf4-q8w4z"
        fourth.ip = "10.200.1.3"
        var onSecond = [moved, fourth]
        if terminatingOnSecond { onSecond = onSecond.map { var pod = $0; pod.terminating = true; pod.ready = false; return pod } }
        return pods.filter { $0.name != moved.name } + onSecond
    }

    static let stage5: NodeState = try! FixtureStates.state(stage: 5)

    /// node-2's kubelet is up and has registered its Node, which is not Ready yet (no kube-proxy either).
    static var joining: NodeState {
        var state = stage5
        state.workers = node([.containerd: .healthy, .kubelet: .healthy], ready: false, taints: ["node.kubernetes.io/not-ready"])
        return state
    }

    /// Both nodes Ready, the web Deployment's 4 pods spread 2/2, no pod routes yet.
    static var bothReady: NodeState {
        var state = stage5
        state.pods = spreadPods(state.pods)
        state.workers = node([.containerd: .healthy, .kubelet: .healthy, .kubeProxy: .healthy], ready: true)
        return state
    }

    static var withRoutes: NodeState {
        var state = bothReady
        state.workers[0].podRoutes = true
        return state
    }

    /// node-2's kubelet stopped: the node controller marks the Node NotReady and taints it unreachable; its pods are
    /// being deleted, and the ReplicaSet's replacements run on vm.
    static var unreachable: NodeState {
        var state = withRoutes
        state.pods = spreadPods(stage5.pods, terminatingOnSecond: true) + [
            PodStatus(name: "web-7648778cf4-m2t7d", phase: "Running", ready: true, ip: "10.200.0.8", nodeName: "vm",
                      replicaSet: "web-7648778cf4", deployment: "web", labels: ["app": "web"]),
            PodStatus(name: "web-7648778cf4-zr5hx", phase: "Pending", ready: false, ip: nil, nodeName: "vm",
                      replicaSet: "web-7648778cf4", deployment: "web", labels: ["app": "web"]),
        ]
        state.workers = node([.containerd: .healthy, .kubelet: .stopped, .kubeProxy: .healthy], ready: false,
                                taints: ["node.kubernetes.io/unreachable"], podRoutes: true)
        return state
    }

    /// Each state with the one before it, so what is new is marked.
    static let sequence: [(name: String, state: NodeState, previous: NodeState)] = [
        ("joining", joining, stage5), ("both-ready", bothReady, joining), ("routes", withRoutes, bothReady), ("unreachable", unreachable, withRoutes),
    ]
}

@Suite struct SecondNodeDiagramTests {
    func render(_ state: NodeState, previous: NodeState?, width: Int, height: Int, ascii: Bool = false) -> String {
        let model = DiagramModel(state: state, previous: previous.map { DiagramModel(state: $0) })
        return DiagramRenderer.grid(DiagramLayoutEngine.layout(model, width: width, height: height, ascii: ascii), ascii: ascii).text
    }

    /// Snapshots of real moments of a real stage 6 run (objects captured into the fixtures): node-2 registered but not
    /// Ready, and node-2 unreachable with its pods replaced on vm. The end of the stage is in DiagramSnapshotTests.
    @Test(arguments: ["joining", "unreachable"])
    func realSnapshots(moment: String) throws {
        let state = try FixtureStates.stage6(moment)
        let previous = moment == "joining" ? try FixtureStates.state(stage: 5) : nil
        for (width, height) in [(80, 24), (120, 40), (200, 60)] {
            try assertSnapshot(render(state, previous: previous, width: width, height: height), named: "stage6-\(moment)-\(width)x\(height)")
        }
    }

    /// Three nodes from a real capture: the workers in a column beside the first node when wide, one below the other
    /// at 120×40, side by side under it at 80×24; every node box inside the screen, apart from the others, and joined to
    /// the first node (or the worker above it) by its own link.
    @Test func threeNodesFromARealCapture() throws {
        let state = try FixtureStates.threeNodes()
        let model = DiagramModel(state: state)
        #expect(model.workers.map(\.name) == ["node-2", "node-3"])
        #expect(model.nodePorts.first?.onWorkers.map(\.said) == ["4 on node-2", "4 on node-3"])
        for (width, height) in [(80, 24), (120, 40), (200, 60)] {
            let layout = DiagramLayoutEngine.layout(model, width: width, height: height)
            let first = try #require(layout.node)
            #expect(layout.workers.map(\.id) == ["node-2", "node-3"], "\(width)x\(height)")
            for (index, box) in ([first] + layout.workers).enumerated() {
                #expect(box.rect.x >= 0 && box.rect.maxX < width && box.rect.y >= 0 && box.rect.maxY < height, "\(box.id) off screen at \(width)x\(height)")
                for other in ([first] + layout.workers)[(index + 1)...] {
                    #expect(!box.rect.intersects(other.rect), "\(box.id) overlaps \(other.id) at \(width)x\(height)")
                }
            }
            #expect(layout.links.count == 2)
            for (link, worker) in zip(layout.links, layout.workers) {
                let ends = link.ends
                #expect(ends.contains { worker.rect.onBorder($0) }, "\(worker.id)'s link does not reach it at \(width)x\(height)")
                #expect(ends.contains { point in ([first] + layout.workers).contains { $0.id != worker.id && $0.rect.onBorder(point) } },
                        "\(worker.id)'s link comes from nowhere at \(width)x\(height)")
            }
            let text = DiagramRenderer.grid(layout).text
            #expect(text.contains("node node-3 · 10.201.0.6") && text.contains("10.201.0.5 ⇄ 10.201.0.6"), "\(width)x\(height)")
            try assertSnapshot(text, named: "stage6-three-nodes-\(width)x\(height)")
        }
    }

    @Test func asciiSnapshot() throws {
        let text = render(try FixtureStates.stage6("unreachable"), previous: nil, width: 80, height: 24, ascii: true)
        #expect(text.allSatisfy { $0.isASCII })
        try assertSnapshot(text, named: "stage6-unreachable-80x24-ascii")
    }

    @Test func whatTheRealMomentsSay() throws {
        let joining = DiagramModel(state: try FixtureStates.stage6("joining"))
        #expect(joining.workers.first?.ready == false && joining.workers.first?.podGroups.isEmpty == true)
        let gone = DiagramModel(state: try FixtureStates.stage6("unreachable"))
        let second = try #require(gone.workers.first)
        #expect(second.ready == false && second.taints.contains("node.kubernetes.io/unreachable"))
        #expect(gone.podGroups.flatMap(\.pods).filter { $0.ready && !$0.terminating && !$0.isStatic && $0.name.hasPrefix("web-") }.count == 4,
                "four Ready web pods on vm")
    }

    @Test func podsGoToTheirNode() {
        let model = DiagramModel(state: ConstructedWorker.bothReady)
        let second = model.workers.first!
        #expect(second.podGroups.flatMap(\.pods).map(\.name) == ["web-7648778cf4-njx8l", "web-7648778cf4-q8w4z"])
        #expect(second.podGroups.first?.header == "deploy/web › rs/web-7648778cf4")
        let firstWeb = model.podGroups.first { $0.header != nil }!.pods.map(\.name)
        #expect(firstWeb == ["web-7648778cf4-2xcb5", "web-7648778cf4-g76n9"])
        #expect(model.nodeTitle == "node vm · 192.0.2.2 · control plane")
        #expect(model.nodePorts.first?.backends == 4 && model.nodePorts.first?.onWorkers.map(\.said) == ["2 on node-2, no pod route"])
        #expect(second.link.label == "10.201.0.1 ⇄ 10.201.0.2  pod routes: none")
        #expect(DiagramModel(state: ConstructedWorker.withRoutes).workers.first?.link.label
                == "10.201.0.1 ⇄ 10.201.0.2  pod routes: 10.200.0.0/24 ⇄ 10.200.1.0/24")
    }

    @Test func connectionsAndWhatIsNew() {
        let joining = DiagramModel(state: ConstructedWorker.joining, previous: DiagramModel(state: ConstructedWorker.stage5))
        let second = joining.workers.first!
        #expect(second.isNew && second.link.isNew && second.components.allSatisfy { $0.isNew })
        #expect(second.arrows.map { "\($0.from)>\($0.to)" } == ["kubelet>containerd"])
        #expect(second.apiClients.map { "\($0.from)>\($0.to)" } == ["kubelet>apiserver"] && second.apiServerAddress == "192.0.2.2:6443")
        #expect(second.title(fullTaints: true) == "node node-2 · 10.201.0.2 · NotReady · taint node.kubernetes.io/not-ready")
        #expect(second.title(fullTaints: false) == "node node-2 · 10.201.0.2 · NotReady · taint not-ready")
        #expect(joining.components.allSatisfy { !$0.isNew })

        let ready = DiagramModel(state: ConstructedWorker.bothReady, previous: joining)
        #expect(!ready.workers.first!.isNew && ready.workers.first!.box(.kubeProxy)?.isNew == true && ready.workers.first!.box(.kubelet)?.isNew == false)
        // New by name: the pod that moved from vm is not, the one made on node-2 is.
        #expect(ready.workers.first!.podGroups.flatMap(\.pods).filter(\.isNew).map(\.name) == ["web-7648778cf4-q8w4z"])
        #expect(ready.workers.first!.title(fullTaints: true) == "node node-2 · 10.201.0.2")

        let routes = DiagramModel(state: ConstructedWorker.withRoutes, previous: ready)
        #expect(routes.workers.first!.link.routesAreNew && !routes.workers.first!.link.isNew)

        let gone = DiagramModel(state: ConstructedWorker.unreachable, previous: routes)
        #expect(gone.workers.first!.apiClients.map(\.from) == [.kubeProxy] && gone.workers.first!.arrows.isEmpty)
        #expect(gone.workers.first!.podGroups.flatMap(\.pods).allSatisfy { $0.terminating })
        #expect(gone.nodePorts.first?.onWorkers.isEmpty == true)
    }

    @Test func withoutASecondNodeNothingChanges() throws {
        // The one-node model has no node-2 parts, and its title is the one the stage 1–5 snapshots show.
        let model = DiagramModel(state: ConstructedWorker.stage5)
        #expect(model.workers.isEmpty && model.nodeTitle == "node vm · 192.0.2.2")
        let layout = DiagramLayoutEngine.layout(model, width: 80, height: 24)
        #expect(layout.workers.first == nil && layout.links.first == nil)
    }

    @Test func svgDrawsNodeTwoAndTheLink() {
        for (width, height) in [(80, 24), (200, 60)] {
            let model = DiagramModel(state: ConstructedWorker.withRoutes)
            let svg = SVGRenderer.svg(DiagramLayoutEngine.layout(model, width: width, height: height))
            #expect(svg.contains("node node-2 · 10.201.0.2"))
            #expect(svg.contains("stroke-width=\"4\""), "the link at \(width)x\(height)")
            #expect(svg.contains("10.200.0.0/24 ⇄ 10.200.1.0/24"))
        }
    }
}

@Suite struct SecondNodeTitleTests {
    /// Found in a real capture: a lost Node has the unreachable taint twice, once per effect.
    @Test func aTaintWithTwoEffectsIsNamedOnce() throws {
        let model = DiagramModel(state: try FixtureStates.stage6("unreachable"))
        let second = try #require(model.workers.first)
        #expect(second.taints == ["node.kubernetes.io/unreachable"])
        #expect(second.title(fullTaints: false) == "node node-2 · 10.201.0.2 · NotReady · taint unreachable")
    }
}

extension Rect {
    /// The cell lies on the rectangle's border line.
    func onBorder(_ point: Point) -> Bool {
        contains(point) && (point.x == x || point.x == maxX || point.y == y || point.y == maxY)
    }
}
