import Foundation
@testable import KubescratchCore
import Testing

/// The report a trace makes of real captures: what it prints, what it predicts, what the diagram draws.
struct TraceReportTests {
    static func report(_ before: String, _ after: String, reply: String?, route: String?, answer: String = "HTTP/1.1 200 OK") throws -> TraceReport {
        let outcome = PacketTrace.trace(before: try PacketTraceTests.capture(before), after: try PacketTraceTests.capture(after))
        var report = TraceReport(target: "192.0.2.2:30080", what: "the NodePort of web on this node's address", client: "this node",
                                 rulesOf: "this node", outcome: outcome, answer: answer, attempts: 1, time: Date(timeIntervalSince1970: 0))
        report.replySource = reply
        report.route = route
        report.pod = reply == nil ? nil : "web-1"
        report.podNode = reply == nil ? nil : "vm"
        return report
    }

    static let link = [WorkerNetwork(.second)]

    @Test func targetsByNameAndAddress() {
        #expect(TraceTarget.parse("nodeport") == .nodePort(.nodeIP))
        #expect(TraceTarget.parse("node-2") == .nodePort(.worker(.second)))
        #expect(TraceTarget.parse("node-3") == .nodePort(.worker(WorkerNode(index: 3)!)))
        #expect(TraceTarget.parse("pod-on-node-3") == .pod(onNode: "node-3"))
        #expect(TraceTarget.parse("node-1") == nil && TraceTarget.parse("pod-on-vm") == nil)
        #expect(TraceTarget.parse("cluster-ip") == .clusterIP)
        #expect(TraceTarget.parse("pod-on-node-2") == .pod(onNode: "node-2"))
        #expect(TraceTarget.parse("10.32.0.10:80") == .address(host: "10.32.0.10", port: 80))
        for bad in ["10.32.0.10", "10.32.0.10:0", "10.32.0.10:70000", "host:80", "1.2.3:80", "1.2.3.256:80", "anything"] {
            #expect(TraceTarget.parse(bad) == nil, "\(bad)")
        }
        // Every name prints back as itself: the command a learner can type for the same trace.
        for pattern in TraceTarget.names {
            for name in Set(["node-2", "node-3"].map { pattern.replacingOccurrences(of: "node-N", with: $0) }) {
                #expect(TraceTarget.parse(name)?.description == name)
            }
        }
    }

    @Test func aTraceToAnEndpointMeetsItsPrediction() throws {
        let steps = PacketTrace.trace(before: try PacketTraceTests.capture("trace-nodeport-before"), after: try PacketTraceTests.capture("trace-nodeport-after"))
        guard case .traced(let matched) = steps, let dnat = PacketTrace.destination(of: matched) else { Issue.record("no path"); return }
        let pod = String(dnat.split(separator: ":")[0])
        let report = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: pod, route: "\(pod) dev cni0 src 10.200.0.1 uid 0")
        #expect(report.unmet(.endpoint, links: Self.link) == nil)
        #expect(report.unmet(.noServiceRule, links: Self.link)?.contains("KUBE-SVC-") == true)
        #expect(report.unmet(.link, links: Self.link)?.contains("does not leave by the link") == true)
        #expect(report.kubeChains.first == "KUBE-SERVICES" && report.kubeChains.contains("KUBE-NODEPORTS"))
        #expect(report.summary.contains("KUBE-SEP-") && report.summary.contains("pod web-1 on vm"))
        let lines = report.lines
        #expect(lines.first?.contains("from this node to 192.0.2.2:30080") == true)
        #expect(lines.contains { $0.contains("marked for masquerading") && !$0.contains("hairpin") }, "a NodePort is masqueraded in KUBE-NODEPORTS")
        #expect(lines.contains { $0.contains("the endpoint kube-proxy's rules chose") })
    }

    @Test func aReplyFromAnotherAddressThanTheDNATFails() throws {
        let report = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: "10.200.0.99", route: nil)
        #expect(report.unmet(.endpoint, links: Self.link)?.contains("but the reply came from 10.200.0.99") == true)
        let refused = try Self.report("trace-nodeport-before", "trace-nodeport-before", reply: nil, route: nil, answer: "no connection: Connection refused")
        #expect(refused.outcome == .nothingMatched)
        #expect(refused.unmet(.endpoint, links: Self.link)?.contains("no DNAT") == true)
        #expect(refused.unmet(.noServiceRule, links: Self.link) == nil)
    }

    @Test func chainsOfTheLastTraceThatAreGoneAreNamed() throws {
        let previous = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: "10.200.0.5", route: nil)
        let kept = try PacketTraceTests.capture("trace-nodeport-after").chains["nat"] ?? []
        #expect(TraceReport.gone(since: previous, declared: kept).isEmpty)
        let withoutService = kept.filter { !$0.hasPrefix("KUBE-SVC-") && !$0.hasPrefix("KUBE-SEP-") }
        let gone = TraceReport.gone(since: previous, declared: withoutService)
        #expect(gone.count == 2 && gone[0].hasPrefix("KUBE-SVC-") && gone[1].hasPrefix("KUBE-SEP-"), "\(gone)")
        #expect(!gone.contains("KUBE-SERVICES") && !gone.contains("KUBE-NODEPORTS"), "kube-proxy's own chains never go")
        var now = previous
        now.gone = gone
        #expect(now.lines.contains { $0.contains("went through \(gone[0]), \(gone[1]): those chains are gone now") })
    }

    @Test func aRouteThroughTheLinkIsCrossingIt() throws {
        var report = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: "10.200.1.3", route: "10.200.1.3 via 10.201.0.2 dev ks-to-node-2 src 10.201.0.1 uid 0")
        #expect(report.crossedLink(of: Self.link) == .second)
        #expect(report.unmet(.link, links: Self.link) == nil)
        report.route = "10.200.0.5 dev cni0 src 10.200.0.1 uid 0"
        #expect(report.crossedLink(of: Self.link) == nil)
    }

    @Test func theReportSurvivesItsFile() throws {
        let report = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: "10.200.0.5", route: "r")
        let data = try #require(report.encoded())
        #expect(TraceReport.decode(data) == report)
    }

    @Test func theDiagramDrawsThePath() throws {
        let report = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: "10.200.0.5", route: "10.200.0.5 dev cni0")
        let path = DiagramModel.PacketPath(report, links: Self.link)
        let wide = path.line(ascii: false, width: 200)
        #expect(wide.hasPrefix("packet: you ──► 192.0.2.2:30080 ──► KUBE-SERVICES ──► KUBE-NODEPORTS ──► KUBE-SVC-"))
        #expect(wide.hasSuffix("web-1 on vm (200)") && wide.contains("DNAT 10.200.0."))
        let middle = path.line(ascii: true, width: 140)
        #expect(!middle.contains("KUBE-SERVICES") && middle.contains("KUBE-SVC-") && middle.contains(" --> "), "\(middle)")
        for width in [140, 110, 80] {
            let line = path.line(ascii: false, width: width)
            #expect(line.count <= width && line.hasSuffix("web-1 on vm (200)"), "\(width): \(line)")
        }
        #expect(path.line(ascii: false, width: 110).contains("SVC-"), "the hashes cut before the chains go")
        // The state carries it to the model: the iptables box lists what matched, the pod is marked.
        var state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2", components: [ComponentStatus(id: .kubeProxy, health: .healthy)])
        state.pods = [PodStatus(name: "web-1", phase: "Running", ready: true, ip: "10.200.0.5", nodeName: "vm", isStatic: false, labels: ["app": "web"])]
        state.packet = report
        let model = DiagramModel(state: state)
        let box = try #require(model.box(.iptables)?.packetLines)
        #expect(box.count == 2 && box[0].hasPrefix("▸ SVC-") && box[1].hasPrefix("▸ SEP-") && box[1].hasSuffix(" DNAT"), "\(box)")
        #expect(model.podGroups.flatMap(\.pods).first?.traced == true)
        #expect(model.podGroups.flatMap(\.pods).first?.text(ascii: false).hasSuffix("◀ packet") == true)
        let layout = DiagramLayoutEngine.layout(model, width: 120, height: 40)
        #expect(layout.texts.contains { $0.text.text.hasPrefix("packet: you") && $0.text.style == .new })
    }

    @Test func fromInsideAPodTheClusterIPIsCaughtInPrerouting() throws {
        guard case .traced(let steps) = PacketTrace.trace(before: try PacketTraceTests.capture("trace-clusterip-from-pod-before"),
                                                          after: try PacketTraceTests.capture("trace-clusterip-from-pod-after")) else {
            Issue.record("no path"); return
        }
        let chains = steps.map(\.rule.chain)
        #expect(chains.first == "PREROUTING", "a routed packet from the bridge: \(chains)")
        #expect(!chains.contains("KUBE-NODEPORTS") && !chains.contains("OUTPUT"))
        let portal = try #require(steps.first { $0.rule.chain == "KUBE-SERVICES" })
        #expect(portal.rule.comment?.hasSuffix("cluster IP") == true && portal.rule.target?.hasPrefix("KUBE-SVC-") == true)
        #expect(PacketTrace.destination(of: steps)?.hasSuffix(":80") == true)
    }

    @Test func aPodIPIsNoServiceAndLeavesByItsRoute() throws {
        var report = try Self.report("trace-pod-on-node-2-before", "trace-pod-on-node-2-after", reply: "10.200.1.4",
                                     route: "10.200.1.4 via 10.201.0.2 dev ks-to-node-2 src 10.201.0.1 uid 0")
        #expect(report.dnat == nil && report.wayChains == ["KUBE-SERVICES"], "\(report.kubeChains)")
        #expect(report.lines.contains { $0.contains("no DNAT") })
        #expect(report.unmet(.link, links: Self.link) == nil)
        #expect(report.unmet(.endpoint, links: Self.link) != nil)
        report.podNode = "node-2"
        let path = DiagramModel.PacketPath(report, links: Self.link)
        #expect(path.acrossLink == "node-2" && path.line(ascii: false, width: 200).contains("──► link ──► web-1 on node-2"))
    }

    @Test func withoutTheServiceNothingRewritesIt() throws {
        let before = try PacketTraceTests.capture("trace-no-service-before")
        #expect(!before.rules.contains { $0.comment?.hasPrefix("default/web") == true }, "the capture has no rule of web's")
        var report = try Self.report("trace-no-service-before", "trace-no-service-after", reply: nil,
                                     route: "local 192.0.2.2 dev lo src 192.0.2.2 uid 0", answer: "no connection: Connection refused")
        #expect(report.wayChains == ["KUBE-SERVICES", "KUBE-NODEPORTS"], "through both without a match: \(report.wayChains)")
        #expect(report.unmet(.noServiceRule, links: Self.link) == nil)
        #expect(report.unmet(.endpoint, links: Self.link)?.contains("Connection refused") == true)
        let withService = try Self.report("trace-nodeport-before", "trace-nodeport-after", reply: "10.200.0.5", route: nil)
        report.gone = TraceReport.gone(since: withService, declared: before.chains["nat"] ?? [])
        #expect(report.gone.count == 2, "\(report.gone)")
        let path = DiagramModel.PacketPath(report, links: Self.link)
        #expect(!path.answered && path.dnat == nil && path.boxLines == ["packet: no rule", "rewrote it"])
    }
}

/// The traces of current releases, from upstream text (Fixtures/current: SOURCE.md and NFTABLES.md say where from).
struct CurrentReleaseTraceTests {
    static func text(_ name: String) throws -> String {
        try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/current/\(name)"),
                   encoding: .utf8)
    }

    /// 1.24+ (kube-proxy's rule reorg, PR #109060): a NodePort passes KUBE-EXT-… before the Service's chain, and the
    /// masquerade mark is set there, not in KUBE-NODEPORTS; KUBE-SEP-… ends in the DNAT as before.
    @Test func theIPTablesLayoutOfCurrentReleases() throws {
        let outcome = PacketTrace.trace(before: IPTablesSave(try Self.text("trace-nodeport-before.txt")),
                                        after: IPTablesSave(try Self.text("trace-nodeport-after.txt")))
        guard case .traced(let steps) = outcome else { Issue.record("\(outcome)"); return }
        var report = TraceReport(target: "192.168.0.2:3003", what: "a NodePort", client: "this node", rulesOf: "this node",
                                 outcome: outcome, answer: "HTTP/1.1 200 OK", attempts: 1, time: Date())
        let way = report.wayChains
        #expect(way.count == 5, "\(way)")
        #expect(way[0] == "KUBE-SERVICES" && way[1] == "KUBE-NODEPORTS")
        #expect(way[2].hasPrefix("KUBE-EXT-") && way[3].hasPrefix("KUBE-SVC-") && way[4].hasPrefix("KUBE-SEP-"))
        #expect(way[2].dropFirst(9) == way[3].dropFirst(9), "EXT and SVC share the Service's hash")
        #expect(report.dnat == "10.0.3.3:80")
        #expect(steps.first { $0.rule.target == "KUBE-MARK-MASQ" }?.rule.chain.hasPrefix("KUBE-EXT-") == true)
        report.replySource = "10.0.3.3"
        report.pod = "svc3-pod"
        #expect(report.unmet(.endpoint, links: []) == nil)
        #expect(report.lines.contains { $0.contains("marked for masquerading") && !$0.contains("hairpin") })
    }

    @Test func theNFTablesPlanUsesATableOfItsOwn() {
        let plan = NFTTracePlan(host: "192.0.2.2", port: 30080)
        // Never a word about kube-proxy's table: every command names ours.
        for command in plan.setup { #expect(command.contains(NFTTracePlan.table) && !command.contains("kube-proxy"), "\(command)") }
        #expect(plan.setup.first == ["add", "table", "ip", "kubescratch-trace"])
        #expect(plan.setup.contains { $0.last == "{ type filter hook output priority -300; policy accept; }" })
        #expect(plan.setup.contains { $0.last == "{ type filter hook prerouting priority -300; policy accept; }" })
        let rules = plan.setup.filter { $0.prefix(2) == ["add", "rule"] }
        #expect(rules.count == 2 && rules.allSatisfy { $0.joined(separator: " ").hasSuffix("ip daddr 192.0.2.2 tcp dport 30080 meta nftrace set 1") })
        #expect(plan.teardown == "add table ip kubescratch-trace\ndelete table ip kubescratch-trace\n")
    }

    @Test func theNFTablesPathFromTheMonitorsLines() throws {
        let events = NFTTrace.parse(try Self.text("nft-monitor-trace.txt"))
        #expect(Set(events.map(\.id)).count == 6, "the SYN and five later packets of the connection")
        let id = try #require(NFTTrace.firstPacket(events, host: "192.0.2.2", port: 30080))
        let steps = NFTTrace.steps(events, id: id)
        let report = TraceReport(target: "192.0.2.2:30080", what: "the NodePort", client: "this node", rulesOf: "this node",
                                 outcome: .traced(steps), answer: "HTTP/1.1 200 OK", attempts: 1, time: Date())
        let way = report.wayChains
        #expect(way.first == "services", "\(way)")
        #expect(way.contains { $0.hasPrefix("external-") } && way.contains { $0.hasPrefix("service-") })
        #expect(way.last?.hasPrefix("endpoint-") == true && way.last?.hasSuffix("__10.200.0.5/80") == true)
        #expect(report.dnat == "10.200.0.5:80")
        #expect(report.lines.contains { $0.contains("marked for masquerading") })
        // Nested by jumps: the endpoint's chain deeper than the services map.
        let services = try #require(steps.first { $0.rule.chain == "services" })
        let endpoint = try #require(steps.first { $0.rule.chain.hasPrefix("endpoint-") })
        #expect(endpoint.depth > services.depth)
        // Our own table's rule is not part of kube-proxy's path.
        #expect(!steps.contains { $0.rule.table.contains(NFTTracePlan.table) })
    }
}

/// nftrace for real: `nft monitor trace` (nftables 1.0.6, Debian 12) while one request went to the NodePort of a real
/// v1.20.2 node, whose kube-proxy wrote its iptables rules through iptables-nft (table `ip nat`).
struct RealNFTraceTests {
    @Test func thePathOfTheFirstPacketOnly() throws {
        let text = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/v1.20.2/nft-monitor-trace-iptables-nft.txt"), encoding: .utf8)
        let events = NFTTrace.parse(text)
        let id = try #require(NFTTrace.firstPacket(events, host: "192.0.2.2", port: 30080))
        // The kernel gave a later packet of the connection the same id: it must not add to the path.
        #expect(events.filter { $0.id == id && $0.table == NFTTracePlan.table && { if case .packet = $0.kind { true } else { false } }($0) }.count > 1)
        let steps = NFTTrace.steps(events, id: id, table: "nat")
        let report = TraceReport(target: "192.0.2.2:30080", what: "the NodePort", client: "this node", rulesOf: "this node",
                                 outcome: .traced(steps), answer: "HTTP/1.1 200 OK", attempts: 1, time: Date())
        #expect(steps.first?.rule.chain == "OUTPUT" && steps.first?.rule.target == "KUBE-SERVICES")
        #expect(report.wayChains.count == 4 && report.wayChains[2].hasPrefix("KUBE-SVC-") && report.wayChains[3].hasPrefix("KUBE-SEP-"))
        #expect(report.dnat == "10.200.0.9:80")
        #expect(steps.last?.rule.target == "MASQUERADE", "\(steps.last?.rule.spec ?? "")")
        #expect(steps.filter { $0.rule.chain == "POSTROUTING" }.count == 1, "one packet, one pass through POSTROUTING")
    }
}
