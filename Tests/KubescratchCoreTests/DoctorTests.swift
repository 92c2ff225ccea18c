import KubescratchCore
import Testing

@Suite struct DoctorTests {
    static func healthy() -> HostReport {
        var programs: [String: String] = [:]
        for program in BinaryPaths.required + ["iptables", "ip", "tar", "busybox", "conntrack"] { programs[program] = "/usr/bin/\(program)" }
        let v = KubernetesVersion(1, 34, 1)
        return HostReport(os: "Linux", architecture: "x86_64", isRoot: true, cgroupVersion: 2, cgroupControllers: ["cpu", "memory", "pids", "io"],
                          swapDevices: 0, ipForward: true, bridgeNetfilterLoaded: true, programsFound: programs, portHolders: [:],
                          systemContainerd: false, freeDiskBytes: 50_000_000_000,
                          versions: ["kubelet": v, "kube-apiserver": v, "kube-proxy": v, "containerd": KubernetesVersion(2, 1, 4),
                                     "etcd": KubernetesVersion(3, 6, 5)],
                          kubectlVersion: KubernetesVersion(1, 34, 0),
                          cniBinDir: "/usr/lib/cni", cniPluginsFound: Set(BinaryPaths.requiredCNIPlugins))
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

    @Test func cgroupV1WarnsFrom135Only() {
        var report = Self.healthy()
        report.cgroupVersion = 1
        #expect(status(Doctor.evaluate(report), "cgroups") == .pass)
        report.versions["kubelet"] = KubernetesVersion(1, 35, 0)
        report.versions["kube-apiserver"] = KubernetesVersion(1, 35, 0)
        let cgroups = Doctor.evaluate(report).first { $0.check == "cgroups" }
        #expect(cgroups?.status == .warn)
        #expect(cgroups?.fix?.contains("failCgroupV1: false") == true)
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
        #expect(status(results, "busybox") == .warn)
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
}
