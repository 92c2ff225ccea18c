import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

/// `kubescratch trace`: one real request, the rules it matched, and the pod that answered.
struct TraceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trace",
        abstract: "Send one request and show the iptables rules it went through and the pod that answered.",
        discussion: """
            Reads the nat table's counters (iptables-save -c) just before and just after one new TCP connection to \
            TARGET, and prints every rule whose counter rose, in the order the packet met them: the built-in chain, \
            KUBE-SERVICES, KUBE-NODEPORTS, the Service's KUBE-SVC chain with each rule's random choice, the endpoint's \
            KUBE-SEP chain and its DNAT to the pod. Only a connection's first packet goes through the nat table, so a \
            counter counts connections; other new connections made at the same moment may add to the shared chains. \
            Then conntrack's entry for the connection (its original destination, and the reply's source: the pod) and \
            the route to that pod. kube-proxy rewrites its chains on every sync, zeroing their counters: a trace that \
            meets one is tried again. TARGET is IP:PORT (default: this node's address and the lesson's NodePort, \
            30080); only this machine's addresses, pod addresses and Service addresses are allowed.
            """
    )

    @OptionGroup var state: StateOptions

    @Argument(help: ArgumentHelp("Where to send the request, IP:PORT.", valueName: "TARGET"))
    var target: String?

    func run() async throws {
        try Setup.requireRoot("trace")
        let layout = state.layout
        guard let progress = Setup.loadProgress(layout) else {
            throw UserFacingError("there is no node yet (nothing in \(layout.root)): start one with `kubescratch run`.")
        }
        // The lesson's Service fixes its NodePort (assets/service-web.yaml).
        let text = target ?? "\(progress.facts.nodeIP):30080"
        let parts = text.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port) else {
            throw ValidationError("TARGET must be IP:PORT, not '\(text)'")
        }
        let host = String(parts[0])
        guard PacketTracer.allowed(host, network: ClusterNetwork(), nodeIP: progress.facts.nodeIP) else {
            throw UserFacingError("\(host) is not this machine's, a pod's or a Service's address: kubescratch sends traffic nowhere else")
        }
        let report = await PacketTracer(shell: Shell()).trace(host: host, port: port)
        print("one connection to \(report.target): \(report.answer)")
        switch report.outcome {
        case .nothingMatched:
            print("no rule of the nat table counted it: nothing of kube-proxy's stood in its way (no KUBE-* rule for this address)")
        case .rulesChanged(let why):
            print("kube-proxy rewrote its rules during each of \(report.attempts) tries (\(why)): try again")
        case .traced(let steps):
            print("the nat table's rules it matched, in order (a counter counts new connections):")
            for line in PacketTrace.lines(steps) { print("  " + line) }
            if PacketTrace.masqueraded(steps) { print("  its source was marked for masquerading: the pod sees the node's address, not yours") }
        }
        if let entry = report.conntrack { print("conntrack: \(entry)") }
        if let pod = report.replySource { print("the reply came from \(pod): the pod kube-proxy's rules chose") }
        if let route = report.route { print("route to it: \(route)") }
    }
}
