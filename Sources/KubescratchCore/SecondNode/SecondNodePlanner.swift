/// A component of node-2, ready to start inside its network namespace.
public struct SecondNodeComponent: Sendable, Equatable {
    /// `nsenter --net=/run/netns/<ns> <program> <arguments>`, with the component's own environment and files.
    public var plan: ComponentPlan
    /// The program nsenter becomes (it execs without forking): what /proc/<pid>/exe shows once it runs, and what
    /// must exist beside nsenter itself.
    public var program: String
    /// Its log and the supervisor's record of it, beside node-1's, under its own name (`node-2-kubelet`): one
    /// supervisor watches both nodes, so a crash of node-2's kubelet is reported like any other.
    public var log: String
    public var record: String
    public var listens: [ListenAddress]
}

/// Plans node-2's containerd, kubelet and kube-proxy by asking `ComponentPlanner` with node-2's facts, folder and
/// network, so every version rule (v1.20 flags, 1.27+ config fields, containerd config v2 or v3, failCgroupV1) is
/// the first node's. Where node-2 must differ, the change is made here with its reason:
/// - each process enters node-2's network namespace (nsenter), so its sockets, routes and iptables are node-2's
///   (the kubelet also checks that `--node-ip` is an address of its own interfaces);
/// - the kubelet's pods live under their own cgroup parent, `/ks-node-2/kubepods`, never node-1's `/kubepods`;
/// - health endpoints bind node-2's address instead of 127.0.0.1, which inside the namespace is node-2's own
///   loopback and unreachable from the host's probes;
/// - its pod logs are its own: from 1.29 through `podLogsDir`; before, containerd and the kubelet share a mount
///   namespace of node-2's own in which node-2's folders are bound over /var/log/pods and /var/log/containers.
/// The kubelet keeps port 10250 and kube-proxy 10256/10249: sockets belong to a network namespace, so node-1's
/// listeners on the host never meet node-2's (docs/second-node.md's trial lists no port change).
public struct SecondNodePlanner: Sendable {
    public static let nodeName = "node-2"

    /// The first node's planner: facts, folder, network, binaries and sandbox image of the cluster.
    public var first: ComponentPlanner
    public var network: SecondNodeNetwork
    /// The kubelet's `cgroupRoot`: its pods go under `<cgroupParent>/kubepods`. docs/second-node.md used /node2.
    public var cgroupParent = "/ks-node-2"

    public init(first: ComponentPlanner, network: SecondNodeNetwork? = nil) {
        self.first = first
        self.network = network ?? SecondNodeNetwork(cluster: first.network)
    }

    /// Programs beyond `BinaryPaths.required` that stage 6 runs.
    public static let requiredPrograms = ["nsenter", "ip", "sysctl", "unshare", "mount"]

    // MARK: node-2 as ComponentPlanner sees it

    /// All of node-2's state in one folder inside the first node's, so reset's sweep of the state folder covers it.
    public var layout: StateLayout { StateLayout(root: first.layout.root + "/" + Self.nodeName) }

    public var facts: NodeFacts {
        var facts = first.facts
        facts.nodeName = Self.nodeName
        facts.nodeIP = network.nodeAddress
        return facts
    }

    /// The cluster's network with node-2's pod range and bridge. The CNI network gets its own name so the entries
    /// containerd 1.6 caches in the shared /var/lib/cni/results say which node they belong to.
    public var clusterNetwork: ClusterNetwork {
        var cluster = first.network
        cluster.podSubnet = network.podSubnet
        cluster.bridge = network.bridge
        cluster.cniNetworkName = first.network.cniNetworkName + "-" + Self.nodeName
        return cluster
    }

    public var planner: ComponentPlanner {
        ComponentPlanner(facts: facts, layout: layout, network: clusterNetwork, binaries: first.binaries,
                         sandboxImage: first.sandboxImage)
    }

    /// Where the kubelet and kube-proxy of node-2 reach the API server: node-1's address, through node-2's
    /// default route. (ClusterPKI writes kubeconfigs for the node's own address, which here is node-2's.)
    public var apiServerURL: String { "https://\(first.facts.nodeIP):\(first.network.apiServerPort)" }

    /// `podLogsDir` exists from 1.29 (docs/components.md §13; kubelet config validation wants it absolute and clean).
    public var setsPodLogsDir: Bool { first.facts.kubernetes.isAtLeast(1, 29) }
    public var podLogsDir: String { layout.root + "/pod-logs" }

    // MARK: pod logs of node-2's own before 1.29

    /// Before `podLogsDir`, the kubelet writes and garbage-collects the fixed host folders /var/log/pods and
    /// /var/log/containers (k/k v1.20.2 pkg/kubelet/kuberuntime/kuberuntime_gc.go evictPodLogsDirectories: every
    /// pod folder whose UID the kubelet does not know, and every /var/log/containers symlink whose target is gone).
    /// Two kubelets sharing them delete each other's logs, so node-2's containerd and kubelet run in a mount namespace
    /// of node-2's own (both in the same one: the kubelet's volume mounts must be seen by containerd's containers),
    /// where node-2's folders are bound over the host's. From 1.29 `podLogsDir` separates the pod folders, and the
    /// symlinks of both nodes point at folders both can see, so neither removes the other's.
    public var usesMountNamespace: Bool { !setsPodLogsDir }

    /// The namespace is kept alive by a bind mount of its nsfs file, which must sit on a mount of private
    /// propagation (a shared one would propagate the namespace into itself: util-linux unshare(1), --mount=file),
    /// hence a folder bound over itself and made private.
    public var mountNamespaceFolder: String { layout.root + "/mount-ns" }
    public var mountNamespaceFile: String { mountNamespaceFolder + "/mnt" }
    public var containerLogsDir: String { layout.root + "/container-logs" }

    /// (host folder, node-2's own folder bound over it inside the namespace): the pod logs and their symlinks, and
    /// the device plugins' folder, a fixed path on every version (k8s.io/kubelet pkg/apis/deviceplugin/v1beta1
    /// constants.go DevicePluginPath) that each v1.20 kubelet empties at start, removing the other's kubelet.sock and
    /// overwriting its checkpoint (pkg/kubelet/cm/devicemanager/manager.go removeContents).
    public var ownHostFolders: [(host: String, own: String)] {
        [("/var/log/pods", podLogsDir), ("/var/log/containers", containerLogsDir),
         ("/var/lib/kubelet/device-plugins", layout.root + "/device-plugins")]
    }

    /// Run in order, after the folders exist and `mountNamespaceFile` is an empty file. `slave` propagation: the
    /// host's mounts and unmounts still reach node-2 (node-1's volumes are not kept alive in here after reset), and
    /// nothing mounted in node-2 (its binds, the kubelet's volumes, containerd's rootfs and netns pins) reaches the
    /// host. The namespace ends when its last process exits and the nsfs file is unmounted (teardown's unmount
    /// phase, since both mounts lie under node-2's folder).
    public var mountNamespaceSetup: [PlannedCommand] {
        [
            PlannedCommand("mount", ["--bind", mountNamespaceFolder, mountNamespaceFolder]),
            PlannedCommand("mount", ["--make-private", mountNamespaceFolder]),
            PlannedCommand("unshare", ["--mount=\(mountNamespaceFile)", "--propagation", "slave", "true"]),
        ] + ownHostFolders.map { folder in
            PlannedCommand("nsenter", ["--mount=\(mountNamespaceFile)", "mount", "--bind", folder.own, folder.host])
        }
    }

    // MARK: components

    public var components: [SecondNodeComponent] { [containerd(), kubelet(), kubeProxy()] }

    /// The plan of one of node-2's components; node-1's components are the first planner's.
    public func plan(_ component: ComponentID) -> ComponentPlan {
        switch component {
        case .secondNodeContainerd: containerd().plan
        case .secondNodeKubelet: kubelet().plan
        case .secondNodeKubeProxy: kubeProxy().plan
        default: first.plan(component)
        }
    }

    public func containerd() -> SecondNodeComponent {
        // containerd must be in the namespace too: it runs the CNI plugins, which build cni1 and the pods' veths in
        // the namespace of their caller, and its stream server (exec, logs) listens on that namespace's loopback.
        wrap(planner.containerd(), listens: [])
    }

    public func kubelet() -> SecondNodeComponent {
        var plan = planner.kubelet(mode: .cluster)
        let config = kubeletConfig()
        plan.files = plan.files.map { $0.path == planner.kubeletConfigPath(.cluster) ? PlannedFile(path: $0.path, contents: config) : $0 }
        plan.health = .http(url: "http://\(network.nodeAddress):10248/healthz")
        return wrap(plan, listens: ListenAddress.kubelet(config: config, namespace: network.namespace))
    }

    /// The first node's cluster-mode kubelet config, with node-2's paths, plus the three changes above.
    public func kubeletConfig() -> String {
        var config = planner.kubeletConfig(mode: .cluster)
        config = ConfigLines.setting("healthzBindAddress", to: network.nodeAddress, in: config)
        // A config field in v1beta1 for every release here (also the flag --cgroup-root). On cgroup v1 the folder
        // must exist in every hierarchy before the kubelet starts (`cgroupFolders`).
        config = ConfigLines.setting("cgroupRoot", to: cgroupParent, in: config, after: "cgroupDriver")
        if setsPodLogsDir {
            // Each kubelet's garbage collection removes the /var/log/pods folders of pods it does not know
            // (k/k pkg/kubelet/kuberuntime/kuberuntime_gc.go evictPodLogsDirectories, podWorkers
            // ShouldPodContentBeRemoved: an unknown UID counts as removed once pods are synced), so two kubelets
            // sharing it would delete each other's pod logs.
            config = ConfigLines.setting("podLogsDir", to: podLogsDir, in: config, after: "volumePluginDir")
        }
        return config
    }

    public func kubeProxy() -> SecondNodeComponent {
        var plan = planner.kubeProxy()
        let config = kubeProxyConfig()
        plan.files = plan.files.map { $0.path == planner.kubeProxyConfigPath ? PlannedFile(path: $0.path, contents: config) : $0 }
        plan.health = .http(url: "http://\(network.nodeAddress):10256/healthz")
        return wrap(plan, listens: ListenAddress.kubeProxy(config: config, namespace: network.namespace))
    }

    /// The first node's kube-proxy config with node-2's name and kubeconfig; health on node-2's address.
    /// Its iptables rules and its NodePorts are node-2's, in node-2's namespace: the NodePort answers on 10.201.0.2.
    public func kubeProxyConfig() -> String {
        ConfigLines.setting("healthzBindAddress", to: "\(network.nodeAddress):10256", in: planner.kubeProxyConfig())
    }

    func wrap(_ inner: ComponentPlan, listens: [ListenAddress]) -> SecondNodeComponent {
        var plan = inner
        // kube-proxy writes no pod logs: it stays in the host's mount namespace.
        let mountNamespace = usesMountNamespace && inner.component != .kubeProxy ? mountNamespaceFile : nil
        let command = network.inNamespace(inner.executable, inner.arguments, nsenter: first.binaries.path("nsenter"),
                                          mountNamespace: mountNamespace)
        plan.executable = command.program
        plan.arguments = command.arguments
        plan.component = ComponentID.secondNode.first { $0.program == inner.component }!
        return SecondNodeComponent(plan: plan, program: inner.executable, log: first.layout.log(plan.component),
                                   record: first.layout.record(plan.component), listens: listens)
    }

    // MARK: cgroups

    /// node-2's pods' cgroup, as the kubelet derives it from `cgroupRoot` (cgroupsPerQOS, the default).
    public var kubepodsCgroup: String { Self.kubepodsCgroup(kubeletConfig: kubeletConfig()) }

    /// `<cgroupRoot>/kubepods`, or `/kubepods` when the config names no root (node-1).
    public static func kubepodsCgroup(kubeletConfig: String) -> String {
        let root = ConfigLines.value("cgroupRoot", in: kubeletConfig) ?? "/"
        return (root.hasSuffix("/") ? root : root + "/") + "kubepods"
    }

    /// Folders to create before node-2's kubelet starts, and to remove (deepest first, after its pods are gone)
    /// at teardown. cgroup v1: `cgroupRoot` in every mounted hierarchy, given as mount points
    /// (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu,cpuacct`, …; not the cpu/cpuacct symlinks). cgroup v2: one folder.
    public func cgroupFolders(cgroupVersion: Int, v1Hierarchies: [String] = []) -> [String] {
        cgroupVersion == 2 ? ["/sys/fs/cgroup" + cgroupParent] : v1Hierarchies.map { $0 + cgroupParent }
    }

    // MARK: other commands the stage needs

    /// `ctr`'s global options for node-2's containerd (images are imported into it with a name, as node-1's are).
    public var ctrGlobalOptions: [String] { ["-a", layout.containerdSocket, "--connect-timeout", "3s", "-n", "k8s.io"] }

    /// What a shim of node-2's containerd has on its command line. node-1's marker (`-address <state>/run/…`) is
    /// not a substring of this one, so killing one node's shims never touches the other's.
    public var shimMarker: String { "-address \(layout.containerdSocket)" }

    /// kubectl arguments that remove the Node object (idempotent).
    public var deleteNodeArguments: [String] { ["delete", "node", Self.nodeName, "--ignore-not-found"] }

    /// The order that left the host clean in docs/second-node.md's trial, with kube-proxy added.
    public enum TeardownPhase: String, CaseIterable, Sendable {
        case deletePods = "delete node-2's pods"
        case stopKubeProxy = "stop node-2's kube-proxy"
        case stopKubelet = "stop node-2's kubelet"
        case killShims = "kill the tasks and shims of node-2's containerd (its socket only)"
        case stopContainerd = "stop node-2's containerd"
        case unmount = "unmount everything under node-2's folder"
        case deleteNode = "delete the Node object"
        case network = "remove routes, veth pair and namespace (SecondNodeNetwork.teardown)"
        case cgroups = "remove node-2's cgroup folders, deepest first"
    }
}
