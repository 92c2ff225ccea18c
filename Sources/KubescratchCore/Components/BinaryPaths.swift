/// Where each program lives on this machine, resolved once by the engine (bin dir first, then PATH).
public struct BinaryPaths: Sendable, Equatable, Codable {
    public var programs: [String: String]
    /// The CNI plugins folder (upstream: /opt/cni/bin; Debian: /usr/lib/cni).
    public var cniBinDir: String

    public init(programs: [String: String], cniBinDir: String) {
        self.programs = programs
        self.cniBinDir = cniBinDir
    }

    public func path(_ program: String) -> String { programs[program] ?? program }
    public func path(_ component: ComponentID) -> String { path(component.name) }
    public var kubectl: String { path("kubectl") }
    public var ctr: String { path("ctr") }
    public var runc: String { path("runc") }

    /// Every program kubescratch runs, for `doctor` and for the error that names what is missing.
    public static let required = ["containerd", "containerd-shim-runc-v2", "runc", "ctr", "kubelet", "etcd",
                                  "kube-apiserver", "kube-scheduler", "kube-controller-manager", "kube-proxy", "kubectl"]
    public static let requiredCNIPlugins = ["bridge", "host-local", "loopback", "portmap"]
}
