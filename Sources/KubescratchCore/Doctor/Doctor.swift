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
    /// Whether the busybox found is static (`StaticExecutable`); nil when none was found or it could not be read.
    public var busyboxStatic: Bool?
    /// Someone's NRI socket at /var/run/nri/nri.sock (a Docker or system containerd 2.x).
    public var hostNRISocket: Bool

    public init(os: String, architecture: String, isRoot: Bool, cgroupVersion: Int, cgroupControllers: [String], swapDevices: Int,
                ipForward: Bool?, bridgeNetfilterLoaded: Bool, programsFound: [String: String], portHolders: [Int: String],
                systemContainerd: Bool, freeDiskBytes: Int64?, versions: [String: KubernetesVersion], kubectlVersion: KubernetesVersion?,
                cniBinDir: String, cniPluginsFound: Set<String>, busyboxStatic: Bool? = nil, hostNRISocket: Bool = false) {
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
        self.busyboxStatic = busyboxStatic
        self.hostNRISocket = hostNRISocket
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
        if report.cgroupVersion == 1, let kubernetes, kubernetes.isAtLeast(1, 35) {
            // From 1.35 the kubelet refuses cgroup v1 unless its config sets failCgroupV1: false (KEP-5573).
            if ComponentPlanner.setsFailCgroupV1False(kubernetes: kubernetes, cgroupVersion: report.cgroupVersion) {
                add("cgroups", .pass, "cgroup v1: the kubelet \(kubernetes.minorRelease) refuses it by default; kubescratch's kubelet config sets failCgroupV1: false")
            } else {
                add("cgroups", .fail, "cgroup v1: the kubelet \(kubernetes.minorRelease) refuses it (failCgroupV1 defaults to true)",
                    "boot with cgroup v2 (systemd.unified_cgroup_hierarchy=1), or use Kubernetes 1.34 or older")
            }
        } else {
            add("cgroups", .pass, report.cgroupVersion == 1 ? "cgroup v1" : "cgroup v2")
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
        for tool in ["iptables", "ip", "tar"] {
            let path = report.programsFound[tool]
            add(tool, path == nil ? .fail : .pass, path ?? "not found", "install it: apt-get install \(tool == "ip" ? "iproute2" : tool)")
        }
        // The default (--images local) builds the pod images from busybox: without a static one that build fails.
        let busyboxFix = "the default local images are built from a static busybox: apt-get install busybox-static (or run with --images registry)"
        switch (report.programsFound["busybox"], report.busyboxStatic) {
        case (nil, _): add("busybox", .fail, "not found", busyboxFix)
        case (let path?, true?): add("busybox", .pass, "\(path) (static)")
        case (let path?, false?): add("busybox", .fail, "\(path) is dynamically linked", busyboxFix)
        case (let path?, nil): add("busybox", .fail, "\(path) cannot be read", busyboxFix)
        }
        add("conntrack", report.programsFound["conntrack"] == nil ? .warn : .pass, report.programsFound["conntrack"] ?? "not found",
            "optional, to look at kube-proxy's connections: apt-get install conntrack")
        // Stage 6 starts node-2's components in its network namespace (nsenter) and sets forwarding there (sysctl).
        for tool in ["nsenter", "sysctl"] {
            let path = report.programsFound[tool]
            add(tool, path == nil ? .warn : .pass, path ?? "not found",
                "stage 6 (the second node) needs it: apt-get install \(tool == "nsenter" ? "util-linux" : "procps")")
        }

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
        // Ours never opens one: NRI is off in the config we write (ComponentPlanner) and off by default in containerd 1.x.
        add("host NRI socket", .pass,
            report.hostNRISocket ? "/var/run/nri/nri.sock belongs to another runtime: left alone (our containerd runs with NRI off)"
                : "none at /var/run/nri/nri.sock (our containerd runs with NRI off)")
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
    /// etcd and containerd judged by the release's row of `CompanionMatrix` (docs/components.md §1.2).
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
            // The kubelet is the containerd's client; the API server stands in when no kubelet was found.
            results.append(judgeContainerd(containerd, kubelet: report.versions["kubelet"] ?? server))
        }
        if let etcd = report.versions["etcd"] {
            results.append(judgeEtcd(etcd, server: server))
        }
        return results
    }

    /// "Kubernetes 1.35", or "Kubernetes 1.38 (no row: 1.37's)" for a release newer than the matrix.
    static func rowName(_ kubernetes: KubernetesVersion) -> String {
        let row = CompanionMatrix.row(for: kubernetes)
        return CompanionMatrix.hasRow(for: kubernetes) ? "Kubernetes \(kubernetes.minorRelease)"
            : "Kubernetes \(kubernetes.minorRelease) (no row: \(row.kubernetes.minorRelease)'s)"
    }

    /// PASS inside upstream's list for the release, WARN outside it (naming the list), FAIL where it cannot work.
    public static func judgeContainerd(_ containerd: KubernetesVersion, kubelet: KubernetesVersion) -> DoctorResult {
        let row = CompanionMatrix.row(for: kubelet)
        let list = "upstream's list for \(rowName(kubelet)): \(row.containerdSupportedText)"
        let found = "containerd \(containerd), kubelet \(kubelet)"
        func result(_ status: DoctorResult.Status, _ why: String, _ fix: String? = nil) -> DoctorResult {
            DoctorResult(check: "containerd version", status: status, found: "\(found): \(why)", fix: status == .pass ? nil : fix)
        }
        let install = "install containerd \(row.containerd) (kubescratch setup --containerd v\(row.containerd.major).\(row.containerd.minor).\(row.containerd.patch)) or pass another in --bin-dir"
        // containerd RELEASES.md: "CRI v1alpha2 is deprecated in v1.7 and is not present in containerd v2.0";
        // kubelets before 1.23 speak only v1alpha2.
        if containerd.major >= 2 && !kubelet.isAtLeast(1, 23) {
            return result(.fail, "this kubelet speaks only CRI v1alpha2, which containerd 2.0 removed", install)
        }
        // Kubelets from 1.26 speak only CRI v1; containerd 1.4 and older serve only v1alpha2 (RELEASES.md).
        if containerd < KubernetesVersion(1, 5, 0) && kubelet.isAtLeast(1, 26) {
            return result(.fail, "this kubelet speaks only CRI v1, which containerd 1.4 and older lack", install)
        }
        // containerd 1.x lacks the CRI RuntimeConfig call; from 1.38 the kubelet no longer falls back to its own
        // cgroupDriver (KEP-4033, deferred to 1.38 by kubernetes/enhancements#6087 and k/k#139121).
        if containerd.major < 2 && kubelet.isAtLeast(1, 38) {
            return result(.fail, "containerd 1.x lacks the CRI RuntimeConfig call, without which this kubelet does not start", install)
        }
        if row.supportsContainerd(containerd) { return result(.pass, "in \(list)") }
        let fallbackNote = containerd.major < 2 && kubelet.isAtLeast(1, 36)
            ? " (it runs through the kubelet's cgroupDriver fallback, which goes away in 1.38)" : ""
        return result(.warn, "outside \(list)\(fallbackNote)", install)
    }

    /// The FAIL line is kubeadm's MinExternalEtcdVersion for the release: kubeadm refuses an older etcd. The
    /// "minimum recommended etcd versions to run in production are 3.4.22+ and 3.5.6+" (Kubernetes docs, Operating
    /// etcd clusters) is a WARN, and not below kubeadm's own pin: kubeadm 1.20 and 1.21 pin 3.4.13, which setup
    /// installs, so doctor passes it there. (An earlier FAIL below 3.4.22 contradicted that pin.)
    public static func judgeEtcd(_ etcd: KubernetesVersion, server: KubernetesVersion) -> DoctorResult {
        let row = CompanionMatrix.row(for: server)
        let found = "etcd \(etcd), API server \(server)"
        func result(_ status: DoctorResult.Status, _ why: String, _ fix: String? = nil) -> DoctorResult {
            DoctorResult(check: "etcd version", status: status, found: "\(found): \(why)", fix: status == .pass ? nil : fix)
        }
        let install = "use etcd \(row.etcd) (kubescratch setup --etcd v\(row.etcd.major).\(row.etcd.minor).\(row.etcd.patch)) or pass another in --bin-dir"
        if etcd < row.etcdMinimum {
            return result(.fail, "kubeadm for \(rowName(server)) refuses an etcd older than \(row.etcdMinimum)", install)
        }
        if etcd.major == 3 && etcd.minor == 4 && server.isAtLeast(1, 31) {
            return result(.warn, "etcd 3.4 is end of life, and Kubernetes 1.31+ turns its watch-progress features off with it",
                          "3.5.13 or later is better: " + install)
        }
        let productionFloor: KubernetesVersion? = etcd.major == 3 && etcd.minor == 4 ? KubernetesVersion(3, 4, 22)
            : etcd.major == 3 && etcd.minor == 5 ? KubernetesVersion(3, 5, 6) : nil
        if let floor = productionFloor, etcd < floor {
            if etcd.minor == row.etcd.minor && etcd >= row.etcd {
                return result(.pass, "kubeadm pins \(row.etcd) for \(rowName(server)); the \(floor)+ production advice came later")
            }
            return result(.warn, "below the \(floor)+ Kubernetes recommends for production", install)
        }
        return result(.pass, "at or above kubeadm's minimum \(row.etcdMinimum) for \(rowName(server)), whose own pin is \(row.etcd.major).\(row.etcd.minor).x")
    }
}
