import Foundation
@testable import KubescratchEngine
import KubescratchCore
import Testing

/// A step racing against the death of a component, and against Ctrl-C. The "component" is a stand-in (/bin/sh
/// running sleep) started by our real supervisor: these tests are about our own supervision, not Kubernetes.
@Suite(.serialized) struct FaultTests {
    let layout = StateLayout(root: FileManager.default.temporaryDirectory.appendingPathComponent("ks-fault-\(UUID().uuidString)").path)

    func engine(_ events: EventLog) -> Engine {
        let facts = NodeFacts(nodeName: "vm", nodeIP: "192.0.2.2", cgroupVersion: 1, kubernetes: KubernetesVersion(1, 20, 2),
                              containerd: KubernetesVersion(1, 6, 20), etcd: KubernetesVersion(3, 4, 23))
        let context = EngineContext(layout: layout, facts: facts, binaries: BinaryPaths(programs: [:], cniBinDir: ""),
                                    imageSource: .local, assetsDir: "")
        return Engine(context: context) { events.append($0) }
    }

    func standIn() throws -> ComponentRecord {
        let plan = ComponentPlan(component: .etcd, executable: "/bin/sh", arguments: ["-c", "echo serving; exec sleep 60"],
                                 environment: ["PATH": "/usr/bin:/bin"], files: [], health: .unixSocket(path: "/nonexistent"),
                                 startTimeoutSeconds: 5, talksTo: [], ports: [])
        return try Supervisor(layout: layout).start(plan, kubeletMode: nil)
    }

    /// Never holds: containerd's health is its socket under this test's own temporary folder, which nothing creates
    /// (a port such as the scheduler's could be answered by a real node running on the same machine). Only a crash or
    /// Ctrl-C ends it early.
    let endlessCheck = Step(id: "wait", title: "Wait for something that never comes", kind: .check(.healthy(.containerd)), timeoutSeconds: 60)

    @Test func aComponentKilledUnderAStepEndsItAtOnceNamingIt() async throws {
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let events = EventLog()
        let engine = engine(events)
        let record = try standIn()
        let step = Task { await engine.run(endlessCheck) }
        try await Task.sleep(for: .milliseconds(400))
        let killed = Date()
        kill(record.pid, SIGKILL)
        let result = await step.value
        let noticed = Date().timeIntervalSince(killed)
        #expect(noticed < 1, "noticed after \(noticed) s")
        #expect(result.detail.hasPrefix("etcd killed by signal 9 (SIGKILL) after ") && result.detail.hasSuffix(" s running") && !result.passed)
        let crash = try #require(engine.lastCrash)
        #expect(crash.component == .etcd && crash.logTail.contains("serving") && crash.logFile == layout.log(.etcd))
        #expect(events.crashes == [crash], "the screen is told at that moment")
        let failure = StageFailure(stage: 3, step: endlessCheck, detail: result.detail, stepNumber: 2, crash: crash)
        #expect(failure.description.hasPrefix("etcd killed by signal 9 (SIGKILL) during step 2 of stage 3 ('Wait for something that never comes')"))
    }

    /// CI caught this: the kubelet killed just as one check passed went unnoticed by every later step.
    @Test func aComponentKilledBetweenTwoStepsEndsTheNextAtOnce() async throws {
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let events = EventLog()
        let engine = engine(events)
        let record = try standIn()
        kill(record.pid, SIGKILL)
        try await Task.sleep(for: .milliseconds(100))
        let started = Date()
        let result = await engine.run(endlessCheck)
        #expect(Date().timeIntervalSince(started) < 1)
        #expect(result.detail.hasPrefix("etcd killed by signal 9 (SIGKILL)") && !result.passed, "\(result)")
        #expect(events.crashes.map(\.component) == [.etcd])
    }

    @Test func aRecordAlreadyDeadWhenTheCommandBeganIsNotAStepsCrash() async throws {
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let record = try standIn()
        kill(record.pid, SIGKILL)
        while Supervisor(layout: layout).isAlive(record) { try await Task.sleep(for: .milliseconds(20)) }
        // As after a reboot: the record outlives its process, and this command's recovery will start it again.
        let engine = engine(EventLog())
        #expect(engine.componentsToWatch(during: endlessCheck).isEmpty)
        // Started again by this command and then killed, it is a crash.
        let again = try standIn()
        kill(again.pid, SIGKILL)
        #expect(engine.componentsToWatch(during: endlessCheck) == [.etcd])
    }

    @Test func aComponentTheStepStopsIsNotACrash() async throws {
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let engine = engine(EventLog())
        _ = try standIn()
        let stop = Step(id: "stop", title: "Stop etcd", kind: .action(.stop(.etcd), expectFailure: nil))
        #expect(engine.componentsToWatch(during: stop).isEmpty)
        #expect(await engine.run(stop) == .passed("etcd stopped"))
        #expect(engine.lastCrash == nil)
    }

    @Test func ctrlCEndsAWaitingStepWithinASecond() async throws {
        defer { try? FileManager.default.removeItem(atPath: layout.root) }
        let engine = engine(EventLog())
        let record = try standIn()
        defer { kill(record.pid, SIGKILL) }
        let step = Task { await engine.run(endlessCheck) }
        try await Task.sleep(for: .milliseconds(400))
        let cancelled = Date()
        step.cancel()
        _ = await step.value
        #expect(Date().timeIntervalSince(cancelled) < 1)
        #expect(engine.lastCrash == nil, "an interrupt is not a crash")
        #expect(engine.currentStep == endlessCheck.title, "the message can say what was interrupted")
    }

    @Test func ctrlCStopsAShortCommandAtOnce() async throws {
        let task = Task { try await Shell().run("/bin/sleep", ["30"], timeout: 60) }
        try await Task.sleep(for: .milliseconds(200))
        let cancelled = Date()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(Date().timeIntervalSince(cancelled) < 1, "kubectl and friends do not run out their timeout after Ctrl-C")
    }

    @Test func exitStatusesReadAsWords() {
        #expect(ExitStatuses.describe(SIGKILL) == "killed by signal 9 (SIGKILL)")
        #expect(ExitStatuses.describe(1 << 8) == "exited with status 1")
        #expect(ExitStatuses.describe(0) == "exited with status 0")
    }
}

final class EventLog: @unchecked Sendable {
    private let lock = NSLock()
    private var events: [EngineEvent] = []
    func append(_ event: EngineEvent) { lock.withLock { events.append(event) } }
    var crashes: [ComponentCrash] {
        lock.withLock { events.compactMap { if case .componentCrashed(let crash) = $0 { crash } else { nil } } }
    }
}

@Suite struct RuntimePodChoiceTests {
    @Test func aPodPutBackIsSeenByItsRunningSandbox() {
        let old = RuntimePod(name: "web-static-vm", namespace: "default", sandboxID: "old", running: false, ip: "10.200.0.2")
        let new = RuntimePod(name: "web-static-vm", namespace: "default", sandboxID: "new", running: true, ip: "10.200.0.3")
        #expect(RuntimePod.current("web-static", node: "vm", in: [old, new]) == new)
        #expect(RuntimePod.current("web-static", node: "vm", in: [old]) == old)
        #expect(RuntimePod.current("other", node: "vm", in: [old, new]) == nil)
    }
}
