/// What the diagram shows, decided from the node's state: which boxes, which arrows, which pods, what is new.
public struct DiagramModel: Sendable, Equatable {
    public var nodeTitle: String
    public var components: [ComponentBox]
    public var arrows: [Connection]
    /// Pods running (or starting) on the node, grouped: static pods, lone pods, then one group per ReplicaSet.
    public var podGroups: [PodGroup]
    /// Pods no node has been chosen for: drawn outside the node.
    public var unscheduled: [PodLine]
    public var nodePorts: [NodePortPath]

    public struct ComponentBox: Sendable, Equatable {
        public var id: BoxID
        public var health: ComponentHealth
        public var pid: Int32?
        public var port: Int?
        public var isNew: Bool
    }

    /// The boxes a diagram can hold: the seven components, and the kernel's iptables that kube-proxy writes to.
    public enum BoxID: String, Sendable, Equatable, Hashable, CaseIterable {
        case etcd, apiserver, scheduler, controllerManager, kubelet, kubeProxy, iptables, containerd

        public init(_ component: ComponentID) {
            switch component {
            case .etcd: self = .etcd
            case .kubeAPIServer: self = .apiserver
            case .kubeScheduler: self = .scheduler
            case .kubeControllerManager: self = .controllerManager
            case .kubelet: self = .kubelet
            case .kubeProxy: self = .kubeProxy
            case .containerd: self = .containerd
            }
        }

        public var longTitle: String {
            switch self {
            case .etcd: "etcd"
            case .apiserver: "kube-apiserver"
            case .scheduler: "kube-scheduler"
            case .controllerManager: "kube-controller-manager"
            case .kubelet: "kubelet"
            case .kubeProxy: "kube-proxy"
            case .iptables: "iptables (kernel)"
            case .containerd: "containerd + runc"
            }
        }

        public var shortTitle: String {
            switch self {
            case .apiserver: "apiserver"
            case .scheduler: "scheduler"
            case .controllerManager: "ctrl-manager"
            case .iptables: "iptables"
            case .containerd: "containerd"
            default: longTitle
            }
        }
    }

    public struct Connection: Sendable, Equatable, Hashable {
        public var from: BoxID
        public var to: BoxID
        public var label: String?
        public var isNew: Bool
    }

    public struct PodLine: Sendable, Equatable {
        public var name: String
        public var phase: String
        public var ready: Bool
        public var ip: String?
        public var isStatic: Bool
        public var terminating: Bool
        public var isNew: Bool

        public var style: CellStyle {
            if isNew { return .new }
            if terminating { return .dim }
            switch phase {
            case "Running": return ready ? .podRunning : .starting
            case "Pending": return .podPending
            case "Failed": return .podFailed
            default: return .dim
            }
        }

        public func symbol(ascii: Bool) -> String {
            if terminating { return ascii ? "o" : "○" }
            switch phase {
            case "Running": return ready ? (ascii ? "*" : "●") : (ascii ? "~" : "◐")
            case "Pending": return ascii ? "." : "◌"
            case "Failed": return ascii ? "X" : "✖"
            default: return "?"
            }
        }

        public func text(ascii: Bool) -> String {
            var parts = [symbol(ascii: ascii), name]
            if isStatic { parts.append("(static)") }
            parts.append(terminating ? "Terminating" : phase)
            if let ip { parts.append(ip) }
            return (isNew ? (ascii ? "+ " : "✚ ") : "") + parts.joined(separator: " ")
        }
    }

    public struct PodGroup: Sendable, Equatable {
        /// "deploy/web › rs/web-5ffc674858", or nil for pods of no ReplicaSet.
        public var header: String?
        public var pods: [PodLine]
    }

    public struct NodePortPath: Sendable, Equatable {
        public var service: String
        public var address: String
        public var port: Int
        public var backends: Int
        public var proxyRunning: Bool
        public var isNew: Bool
    }

    public func box(_ id: BoxID) -> ComponentBox? { components.first { $0.id == id } }
}

extension DiagramModel {
    /// Builds the model from live state. `previous` marks what is new since the step before.
    public init(state: NodeState, previous: DiagramModel? = nil) {
        nodeTitle = "node \(state.nodeName) · \(state.nodeIP)"
        var boxes: [ComponentBox] = []
        for status in state.components {
            let id = BoxID(status.id)
            let before = previous?.box(id)
            let isNew = previous != nil && (before == nil || (before!.health != status.health && status.health == .healthy))
            boxes.append(ComponentBox(id: id, health: status.health, pid: status.health == .stopped ? nil : status.pid,
                                      port: status.port, isNew: isNew))
        }
        if state.component(.kubeProxy) != nil {
            let proxyUp = state.isUp(.kubeProxy)
            boxes.append(ComponentBox(id: .iptables, health: proxyUp ? .healthy : .stopped, pid: nil, port: nil,
                                      isNew: previous != nil && previous?.box(.iptables) == nil))
        }
        components = boxes

        // Arrows only where the connection exists now: both ends up, and the source configured to use the target.
        var wanted: [(BoxID, BoxID, String?)] = []
        func both(_ a: ComponentID, _ b: ComponentID) -> Bool { state.isUp(a) && state.isUp(b) }
        if both(.kubelet, .containerd) { wanted.append((.kubelet, .containerd, "CRI")) }
        if both(.kubelet, .kubeAPIServer) && state.kubeletMode != .standalone { wanted.append((.kubelet, .apiserver, nil)) }
        if both(.kubeAPIServer, .etcd) { wanted.append((.apiserver, .etcd, nil)) }
        if both(.kubeScheduler, .kubeAPIServer) { wanted.append((.scheduler, .apiserver, nil)) }
        if both(.kubeControllerManager, .kubeAPIServer) { wanted.append((.controllerManager, .apiserver, nil)) }
        if both(.kubeProxy, .kubeAPIServer) { wanted.append((.kubeProxy, .apiserver, nil)) }
        if state.isUp(.kubeProxy) { wanted.append((.kubeProxy, .iptables, "rules")) }
        let before = Set((previous?.arrows ?? []).map { "\($0.from.rawValue)>\($0.to.rawValue)" })
        arrows = wanted.map { from, to, label in
            Connection(from: from, to: to, label: label, isNew: previous != nil && !before.contains("\(from.rawValue)>\(to.rawValue)"))
        }

        let knownPods = Set((previous?.podGroups.flatMap(\.pods) ?? []).map(\.name) + (previous?.unscheduled ?? []).map(\.name))
        func line(_ pod: PodStatus) -> PodLine {
            PodLine(name: pod.name, phase: pod.phase, ready: pod.ready, ip: pod.ip, isStatic: pod.isStatic,
                    terminating: pod.terminating, isNew: previous != nil && !knownPods.contains(pod.name))
        }
        let onNode = state.pods.filter { $0.nodeName != nil || $0.isStatic }
        unscheduled = state.pods.filter { $0.nodeName == nil && !$0.isStatic }.map(line)
        var groups: [PodGroup] = []
        let loose = onNode.filter { $0.replicaSet == nil }.sorted { ($0.isStatic ? 0 : 1, $0.name) < ($1.isStatic ? 0 : 1, $1.name) }
        if !loose.isEmpty { groups.append(PodGroup(header: nil, pods: loose.map(line))) }
        let sets = Dictionary(grouping: onNode.filter { $0.replicaSet != nil }, by: { $0.replicaSet! })
        for (set, pods) in sets.sorted(by: { $0.key < $1.key }) {
            let deployment = pods.first?.deployment.map { "deploy/\($0) › " } ?? ""
            groups.append(PodGroup(header: "\(deployment)rs/\(set)", pods: pods.sorted { $0.name < $1.name }.map(line)))
        }
        podGroups = groups

        let previousPorts = Set((previous?.nodePorts ?? []).map(\.service))
        nodePorts = state.services.compactMap { service in
            guard let port = service.nodePort else { return nil }
            let backends = onNode.filter { pod in
                !service.selector.isEmpty && service.selector.allSatisfy { pod.labels[$0.key] == $0.value } && pod.ready && !pod.terminating
            }.count
            return NodePortPath(service: service.name, address: state.nodeIP, port: port, backends: backends,
                                proxyRunning: state.isUp(.kubeProxy),
                                isNew: previous != nil && !previousPorts.contains(service.name))
        }
    }
}
