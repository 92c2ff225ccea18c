import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

/// `kubescratch traffic`: who called the API server, with which verb, on what — from its own audit log.
struct TrafficCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "traffic",
        abstract: "List the calls the node's components made to the API server (from its audit log).",
        discussion: """
            One line per call: time, who (kubelet@NODE, scheduler, ctrl-manager (its controller), kube-proxy, you with \
            kubectl), verb and resource, the object, and the API server's answer; identical calls in a row are folded \
            with a count, as `kubectl get events` does. A watch is listed once, when the API server logs its start (v1.20 \
            logs it only when the watch ends). --follow keeps printing new calls \
            as they are made (Ctrl-C ends it); --json prints every call, unfolded, one JSON object per line. \
            kubescratch's own diagram and health probes are left out by the audit policy.
            """
    )

    @OptionGroup var state: StateOptions

    @Flag(name: [.short, .long], help: "Keep printing calls as they happen.")
    var follow = false

    @Flag(name: .long, help: "One JSON object per call (time, user, client, verb, resource, namespace, name, code).")
    var json = false

    @Option(name: .long, help: ArgumentHelp("Only this client's calls: kubelet, kubelet@NODE, scheduler, ctrl-manager, a controller's name, kube-proxy, you, or a user name.", valueName: "NAME"))
    var client: String?

    @Option(name: .long, help: ArgumentHelp("Without --follow: the last N calls (after folding).", valueName: "N"))
    var last = 50

    func run() async throws {
        let layout = state.layout
        guard FileManager.default.fileExists(atPath: layout.auditLog) || follow else {
            throw UserFacingError("no API calls yet: \(layout.auditLog) appears when the API server starts (stage 2)")
        }
        var log = TrafficLog()
        let wanted: (APICall) -> Bool = { call in client.map { log.client(of: call).matches($0) } ?? true }
        let history = AuditTail.history(of: layout.auditLog).filter(wanted)
        if json {
            for call in history { print(Self.json(call, client: log.client(of: call))) }
        } else {
            print(Self.header)
            log.add(history)
            for call in log.calls.prefix(last).reversed() { print(log.line(call, width: 200)) }
        }
        guard follow else { return }
        let tail = AuditTail(path: layout.auditLog, backlog: 0)
        _ = tail.read()  // what was printed above
        while !Task.isCancelled {
            for call in tail.read() where wanted(call) {
                if json { print(Self.json(call, client: log.client(of: call))) } else { print(log.line(call, width: 200)) }
            }
            fflush(nil)  // every stream: the lines reach a pipe at once
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    static let header = "TIME     WHO            CALL AND OBJECT                                      ANSWER"

    static func json(_ call: APICall, client: APIClient) -> String {
        var object: [String: Any] = ["time": ISO8601DateFormatter().string(from: call.time), "user": call.user, "client": client.name,
                                     "verb": call.verb, "resource": call.resource, "code": call.code]
        if let namespace = call.namespace { object["namespace"] = namespace }
        if let name = call.name { object["name"] = name }
        if let source = call.sourceIP { object["sourceIP"] = source }
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return String(decoding: data, as: UTF8.self)
    }
}
