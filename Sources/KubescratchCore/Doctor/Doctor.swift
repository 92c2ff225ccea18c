/// What `doctor` found out about the machine: gathered by the engine, judged here in pure code.
public struct HostReport: Sendable, Equatable {
    public var os: String
    public var architecture: String
    public var isRoot: Bool
    public var cgroupVersion: Int
    public var cgroupControllers: [String]
    public var swapDevices: Int
    public var ipForward: Bool?
    public var bridgeNetfilterLoaded: Bool
    public var programsFound: [String: String]
    /// Port → the process listening on it ("etcd (pid 123)"), for the ports the node needs.
    public var portHolders: [Int: String]
    /// A containerd already serving the default socket (we run our own beside it).
    public var systemContainerd: Bool
    public var freeDiskBytes: Int64?
    public var versions: [String: KubernetesVersion]
    public var kubectlVersion: KubernetesVersion?
    /// The CNI plugins folder the node will use, and the required plugins found executable there.
    public var cniBinDir: String
    public var cniPluginsFound: Set<String>

    public init(os: String, architecture: String, isRoot: Bool, cgroupVersion: Int, cgroupControllers: [String], swapDevices: Int,
                ipForward: Bool?, bridgeNetfilterLoaded: Bool, programsFound: [String: String], portHolders: [Int: String],
                systemContainerd: Bool, freeDiskBytes: Int64?, versions: [String: KubernetesVersion], kubectlVersion: KubernetesVersion?,
                cniBinDir: String, cniPluginsFound: Set<String>) {
        self.os = os
        self.architecture = architecture
        self.isRoot = isRoot
        self.cgroupVersion = cgroupVersion
        self.cgroupControllers = cgroupControllers
        self.swapDevices = swapDevices
        self.ipForward = ipForward
        self.bridgeNetfilterLoaded = bridgeNetfilterLoaded
        self.programsFound = programsFound
        self.portHolders = portHolders
        self.systemContainerd = systemContainerd
        self.freeDiskBytes = freeDiskBytes
        self.versions = versions
        self.kubectlVersion = kubectlVersion
        self.cniBinDir = cniBinDir
        self.cniPluginsFound = cniPluginsFound
    }
}

public struct DoctorResult: Sendable, Equatable, Codable {
    public enum Status: String, Sendable, Codable { case pass = "PASS", warn = "WARN", fail = "FAIL" }
    public var check: String
    public var status: Status
    public var found: String
    /// The exact fix, when there is something to do.
    public var fix: String?

    public init(check: String, status: Status, found: String, fix: String?) {
        self.check = check
        self.status = status
        self.found = found
        self.fix = fix
    }
}

/// Judges a machine for running the tutorial. Each check says what it found and, when not PASS, what to do.
public enum Doctor {
    /// Ports of etcd, the API server, the kubelet, kube-proxy, the controller manager and the scheduler.
    public static let ports = [2379, 2380, 6443, 10248, 10250, 10256, 10257, 10259]

    public static func evaluate(_ report: HostReport) -> [DoctorResult] {
        var results: [DoctorResult] = []
        func add(_ check: String, _ status: DoctorResult.Status, _ found: String, _ fix: String? = nil) {
            results.append(DoctorResult(check: check, status: status, found: found, fix: status == .pass ? nil : fix))
        }

        add("operating system", report.os == "Linux" ? .pass : .fail, "\(report.os) \(report.architecture)",
            "kubescratch runs the node's components directly on Linux; use a Linux machine or VM")
        add("architecture", ["x86_64", "aarch64", "amd64", "arm64"].contains(report.architecture) ? .pass : .fail, report.architecture,
            "Kubernetes publishes binaries for amd64 and arm64 only")
        add("root", report.isRoot ? .pass : .fail, report.isRoot ? "running as root" : "not root",
            "run kubescratch with sudo: it starts containerd and the kubelet, creates a bridge, mounts and iptables rules")

        let kubernetes = report.versions["kubelet"]
        if report.cgroupVersion == 1 {
            let refuses = kubernetes.map { $0.isAtLeast(1, 35) } ?? false
            add("cgroups", refuses ? .warn : .pass, "cgroup v1",
                "Kubernetes 1.35+ refuses cgroup v1 unless the kubelet config sets failCgroupV1: false (kubescratch sets it on v1 hosts); move to cgroup v2 when you can")
        } else {
            add("cgroups", .pass, "cgroup v2")
        }
        let needed = ["cpu", "memory", "pids"]
        let missingControllers = needed.filter { !report.cgroupControllers.contains($0) }
        add("cgroup controllers", missingControllers.isEmpty ? .pass : .fail,
            report.cgroupControllers.isEmpty ? "none found" : report.cgroupControllers.sorted().joined(separator: " "),
            "enable the \(missingControllers.joined(separator: ", ")) controller(s) (cgroup v2: echo +cpu +memory +pids > /sys/fs/cgroup/cgroup.subtree_control)")
        add("swap", report.swapDevices == 0 ? .pass : .warn, report.swapDevices == 0 ? "off" : "\(report.swapDevices) swap device(s) on",
            "kubescratch sets failSwapOn: false, so the kubelet runs; for a node like production ones: swapoff -a")
        switch report.ipForward {
        case true?: add("net.ipv4.ip_forward", .pass, "1")
        case false?: add("net.ipv4.ip_forward", .warn, "0",
                         "the bridge CNI plugin turns it on when the first pod starts (reset turns it off again); to set it yourself: sysctl -w net.ipv4.ip_forward=1")
        case nil: add("net.ipv4.ip_forward", .fail, "unreadable", "check /proc/sys/net/ipv4/ip_forward")
        }
        add("br_netfilter", report.bridgeNetfilterLoaded ? .pass : .warn, report.bridgeNetfilterLoaded ? "loaded" : "not loaded",
            "pods reaching Services through the bridge need it: modprobe br_netfilter")
        for tool in ["iptables", "ip", "tar", "busybox"] {
            let path = report.programsFound[tool]
            add(tool, path == nil ? (tool == "busybox" ? .warn : .fail) : .pass, path ?? "not found",
                tool == "busybox" ? "building images without a registry needs a static busybox: apt-get install busybox-static"
                    : "install it: apt-get install \(tool == "ip" ? "iproute2" : tool)")
        }
        add("conntrack", report.programsFound["conntrack"] == nil ? .warn : .pass, report.programsFound["conntrack"] ?? "not found",
            "optional, to look at kube-proxy's connections: apt-get install conntrack")

        for port in ports {
            if let holder = report.portHolders[port] {
                add("port \(port)", .fail, "in use by \(holder)", "stop \(holder), or run kubescratch reset if it is one of ours")
            } else {
                add("port \(port)", .pass, "free")
            }
        }
        add("system containerd", report.systemContainerd ? .warn : .pass,
            report.systemContainerd ? "a containerd serves /run/containerd/containerd.sock" : "none on the default socket",
            "nothing to do: kubescratch runs its own containerd on its own socket and never touches that one")
        if let free = report.freeDiskBytes {
            let gib = Double(free) / 1_073_741_824
            add("disk space", gib >= 2 ? .pass : .fail, String(format: "%.1f GiB free for the state folder", gib),
                "free at least 2 GiB where the state folder lives (or use --state-dir)")
        }

        for program in BinaryPaths.required {
            guard let path = report.programsFound[program] else {
                add(program, .fail, "not found",
                    ["containerd", "containerd-shim-runc-v2", "ctr", "runc", "etcd"].contains(program)
                        ? "install it (Debian: apt-get install containerd runc etcd-server) or put it in the --bin-dir folder"
                        : "put the Kubernetes binaries in one folder and pass --bin-dir DIR")
                continue
            }
            let version = report.versions[program].map { " \($0)" } ?? ""
            add(program, .pass, path + version)
        }
        results += skew(report)
        for plugin in BinaryPaths.requiredCNIPlugins {
            let found = report.cniPluginsFound.contains(plugin)
            add("CNI plugin \(plugin)", found ? .pass : .fail, found ? "\(report.cniBinDir)/\(plugin)" : "not in \(report.cniBinDir)",
                "install the CNI plugins (Debian: apt-get install containernetworking-plugins) or put them in --bin-dir DIR/cni")
        }
        return results
    }

    /// Version skew rules: kubectl within one minor of the API server; kubelet and kube-proxy not newer than it;
    /// etcd and containerd versions the release supports (docs/components.md §1.2).
    static func skew(_ report: HostReport) -> [DoctorResult] {
        var results: [DoctorResult] = []
        guard let server = report.versions["kube-apiserver"] else { return results }
        if let kubectl = report.kubectlVersion {
            let ok = abs(kubectl.minor - server.minor) <= 1 && kubectl.major == server.major
            results.append(DoctorResult(check: "kubectl skew", status: ok ? .pass : .warn, found: "kubectl \(kubectl), server \(server)",
                                        fix: ok ? nil : "use a kubectl within one minor version of \(server.minorRelease) (the one from the same release)"))
        }
        for agent in ["kubelet", "kube-proxy"] {
            guard let version = report.versions[agent] else { continue }
            let ok = version <= KubernetesVersion(server.major, server.minor, 99)
            results.append(DoctorResult(check: "\(agent) skew", status: ok ? .pass : .fail, found: "\(agent) \(version), server \(server)",
                                        fix: ok ? nil : "the \(agent) must not be newer than the API server: use binaries of one release"))
        }
        if let containerd = report.versions["containerd"] {
            var problem: String?
            if containerd.major < 1 || (containerd.major == 1 && containerd.minor < 6) {
                problem = "containerd \(containerd) is too old: 1.6 or later"
            } else if server.isAtLeast(1, 35) && containerd.major == 1 && containerd.minor < 7 {
                problem = "Kubernetes \(server.minorRelease) supports containerd 1.7.28+ and 2.x"
            } else if server.isAtLeast(1, 26) && containerd.major == 1 && containerd.minor == 6 && containerd.patch < 36 {
                problem = "containerd \(containerd) works (CRI v1) but upstream recommends 1.6.36+ with Kubernetes \(server.minorRelease)"
            }
            results.append(DoctorResult(check: "containerd version", status: problem == nil ? .pass : .warn, found: "containerd \(containerd)",
                                        fix: problem.map { "\($0): install a newer containerd or pass one in --bin-dir" }))
        }
        if let etcd = report.versions["etcd"] {
            let old = etcd.major == 3 && etcd.minor < 5 && server.isAtLeast(1, 31)
            let tooOld = etcd < KubernetesVersion(3, 4, 22)
            results.append(DoctorResult(check: "etcd version", status: tooOld ? .fail : (old ? .warn : .pass), found: "etcd \(etcd)",
                                        fix: tooOld ? "etcd 3.4.22 or later is required" : (old ? "etcd 3.4 works but is end-of-life; 3.5.13+ is better with Kubernetes \(server.minorRelease)" : nil)))
        }
        return results
    }
}
