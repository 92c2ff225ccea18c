import Foundation
@testable import KubescratchCore
import Testing

/// The API calls view from a real audit log: Tests/KubescratchCoreTests/Fixtures/audit-v1.20.2.log holds one line of
/// each kind (stage, verb, resource, kind of user, answer) that a real v1.20.2 node wrote through stages 2-5.
struct TrafficTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/audit-v1.20.2.log")
    static var lines: [Substring] {
        let text = (try? String(contentsOf: fixture, encoding: .utf8)) ?? ""
        return text.split(separator: "\n")
    }
    static var calls: [APICall] { lines.compactMap { AuditEvent.parse($0).flatMap(APICall.init) } }

    @Test func everyLineOfTheRealLogParsesAndWatchesCountOnce() throws {
        let events = Self.lines.compactMap(AuditEvent.parse)
        #expect(events.count == Self.lines.count, "every real line is an event")
        #expect(!events.contains { $0.stage == "RequestReceived" }, "the policy omits RequestReceived")
        let watches = events.filter { $0.verb == "watch" }
        #expect(!watches.isEmpty)
        // A watch shows when it opens (ResponseStarted), not again when it ends.
        let calls = Self.calls
        #expect(calls.filter { $0.verb == "watch" }.count == watches.filter { $0.stage == "ResponseStarted" }.count)
        // Other long-running calls (exec) count once, when they end.
        let exec = events.filter { $0.objectRef?.subresource == "exec" }
        #expect(exec.contains { $0.stage == "ResponseStarted" } && calls.filter { $0.resource == "pods/exec" }.count == exec.filter { $0.stage == "ResponseComplete" }.count)
    }

    @Test func resourcesSubresourcesAndPathsReadAsTheLearnerSaysThem() throws {
        let calls = Self.calls
        let binding = try #require(calls.first { $0.resource == "pods/binding" })
        #expect(binding.verb == "create" && binding.user == "system:kube-scheduler" && binding.namespace == "default" && binding.code == 201)
        #expect(APIClient(user: binding.user) == .scheduler && binding.isWrite)
        let nonResource = try #require(calls.first { $0.resource.hasPrefix("/") })
        #expect(!nonResource.resource.contains("?"), "the query string is left out: \(nonResource.resource)")
        #expect(calls.contains { $0.code == 404 && $0.failed } && calls.contains { $0.code == 403 && $0.failed })
        #expect(calls.contains { $0.resource == "nodes/status" && $0.verb == "patch" && $0.user.hasPrefix("system:node:") })
        #expect(calls.contains { $0.resource == "leases" && $0.namespace == "kube-node-lease" })
    }

    @Test func usersMapToTheDiagramsBoxes() {
        #expect(APIClient(user: "system:node:vm") == .kubelet(node: "vm"))
        #expect(APIClient(user: "system:serviceaccount:kube-system:replicaset-controller") == .controllerManager(controller: "replicaset-controller"))
        #expect(APIClient(user: "system:kube-controller-manager") == .controllerManager(controller: nil))
        #expect(APIClient(user: "system:kube-proxy", sourceIP: "10.201.0.2", workerAddresses: WorkerNetwork.addresses) == .kubeProxy(node: "node-2"))
        #expect(APIClient(user: "system:kube-proxy", sourceIP: "10.201.0.6", workerAddresses: WorkerNetwork.addresses) == .kubeProxy(node: "node-3"))
        #expect(APIClient(user: "system:kube-proxy", sourceIP: "192.0.2.2", workerAddresses: WorkerNetwork.addresses) == .kubeProxy(node: nil))
        #expect(APIClient(user: "admin").name == "you (kubectl)" && APIClient(user: "system:apiserver") == .apiServer)
        #expect(APIClient.controllerManager(controller: "deployment-controller").matches("deployment-controller"))
        #expect(APIClient.kubelet(node: "node-2").matches("kubelet") && APIClient.kubelet(node: "node-2").matches("kubelet@node-2"))
        #expect(!APIClient.scheduler.matches("kubelet"))
    }

    /// A real line with the API server's answer changed to a 5xx, and one ending in a Panic: both are failures.
    @Test func serverErrorsAndPanicsAreFailures() throws {
        let line = try #require(Self.lines.first { $0.contains("\"stage\":\"ResponseComplete\"") && $0.contains("\"code\":200") })
        let failed = try #require(AuditEvent.parse(Substring(line.replacingOccurrences(of: "\"code\":200", with: "\"code\":503"))).flatMap(APICall.init))
        #expect(failed.code == 503 && failed.failed)
        let panic = try #require(AuditEvent.parse(Substring(line.replacingOccurrences(of: "\"stage\":\"ResponseComplete\"", with: "\"stage\":\"Panic\""))).flatMap(APICall.init))
        #expect(panic.code == 500 && panic.failed, "a Panic is answered 500")
        var log = TrafficLog()
        log.add(failed)
        let now = failed.time.addingTimeInterval(1)
        #expect(log.failedRecently(where: { $0 == log.client(of: failed) }, now: now))
    }

    @Test func thePanesClockIsLocalTime() {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        for seconds in [0.0, 59.9, 3_599, 86_399, 1_796_583_798.56, 1_800_000_000] {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(TrafficLog.clock(date) == formatter.string(from: date), "\(seconds)")
        }
    }

    @Test func aTornLineOrForeignTextIsSkippedNotAnError() throws {
        let whole = try #require(Self.lines.first)
        #expect(AuditEvent.parse(whole.dropLast(20)) == nil)
        #expect(AuditEvent.parse("I1206 19:14:20.247959   21181 kubelet.go:1888] SyncLoop") == nil)
        #expect(AuditEvent.parse("") == nil)
    }

    @Test func repeatedCallsFoldAndTheNewestComesFirst() {
        var log = TrafficLog()
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        for second in stride(from: 0, to: 60, by: 10) {
            log.add(APICall(time: start.addingTimeInterval(Double(second)), user: "system:node:vm", verb: "update", resource: "leases",
                            namespace: "kube-node-lease", name: "vm"))
        }
        log.add(APICall(time: start.addingTimeInterval(61), user: "system:kube-scheduler", verb: "create", resource: "pods/binding",
                        namespace: "default", name: "pending-pod", code: 201))
        #expect(log.calls.count == 2 && log.total == 7)
        #expect(log.calls[0].resource == "pods/binding")
        #expect(log.calls[1].count == 6 && log.calls[1].time == start.addingTimeInterval(50), "six Lease renewals, one line")
        #expect(log.line(log.calls[1], width: 120).hasSuffix("update leases kube-node-lease/vm 200 ×6"))
        #expect(log.line(log.calls[0], width: 120).contains("scheduler      create pods/binding default/pending-pod 201"))
        // A different answer is a different line.
        log.add(APICall(time: start.addingTimeInterval(62), user: "system:node:vm", verb: "update", resource: "leases",
                        namespace: "kube-node-lease", name: "vm", code: 409))
        #expect(log.calls.count == 3 && log.calls[0].failed)
    }

    @Test func anArrowSaysWhatItsSourceDidLatelyWritesFirst() {
        var log = TrafficLog()
        let now = Date(timeIntervalSince1970: 1_800_000_100)
        log.add(APICall(time: now.addingTimeInterval(-40), user: "system:kube-scheduler", verb: "list", resource: "nodes"))
        log.add(APICall(time: now.addingTimeInterval(-5), user: "system:kube-scheduler", verb: "watch", resource: "pods"))
        for name in ["a", "b", "c"] {
            log.add(APICall(time: now.addingTimeInterval(-1), user: "system:kube-scheduler", verb: "create", resource: "pods/binding",
                            namespace: "default", name: name, code: 201))
        }
        #expect(log.label(of: .scheduler, now: now) == "create pods/binding ×3 · watch pods", "the list 40 s ago is out of the window")
        #expect(log.wroteRecently(where: { $0 == .scheduler }, now: now))
        #expect(!log.wroteRecently(where: { $0 == .scheduler }, now: now.addingTimeInterval(3)), "bright for about a second")
        #expect(log.label(of: .kubeProxy(node: nil), now: now) == nil)
        #expect(!log.failedRecently(where: { $0 == .scheduler }, now: now))
    }

    @Test func theDiagramsArrowsCarryTheCallsAndTheRealLogFillsThem() throws {
        var log = TrafficLog()
        log.add(Self.calls)
        let last = try #require(Self.calls.map(\.time).max())
        var state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: [
            ComponentStatus(id: .kubeAPIServer, health: .healthy), ComponentStatus(id: .kubeScheduler, health: .healthy),
            ComponentStatus(id: .kubelet, health: .healthy), ComponentStatus(id: .etcd, health: .healthy),
        ], kubeletMode: .cluster)
        state.traffic = log
        state.trafficTime = last.addingTimeInterval(1)
        let model = DiagramModel(state: state)
        let kubelet = try #require(model.arrows.first { $0.from == .kubelet && $0.to == .apiserver })
        let expected = log.label(where: { $0 == .kubelet(node: "vm") }, now: state.trafficTime)
        #expect(kubelet.calls == expected && expected != nil)
        #expect(model.arrows.first { $0.to == .etcd }?.calls == nil, "only arrows into the API server carry calls")
    }
}
