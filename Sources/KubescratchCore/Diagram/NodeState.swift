import Foundation

/// What the node looks like right now, observed from the real components: the input of the diagram.
public struct NodeState: Sendable, Equatable {
    public var nodeName: String
    public var nodeIP: String
    public var components: [ComponentStatus]
    public var pods: [PodStatus]
    public var services: [ServiceStatus]
    /// The kubelet's mode decides whether it talks to the API server.
    public var kubeletMode: KubeletMode?
    /// Stage 6's worker nodes that exist, in order. Their pods stay in `pods`: those whose `nodeName` is a worker's
    /// name are its own.
    public var workers: [WorkerState]
    /// The API server's recent calls (its audit log), and the moment they are judged from (recent, a write just now).
    public var traffic: TrafficLog?
    public var trafficTime = Date()
    /// The last traced request, while it is shown (the screen keeps it a few seconds, or until the next key).
    public var packet: TraceReport?

    public init(nodeName: String, nodeIP: String, components: [ComponentStatus] = [], pods: [PodStatus] = [],
                services: [ServiceStatus] = [], kubeletMode: KubeletMode? = nil, workers: [WorkerState] = []) {
        self.nodeName = nodeName
        self.nodeIP = nodeIP
        self.components = components
        self.pods = pods
        self.services = services
        self.kubeletMode = kubeletMode
        self.workers = workers
    }

    public func component(_ id: ComponentID) -> ComponentStatus? { components.first { $0.id == id } }

    public func isUp(_ id: ComponentID) -> Bool { component(id)?.isUp ?? false }
}

/// A worker node (stage 6): a network namespace on the same machine, joined to the host by a veth pair, with its
/// own containerd, kubelet and kube-proxy. The control plane stays on the first node.
public struct WorkerState: Sendable, Equatable {
    public var name: String
    /// The worker's end of the link (its node IP).
    public var address: String
    /// The host's end of the link: the first node's side, and its device there.
    public var hostAddress: String
    public var hostLink: String
    public var podRange: String
    /// The first node's pod range: the other end of the pod routes.
    public var firstNodePodRange: String
    /// Its containerd, kubelet and kube-proxy.
    public var components: [ComponentStatus]
    /// The Node object's Ready condition; nil while no Node object is registered.
    public var ready: Bool?
    /// Taint keys on the Node object, e.g. node.kubernetes.io/unreachable.
    public var taints: [String]
    /// Its pod routes exist (host → its pods, it → node-1's pods). Before, cross-node pod traffic fails.
    public var podRoutes: Bool

    public init(_ network: WorkerNetwork, components: [ComponentStatus] = [], ready: Bool? = nil, taints: [String] = [],
                podRoutes: Bool = false) {
        self.name = network.worker.name
        self.address = network.nodeAddress
        self.hostAddress = network.hostAddress
        self.hostLink = network.hostLink
        self.podRange = network.podSubnet
        self.firstNodePodRange = network.cluster.podSubnet
        self.components = components
        self.ready = ready
        self.taints = taints
        self.podRoutes = podRoutes
    }

    public func component(_ program: Program) -> ComponentStatus? {
        components.first { $0.id.program == program }
    }

    public func isUp(_ program: Program) -> Bool { component(program)?.isUp ?? false }
}

public enum ComponentHealth: String, Sendable, Equatable, Codable, CaseIterable {
    case healthy, starting, unhealthy, stopped, crashed

    /// A symbol that still reads without colour.
    public var symbol: String {
        switch self {
        case .healthy: "●"
        case .starting: "◐"
        case .unhealthy: "▲"
        case .stopped: "○"
        case .crashed: "✖"
        }
    }

    public var asciiSymbol: String {
        switch self {
        case .healthy: "*"
        case .starting: "~"
        case .unhealthy: "!"
        case .stopped: "o"
        case .crashed: "X"
        }
    }

    public var word: String {
        switch self {
        case .healthy: "up"
        case .starting: "starting"
        case .unhealthy: "unhealthy"
        case .stopped: "stopped"
        case .crashed: "crashed"
        }
    }
}

public struct ComponentStatus: Sendable, Equatable {
    public var id: ComponentID
    public var health: ComponentHealth
    public var pid: Int32?
    public var port: Int?

    public init(id: ComponentID, health: ComponentHealth, pid: Int32? = nil, port: Int? = nil) {
        self.id = id
        self.health = health
        self.pid = pid
        self.port = port
    }

    /// Running, or on its way: what an arrow to it needs.
    public var isUp: Bool { health == .healthy || health == .starting }
}

public struct PodStatus: Sendable, Equatable {
    public var name: String
    public var phase: String
    public var ready: Bool
    public var ip: String?
    public var nodeName: String?
    /// A static pod (run from the kubelet's folder), shown in the API as a mirror pod.
    public var isStatic: Bool
    public var replicaSet: String?
    public var deployment: String?
    public var labels: [String: String]
    public var terminating: Bool

    public init(name: String, phase: String, ready: Bool = false, ip: String? = nil, nodeName: String? = nil, isStatic: Bool = false,
                replicaSet: String? = nil, deployment: String? = nil, labels: [String: String] = [:], terminating: Bool = false) {
        self.name = name
        self.phase = phase
        self.ready = ready
        self.ip = ip
        self.nodeName = nodeName
        self.isStatic = isStatic
        self.replicaSet = replicaSet
        self.deployment = deployment
        self.labels = labels
        self.terminating = terminating
    }
}

public struct ServiceStatus: Sendable, Equatable {
    public var name: String
    public var nodePort: Int?
    public var selector: [String: String]

    public init(name: String, nodePort: Int?, selector: [String: String]) {
        self.name = name
        self.nodePort = nodePort
        self.selector = selector
    }
}

extension NodeState {
    /// Builds the pod and service part from real API objects (`kubectl get … -o json`).
    public static func pods(from pods: [Pod], replicaSets: [ReplicaSet]) -> [PodStatus] {
        var deploymentOfReplicaSet: [String: String] = [:]
        for set in replicaSets {
            if let owner = set.metadata.ownerReferences?.first(where: { $0.kind == "Deployment" }) {
                deploymentOfReplicaSet[set.metadata.name] = owner.name
            }
        }
        return pods.map { pod in
            let replicaSet = pod.metadata.ownerReferences?.first { $0.kind == "ReplicaSet" }?.name
            return PodStatus(name: pod.metadata.name, phase: pod.phase, ready: pod.isReady, ip: pod.podIP, nodeName: pod.nodeName,
                             isStatic: pod.isMirror, replicaSet: replicaSet, deployment: replicaSet.flatMap { deploymentOfReplicaSet[$0] },
                             labels: pod.metadata.labels ?? [:], terminating: pod.metadata.deletionTimestamp != nil)
        }
    }

    public static func services(from services: [Service]) -> [ServiceStatus] {
        services.filter { $0.nodePort != nil }.map {
            ServiceStatus(name: $0.metadata.name, nodePort: $0.nodePort, selector: $0.spec?.selector ?? [:])
        }
    }
}
