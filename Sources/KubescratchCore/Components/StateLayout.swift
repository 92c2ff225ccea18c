/// Where everything kubescratch creates lives. One root folder, so `reset` knows what is ours.
public struct StateLayout: Sendable, Equatable {
    public let root: String

    public init(root: String) {
        self.root = root.hasSuffix("/") && root.count > 1 ? String(root.dropLast()) : root
    }

    public static let defaultRoot = "/var/lib/kubescratch"

    public var pki: String { root + "/pki" }
    public var kubeconfigs: String { root + "/kubeconfigs" }
    public var config: String { root + "/config" }
    public var staticPods: String { root + "/manifests" }
    public var logs: String { root + "/logs" }
    public var run: String { root + "/run" }
    public var containerdRoot: String { root + "/containerd/root" }
    public var containerdState: String { root + "/containerd/state" }
    public var containerdOpt: String { root + "/containerd/opt" }
    public var containerdConfig: String { root + "/containerd/config.toml" }
    public var containerdSocket: String { run + "/containerd.sock" }
    public var runcRoot: String { run + "/runc" }
    public var kubeletRoot: String { root + "/kubelet" }
    public var volumePlugins: String { kubeletRoot + "/volume-plugins" }
    public var etcdData: String { root + "/etcd/data" }
    public var cniConfDir: String { root + "/cni/net.d" }
    public var cniIPAMDir: String { root + "/cni/ipam" }
    public var images: String { root + "/images" }
    public var kubectlCache: String { root + "/kubectl-cache" }
    public var supervisorRecords: String { run + "/components" }
    public var progressFile: String { root + "/progress.json" }
    public var hostSnapshot: String { root + "/host-before.json" }

    public func log(_ component: ComponentID) -> String { logs + "/\(component.name).log" }
    public func kubeconfig(_ name: String) -> String { kubeconfigs + "/\(name).kubeconfig" }
    public var adminKubeconfig: String { kubeconfig("admin") }

    /// kubescratch's cache (downloaded or built binaries, stage snapshots), kept across resets: XDG_CACHE_HOME's
    /// kubescratch folder, else ~/.cache/kubescratch.
    public static func defaultCache(environment: [String: String]) -> String {
        if let xdg = environment["XDG_CACHE_HOME"], !xdg.isEmpty { return xdg + "/kubescratch" }
        return (environment["HOME"] ?? "/root") + "/.cache/kubescratch"
    }
    /// The API server's audit policy and log: who called it, with which verb, on what (the traffic view).
    public var auditPolicy: String { config + "/audit-policy.yaml" }
    public var auditLog: String { logs + "/audit.log" }
    public func record(_ component: ComponentID) -> String { supervisorRecords + "/\(component.name).json" }
}
