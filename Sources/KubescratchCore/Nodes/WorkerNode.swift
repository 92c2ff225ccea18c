/// A worker node of stage 6, by its number: node-2, node-3, … Node 1 is this machine, which keeps the control plane.
/// Everything else about a worker (its addresses, namespace, pod range, folder, cgroup parent) follows from the
/// number: `WorkerNetwork` and `WorkerPlanner`.
public struct WorkerNode: Hashable, Sendable, Comparable, NamedValue, CustomStringConvertible {
    public let index: Int

    /// Up to node-9: one digit keeps every kernel name within 15 characters, and each worker costs about 150 MiB.
    public static let indices = 2...9

    public init?(index: Int) {
        guard Self.indices.contains(index) else { return nil }
        self.index = index
    }

    /// `node-2`, …; nil for any other name.
    public init?(name: String) {
        guard name.hasPrefix("node-"), let index = Int(name.dropFirst(5)), String(index) == name.dropFirst(5) else { return nil }
        self.init(index: index)
    }

    /// The workers of a cluster of `nodes` nodes: node-2 … node-N.
    public static func workers(ofCluster nodes: Int) -> [WorkerNode] {
        nodes < 2 ? [] : (2...nodes).compactMap { WorkerNode(index: $0) }
    }

    public static let second = WorkerNode(index: 2)!

    public var name: String { "node-\(index)" }
    public var description: String { name }
    public static func < (a: Self, b: Self) -> Bool { a.index < b.index }
}

/// Any node of the cluster as data, the first one included: what `status --json` lists and scripts read instead of
/// restating the network plan.
public struct ClusterNode: Sendable, Equatable, Codable {
    public var name: String
    public var address: String
    public var podRange: String
    /// The worker's network namespace; nil for the first node (the host's own).
    public var namespace: String?
    /// The host's end of the worker's link, and the link's range.
    public var hostAddress: String?
    public var link: String?
    public var bridge: String
    public var stateDir: String
    /// Where its pods' cgroups go: `<cgroupParent>/kubepods`.
    public var cgroupParent: String
    public var components: [String]

    public static func first(_ planner: ComponentPlanner) -> ClusterNode {
        ClusterNode(name: planner.facts.nodeName, address: planner.facts.nodeIP, podRange: planner.network.podSubnet,
                    namespace: nil, hostAddress: nil, link: nil, bridge: planner.network.bridge, stateDir: planner.layout.root,
                    cgroupParent: "/", components: ComponentID.firstNode.map(\.name))
    }

    public static func worker(_ planner: WorkerPlanner) -> ClusterNode {
        let network = planner.network
        return ClusterNode(name: planner.worker.name, address: network.nodeAddress, podRange: network.podSubnet,
                           namespace: network.namespace, hostAddress: network.hostAddress, link: network.link.description,
                           bridge: network.bridge, stateDir: planner.layout.root, cgroupParent: planner.cgroupParent,
                           components: ComponentID.on(planner.worker).map(\.name))
    }
}
