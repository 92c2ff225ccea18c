import Foundation
@testable import KubescratchCore
import Testing

/// The trace from real counters: `iptables-save -c -t nat` captured on a real v1.20.2 node at the end of stage 5,
/// just before and just after one request to the NodePort (Fixtures/v1.20.2/trace-nodeport-{before,after}.txt).
struct PacketTraceTests {
    static func capture(_ name: String) throws -> IPTablesSave {
        IPTablesSave(try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/v1.20.2/\(name).txt"), encoding: .utf8))
    }

    @Test func readsRulesChainsAndCounters() throws {
        let save = try Self.capture("trace-nodeport-before")
        #expect(save.chains["nat"]?.contains("KUBE-NODEPORTS") == true)
        let portals = try #require(save.rules.first { $0.chain == "OUTPUT" && $0.target == "KUBE-SERVICES" })
        #expect(portals.comment == "kubernetes service portals" && portals.number >= 1)
        let choice = try #require(save.rules.first { $0.chain.hasPrefix("KUBE-SVC-") && $0.probability != nil })
        #expect(choice.spec.contains("--mode random") && choice.target?.hasPrefix("KUBE-SEP-") == true)
        let dnat = try #require(save.rules.first { $0.target == "DNAT" })
        #expect(dnat.destination?.hasPrefix("10.200.0.") == true && dnat.destination?.hasSuffix(":80") == true)
    }

    @Test func oneRequestsPathThroughTheRealRules() throws {
        let outcome = PacketTrace.trace(before: try Self.capture("trace-nodeport-before"), after: try Self.capture("trace-nodeport-after"))
        guard case .traced(let steps) = outcome else { Issue.record("\(outcome)"); return }
        let chains = steps.map(\.rule.chain)
        // From the hook the packet entered by, through the Service's chains, to one endpoint's DNAT.
        #expect(chains.first == "OUTPUT")
        for chain in ["KUBE-SERVICES", "KUBE-NODEPORTS"] { #expect(chains.contains(chain), "\(chains)") }
        let svc = try #require(chains.firstIndex { $0.hasPrefix("KUBE-SVC-") })
        let sep = try #require(chains.firstIndex { $0.hasPrefix("KUBE-SEP-") })
        #expect(svc < sep, "the Service's chain before its endpoint's")
        #expect(steps.filter { $0.rule.chain.hasPrefix("KUBE-SEP-") }.map(\.rule.chain).count >= 1)
        #expect(Set(steps.filter { $0.rule.chain.hasPrefix("KUBE-SEP-") }.map(\.rule.chain)).count == 1, "one endpoint chosen")
        let destination = try #require(PacketTrace.destination(of: steps))
        #expect(destination.hasPrefix("10.200.0.") && destination.hasSuffix(":80"))
        #expect(steps[sep].depth > steps[svc].depth)
        #expect(PacketTrace.lines(steps).contains { $0.contains("→ DNAT \(destination)") })
    }

    @Test func aRewrittenChainIsNotATrace() throws {
        let before = try Self.capture("trace-nodeport-before")
        var rewritten = try Self.capture("trace-nodeport-after")
        // kube-proxy's sync writes every chain as `:CHAIN - [0:0]`: its rules' counters start again from zero.
        rewritten.rules = rewritten.rules.map { rule in
            var rule = rule
            if rule.chain == "KUBE-SERVICES" { rule.packets = 0 }
            return rule
        }
        guard case .rulesChanged(let why) = PacketTrace.trace(before: before, after: rewritten) else {
            Issue.record("a reset counter was taken for a trace"); return
        }
        #expect(why.contains("KUBE-SERVICES"))
        #expect(PacketTrace.trace(before: before, after: before) == .nothingMatched)
    }
}
