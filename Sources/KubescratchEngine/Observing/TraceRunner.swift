import Foundation
import KubescratchCore

/// Turns a trace target into one real request (which address, from where, whose rules), runs it with
/// PacketTracer, names the pod that answered, and keeps the report where the screen and the next trace find it.
/// `kubescratch trace`, a lesson's `trace:` step and the screen's P key all come here.
public struct TraceRunner: Sendable {
    public let context: EngineContext

    public init(context: EngineContext) { self.context = context }

    public struct Refused: Error, CustomStringConvertible {
        public var description: String
    }

    /// What the request is, resolved against the live cluster.
    struct Plan {
        var host: String
        var port: Int
        var what: String
        var client = "this node"
        var clientNamespace: String?
        var rulesOf = "this node"
        var rulesNamespace: String?
    }

    /// `saveCounters`: a folder to keep the two nat-table captures in (counters-before.txt, counters-after.txt).
    public func run(_ target: TraceTarget, from pod: String? = nil, saveCounters: String? = nil,
                    method: PacketTracer.Method? = nil) async throws -> TraceReport {
        if method == .nftrace, SystemProgram.path("nft") == nil {
            throw Refused(description: "the nftrace method needs nft (Debian: apt-get install nftables)")
        }
        let plan = try await plan(target, from: pod)
        let tracer = PacketTracer(shell: context.shell, rulesNamespace: plan.rulesNamespace, clientNamespace: plan.clientNamespace)
        let asked = TraceReport(target: "\(plan.host):\(plan.port)", what: plan.what, client: plan.client, rulesOf: plan.rulesOf,
                                outcome: .nothingMatched, answer: "", attempts: 0, time: Date())
        let finding = await tracer.trace(asked, host: plan.host, port: plan.port, method: method)
        if let folder = saveCounters {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try finding.counters.before.write(toFile: folder + "/counters-before.txt", atomically: true, encoding: .utf8)
            try finding.counters.after.write(toFile: folder + "/counters-after.txt", atomically: true, encoding: .utf8)
        }
        var report = finding.report
        if let address = report.endpoint, let owner = await pods().first(where: { $0.podIP == address }) {
            report.pod = owner.metadata.name
            report.podNode = owner.nodeName
        }
        let previous = Self.last(in: context.layout).flatMap { $0.target == report.target && $0.client == report.client ? $0 : nil }
        if let declared = finding.declaredChains { report.gone = TraceReport.gone(since: previous, declared: declared) }
        if let data = report.encoded() { try? data.write(to: URL(fileURLWithPath: TraceReport.file(in: context.layout)), options: .atomic) }
        return report
    }

    /// The command a learner types for the same trace.
    public func command(_ target: TraceTarget, from pod: String? = nil) -> String {
        "kubescratch trace \(target)" + (pod.map { " --from \($0)" } ?? "")
    }

    public static func last(in layout: StateLayout) -> TraceReport? {
        FileManager.default.contents(atPath: TraceReport.file(in: layout)).flatMap(TraceReport.decode)
    }

    func plan(_ target: TraceTarget, from pod: String?) async throws -> Plan {
        let facts = context.facts
        let workers = WorkerHost.present(layout: context.layout).map { WorkerNetwork($0, cluster: context.network) }
        let port = TraceTarget.lessonNodePort
        var plan: Plan
        switch target {
        case .nodePort(.nodeIP):
            plan = Plan(host: facts.nodeIP, port: port, what: "the NodePort of \(TraceTarget.service) on this node's address")
        case .nodePort(.loopback):
            plan = Plan(host: "127.0.0.1", port: port, what: "the NodePort of \(TraceTarget.service) on 127.0.0.1")
        case .nodePort(.worker(let node)):
            let network = WorkerNetwork(node, cluster: context.network)
            guard FileManager.default.fileExists(atPath: network.namespacePath) else {
                throw Refused(description: "there is no \(node.name): workers come with stage 6 (`kubescratch run --through 6`, `kubescratch stage 6 --nodes N`)")
            }
            // The packet crosses the link into the worker's namespace, where its own kube-proxy wrote the rules.
            plan = Plan(host: network.nodeAddress, port: port, what: "the NodePort of \(TraceTarget.service) on \(node.name)'s address",
                        rulesOf: node.name, rulesNamespace: network.namespacePath)
        case .clusterIP:
            guard let service: Service = await observer.get("/api/v1/namespaces/default/services/\(TraceTarget.service)"),
                  let ip = service.spec?.clusterIP, let servicePort = service.spec?.ports?.first?.port else {
                throw Refused(description: "the Service \(TraceTarget.service) does not exist: it comes with stage 5")
            }
            plan = Plan(host: ip, port: servicePort, what: "the ClusterIP of \(TraceTarget.service)")
            if pod == nil { try await enter(&plan, pod: try await clientPod()) }
        case .pod(let node):
            guard let target = await pods().first(where: { $0.nodeName == node && $0.isReady && $0.podIP != nil
                    && $0.metadata.labels?["app"] == TraceTarget.service }) else {
                throw Refused(description: "no Ready pod of \(TraceTarget.service) runs on \(node)")
            }
            plan = Plan(host: target.podIP!, port: 80, what: "pod \(target.metadata.name) on \(node), straight to its pod IP")
        case .address(let host, let port):
            guard PacketTracer.allowed(host, network: context.network, nodeIP: facts.nodeIP, workers: workers) else {
                throw Refused(description: "\(host) is not this machine's, a pod's or a Service's address: kubescratch sends traffic nowhere else")
            }
            plan = Plan(host: host, port: port, what: "\(host):\(port)")
            if let worker = workers.first(where: { $0.nodeAddress == host }) {
                plan.rulesOf = worker.worker.name
                plan.rulesNamespace = worker.namespacePath
            }
        }
        if let pod { try await enter(&plan, pod: pod) }
        // A Service address is nobody's until kube-proxy's rule catches it: without that rule the packet would follow
        // the default route off this machine.
        if ipv4(plan.host, isIn: context.network.serviceRange) {
            let nat = await PacketTracer(shell: context.shell, rulesNamespace: plan.rulesNamespace).natRules().text
            guard nat.contains("-d \(plan.host)/32") else {
                throw Refused(description: "no rule of kube-proxy's catches \(plan.host) yet, so the packet would leave this machine by its "
                              + "default route: kubescratch sends nothing there (start kube-proxy, stage 5)")
            }
        }
        return plan
    }

    /// Send from inside that pod (on this node): its pause container's network namespace.
    func enter(_ plan: inout Plan, pod name: String) async throws {
        guard let pod = await pods().first(where: { $0.metadata.name == name }) else {
            throw Refused(description: "there is no pod \(name) in the default namespace")
        }
        guard pod.nodeName == context.facts.nodeName else {
            throw Refused(description: "pod \(name) runs on \(pod.nodeName ?? "no node"): traces start from pods on \(context.facts.nodeName) only")
        }
        let runtime = RuntimeInspector(context: context)
        guard let sandbox = RuntimePod.current(name, node: context.facts.nodeName, in: try await runtime.pods()), sandbox.running,
              let pid = try await runtime.pausePID(of: sandbox.sandboxID) else {
            throw Refused(description: "containerd runs no sandbox for pod \(name)")
        }
        plan.client = "pod \(name) (\(pod.podIP ?? "no address"))"
        plan.clientNamespace = "/proc/\(pid)/ns/net"
    }

    /// A Ready pod of the lesson's Deployment on this node: the one that asks.
    func clientPod() async throws -> String {
        guard let pod = await pods().sorted(by: { $0.metadata.name < $1.metadata.name }).first(where: {
            $0.nodeName == context.facts.nodeName && $0.isReady && $0.metadata.labels?["app"] == TraceTarget.service && !$0.isMirror
        }) else {
            throw Refused(description: "no Ready pod of \(TraceTarget.service) on \(context.facts.nodeName) to send from: "
                          + "name one with --from, or run stage 4 first")
        }
        return pod.metadata.name
    }

    var observer: NodeObserver { NodeObserver(context: context, expected: []) }

    func pods() async -> [Pod] {
        let list: KubeList<Pod>? = await observer.get("/api/v1/namespaces/default/pods")
        return list?.items ?? []
    }
}
