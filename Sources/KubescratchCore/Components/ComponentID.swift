/// The real upstream programs kubescratch launches, in the order a node gains them.
public enum Program: String, CaseIterable, Codable, Sendable, Comparable {
    case containerd
    case kubelet
    case etcd
    case kubeAPIServer = "kube-apiserver"
    case kubeScheduler = "kube-scheduler"
    case kubeControllerManager = "kube-controller-manager"
    case kubeProxy = "kube-proxy"

    public var startOrder: Int { Self.allCases.firstIndex(of: self)! }
    public static func < (a: Self, b: Self) -> Bool { a.startOrder < b.startOrder }

    /// What a worker node runs: the node agents, no control plane.
    public static let worker: [Program] = [.containerd, .kubelet, .kubeProxy]
}

/// One supervised process: a program on a node. The first node (this machine, with the control plane) runs all
/// seven programs under their own names; a worker node (stage 6) runs `Program.worker` under `<node>-<program>`
/// (`node-2-kubelet`), so one supervisor, one log folder and one diagram hold any number of nodes.
public struct ComponentID: Hashable, Sendable, Comparable, CustomStringConvertible {
    public var program: Program
    /// nil: the first node.
    public var worker: WorkerNode?

    public init(_ program: Program, on worker: WorkerNode? = nil) {
        self.program = program
        self.worker = worker
    }

    public static let containerd = ComponentID(.containerd)
    public static let kubelet = ComponentID(.kubelet)
    public static let etcd = ComponentID(.etcd)
    public static let kubeAPIServer = ComponentID(.kubeAPIServer)
    public static let kubeScheduler = ComponentID(.kubeScheduler)
    public static let kubeControllerManager = ComponentID(.kubeControllerManager)
    public static let kubeProxy = ComponentID(.kubeProxy)

    /// `kubelet`, `node-2-kubelet`: records, logs, lesson steps and the command line all use it.
    public var name: String { worker.map { "\($0.name)-\(program.rawValue)" } ?? program.rawValue }
    public var description: String { name }

    public init?(name: String) {
        if let program = Program(rawValue: name) {
            self.init(program)
            return
        }
        for program in Program.worker where name.hasSuffix("-" + program.rawValue) {
            if let worker = WorkerNode(name: String(name.dropLast(program.rawValue.count + 1))) {
                self.init(program, on: worker)
                return
            }
        }
        return nil
    }

    public var isOnWorker: Bool { worker != nil }

    /// The first node's components, as stages 1-5 run them.
    public static let firstNode: [ComponentID] = Program.allCases.map { ComponentID($0) }

    /// A worker's components, in start order.
    public static func on(_ worker: WorkerNode) -> [ComponentID] { Program.worker.map { ComponentID($0, on: worker) } }

    /// The first node's, then each worker's.
    public static func all(workers: [WorkerNode]) -> [ComponentID] {
        firstNode + workers.sorted().flatMap { on($0) }
    }

    /// For "expected one of …" messages.
    public static var allNames: String { (firstNode.map(\.name) + ["node-N-containerd", "node-N-kubelet", "node-N-kube-proxy"]).joined(separator: ", ") }

    /// The first node before any worker; a worker's programs in the order they start.
    public var startOrder: Int { (worker?.index ?? 0) * 100 + program.startOrder }

    public static func < (a: Self, b: Self) -> Bool { a.startOrder < b.startOrder }
}

extension ComponentID: NamedValue {}

/// A value written as its name (`node-3`, `node-3-kubelet`) in supervisor records, JSON and lessons.
public protocol NamedValue: Codable {
    var name: String { get }
    init?(name: String)
}

extension NamedValue {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let value = Self(name: text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "not a \(Self.self): \(text)"))
        }
        self = value
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(name)
    }
}

/// The kubelet runs twice in the tutorial: alone first, then as a node of the API server.
public enum KubeletMode: String, Codable, Sendable {
    /// No kubeconfig: pods come only from the static pod folder.
    case standalone
    /// With a kubeconfig: registers the node and takes pods from the API server.
    case cluster

    /// The kubelet's mode on a node at step `step` of stage `stage` (-1: its start): stage 2's first step
    /// restarts it as a node of the API server. Restarts, the screen's s key and recoveries all ask this.
    public static func onNode(atStage stage: Int, step: Int) -> KubeletMode {
        stage > 2 || (stage == 2 && step >= 0) ? .cluster : .standalone
    }
}
