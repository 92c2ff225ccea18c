import KubescratchCore
import Testing

@Suite struct DoctorTests {
    static func healthy() -> HostReport {
        var programs: [String: String] = [:]
        for program in BinaryPaths.required + ["iptables", "ip", "tar", "busybox", "conntrack", "nsenter", "sysctl"] { programs[program] = "/usr/bin/\(program)" }
        let v = KubernetesVersion(1, 34, 1)
        return HostReport(os: "Linux", architecture: "x86_64", isRoot: true, cgroupVersion: 2, cgroupControllers: ["cpu", "memory", "pids", "io"],
                          swapDevices: 0, ipForward: true, bridgeNetfilterLoaded: true, programsFound: programs, portHolders: [:],
                          systemContainerd: false, freeDiskBytes: 50_000_000_000,
                          versions: ["kubelet": v, "kube-apiserver": v, "kube-proxy": v, "containerd": KubernetesVersion(2, 1, 4),
                                     "etcd": KubernetesVersion(3, 6, 5)],
                          kubectlVersion: KubernetesVersion(1, 34, 0),
                          cniBinDir: "/usr/lib/cni", cniPluginsFound: Set(BinaryPaths.requiredCNIPlugins), busyboxStatic: true)
    }

    func status(_ results: [DoctorResult], _ check: String) -> DoctorResult.Status? { results.first { $0.check == check }?.status }

    @Test func aGoodMachinePassesEverything() {
        let results = Doctor.evaluate(Self.healthy())
        #expect(results.allSatisfy { $0.status == .pass }, "\(results.filter { $0.status != .pass })")
        #expect(results.allSatisfy { $0.fix == nil })
    }

    @Test func notRootAndBusyPortsFailWithTheFix() {
        var report = Self.healthy()
        report.isRoot = false
        report.portHolders = [6443: "kube-apiserver (pid 42)"]
        let results = Doctor.evaluate(report)
        #expect(status(results, "root") == .fail)
        let port = results.first { $0.check == "port 6443" }
        #expect(port?.status == .fail && port?.found == "in use by kube-apiserver (pid 42)")
        #expect(port?.fix?.contains("stop kube-apiserver (pid 42)") == true)
        #expect(status(results, "port 2379") == .pass)
    }

    @Test func cgroupV1From135PassesBecauseThePlanSetsFailCgroupV1False() {
        var report = Self.healthy()
        report.cgroupVersion = 1
        #expect(Doctor.evaluate(report).first { $0.check == "cgroups" }?.found == "cgroup v1")
        report.versions["kubelet"] = KubernetesVersion(1, 35, 0)
        report.versions["kube-apiserver"] = KubernetesVersion(1, 35, 0)
        let cgroups = Doctor.evaluate(report).first { $0.check == "cgroups" }
        #expect(cgroups?.status == .pass)
        #expect(cgroups?.found.contains("sets failCgroupV1: false") == true, "the reason is said")
        // The reason holds: the kubelet config for that host says it.
        let planner = ComponentPlanner(facts: NodeFacts(nodeName: "vm", nodeIP: "192.0.2.2", cgroupVersion: 1, kubernetes: KubernetesVersion(1, 35, 0),
                                                        containerd: KubernetesVersion(2, 2, 9), etcd: KubernetesVersion(3, 6, 11)),
                                       layout: StateLayout(root: "/var/lib/kubescratch"), binaries: BinaryPaths(programs: [:], cniBinDir: "/opt/cni/bin"),
                                       sandboxImage: "localhost/kubescratch-pause:1.0")
        #expect(planner.kubeletConfig(mode: .cluster).contains("failCgroupV1: false"))
    }

    @Test func versionSkew() {
        var report = Self.healthy()
        report.kubectlVersion = KubernetesVersion(1, 32, 0)
        report.versions["kubelet"] = KubernetesVersion(1, 35, 0)
        report.versions["containerd"] = KubernetesVersion(1, 6, 20)
        report.versions["etcd"] = KubernetesVersion(3, 4, 23)
        let results = Doctor.evaluate(report)
        #expect(status(results, "kubectl skew") == .warn)
        #expect(status(results, "kubelet skew") == .fail)
        #expect(status(results, "kube-proxy skew") == .pass)
        #expect(status(results, "containerd version") == .warn)
        #expect(status(results, "etcd version") == .warn)
        report.versions["etcd"] = KubernetesVersion(3, 4, 10)
        #expect(status(Doctor.evaluate(report), "etcd version") == .fail)
    }

    @Test func missingThingsSayHowToGetThem() {
        var report = Self.healthy()
        report.programsFound["kube-scheduler"] = nil
        report.programsFound["etcd"] = nil
        report.programsFound["busybox"] = nil
        report.swapDevices = 1
        report.bridgeNetfilterLoaded = false
        report.cgroupControllers = ["cpu"]
        report.freeDiskBytes = 1_000_000
        let results = Doctor.evaluate(report)
        #expect(results.first { $0.check == "kube-scheduler" }?.fix?.contains("--bin-dir") == true)
        #expect(results.first { $0.check == "etcd" }?.fix?.contains("etcd-server") == true)
        #expect(status(results, "busybox") == .fail, "the default local images cannot be built")
        #expect(status(results, "swap") == .warn)
        #expect(status(results, "br_netfilter") == .warn)
        #expect(results.first { $0.check == "cgroup controllers" }?.fix?.contains("memory, pids") == true)
        #expect(status(results, "disk space") == .fail)
        report.os = "Darwin"
        #expect(status(Doctor.evaluate(report), "operating system") == .fail)
    }

    @Test func aMissingCNIPluginFailsWithWhereItWasLookedFor() {
        var report = Self.healthy()
        #expect(status(Doctor.evaluate(report), "CNI plugin bridge") == .pass)
        #expect(Doctor.evaluate(report).first { $0.check == "CNI plugin bridge" }?.found == "/usr/lib/cni/bridge")
        report.cniPluginsFound.remove("portmap")
        let portmap = Doctor.evaluate(report).first { $0.check == "CNI plugin portmap" }
        #expect(portmap?.status == .fail && portmap?.found == "not in /usr/lib/cni")
        #expect(portmap?.fix?.contains("containernetworking-plugins") == true)
    }

    @Test func aDynamicOrUnreadableBusyboxFailsLikeTheImageBuildWould() {
        var report = Self.healthy()
        #expect(Doctor.evaluate(report).first { $0.check == "busybox" }?.found == "/usr/bin/busybox (static)")
        report.busyboxStatic = false
        let dynamic = Doctor.evaluate(report).first { $0.check == "busybox" }
        #expect(dynamic?.status == .fail && dynamic?.found == "/usr/bin/busybox is dynamically linked")
        #expect(dynamic?.fix?.contains("busybox-static") == true && dynamic?.fix?.contains("--images registry") == true)
        report.busyboxStatic = nil
        #expect(status(Doctor.evaluate(report), "busybox") == .fail)
    }

    @Test func aHostNRISocketIsLeftAlone() {
        var report = Self.healthy()
        #expect(Doctor.evaluate(report).first { $0.check == "host NRI socket" }?.found.hasPrefix("none") == true)
        report.hostNRISocket = true
        let nri = Doctor.evaluate(report).first { $0.check == "host NRI socket" }
        #expect(nri?.status == .pass)
        #expect(nri?.found == "/var/run/nri/nri.sock belongs to another runtime: left alone (our containerd runs with NRI off)")
    }

    func containerd(_ containerd: KubernetesVersion, kubelet: KubernetesVersion) -> DoctorResult {
        Doctor.judgeContainerd(containerd, kubelet: kubelet)
    }

    @Test func aContainerdOlderThanTheSupportedRangeWarnsNamingTheRange() {
        // Kubernetes 1.35: "2.2.0+, 2.1.5+, 1.7.28+" (containerd RELEASES.md); 2.1.4 is one patch short.
        let result = containerd(KubernetesVersion(2, 1, 4), kubelet: KubernetesVersion(1, 35, 1))
        #expect(result.status == .warn)
        #expect(result.found == "containerd v2.1.4, kubelet v1.35.1: outside upstream's list for Kubernetes 1.35: 2.2.0+, 2.1.5+, 1.7.28+")
        #expect(result.fix?.contains("--containerd v2.2.9") == true)
        #expect(containerd(KubernetesVersion(2, 1, 5), kubelet: KubernetesVersion(1, 35, 1)).status == .pass)
        // Through HostReport too: the kubelet's version picks the row.
        var report = Self.healthy()
        report.versions["kubelet"] = KubernetesVersion(1, 35, 1)
        report.versions["kube-apiserver"] = KubernetesVersion(1, 35, 1)
        report.versions["containerd"] = KubernetesVersion(1, 7, 27)
        #expect(status(Doctor.evaluate(report), "containerd version") == .warn)
    }

    @Test func containerdFailsWhereUpstreamSaysItCannotWork() {
        let v2 = containerd(KubernetesVersion(2, 0, 13), kubelet: KubernetesVersion(1, 22, 17))
        #expect(v2.status == .fail && v2.found.contains("CRI v1alpha2"))
        #expect(v2.fix?.contains("v1.7.36") == true)
        #expect(containerd(KubernetesVersion(2, 0, 13), kubelet: KubernetesVersion(1, 23, 0)).status == .warn, "1.23 speaks v1 too: outside the list")
        #expect(containerd(KubernetesVersion(1, 4, 13), kubelet: KubernetesVersion(1, 26, 0)).status == .fail)
        #expect(containerd(KubernetesVersion(1, 7, 36), kubelet: KubernetesVersion(1, 38, 0)).status == .fail, "no RuntimeConfig, no fallback")
        let fallback = containerd(KubernetesVersion(1, 7, 36), kubelet: KubernetesVersion(1, 36, 2))
        #expect(fallback.status == .warn && fallback.found.contains("goes away in 1.38"))
        let newer = containerd(KubernetesVersion(2, 3, 6), kubelet: KubernetesVersion(1, 38, 0))
        #expect(newer.status == .pass && newer.found.contains("Kubernetes 1.38 (no row: 1.37's)"))
    }

    @Test func theEndToEndLanesCompanionsPass() {
        // Debian 12: containerd 1.6.20 and etcd 3.4.23 with the v1.20.2 build.
        #expect(containerd(KubernetesVersion(1, 6, 20), kubelet: KubernetesVersion(1, 20, 2)).status == .pass)
        #expect(Doctor.judgeEtcd(KubernetesVersion(3, 4, 23), server: KubernetesVersion(1, 20, 2)).status == .pass)
    }

    @Test func etcdIsJudgedByTheRow() {
        func etcd(_ etcd: KubernetesVersion, _ server: KubernetesVersion) -> DoctorResult { Doctor.judgeEtcd(etcd, server: server) }
        // kubeadm 1.20 pins 3.4.13, which setup installs: no longer a FAIL below 3.4.22.
        let pinned = etcd(KubernetesVersion(3, 4, 13), KubernetesVersion(1, 20, 2))
        #expect(pinned.status == .pass && pinned.found.contains("kubeadm pins v3.4.13"))
        #expect(etcd(KubernetesVersion(3, 4, 10), KubernetesVersion(1, 20, 2)).status == .warn)
        let refused = etcd(KubernetesVersion(3, 2, 10), KubernetesVersion(1, 20, 2))
        #expect(refused.status == .fail && refused.found.contains("older than v3.2.18"))
        #expect(etcd(KubernetesVersion(3, 4, 13), KubernetesVersion(1, 30, 0)).status == .warn, "3.4.22+ for production")
        #expect(etcd(KubernetesVersion(3, 5, 3), KubernetesVersion(1, 25, 0)).status == .warn, "3.5.6+ for production")
        #expect(etcd(KubernetesVersion(3, 5, 21), KubernetesVersion(1, 35, 0)).status == .fail, "kubeadm 1.35 wants 3.5.24+")
        #expect(etcd(KubernetesVersion(3, 5, 24), KubernetesVersion(1, 35, 0)).status == .pass)
    }
}

@Suite struct DoctorSecondNodeTests {
    @Test func missingNsenterWarnsForStageSixOnly() {
        var report = DoctorTests.healthy()
        report.programsFound["nsenter"] = nil
        let result = Doctor.evaluate(report).first { $0.check == "nsenter" }
        #expect(result?.status == .warn, "stages 1-5 work without it")
        #expect(result?.fix?.contains("stage 6") == true && result?.fix?.contains("util-linux") == true)
    }
}
