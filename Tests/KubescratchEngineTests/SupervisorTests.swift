import Foundation
@testable import KubescratchEngine
import KubescratchCore
import Testing

/// The supervisor is tested with a stand-in daemon (/bin/sh running sleep), not a Kubernetes component:
/// these tests are about our own process handling: session, log file, records, TERM then KILL.
@Suite(.serialized) struct SupervisorTests {
    let layout = StateLayout(root: FileManager.default.temporaryDirectory.appendingPathComponent("ks-sup-\(UUID().uuidString)").path)

    func standIn(_ script: String, timeout: Double = 5) -> ComponentPlan {
        ComponentPlan(component: .etcd, executable: "/bin/sh", arguments: ["-c", script],
                      environment: ["AWS_EC2_METADATA_DISABLED": "true", "PATH": "/usr/bin:/bin"], files: [],
                      health: .unixSocket(path: "/nonexistent"), startTimeoutSeconds: timeout, talksTo: [], ports: [])
    }

    @Test func startsInItsOwnSessionWithLogAndEnvironment() async throws {
        let supervisor = Supervisor(layout: layout)
        let record = try supervisor.start(standIn("echo started; echo \"aws=$AWS_EC2_METADATA_DISABLED\"; exec sleep 30"), kubeletMode: nil)
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        #expect(supervisor.state(.etcd) == .running)
        #expect(getsid(record.pid) == record.pid, "the component leads its own session")
        try await Task.sleep(for: .milliseconds(300))
        let log = try String(contentsOfFile: layout.log(.etcd), encoding: .utf8)
        #expect(log.contains("kubescratch started etcd"))
        #expect(log.contains("aws=true"))
        #expect(supervisor.record(.etcd)?.startTicks == ProcessTable.startTicks(record.pid))
        await supervisor.stop(.etcd)
        #expect(supervisor.state(.etcd) == .stopped)
        #expect(ProcessTable.state(record.pid) == nil || ProcessTable.state(record.pid) == "Z")
    }

    @Test func killsAProcessThatIgnoresTERMAfterTheGracePeriod() async throws {
        let supervisor = Supervisor(layout: layout)
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        // Like busybox httpd as PID 1: ignores SIGTERM. Its child sleep is in the same process group.
        let record = try supervisor.start(standIn("trap '' TERM; echo trapped; sleep 30 & wait; sleep 30"), kubeletMode: nil)
        // Under load (the whole suite runs in parallel) the shell may not have set its trap 200 ms later: wait for it.
        let deadline = Date().addingTimeInterval(10)
        // A line of its own: the supervisor's header line in the log quotes the whole script, "trapped" included.
        while !supervisor.logTail(.etcd, lines: 5).split(separator: "\n").contains("trapped"), Date() < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let started = Date()
        await supervisor.stop(.etcd, grace: 1)
        let took = Date().timeIntervalSince(started)
        #expect(took >= 1 && took < 5, "TERM ignored, KILL after the 1 s grace (took \(took) s)")
        #expect(!supervisor.isAlive(record))
        let groupLeft = ProcessTable.allPIDs().filter { getpgid($0) == record.pid && ProcessTable.state($0) != "Z" }
        #expect(groupLeft.isEmpty, "the whole process group is gone")
    }

    @Test func noticesAComponentThatDied() async throws {
        let supervisor = Supervisor(layout: layout)
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        _ = try supervisor.start(standIn("echo bye; exit 3"), kubeletMode: nil)
        try await Task.sleep(for: .milliseconds(500))
        #expect(supervisor.state(.etcd) == .exited)
        #expect(supervisor.runningRecord(.etcd) == nil)
        #expect(supervisor.logTail(.etcd).contains("bye"))
    }

    @Test func aReusedPIDIsNotOurs() throws {
        let supervisor = Supervisor(layout: layout)
        let me = ComponentRecord(component: .etcd, pid: getpid(), startTicks: (ProcessTable.startTicks(getpid()) ?? 0) + 1,
                                 executable: "/bin/sh", arguments: [], kubeletMode: nil, startedAt: Date(), logFile: "")
        #expect(!supervisor.isAlive(me))
    }

    @Test func missingBinaryNamesTheFix() {
        let supervisor = Supervisor(layout: layout)
        var plan = standIn("true")
        plan.executable = "/nonexistent/kube-apiserver"
        #expect(throws: SupervisorError.self) { try supervisor.start(plan, kubeletMode: nil) }
        let message = SupervisorError.missingBinary(.kubeAPIServer, "/nonexistent/kube-apiserver").description
        #expect(message.contains("--bin-dir"))
    }
}

@Suite struct ResetHelpersTests {
    @Test func mountinfoEscapesAreDecoded() {
        #expect(Reset.decodeOctal("/var/lib/with\\040space") == "/var/lib/with space")
        #expect(Reset.decodeOctal("/plain") == "/plain")
    }

    @Test func ourChainsAreRecognised() {
        #expect(IPTables.isOurs("KUBE-SERVICES") && IPTables.isOurs("CNI-abc"))
        #expect(!IPTables.isOurs("DOCKER") && !IPTables.isOurs("INPUT"))
        #expect(IPTables.isKubeProxys("KUBE-NODEPORTS") && IPTables.isKubeProxys("KUBE-SVC-ABC"))
        #expect(!IPTables.isKubeProxys("KUBE-FIREWALL") && !IPTables.isKubeProxys("KUBE-MARK-MASQ") && !IPTables.isKubeProxys("CNI-x"))
    }
}

@Suite struct RuntimeInspectorTests {
    /// host-local writes "<sandbox id>\r\n<interface>"; "\r\n" is one Character in Swift.
    @Test func readsHostLocalAddressFiles() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("ks-ipam-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        let layout = StateLayout(root: root)
        let folder = "\(layout.cniIPAMDir)/kubescratch"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try "abc123\r\neth0".write(toFile: "\(folder)/10.200.0.2", atomically: true, encoding: .utf8)
        try "def456\neth0".write(toFile: "\(folder)/10.200.0.3", atomically: true, encoding: .utf8)
        try "10.200.0.3".write(toFile: "\(folder)/last_reserved_ip.0", atomically: true, encoding: .utf8)
        let facts = NodeFacts(nodeName: "vm", nodeIP: "192.0.2.2", cgroupVersion: 1, kubernetes: KubernetesVersion(1, 20, 2),
                              containerd: KubernetesVersion(1, 6, 20), etcd: KubernetesVersion(3, 4, 23))
        let context = EngineContext(layout: layout, facts: facts, binaries: BinaryPaths(programs: [:], cniBinDir: ""),
                                    imageSource: .local, assetsDir: "")
        #expect(RuntimeInspector(context: context).ipamAddresses() == ["abc123": "10.200.0.2", "def456": "10.200.0.3"])
        let pod = RuntimePod(name: "web-static-vm", namespace: "default", sandboxID: "abc123", running: true, ip: "10.200.0.2")
        #expect(pod.isNamed("web-static", node: "vm") && pod.isNamed("web-static-vm", node: "vm"))
        #expect(!pod.isNamed("web", node: "vm"))
    }
}

@Suite struct HTTPProbeTests {
    @Test func refusedConnectionIsReportedPlainly() async {
        // Port 9 (discard) on loopback: nothing listens there on these machines.
        let outcome = await HTTPProbe.get("http://127.0.0.1:9/", timeout: 2)
        #expect(outcome == .failed("connection refused"))
        #expect(await HealthCheck.unixSocket(path: "/nonexistent/sock").probe() != nil)
    }
}
