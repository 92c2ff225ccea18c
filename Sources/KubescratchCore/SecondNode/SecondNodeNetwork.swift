/// One command of the second node's network plan, with the failure that only means "already gone".
public struct SecondNodeCommand: Sendable, Equatable {
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
public struct SecondNodeStep: Sendable, Equatable {
    public enum Undo: Sendable, Equatable {
        /// Run this to undo the step.
        case command(SecondNodeCommand)
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

    public var undoCommand: SecondNodeCommand? {
        if case .command(let command) = undo { command } else { nil }
    }
}

/// The second "machine": a network namespace joined to the host by a veth pair, with its own pod range.
///
/// Addresses. The link is 10.201.0.0/30: two usable addresses, host end .1, node-2 .2. It lies outside the
/// cluster CIDR 10.200.0.0/16 (which holds both nodes' pod ranges and out of which the controller manager hands
/// out node CIDRs; kube-proxy masquerades by it too, so a node address inside it would be taken for a pod), outside
/// the service range 10.32.0.0/24, and away from the ranges home and cloud networks use (192.168/16, 172.16/12,
/// 10.0/16). docs/second-node.md's trial used 10.201.0.1 and .2 on a /24; a /30 assigns only what the link needs.
///
/// Names are at most 15 characters (the kernel's IFNAMSIZ is 16 with the terminating zero) and start with `ks-` so
/// reset can tell ours from the host's. Every command runs `ip` (iproute2) or, inside the namespace, `nsenter`.
public struct SecondNodeNetwork: Sendable, Equatable {
    public var namespace = "ks-node-2"
    /// The host's end of the veth pair.
    public var hostLink = "ks-to-node-2"
    /// node-2's end, moved into the namespace: node-2's "network card".
    public var nodeLink = "ks-to-host"
    public var link = IPv4Range("10.201.0.0/30")!
    /// node-2's pod range and its CNI bridge (inside the namespace, so it never meets the host's cni0).
    public var podSubnet = "10.200.1.0/24"
    public var bridge = "cni1"
    /// The first node's ranges: its pod range is the other end of the pod routes; the cluster CIDR is guarded.
    public var cluster: ClusterNetwork

    public init(cluster: ClusterNetwork = ClusterNetwork()) {
        self.cluster = cluster
    }

    public var hostAddress: String { link.address(1) }
    public var nodeAddress: String { link.address(2) }
    public var namespacePath: String { "/run/netns/\(namespace)" }

    /// Every name this plan gives the kernel (namespace, links, bridge): each at most 15 characters.
    public var names: [String] { [namespace, hostLink, nodeLink, bridge] }

    /// Every range the second node may address. Anything else would be outside what kubescratch assigns.
    public var assignedRanges: [IPv4Range] {
        [link, IPv4Range(podSubnet)!, IPv4Range(cluster.podSubnet)!, IPv4Range(cluster.clusterCIDR)!]
    }

    /// Runs a program in node-2's network namespace only. Not `ip netns exec`: that also unshares the mount
    /// namespace (to remount /sys), so the kubelet's volume mounts and containerd's would not see each other or
    /// the host's (docs/second-node.md, "Enter only the network namespace"). nsenter execs without forking, so
    /// the PID it starts with is the program's.
    /// `mountNamespace`: also enter that mount namespace (SecondNodePlanner's, for pod logs of node-2's own).
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
    public var setup: [SecondNodeStep] {
        let withNamespace = SecondNodeStep.Undo.removedWith("namespace \(namespace)")
        let withLink = SecondNodeStep.Undo.removedWith("link \(hostLink)")
        let prefix = link.prefixLength
        return [
            SecondNodeStep("a network namespace: node-2's own interfaces, routes, iptables and sysctls",
                           ip(["netns", "add", namespace]),
                           undo: .command(SecondNodeCommand(ip(["netns", "del", namespace]), alreadyGone: [namespaceGone]))),
            SecondNodeStep("a veth pair: a cable with two ends, both on the host for now",
                           ip(["link", "add", hostLink, "type", "veth", "peer", "name", nodeLink]),
                           undo: .command(SecondNodeCommand(ip(["link", "del", hostLink]), alreadyGone: [linkGone]))),
            // Deleting either end deletes the pair, so this and the host end's settings go with the link.
            SecondNodeStep("move one end into node-2", ip(["link", "set", nodeLink, "netns", namespace]), undo: withLink),
            SecondNodeStep("the host's address on the link",
                           ip(["addr", "add", "\(hostAddress)/\(prefix)", "dev", hostLink]), undo: withLink),
            SecondNodeStep("bring the host end up", ip(["link", "set", hostLink, "up"]), undo: withLink),
            SecondNodeStep("node-2's address: its --node-ip",
                           ipInNamespace(["addr", "add", "\(nodeAddress)/\(prefix)", "dev", nodeLink]), undo: withNamespace),
            SecondNodeStep("bring node-2's end up", ipInNamespace(["link", "set", nodeLink, "up"]), undo: withNamespace),
            // A new namespace's loopback is down; containerd's stream server (exec, logs) and kube-proxy's
            // metrics listen on node-2's 127.0.0.1.
            SecondNodeStep("bring node-2's loopback up", ipInNamespace(["link", "set", "lo", "up"]), undo: withNamespace),
            // The API server (on node-1's address) is reached through this route; it never leaves the machine.
            SecondNodeStep("node-2's default route: through the host",
                           ipInNamespace(["route", "add", "default", "via", hostAddress]), undo: withNamespace),
            // Sysctls under /proc/sys/net belong to the namespace of the process that opens them.
            SecondNodeStep("node-2 forwards packets between its pods and the link",
                           inNamespace("sysctl", ["-w", "net.ipv4.ip_forward=1"]), undo: withNamespace),
            // Without this, the host would send packets for a pod range no node holds (or node-2's range before
            // its route exists) to its own default gateway, off the machine. With it they are dropped here, which is
            // also the bounded "curl times out" the lesson shows. cni0's /24 and the pod routes are more specific.
            SecondNodeStep("the host drops cluster-range packets it has no pod route for",
                           ip(["route", "add", "blackhole", cluster.clusterCIDR]),
                           undo: .command(SecondNodeCommand(ip(["route", "del", "blackhole", cluster.clusterCIDR]),
                                                            alreadyGone: [Self.routeGone]))),
            SecondNodeStep("node-2 drops cluster-range packets it has no pod route for",
                           ipInNamespace(["route", "add", "blackhole", cluster.clusterCIDR]), undo: withNamespace),
        ]
    }

    // MARK: pod network routes (Kubernetes The Hard Way's name): a lesson step of their own

    /// Each node learns where the other node's pods live: host → 10.200.1.0/24 via node-2, node-2 → 10.200.0.0/24
    /// via the host. Nothing in this cluster adds them otherwise: the controller manager's route controller works
    /// only through a cloud provider, and the bridge plugin knows only its own node.
    public var podRoutes: [SecondNodeStep] {
        [
            // `replace`, not `add`: the same two routes again are no error (a break-it section cut short puts them
            // back without knowing whether they were already restored).
            SecondNodeStep("host → node-2's pods", ip(["route", "replace", podSubnet, "via", nodeAddress]),
                           undo: .command(SecondNodeCommand(ip(["route", "del", podSubnet, "via", nodeAddress]),
                                                            alreadyGone: [Self.routeGone]))),
            // Gone with the namespace at teardown; removePodRoutes deletes it while the namespace stays.
            SecondNodeStep("node-2 → node-1's pods", ipInNamespace(["route", "replace", cluster.podSubnet, "via", hostAddress]),
                           undo: .removedWith("namespace \(namespace)")),
        ]
    }

    public var addPodRoutes: [PlannedCommand] { podRoutes.map(\.command) }

    /// The reverse of `addPodRoutes` while node-2 stays (a lesson's undo): both routes, node-2's first.
    public var removePodRoutes: [SecondNodeCommand] {
        [
            SecondNodeCommand(ipInNamespace(["route", "del", cluster.podSubnet, "via", hostAddress]),
                              alreadyGone: [Self.routeGone, cannotEnterNamespace]),
            SecondNodeCommand(ip(["route", "del", podSubnet, "via", nodeAddress]), alreadyGone: [Self.routeGone]),
        ]
    }

    // MARK: teardown

    /// The undo of every step that leaves something behind, newest first: pod route, guard route, link, namespace.
    /// Each may fail only because its object is already gone, so teardown can run any number of times. What was made
    /// inside the namespace (addresses, routes, sysctls, node-2's iptables rules and cni1) goes with it.
    /// Stop node-2's processes first: a namespace with processes in it outlives `ip netns del`.
    public var teardown: [SecondNodeCommand] {
        (setup + podRoutes).reversed().compactMap(\.undoCommand)
    }
}
