import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

extension PacketTracer.Method: ExpressibleByArgument {}

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
            meets one is tried again. A chain the last trace to the same target went through and that is gone now is \
            named. The screen draws the last trace on the diagram (key P runs one).

            TARGET: nodeport (default: the lesson's NodePort 30080 on this node's address), loopback (127.0.0.1:30080), \
            node-2 (the NodePort on node-2's address: node-2's own rules, in its namespace), cluster-ip (the Service \
            web's ClusterIP, from inside a web pod on this node), pod-on-node-2 (a web pod on node-2, by its pod IP: \
            the route across the link), or IP:PORT. Only this machine's addresses, pod addresses and Service addresses \
            with kube-proxy's rule in place are allowed.
            """
    )

    @OptionGroup var state: StateOptions

    @Argument(help: ArgumentHelp("nodeport, loopback, node-2, cluster-ip, pod-on-node-2 or IP:PORT.", valueName: "TARGET"))
    var target: String = "nodeport"

    @Option(name: .long, help: ArgumentHelp("Send the request from inside this pod (on this node) instead of from the node.", valueName: "POD"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("Keep the two nat-table captures the trace compared (iptables-save -c) in this folder.", valueName: "DIR"))
    var saveCounters: String?

    @Option(name: .long, help: ArgumentHelp("counters (iptables-save -c before and after) or nftrace (a table of our own marks the packet; nft monitor trace reports its way). Default: counters where kube-proxy wrote iptables rules, nftrace for its nftables mode.", valueName: "METHOD"))
    var method: PacketTracer.Method?

    @Flag(name: .long, help: "Print the report as JSON, for scripts.")
    var json = false

    func validate() throws {
        guard TraceTarget.parse(target) != nil else {
            throw ValidationError("TARGET must be one of \(TraceTarget.names.joined(separator: ", ")) or IP:PORT, not '\(target)'")
        }
    }

    func run() async throws {
        try Setup.requireRoot("trace")
        let context = try Setup.existingNode(state.layout).context
        let report: TraceReport
        do {
            report = try await TraceRunner(context: context).run(TraceTarget.parse(target)!, from: from, saveCounters: saveCounters, method: method)
        } catch let refused as TraceRunner.Refused {
            throw UserFacingError(refused.description)
        }
        if json {
            print(String(decoding: report.encoded() ?? Data(), as: UTF8.self))
        } else {
            for line in report.lines { print(line) }
        }
    }
}
