import Foundation

/// What the diagram shows, decided from the node's state: which boxes, which arrows, which pods, what is new.
public struct DiagramModel: Sendable, Equatable {
    public var nodeTitle: String
    /// The first node's name (its kubelet calls as system:node:<name>).
    public var nodeName = ""
    public var components: [ComponentBox]
    public var arrows: [Connection]
    /// Pods running (or starting) on the node, grouped: static pods, lone pods, then one group per ReplicaSet.
    public var podGroups: [PodGroup]
    /// Pods no node has been chosen for: drawn outside the node.
    public var unscheduled: [PodLine]
    public var nodePorts: [NodePortPath]
    /// Stage 6's worker nodes, each drawn as a node box joined to this one by its link.
    public var workers: [Worker] = []
    /// One traced request: the rules it matched (on the iptables box), the pod that answered (marked), the link it
    /// crossed, and its path in a line under the node.
    public var packet: PacketPath?

    public struct PacketPath: Sendable, Equatable {
        /// "you ──► 192.0.2.2:30080 ──► KUBE-SVC-… ──► KUBE-SEP-… ──► DNAT 10.200.0.5:80 ──► web-… on vm"
        public var client: String
        public var target: String
        public var chains: [String]
        public var dnat: String?
        public var pod: String?
        public var podNode: String?
        /// The worker whose link it crossed.
        public var acrossLink: String?
        /// Answered 200.
        public var answered: Bool
        public var rulesOf: String

        public init(_ report: TraceReport, links: [WorkerNetwork]) {
            client = report.client == "this node" ? "you" : report.client
            target = report.target
            chains = report.wayChains
            dnat = report.dnat
            pod = report.pod
            podNode = report.podNode
            acrossLink = report.crossedLink(of: links)?.name
            answered = report.answer.contains(" 200")
            rulesOf = report.rulesOf
        }

        /// The whole way in one line; KUBE-SERVICES and KUBE-NODEPORTS, which every such packet passes, left out
        /// where the line is short of room.
        public func line(ascii: Bool, width: Int) -> String {
            let arrow = ascii ? " --> " : " ──► "
            let end = pod.map { "\($0)" + (podNode.map { " on \($0)" } ?? "") } ?? (answered ? "answered" : "no pod")
            func build(_ shown: [String]) -> String {
                var parts = ["packet: \(client)", target] + shown
                if let dnat { parts.append("DNAT \(dnat)") }
                if acrossLink != nil { parts.append("link") }
                parts.append(end + (answered ? " (200)" : ""))
                return parts.joined(separator: arrow)
            }
            // Shorter and shorter until it fits: without the two chains every such packet passes, then with the
            // chains' hashes cut ("SVC-CDGG…"), then with the DNAT and the pod only. The pod always stays.
            let services = chains.filter { $0 != "KUBE-SERVICES" && $0 != "KUBE-NODEPORTS" }
            let short = services.map(Self.short)
            for candidate in [chains.isEmpty ? ["no KUBE-* rule"] : chains, services, short, []] {
                let line = build(candidate)
                if line.count <= width || candidate.isEmpty { return line }
            }
            return build([])
        }

        /// The iptables box's two lines while a trace is shown: the Service's chain and the endpoint's it matched.
        public var boxLines: [String] {
            guard dnat != nil else { return ["packet: no rule", "rewrote it"] }
            let service = chains.last { $0.hasPrefix("KUBE-SVC-") || $0.hasPrefix("service-") }
            let endpoint = chains.last { $0.hasPrefix("KUBE-SEP-") || $0.hasPrefix("endpoint-") }
            return ["▸ " + (service.map(Self.short) ?? "?"), "▸ " + (endpoint.map(Self.short) ?? "?") + " DNAT"]
        }

        /// "KUBE-SVC-CDGGSHYLG3RE2FKL" → "SVC-CDGG…": enough to tell two apart on screen.
        static func short(_ chain: String) -> String {
            let name = chain.hasPrefix("KUBE-") ? String(chain.dropFirst(5)) : chain
            guard let dash = name.firstIndex(of: "-"), name.distance(from: dash, to: name.endIndex) > 6 else { return name }
            return String(name[...name.index(dash, offsetBy: 4)]) + "…"
        }
    }

    public struct ComponentBox: Sendable, Equatable {
        public var id: BoxID
        public var health: ComponentHealth
        public var pid: Int32?
        public var port: Int?
        public var isNew: Bool
        /// The iptables box while a traced request is shown: what it matched.
        public var packetLines: [String]? = nil
    }

    /// The boxes a diagram can hold: the seven components, and the kernel's iptables that kube-proxy writes to.
    public enum BoxID: String, Sendable, Equatable, Hashable, CaseIterable {
        case etcd, apiserver, scheduler, controllerManager, kubelet, kubeProxy, iptables, containerd

        public init(_ component: ComponentID) {
            // node-2's components are drawn in node-2's box, as the same programs.
            switch component.program {
            case .etcd: self = .etcd
            case .kubeAPIServer: self = .apiserver
            case .kubeScheduler: self = .scheduler
            case .kubeControllerManager: self = .controllerManager
            case .kubelet: self = .kubelet
            case .kubeProxy: self = .kubeProxy
            case .containerd: self = .containerd
            default: self = .containerd
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
        /// Into the API server: what the source said lately (`create pods/binding ×3 · watch pods`), from the audit log.
        public var calls: String? = nil
        /// It wrote a moment ago: drawn bright for about a second.
        public var writing = false
        /// One of its recent calls failed (4xx, 5xx).
        public var failing = false
    }

    public struct PodLine: Sendable, Equatable {
        public var name: String
        public var phase: String
        public var ready: Bool
        public var ip: String?
        public var isStatic: Bool
        public var terminating: Bool
        public var isNew: Bool
        /// The pod a traced request reached.
        public var traced = false

        public var style: CellStyle {
            if isNew || traced { return .new }
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
            if traced { parts.append(ascii ? "<- packet" : "◀ packet") }
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
        /// Of `backends`, those on each worker: reached over its link, so only once its pod routes exist.
        public var onWorkers: [WorkerBackends] = []
    }

    public struct WorkerBackends: Sendable, Equatable {
        public var node: String
        public var count: Int
        public var podRoutes: Bool

        /// "4 on node-2" (", no pod route" while there is none).
        public var said: String { "\(count) on \(node)\(podRoutes ? "" : ", no pod route")" }
    }

    /// A worker node as drawn: its own components and pods, its Node object's condition, its link to the first node.
    public struct Worker: Sendable, Equatable {
        public var name: String
        public var address: String
        public var podRange: String
        /// nil: no Node object registered yet.
        public var ready: Bool?
        public var taints: [String]
        /// The worker itself appeared since the previous state.
        public var isNew: Bool
        /// containerd, kubelet and kube-proxy (no iptables box: a worker's rules live in its own namespace).
        public var components: [ComponentBox]
        /// Connections inside the worker (the kubelet's CRI).
        public var arrows: [Connection]
        /// Its kubelet and kube-proxy talking to the first node's API server, over the link.
        public var apiClients: [Connection]
        /// Where they reach it: "192.0.2.2:6443".
        public var apiServerAddress: String
        public var podGroups: [PodGroup]
        public var link: NodeLink

        public func box(_ id: BoxID) -> ComponentBox? { components.first { $0.id == id } }

        /// "node node-2 · 10.201.0.2 · NotReady · taint unreachable"; full taint keys when `fullTaints`.
        public func title(fullTaints: Bool) -> String {
            var words = ["node \(name) · \(address)"]
            switch ready {
            case nil: words.append("no Node object yet")
            case false?: words.append("NotReady")
            case true?: break
            }
            if !taints.isEmpty {
                let keys = fullTaints ? taints : taints.map { $0.split(separator: "/").last.map(String.init) ?? $0 }
                words.append("taint \(keys.joined(separator: ", "))")
            }
            return words.joined(separator: " · ")
        }

        /// NotReady or tainted reads as trouble; a node that just appeared as new.
        public var titleStyle: CellStyle {
            if isNew { return .new }
            if ready == false || !taints.isEmpty { return .unhealthy }
            return ready == nil ? .starting : .title
        }
    }

    /// The veth pair between the host (the first node) and a worker, and whether pods can cross it.
    public struct NodeLink: Sendable, Equatable {
        /// The host's end: its device and address.
        public var hostLink: String
        public var hostAddress: String
        public var nodeAddress: String
        public var podRoutes: Bool
        public var firstPodRange: String
        public var workerPodRange: String
        public var isNew: Bool
        /// The pod routes were added since the previous state.
        public var routesAreNew: Bool
        /// A traced request crossed it.
        public var carriesPacket = false

        /// "10.201.0.1 ⇄ 10.201.0.2"
        public var addresses: String { "\(hostAddress) ⇄ \(nodeAddress)" }
        /// "none" or "10.200.0.0/24 ⇄ 10.200.1.0/24"
        public var routes: String { podRoutes ? "\(firstPodRange) ⇄ \(workerPodRange)" : "none" }
        /// On one line: "10.201.0.1 ⇄ 10.201.0.2  pod routes: none".
        public var label: String { "\(addresses)  pod routes: \(routes)" + (carriesPacket ? "  ◀ packet" : "") }
        public var style: CellStyle { isNew || routesAreNew || carriesPacket ? .new : (podRoutes ? .arrow : .podPending) }
    }

    public func box(_ id: BoxID) -> ComponentBox? { components.first { $0.id == id } }

    /// A component's box on whichever node runs it.
    public func box(of component: ComponentID) -> ComponentBox? {
        guard let node = component.worker else { return box(BoxID(component)) }
        return worker(node.name)?.box(BoxID(component))
    }

    public func worker(_ name: String) -> Worker? { workers.first { $0.name == name } }

    /// Every node's pod groups, the first node's first.
    public var allPodGroups: [PodGroup] { podGroups + workers.flatMap(\.podGroups) }
}

extension DiagramModel {
    /// Builds the model from live state. `previous` marks what is new since the step before.
    public init(state: NodeState, previous: DiagramModel? = nil) {
        nodeTitle = "node \(state.nodeName) · \(state.nodeIP)" + (state.workers.isEmpty ? "" : " · control plane")
        nodeName = state.nodeName
        var boxes = Self.componentBoxes(state.components, previous: previous, before: { previous?.box($0) })
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
        arrows = Self.connections(wanted, previous: previous?.arrows, hasPrevious: previous != nil)
        if let traffic = state.traffic {
            arrows = arrows.map { Self.annotate($0, traffic: traffic, node: state.nodeName, now: state.trafficTime) }
        }

        let previousPods = previous?.allPodGroups ?? []
        let knownPods = Set(previousPods.flatMap(\.pods).map(\.name) + (previous?.unscheduled ?? []).map(\.name))
        let links = state.workers.compactMap { WorkerNode(name: $0.name).map { WorkerNetwork($0) } }
        packet = state.packet.map { PacketPath($0, links: links) }
        let tracedPod = packet?.pod
        func line(_ pod: PodStatus) -> PodLine {
            PodLine(name: pod.name, phase: pod.phase, ready: pod.ready, ip: pod.ip, isStatic: pod.isStatic,
                    terminating: pod.terminating, isNew: previous != nil && !knownPods.contains(pod.name), traced: pod.name == tracedPod)
        }
        let onNode = state.pods.filter { $0.nodeName != nil || $0.isStatic }
        let workerNames = Set(state.workers.map(\.name))
        unscheduled = state.pods.filter { $0.nodeName == nil && !$0.isStatic }.map(line)
        podGroups = Self.groups(onNode.filter { !workerNames.contains($0.nodeName ?? "") }, line: line)

        let previousPorts = Set((previous?.nodePorts ?? []).map(\.service))
        nodePorts = state.services.compactMap { service in
            guard let port = service.nodePort else { return nil }
            let backends = onNode.filter { pod in
                !service.selector.isEmpty && service.selector.allSatisfy { pod.labels[$0.key] == $0.value } && pod.ready && !pod.terminating
            }
            return NodePortPath(service: service.name, address: state.nodeIP, port: port, backends: backends.count,
                                proxyRunning: state.isUp(.kubeProxy),
                                isNew: previous != nil && !previousPorts.contains(service.name),
                                onWorkers: state.workers.compactMap { worker in
                                    let count = backends.filter { $0.nodeName == worker.name }.count
                                    return count == 0 ? nil : WorkerBackends(node: worker.name, count: count, podRoutes: worker.podRoutes)
                                })
        }

        workers = state.workers.map { worker in
            let before = previous?.worker(worker.name)
            let hasPrevious = previous != nil
            let apiServerUp = state.isUp(.kubeAPIServer)
            var inside: [(BoxID, BoxID, String?)] = []
            if worker.isUp(.kubelet) && worker.isUp(.containerd) { inside.append((.kubelet, .containerd, "CRI")) }
            var toAPI: [(BoxID, BoxID, String?)] = []
            if worker.isUp(.kubelet) && apiServerUp { toAPI.append((.kubelet, .apiserver, nil)) }
            if worker.isUp(.kubeProxy) && apiServerUp { toAPI.append((.kubeProxy, .apiserver, nil)) }
            let apiPort = state.component(.kubeAPIServer)?.port ?? ClusterNetwork().apiServerPort
            let link = NodeLink(hostLink: worker.hostLink, hostAddress: worker.hostAddress, nodeAddress: worker.address, podRoutes: worker.podRoutes,
                                firstPodRange: worker.firstNodePodRange, workerPodRange: worker.podRange,
                                isNew: hasPrevious && before == nil,
                                routesAreNew: hasPrevious && worker.podRoutes && before?.link.podRoutes != true)
            return Worker(name: worker.name, address: worker.address, podRange: worker.podRange, ready: worker.ready,
                              // A lost node carries unreachable twice (NoSchedule and NoExecute): one word each.
                              taints: worker.taints.reduce(into: []) { keys, key in if !keys.contains(key) { keys.append(key) } },
                              isNew: hasPrevious && before == nil,
                              components: Self.componentBoxes(worker.components, previous: previous, before: { before?.box($0) }),
                              arrows: Self.connections(inside, previous: before?.arrows, hasPrevious: hasPrevious),
                              apiClients: Self.connections(toAPI, previous: before?.apiClients, hasPrevious: hasPrevious).map { connection in
                                  guard let traffic = state.traffic else { return connection }
                                  return Self.annotate(connection, traffic: traffic, node: worker.name, proxyNode: worker.name, now: state.trafficTime)
                              },
                              apiServerAddress: "\(state.nodeIP):\(apiPort)",
                              podGroups: Self.groups(onNode.filter { $0.nodeName == worker.name }, line: line), link: link)
        }
        if let packet {
            if let crossed = packet.acrossLink, let index = workers.firstIndex(where: { $0.name == crossed }) {
                workers[index].link.carriesPacket = true
            }
            // A worker's rules have no box of their own (they live in its namespace): the first node's box says whose.
            if let index = components.firstIndex(where: { $0.id == .iptables }) {
                components[index].packetLines = packet.rulesOf == "this node" ? packet.boxLines : ["packet: \(packet.rulesOf)'s", "rules, in its netns"]
            }
        }
    }

    /// One box per component; new when it was not there before, or just became healthy.
    static func componentBoxes(_ statuses: [ComponentStatus], previous: DiagramModel?, before: (BoxID) -> ComponentBox?) -> [ComponentBox] {
        statuses.map { status in
            let id = BoxID(status.id)
            let earlier = before(id)
            let isNew = previous != nil && (earlier == nil || (earlier!.health != status.health && status.health == .healthy))
            return ComponentBox(id: id, health: status.health, pid: status.health == .stopped ? nil : status.pid,
                                port: status.port, isNew: isNew)
        }
    }

    static func connections(_ wanted: [(BoxID, BoxID, String?)], previous: [Connection]?, hasPrevious: Bool) -> [Connection] {
        let before = Set((previous ?? []).map { "\($0.from.rawValue)>\($0.to.rawValue)" })
        return wanted.map { from, to, label in
            Connection(from: from, to: to, label: label, isNew: hasPrevious && !before.contains("\(from.rawValue)>\(to.rawValue)"))
        }
    }

    /// An arrow into the API server carries its source's recent calls.
    /// `proxyNode`: how the traffic log names this node's kube-proxy (nil for the first node's).
    static func annotate(_ connection: Connection, traffic: TrafficLog, node: String, proxyNode: String? = nil, now: Date) -> Connection {
        guard connection.to == .apiserver, let source = APIClient.from(connection.from, node: node, proxyNode: proxyNode) else {
            return connection
        }
        var annotated = connection
        annotated.calls = traffic.label(where: source, now: now)
        annotated.writing = traffic.wroteRecently(where: source, now: now)
        annotated.failing = traffic.failedRecently(where: source, now: now)
        return annotated
    }

    /// Static pods, lone pods, then one group per ReplicaSet.
    static func groups(_ pods: [PodStatus], line: (PodStatus) -> PodLine) -> [PodGroup] {
        var groups: [PodGroup] = []
        let loose = pods.filter { $0.replicaSet == nil }.sorted { ($0.isStatic ? 0 : 1, $0.name) < ($1.isStatic ? 0 : 1, $1.name) }
        if !loose.isEmpty { groups.append(PodGroup(header: nil, pods: loose.map(line))) }
        let sets = Dictionary(grouping: pods.filter { $0.replicaSet != nil }, by: { $0.replicaSet! })
        for (set, members) in sets.sorted(by: { $0.key < $1.key }) {
            let deployment = members.first?.deployment.map { "deploy/\($0) › " } ?? ""
            groups.append(PodGroup(header: "\(deployment)rs/\(set)", pods: members.sorted { $0.name < $1.name }.map(line)))
        }
        return groups
    }
}
