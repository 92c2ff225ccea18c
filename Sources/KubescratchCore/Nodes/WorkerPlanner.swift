/// A component of a worker node, ready to start inside its network namespace.
public struct WorkerComponent: Sendable, Equatable {
    /// `nsenter --net=/run/netns/<ns> <program> <arguments>`, with the component's own environment and files.
    public var plan: ComponentPlan
    /// The program nsenter becomes (it execs without forking): what /proc/<pid>/exe shows once it runs, and what
    /// must exist beside nsenter itself.
    public var program: String
    /// Its log and the supervisor's record of it, beside node-1's, under its own name (`node-2-kubelet`): one
    /// supervisor watches every node, so a crash of the worker's kubelet is reported like any other.
    public var log: String
    public var record: String
    public var listens: [ListenAddress]
}

/// Plans the worker's containerd, kubelet and kube-proxy by asking `ComponentPlanner` with the worker's facts, folder and
/// network, so every version rule (v1.20 flags, 1.27+ config fields, containerd config v2 or v3, failCgroupV1) is
/// the first node's. Where the worker must differ, the change is made here with its reason:
/// - each process enters the worker's network namespace (nsenter), so its sockets, routes and iptables are the worker's
///   (the kubelet also checks that `--node-ip` is an address of its own interfaces);
/// - the kubelet's pods live under their own cgroup parent, `/ks-node-N/kubepods`, never node-1's `/kubepods`;
/// - health endpoints bind the worker's address instead of 127.0.0.1, which inside the namespace is the worker's own
///   loopback and unreachable from the host's probes;
/// - its pod logs are its own: from 1.29 through `podLogsDir`; before, containerd and the kubelet share a mount
///   namespace of the worker's own in which the worker's folders are bound over /var/log/pods and /var/log/containers.
/// The kubelet keeps port 10250 and kube-proxy 10256/10249: sockets belong to a network namespace, so node-1's
/// listeners on the host never meet the worker's (docs/second-node.md's trial lists no port change).
public struct WorkerPlanner: Sendable {
    public var worker: WorkerNode
    /// The first node's planner: facts, folder, network, binaries and sandbox image of the cluster.
    public var first: ComponentPlanner
    public var network: WorkerNetwork

    public init(_ worker: WorkerNode, first: ComponentPlanner) {
        self.worker = worker
        self.first = first
        self.network = WorkerNetwork(worker, cluster: first.network)
    }

    public var nodeName: String { worker.name }
    /// The kubelet's `cgroupRoot`: its pods go under `<cgroupParent>/kubepods`. docs/second-node.md used /node2.
    public var cgroupParent: String { "/ks-\(worker.name)" }

    /// Programs beyond `BinaryPaths.required` that stage 6 runs.
    public static let requiredPrograms = ["nsenter", "ip", "sysctl", "unshare", "mount"]

    // MARK: the worker as ComponentPlanner sees it

    /// All of the worker's state in one folder inside the first node's, so reset's sweep of the state folder covers it.
    public var layout: StateLayout { StateLayout(root: first.layout.root + "/" + nodeName) }

    public var facts: NodeFacts {
        var facts = first.facts
        facts.nodeName = nodeName
        facts.nodeIP = network.nodeAddress
        return facts
    }

    /// The cluster's network with the worker's pod range and bridge. The CNI network gets its own name so the entries
    /// containerd 1.6 caches in the shared /var/lib/cni/results say which node they belong to.
    public var clusterNetwork: ClusterNetwork {
        var cluster = first.network
        cluster.podSubnet = network.podSubnet
        cluster.bridge = network.bridge
        cluster.cniNetworkName = first.network.cniNetworkName + "-" + nodeName
        return cluster
    }

    public var planner: ComponentPlanner {
        ComponentPlanner(facts: facts, layout: layout, network: clusterNetwork, binaries: first.binaries,
                         sandboxImage: first.sandboxImage)
    }

    /// Where the kubelet and kube-proxy of the worker reach the API server: node-1's address, through the worker's
    /// default route. (ClusterPKI writes kubeconfigs for the node's own address, which here is the worker's.)
    public var apiServerURL: String { "https://\(first.facts.nodeIP):\(first.network.apiServerPort)" }

    /// `podLogsDir` exists from 1.29 (docs/components.md §13; kubelet config validation wants it absolute and clean).
    public var setsPodLogsDir: Bool { first.facts.kubernetes.isAtLeast(1, 29) }
    public var podLogsDir: String { layout.root + "/pod-logs" }

    // MARK: pod logs of the worker's own before 1.29

    /// Before `podLogsDir`, the kubelet writes and garbage-collects the fixed host folders /var/log/pods and
    /// /var/log/containers (k/k v1.20.2 pkg/kubelet/kuberuntime/kuberuntime_gc.go evictPodLogsDirectories: every
    /// pod folder whose UID the kubelet does not know, and every /var/log/containers symlink whose target is gone).
    /// Two kubelets sharing them delete each other's logs, so the worker's containerd and kubelet run in a mount namespace
    /// of the worker's own (both in the same one: the kubelet's volume mounts must be seen by containerd's containers),
    /// where the worker's folders are bound over the host's. From 1.29 `podLogsDir` separates the pod folders, and the
    /// symlinks of both nodes point at folders both can see, so neither removes the other's.
    public var usesMountNamespace: Bool { !setsPodLogsDir }

    /// The namespace is kept alive by a bind mount of its nsfs file, which must sit on a mount of private
    /// propagation (a shared one would propagate the namespace into itself: util-linux unshare(1), --mount=file),
    /// hence a folder bound over itself and made private.
    public var mountNamespaceFolder: String { layout.root + "/mount-ns" }
    public var mountNamespaceFile: String { mountNamespaceFolder + "/mnt" }
    public var containerLogsDir: String { layout.root + "/container-logs" }

    /// (host folder, the worker's own folder bound over it inside the namespace): the pod logs and their symlinks, and
    /// the device plugins' folder, a fixed path on every version (k8s.io/kubelet pkg/apis/deviceplugin/v1beta1
    /// constants.go DevicePluginPath) that each v1.20 kubelet empties at start, removing the other's kubelet.sock and
    /// overwriting its checkpoint (pkg/kubelet/cm/devicemanager/manager.go removeContents).
    public var ownHostFolders: [(host: String, own: String)] {
        [("/var/log/pods", podLogsDir), ("/var/log/containers", containerLogsDir),
         ("/var/lib/kubelet/device-plugins", layout.root + "/device-plugins")]
    }

    /// Run in order, after the folders exist and `mountNamespaceFile` is an empty file. `slave` propagation: the
    /// host's mounts and unmounts still reach the worker (node-1's volumes are not kept alive in here after reset), and
    /// nothing mounted in the worker (its binds, the kubelet's volumes, containerd's rootfs and netns pins) reaches the
    /// host. The namespace ends when its last process exits and the nsfs file is unmounted (teardown's unmount
    /// phase, since both mounts lie under the worker's folder).
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

    public var components: [WorkerComponent] { [containerd(), kubelet(), kubeProxy()] }

    /// The plan of one of the worker's programs.
    public func plan(_ program: Program) -> ComponentPlan {
        switch program {
        case .kubelet: kubelet().plan
        case .kubeProxy: kubeProxy().plan
        default: containerd().plan
        }
    }

    public func containerd() -> WorkerComponent {
        // containerd must be in the namespace too: it runs the CNI plugins, which build cni1 and the pods' veths in
        // the namespace of their caller, and its stream server (exec, logs) listens on that namespace's loopback.
        wrap(planner.containerd(), listens: [])
    }

    public func kubelet() -> WorkerComponent {
        var plan = planner.kubelet(mode: .cluster)
        let config = kubeletConfig()
        plan.files = plan.files.map { $0.path == planner.kubeletConfigPath(.cluster) ? PlannedFile(path: $0.path, contents: config) : $0 }
        plan.health = .http(url: "http://\(network.nodeAddress):10248/healthz")
        return wrap(plan, listens: ListenAddress.kubelet(config: config, namespace: network.namespace))
    }

    /// The first node's cluster-mode kubelet config, with the worker's paths, plus the three changes above.
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

    public func kubeProxy() -> WorkerComponent {
        var plan = planner.kubeProxy()
        let config = kubeProxyConfig()
        plan.files = plan.files.map { $0.path == planner.kubeProxyConfigPath ? PlannedFile(path: $0.path, contents: config) : $0 }
        plan.health = .http(url: "http://\(network.nodeAddress):10256/healthz")
        return wrap(plan, listens: ListenAddress.kubeProxy(config: config, namespace: network.namespace))
    }

    /// The first node's kube-proxy config with the worker's name and kubeconfig; health on the worker's address.
    /// Its iptables rules and its NodePorts are the worker's, in the worker's namespace: node-2's NodePort answers on 10.201.0.2.
    public func kubeProxyConfig() -> String {
        ConfigLines.setting("healthzBindAddress", to: "\(network.nodeAddress):10256", in: planner.kubeProxyConfig())
    }

    func wrap(_ inner: ComponentPlan, listens: [ListenAddress]) -> WorkerComponent {
        var plan = inner
        // kube-proxy writes no pod logs: it stays in the host's mount namespace.
        let mountNamespace = usesMountNamespace && inner.component.program != .kubeProxy ? mountNamespaceFile : nil
        let command = network.inNamespace(inner.executable, inner.arguments, nsenter: first.binaries.path("nsenter"),
                                          mountNamespace: mountNamespace)
        plan.executable = command.program
        plan.arguments = command.arguments
        plan.component = ComponentID(inner.component.program, on: worker)
        return WorkerComponent(plan: plan, program: inner.executable, log: first.layout.log(plan.component),
                                   record: first.layout.record(plan.component), listens: listens)
    }

    // MARK: cgroups

    /// the worker's pods' cgroup, as the kubelet derives it from `cgroupRoot` (cgroupsPerQOS, the default).
    public var kubepodsCgroup: String { Self.kubepodsCgroup(kubeletConfig: kubeletConfig()) }

    /// `<cgroupRoot>/kubepods`, or `/kubepods` when the config names no root (node-1).
    public static func kubepodsCgroup(kubeletConfig: String) -> String {
        let root = ConfigLines.value("cgroupRoot", in: kubeletConfig) ?? "/"
        return (root.hasSuffix("/") ? root : root + "/") + "kubepods"
    }

    /// Folders to create before the worker's kubelet starts, and to remove (deepest first, after its pods are gone)
    /// at teardown. cgroup v1: `cgroupRoot` in every mounted hierarchy, given as mount points
    /// (`/sys/fs/cgroup/memory`, `/sys/fs/cgroup/cpu,cpuacct`, …; not the cpu/cpuacct symlinks). cgroup v2: one folder.
    public func cgroupFolders(cgroupVersion: Int, v1Hierarchies: [String] = []) -> [String] {
        cgroupVersion == 2 ? ["/sys/fs/cgroup" + cgroupParent] : v1Hierarchies.map { $0 + cgroupParent }
    }

    // MARK: other commands the stage needs

    /// `ctr`'s global options for the worker's containerd (images are imported into it with a name, as node-1's are).
    public var ctrGlobalOptions: [String] { ["-a", layout.containerdSocket, "--connect-timeout", "3s", "-n", "k8s.io"] }

    /// What a shim of the worker's containerd has on its command line. node-1's marker (`-address <state>/run/…`) is
    /// not a substring of this one, so killing one node's shims never touches the other's.
    public var shimMarker: String { "-address \(layout.containerdSocket)" }

    /// kubectl arguments that remove the Node object (idempotent).
    public var deleteNodeArguments: [String] { ["delete", "node", nodeName, "--ignore-not-found"] }

    /// The order that left the host clean in docs/second-node.md's trial, with kube-proxy added.
    public enum TeardownPhase: String, CaseIterable, Sendable {
        case deletePods = "delete the worker's pods"
        case stopKubeProxy = "stop the worker's kube-proxy"
        case stopKubelet = "stop the worker's kubelet"
        case killShims = "kill the tasks and shims of the worker's containerd (its socket only)"
        case stopContainerd = "stop the worker's containerd"
        case unmount = "unmount everything under the worker's folder"
        case deleteNode = "delete the Node object"
        case network = "remove routes, veth pair and namespace (WorkerNetwork.teardown)"
        case cgroups = "remove the worker's cgroup folders, deepest first"
    }
}
