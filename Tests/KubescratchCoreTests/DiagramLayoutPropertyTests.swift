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
        for id in ComponentID.allCases where g.next(4) > 0 {
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

    @Test func everyComponentHealthCombinationAt80x24() throws {
        // Each component in each of the five states, one component varying at a time against all others up.
        for id in ComponentID.allCases {
            for health in ComponentHealth.allCases {
                let components = ComponentID.allCases.map { ComponentStatus(id: $0, health: $0 == id ? health : .healthy, pid: 4_194_304, port: 10259) }
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
        #expect(node.rect.x == 0 && node.rect.y == 0 && node.rect.maxX < width && node.rect.maxY < height, "\(where_): node box off the grid")

        for box in layout.boxes {
            #expect(box.rect.x > node.rect.x && box.rect.maxX < node.rect.maxX && box.rect.y > node.rect.y && box.rect.maxY < node.rect.maxY,
                    "\(where_): \(box.id) leaves the node box")
            #expect(box.lines.count <= box.rect.height - 2, "\(where_): \(box.id) has more lines than room")
            for other in layout.boxes where other.id != box.id {
                #expect(!box.rect.intersects(other.rect), "\(where_): \(box.id) overlaps \(other.id)")
            }
        }
        for text in layout.texts {
            #expect(text.at.y > node.rect.maxY && text.at.y < height, "\(where_): text '\(text.text.text)' not below the node")
            #expect(text.at.x + text.limit <= width, "\(where_): text may run off the grid")
        }

        // Every connection between two boxes on the grid is drawn, and drawn properly.
        let placedIDs = Set(layout.boxes.map(\.id))
        let expected = model.arrows.filter { placedIDs.contains($0.from.rawValue) && placedIDs.contains($0.to.rawValue) }
        #expect(layout.arrows.count == expected.count, "\(where_): \(expected.count) connections, \(layout.arrows.count) arrows")
        for arrow in layout.arrows {
            let from = try #require(layout.box(arrow.from)), to = try #require(layout.box(arrow.to))
            let first = try #require(arrow.path.first), last = try #require(arrow.path.last)
            #expect(from.rect.isAdjacent(first), "\(where_): \(arrow.from)→\(arrow.to) does not start at its source")
            #expect(to.rect.isAdjacent(last), "\(where_): \(arrow.from)→\(arrow.to) does not end at its target")
            for (a, b) in zip(arrow.path, arrow.path.dropFirst()) {
                #expect(abs(a.x - b.x) + abs(a.y - b.y) == 1, "\(where_): \(arrow.from)→\(arrow.to) has a gap")
            }
            for point in arrow.path {
                #expect(node.rect.contains(point) && point.x > 0 && point.y > 0, "\(where_): arrow leaves the node")
                for box in layout.boxes {
                    #expect(!box.rect.contains(point), "\(where_): \(arrow.from)→\(arrow.to) crosses \(box.id)")
                }
            }
        }

        // Drawn: each box's border is intact, so no text ran out of it.
        let grid = DiagramRenderer.grid(layout, ascii: ascii)
        let vertical: Character = ascii ? "|" : "│", horizontal: Character = ascii ? "-" : "─"
        for box in layout.boxes + [node] {
            let r = box.rect
            for y in (r.y + 1)..<r.maxY {
                #expect(grid[r.x, y].character == vertical && grid[r.maxX, y].character == vertical, "\(where_): \(box.id) side broken at row \(y)")
            }
            for x in (r.x + 1)..<r.maxX {
                #expect(grid[x, r.maxY].character == horizontal, "\(where_): \(box.id) bottom broken at column \(x)")
            }
        }
        if ascii {
            #expect(grid.text.allSatisfy { $0.isASCII }, "\(where_): non-ASCII character in ASCII mode")
        }
    }
}
