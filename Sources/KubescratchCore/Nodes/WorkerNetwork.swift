/// One command of the second node's network plan, with the failure that only means "already gone".
public struct NetworkCommand: Sendable, Equatable {
    public var command: PlannedCommand
    /// Fragments of the error output that mean there was nothing left to remove. Empty: any failure is an error.
    public var alreadyGone: [String]

    public init(_ command: PlannedCommand, alreadyGone: [String] = []) {
        self.command = command
        self.alreadyGone = alreadyGone
    }

    /// Teardown commands may fail, but only with one of the "already gone" messages.
    public var mayFail: Bool { !alreadyGone.isEmpty }

    public func failureMeansAlreadyGone(stderr: String) -> Bool {
        alreadyGone.contains { stderr.contains($0) }
    }
}

/// One setup step and what undoes it.
public struct NetworkStep: Sendable, Equatable {
    public enum Undo: Sendable, Equatable {
        /// Run this to undo the step.
        case command(NetworkCommand)
        /// Nothing to run: it goes away with what an earlier step made (the namespace or the link).
        case removedWith(String)
    }

    /// Why the step exists, in a few words (for logs and lessons).
    public var purpose: String
    public var command: PlannedCommand
    public var undo: Undo

    public init(_ purpose: String, _ command: PlannedCommand, undo: Undo) {
        self.purpose = purpose
        self.command = command
        self.undo = undo
    }

    public var undoCommand: NetworkCommand? {
        if case .command(let command) = undo { command } else { nil }
    }
}

/// A worker node's "machine": a network namespace joined to the host by a veth pair, with its own pod range. Every
/// address and name follows from the node's index, so node-3 is node-2's plan with another number.
///
/// Addresses. Worker k's link is the k-2nd /30 of 10.201.0.0/24 (node-2 10.201.0.0/30, node-3 10.201.0.4/30): two
/// usable addresses, host end first, the node second. 10.201/16 lies outside the cluster CIDR 10.200.0.0/16 (which
/// holds every node's pod range, and by which kube-proxy masquerades, so a node address inside it would be taken for
/// a pod), outside the service range 10.32.0.0/24, and away from the ranges home and cloud networks use (192.168/16,
/// 172.16/12, 10.0/16). Worker k's pods get 10.200.(k-1).0/24 on the bridge cni(k-1), inside its namespace.
///
/// Names are at most 15 characters (the kernel's IFNAMSIZ is 16 with the terminating zero) and start with `ks-` so
/// reset can tell ours from the host's. Every command runs `ip` (iproute2) or, inside the namespace, `nsenter`.
public struct WorkerNetwork: Sendable, Equatable {
    public var worker: WorkerNode
    public var namespace: String { "ks-\(worker.name)" }
    /// The host's end of the veth pair.
    public var hostLink: String { "ks-to-\(worker.name)" }
    /// The worker's end, moved into its namespace: its "network card". Each namespace has its own, so one name serves all.
    public let nodeLink = "ks-to-host"
    public var link: IPv4Range { IPv4Range("10.201.0.\((worker.index - 2) * 4)/30")! }
    public var podSubnet: String { "10.200.\(worker.index - 1).0/24" }
    public var bridge: String { "cni\(worker.index - 1)" }
    /// The first node's ranges: its pod range is the other end of the pod routes; the cluster CIDR is guarded.
    public var cluster: ClusterNetwork

    public init(_ worker: WorkerNode, cluster: ClusterNetwork = ClusterNetwork()) {
        self.worker = worker
        self.cluster = cluster
    }

    public var hostAddress: String { link.address(1) }
    public var nodeAddress: String { link.address(2) }
    public var namespacePath: String { "/run/netns/\(namespace)" }

    /// Every name this plan gives the kernel (namespace, links, bridge): each at most 15 characters.
    public var names: [String] { [namespace, hostLink, nodeLink, bridge] }

    /// Every range a worker may address. Anything else would be outside what kubescratch assigns.
    public var assignedRanges: [IPv4Range] {
        [link, IPv4Range(podSubnet)!, IPv4Range(cluster.podSubnet)!, IPv4Range(cluster.clusterCIDR)!]
    }

    /// Every worker's address → its name: a worker's kube-proxy is told from the first node's by where its calls come from.
    public static let addresses: [String: String] = Dictionary(uniqueKeysWithValues: WorkerNode.indices.map { index in
        let network = WorkerNetwork(WorkerNode(index: index)!)
        return (network.nodeAddress, network.worker.name)
    })

    /// The /24 every worker link lies in: what reset and the safety checks recognise as ours.
    public static let linkRange = IPv4Range("10.201.0.0/24")!

    /// Runs a program in node-2's network namespace only. Not `ip netns exec`: that also unshares the mount
    /// namespace (to remount /sys), so the kubelet's volume mounts and containerd's would not see each other or
    /// the host's (docs/second-node.md, "Enter only the network namespace"). nsenter execs without forking, so
    /// the PID it starts with is the program's.
    /// `mountNamespace`: also enter that mount namespace (WorkerPlanner's, for pod logs of node-2's own).
    public func inNamespace(_ program: String, _ arguments: [String], nsenter: String = "nsenter",
                            mountNamespace: String? = nil) -> PlannedCommand {
        PlannedCommand(nsenter, ["--net=\(namespacePath)"] + (mountNamespace.map { ["--mount=\($0)"] } ?? []) + [program] + arguments)
    }

    // MARK: messages iproute2 6.1 prints when there is nothing to remove (checked on this machine)

    var namespaceGone: String { "\"\(namespacePath)\": No such file or directory" }
    var cannotEnterNamespace: String { "Cannot open network namespace \"\(namespace)\"" }
    var linkGone: String { "Cannot find device \"\(hostLink)\"" }
    static let routeGone = "RTNETLINK answers: No such process"

    func ip(_ arguments: [String]) -> PlannedCommand { PlannedCommand("ip", arguments) }
    func ipInNamespace(_ arguments: [String]) -> PlannedCommand { PlannedCommand("ip", ["-n", namespace] + arguments) }

    // MARK: setup

    /// In order. Every step must succeed; after a failure, run `teardown` and start again.
    public var setup: [NetworkStep] {
        let withNamespace = NetworkStep.Undo.removedWith("namespace \(namespace)")
        let withLink = NetworkStep.Undo.removedWith("link \(hostLink)")
        let prefix = link.prefixLength
        let name = worker.name
        return [
            NetworkStep("a network namespace: \(name)'s own interfaces, routes, iptables and sysctls",
                        ip(["netns", "add", namespace]),
                        undo: .command(NetworkCommand(ip(["netns", "del", namespace]), alreadyGone: [namespaceGone]))),
            NetworkStep("a veth pair: a cable with two ends, both on the host for now",
                        ip(["link", "add", hostLink, "type", "veth", "peer", "name", nodeLink]),
                        undo: .command(NetworkCommand(ip(["link", "del", hostLink]), alreadyGone: [linkGone]))),
            // Deleting either end deletes the pair, so this and the host end's settings go with the link.
            NetworkStep("move one end into \(name)", ip(["link", "set", nodeLink, "netns", namespace]), undo: withLink),
            NetworkStep("the host's address on the link",
                        ip(["addr", "add", "\(hostAddress)/\(prefix)", "dev", hostLink]), undo: withLink),
            NetworkStep("bring the host end up", ip(["link", "set", hostLink, "up"]), undo: withLink),
            NetworkStep("\(name)'s address: its --node-ip",
                        ipInNamespace(["addr", "add", "\(nodeAddress)/\(prefix)", "dev", nodeLink]), undo: withNamespace),
            NetworkStep("bring \(name)'s end up", ipInNamespace(["link", "set", nodeLink, "up"]), undo: withNamespace),
            // A new namespace's loopback is down; containerd's stream server (exec, logs) and kube-proxy's
            // metrics listen on the worker's 127.0.0.1.
            NetworkStep("bring \(name)'s loopback up", ipInNamespace(["link", "set", "lo", "up"]), undo: withNamespace),
            // The API server (on node-1's address) is reached through this route; it never leaves the machine.
            NetworkStep("\(name)'s default route: through the host",
                        ipInNamespace(["route", "add", "default", "via", hostAddress]), undo: withNamespace),
            // Sysctls under /proc/sys/net belong to the namespace of the process that opens them.
            NetworkStep("\(name) forwards packets between its pods and the link",
                        inNamespace("sysctl", ["-w", "net.ipv4.ip_forward=1"]), undo: withNamespace),
            // Without this, the host would send packets for a pod range no node holds (or a worker's range before
            // its route exists) to its own default gateway, off the machine. With it they are dropped here, which is
            // also the bounded "curl times out" the lesson shows. cni0's /24 and the pod routes are more specific.
            // `replace`: every worker needs it and the first one made it; it goes with the last (`hostGuardRemoval`).
            NetworkStep("the host drops cluster-range packets it has no pod route for",
                        ip(["route", "replace", "blackhole", cluster.clusterCIDR]), undo: .removedWith("the last worker")),
            NetworkStep("\(name) drops cluster-range packets it has no pod route for",
                        ipInNamespace(["route", "add", "blackhole", cluster.clusterCIDR]), undo: withNamespace),
        ]
    }

    /// Removes the host's guard route: only once no worker is left to need it.
    public var hostGuardRemoval: NetworkCommand {
        NetworkCommand(ip(["route", "del", "blackhole", cluster.clusterCIDR]), alreadyGone: [Self.routeGone])
    }

    // MARK: pod network routes (Kubernetes The Hard Way's name): a lesson step of their own

    /// Each node learns where this worker's pods live, and this worker where every other node's pods live:
    /// host → its pods via its address; in it, node-1's pods and each other worker's via the host; in each other
    /// worker, its pods via that worker's host end. With one worker that is two routes, the lesson's:
    /// host → 10.200.1.0/24 via node-2, node-2 → 10.200.0.0/24 via the host. Nothing in this cluster adds them
    /// otherwise: the controller manager's route controller works only through a cloud provider, and the bridge
    /// plugin knows only its own node. Traffic between two workers passes the host, which forwards it.
    public func podRoutes(others: [WorkerNetwork] = []) -> [NetworkStep] {
        // `replace`, not `add`: the same routes again are no error (a break-it section cut short puts them back
        // without knowing whether they were already restored).
        [NetworkStep("host → \(worker.name)'s pods", ip(["route", "replace", podSubnet, "via", nodeAddress]),
                     undo: .command(NetworkCommand(ip(["route", "del", podSubnet, "via", nodeAddress]), alreadyGone: [Self.routeGone]))),
         NetworkStep("\(worker.name) → node-1's pods", ipInNamespace(["route", "replace", cluster.podSubnet, "via", hostAddress]),
                     undo: .removedWith("namespace \(namespace)"))]
            + others.flatMap { other in
                [NetworkStep("\(worker.name) → \(other.worker.name)'s pods",
                             ipInNamespace(["route", "replace", other.podSubnet, "via", hostAddress]),
                             undo: .removedWith("namespace \(namespace)")),
                 NetworkStep("\(other.worker.name) → \(worker.name)'s pods",
                             other.ipInNamespace(["route", "replace", podSubnet, "via", other.hostAddress]),
                             undo: .command(NetworkCommand(other.ipInNamespace(["route", "del", podSubnet, "via", other.hostAddress]),
                                                           alreadyGone: [Self.routeGone, other.cannotEnterNamespace])))]
            }
    }

    /// The reverse of `podRoutes` while the worker stays (a lesson's undo): every route to or from its pods, its own first.
    public func removePodRoutes(others: [WorkerNetwork] = []) -> [NetworkCommand] {
        [NetworkCommand(ipInNamespace(["route", "del", cluster.podSubnet, "via", hostAddress]), alreadyGone: [Self.routeGone, cannotEnterNamespace])]
            + others.map { other in
                NetworkCommand(ipInNamespace(["route", "del", other.podSubnet, "via", hostAddress]), alreadyGone: [Self.routeGone, cannotEnterNamespace])
            }
            + others.map { other in
                NetworkCommand(other.ipInNamespace(["route", "del", podSubnet, "via", other.hostAddress]),
                               alreadyGone: [Self.routeGone, other.cannotEnterNamespace])
            }
            + [NetworkCommand(ip(["route", "del", podSubnet, "via", nodeAddress]), alreadyGone: [Self.routeGone])]
    }

    // MARK: teardown

    /// The undo of every step that leaves something behind, newest first: the routes to its pods (on the host and in
    /// `others`), link, namespace. Each may fail only because its object is already gone, so teardown can run any
    /// number of times. What was made inside the namespace (addresses, routes, sysctls, its iptables rules and
    /// bridge) goes with it. Stop the worker's processes first: a namespace with processes in it outlives
    /// `ip netns del`. The host's guard route stays for the other workers (`hostGuardRemoval`).
    public func teardown(others: [WorkerNetwork] = []) -> [NetworkCommand] {
        (setup + podRoutes(others: others)).reversed().compactMap(\.undoCommand)
    }
}
