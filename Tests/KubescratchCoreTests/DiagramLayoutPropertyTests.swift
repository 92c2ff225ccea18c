import KubescratchCore
import Testing

/// Layout properties over many generated node states and terminal sizes: boxes never overlap, text never
/// leaves its box, every arrow runs from next to its source box to next to its target without crossing a box.
@Suite struct DiagramLayoutPropertyTests {
    /// A small deterministic generator, so a failure names a seed that reproduces it.
    struct Generator {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            return Int((state >> 33) % UInt64(max(1, bound)))
        }
        mutating func pick<T>(_ items: [T]) -> T { items[next(items.count)] }
    }

    static func randomState(seed: UInt64) -> NodeState {
        var g = Generator(state: seed)
        var components: [ComponentStatus] = []
        for id in ComponentID.firstNode where g.next(4) > 0 {
            components.append(ComponentStatus(id: id, health: g.pick(ComponentHealth.allCases),
                                              pid: g.next(3) == 0 ? nil : Int32(g.next(4_000_000)), port: g.next(2) == 0 ? nil : 10000 + g.next(60000)))
        }
        let podCount = 1 + g.next(30)
        var pods: [PodStatus] = []
        for index in 0..<podCount {
            let inSet = g.next(2) == 0
            let name = String(repeating: "p", count: 1 + g.next(40)) + "-\(index)"
            pods.append(PodStatus(name: name, phase: g.pick(["Running", "Pending", "Failed", "Succeeded"]), ready: g.next(2) == 0,
                                  ip: g.next(3) == 0 ? nil : "10.200.0.\(index + 2)", nodeName: g.next(5) == 0 ? nil : "vm",
                                  isStatic: g.next(6) == 0, replicaSet: inSet ? "rs-\(g.next(3))" : nil,
                                  deployment: inSet ? "deploy" : nil, labels: ["app": inSet ? "web" : "x"], terminating: g.next(8) == 0))
        }
        let services = (0..<g.next(3)).map { ServiceStatus(name: "svc\($0)", nodePort: 30000 + $0, selector: ["app": "web"]) }
        return NodeState(nodeName: "node-\(seed)", nodeIP: "192.0.2.\(g.next(250))", components: components, pods: pods,
                         services: services, kubeletMode: g.pick([.standalone, .cluster]))
    }

    /// The same, with a second node: some pods moved to it, its components, Node condition, taints and routes drawn at random.
    static func randomTwoNodeState(seed: UInt64) -> NodeState {
        var state = randomState(seed: seed)
        var g = Generator(state: seed &+ 77)
        state.nodeName = "vm"
        state.pods = state.pods.map { pod in
            var pod = pod
            if pod.nodeName != nil && g.next(2) == 0 { pod.nodeName = "node-2" }
            return pod
        }
        var components: [ComponentStatus] = []
        for id in [ComponentID.containerd, .kubelet, .kubeProxy] where g.next(5) > 0 {
            components.append(ComponentStatus(id: id, health: g.pick(ComponentHealth.allCases),
                                              pid: g.next(3) == 0 ? nil : Int32(g.next(4_000_000)), port: g.next(2) == 0 ? nil : 10000 + g.next(60000)))
        }
        let taints = ["node.kubernetes.io/unreachable", "node.kubernetes.io/not-ready", "node.kubernetes.io/unschedulable"].filter { _ in g.next(3) == 0 }
        state.workers = [WorkerState(WorkerNetwork(.second), components: components,
                                     ready: g.pick([nil, true, false]), taints: taints, podRoutes: g.next(2) == 0)]
        return state
    }

    static let sizes = [(80, 24), (81, 25), (100, 30), (120, 40), (160, 50), (200, 60), (240, 70), (97, 33), (133, 27)]

    @Test(arguments: 0..<60)
    func layoutHoldsItsPromises(seed: Int) throws {
        let previous = seed % 3 == 0 ? nil : DiagramModel(state: Self.randomState(seed: UInt64(seed) &+ 1000))
        let model = DiagramModel(state: Self.randomState(seed: UInt64(seed)), previous: previous)
        for (width, height) in Self.sizes {
            for ascii in [false, true] {
                try check(model, width: width, height: height, ascii: ascii, seed: seed)
            }
        }
    }

    @Test(arguments: 0..<60)
    func twoNodeLayoutHoldsItsPromises(seed: Int) throws {
        let previous = seed % 3 == 0 ? nil : DiagramModel(state: seed % 3 == 1 ? Self.randomState(seed: UInt64(seed) &+ 1000)
                                                                               : Self.randomTwoNodeState(seed: UInt64(seed) &+ 1000))
        let model = DiagramModel(state: Self.randomTwoNodeState(seed: UInt64(seed)), previous: previous)
        for (width, height) in Self.sizes + [(80, 30), (155, 24), (170, 45), (180, 24)] {
            for ascii in [false, true] {
                try check(model, width: width, height: height, ascii: ascii, seed: seed)
            }
        }
        for ascii in [false, true] {
            // The smallest screen still names node-2; the largest shows every component of both nodes as a box.
            let small = DiagramLayoutEngine.layout(model, width: 80, height: 24, ascii: ascii)
            let second = try #require(small.workers.first, "seed \(seed): no node-2 at 80x24")
            let titleRow = DiagramRenderer.grid(small, ascii: ascii).text.split(separator: "\n", omittingEmptySubsequences: false)[second.rect.y]
            #expect(titleRow.contains("node node-2"), "seed \(seed): node-2's name not visible at 80x24")
            let large = DiagramLayoutEngine.layout(model, width: 200, height: 60, ascii: ascii)
            for box in model.components {
                #expect(large.box(box.id) != nil, "seed \(seed): \(box.id) not drawn at 200x60")
            }
            for box in model.workers.first!.components {
                #expect(large.box(id: DiagramLayout.workerBoxID(node: "node-2", box.id)) != nil, "seed \(seed): node-2's \(box.id) not drawn at 200x60")
            }
        }
    }

    @Test func everyComponentHealthCombinationAt80x24() throws {
        // Each component in each of the five states, one component varying at a time against all others up.
        for id in ComponentID.firstNode {
            for health in ComponentHealth.allCases {
                let components = ComponentID.firstNode.map { ComponentStatus(id: $0, health: $0 == id ? health : .healthy, pid: 4_194_304, port: 10259) }
                let state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: components,
                                      pods: [PodStatus(name: "web", phase: "Running", ready: true, ip: "10.200.0.9", nodeName: "vm")],
                                      services: [ServiceStatus(name: "web", nodePort: 30080, selector: ["app": "web"])], kubeletMode: .cluster)
                try check(DiagramModel(state: state), width: 80, height: 24, ascii: false, seed: -1)
            }
        }
    }

    func check(_ model: DiagramModel, width: Int, height: Int, ascii: Bool, seed: Int) throws {
        let where_ = "seed \(seed) at \(width)x\(height)\(ascii ? " ascii" : "")"
        let layout = DiagramLayoutEngine.layout(model, width: width, height: height, ascii: ascii)
        let node = try #require(layout.node, "\(where_): no node box")
        #expect((model.workers.first == nil) == (layout.workers.first == nil), "\(where_): node-2 drawn or missing wrongly")
        let nodes = [node] + (layout.workers.first.map { [$0] } ?? [])
        for placed in nodes {
            #expect(placed.rect.x >= 0 && placed.rect.y >= 0 && placed.rect.maxX < width && placed.rect.maxY < height, "\(where_): \(placed.id) box off the grid")
        }
        if let second = layout.workers.first {
            #expect(!node.rect.intersects(second.rect), "\(where_): the node boxes overlap")
            #expect(second.lines.count <= second.rect.height - 2, "\(where_): node-2 has more lines than room")
        }
        func nodeBox(holding rect: Rect) -> PlacedBox? {
            nodes.first { rect.x > $0.rect.x && rect.maxX < $0.rect.maxX && rect.y > $0.rect.y && rect.maxY < $0.rect.maxY }
        }

        for box in layout.boxes {
            #expect(nodeBox(holding: box.rect) != nil, "\(where_): \(box.id) leaves its node box")
            #expect(box.lines.count <= box.rect.height - 2, "\(where_): \(box.id) has more lines than room")
            for other in layout.boxes where other.id != box.id {
                #expect(!box.rect.intersects(other.rect), "\(where_): \(box.id) overlaps \(other.id)")
            }
        }
        for text in layout.texts + (layout.links.first?.labels ?? []) {
            let cells = Rect(x: text.at.x, y: text.at.y, width: max(1, text.limit), height: 1)
            #expect(text.at.x >= 0 && text.at.y >= 0 && text.at.y < height, "\(where_): text '\(text.text.text)' off the grid")
            #expect(text.at.x + text.limit <= width, "\(where_): text may run off the grid")
            for box in nodes + layout.boxes {
                #expect(!cells.intersects(box.rect), "\(where_): text '\(text.text.text)' runs into \(box.id)")
            }
        }

        // Every connection between two boxes on the grid is drawn, and drawn properly.
        let placedIDs = Set(layout.boxes.map(\.id))
        var expected = model.arrows.filter { placedIDs.contains($0.from.rawValue) && placedIDs.contains($0.to.rawValue) }.count
        if let second = model.workers.first {
            let id = { DiagramLayout.workerBoxID(node: second.name, $0) }
            expected += second.arrows.filter { placedIDs.contains(id($0.from)) && placedIDs.contains(id($0.to)) }.count
        }
        #expect(layout.arrows.count == expected, "\(where_): \(expected) connections, \(layout.arrows.count) arrows")
        for arrow in layout.arrows {
            let from = try #require(layout.box(id: arrow.sourceBox)), to = try #require(layout.box(id: arrow.targetBox))
            #expect(arrow.sourceBox.hasSuffix(arrow.from.rawValue) && arrow.targetBox.hasSuffix(arrow.to.rawValue), "\(where_): arrow names the wrong boxes")
            let home = try #require(nodeBox(holding: from.rect))
            let first = try #require(arrow.path.first), last = try #require(arrow.path.last)
            #expect(from.rect.isAdjacent(first), "\(where_): \(arrow.from)→\(arrow.to) does not start at its source")
            #expect(to.rect.isAdjacent(last), "\(where_): \(arrow.from)→\(arrow.to) does not end at its target")
            for (a, b) in zip(arrow.path, arrow.path.dropFirst()) {
                #expect(abs(a.x - b.x) + abs(a.y - b.y) == 1, "\(where_): \(arrow.from)→\(arrow.to) has a gap")
            }
            for point in arrow.path {
                #expect(home.rect.contains(point) && point.x > home.rect.x && point.y > home.rect.y, "\(where_): arrow leaves the node")
                for box in layout.boxes {
                    #expect(!box.rect.contains(point), "\(where_): \(arrow.from)→\(arrow.to) crosses \(box.id)")
                }
            }
        }

        // The link: contiguous, between the node boxes, from the first node's border to node-2's.
        var linkEnds = Set<Point>()
        if let second = layout.workers.first {
            let link = try #require(layout.links.first, "\(where_): two nodes, no link")
            #expect(!link.path.isEmpty, "\(where_): empty link")
            for (a, b) in zip(link.path, link.path.dropFirst()) {
                #expect(abs(a.x - b.x) + abs(a.y - b.y) == 1, "\(where_): the link has a gap")
            }
            for point in link.path {
                #expect(point.x >= 0 && point.x < width && point.y >= 0 && point.y < height, "\(where_): the link leaves the grid")
                for box in nodes + layout.boxes {
                    #expect(!box.rect.contains(point), "\(where_): the link crosses \(box.id)")
                }
            }
            let ends = link.ends
            #expect(ends.count == 2 && node.rect.contains(ends[0]) && second.rect.contains(ends[1]), "\(where_): the link does not join the nodes")
            linkEnds = Set(ends)
        }

        // Drawn: each box's border is intact (but where the link joins it), so no text ran out of it.
        let grid = DiagramRenderer.grid(layout, ascii: ascii)
        let vertical: Character = ascii ? "|" : "│", horizontal: Character = ascii ? "-" : "─"
        for box in layout.boxes + nodes {
            let r = box.rect
            for y in (r.y + 1)..<r.maxY {
                #expect(grid[r.x, y].character == vertical || linkEnds.contains(Point(r.x, y)), "\(where_): \(box.id) left side broken at row \(y)")
                #expect(grid[r.maxX, y].character == vertical || linkEnds.contains(Point(r.maxX, y)), "\(where_): \(box.id) right side broken at row \(y)")
            }
            for x in (r.x + 1)..<r.maxX {
                #expect(grid[x, r.maxY].character == horizontal || linkEnds.contains(Point(x, r.maxY)), "\(where_): \(box.id) bottom broken at column \(x)")
            }
        }
        if ascii {
            #expect(grid.text.allSatisfy { $0.isASCII }, "\(where_): non-ASCII character in ASCII mode")
        }
    }
}
