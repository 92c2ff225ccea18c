/// kube-proxy's nftables mode (GA in 1.33; table `ip kube-proxy`) keeps no counters and must never be modified by
/// anyone else (kubernetes pkg/proxy/nftables/README.md: "Components other than kube-proxy should *never* make any
/// modifications to the `kube-proxy` nftables table"). So the trace there marks the one connection in a table of our
/// own whose chains run before kube-proxy's (priority -300, raw, before its -110 filter and -100 dstnat chains), and
/// reads the kernel's trace events (`nft monitor trace`) for that packet.
public struct NFTTracePlan: Sendable, Equatable {
    public static let table = "kubescratch-trace"
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// `nft` argument lists, run in order before the request. The table is made before the monitor starts: nft reads
    /// its rule cache once, and rules added later print as "unknown rule handle" (nftables src/monitor.c, src/cache.c).
    /// One hook for packets made on this node (output), one for those that arrive (prerouting): a pod's, node-2's.
    public var setup: [[String]] {
        let match = "ip daddr \(host) tcp dport \(port) meta nftrace set 1"
        return [
            ["add", "table", "ip", Self.table],
            ["add", "chain", "ip", Self.table, "out", "{ type filter hook output priority -300; policy accept; }"],
            ["add", "chain", "ip", Self.table, "pre", "{ type filter hook prerouting priority -300; policy accept; }"],
            ["add", "rule", "ip", Self.table, "out"] + match.split(separator: " ").map(String.init),
            ["add", "rule", "ip", Self.table, "pre"] + match.split(separator: " ").map(String.init),
        ]
    }

    /// Started before the request, stopped after it: one line per chain, rule and verdict the packet meets.
    public var monitor: [String] { ["monitor", "trace"] }

    /// Run after the request whatever happened: `add` then `delete` in one transaction never fails, also when the
    /// table is already gone (what knftables itself does; `destroy` needs nft 1.0.7).
    public var teardown: String { "add table ip \(Self.table)\ndelete table ip \(Self.table)\n" }
}

/// `nft monitor trace` lines: `trace id ID FAMILY TABLE CHAIN` then `packet: …`, `rule TEXT (verdict V)`,
/// `policy accept|drop …` or (kernels before 6.7) `verdict V` (nftables src/trace.c, before 1.1.4 src/netlink.c).
public enum NFTTrace {
    public struct Event: Sendable, Equatable {
        public enum Kind: Sendable, Equatable {
            /// The packet entered a base chain (a hook): its header fields.
            case packet(String)
            case rule(String, verdict: String)
            case policy(String)
            case verdict(String)
        }
        public var id: String
        public var family: String
        public var table: String
        public var chain: String
        public var kind: Kind
    }

    /// kube-proxy's own chains, in either mode: iptables' KUBE-…, and the chains of its nftables table that a
    /// Service's packet passes (pkg/proxy/nftables/proxier.go: services, external-, service-, endpoint-, …), not its
    /// filter table's checks (firewall-check, cluster-ips-check, …: they only drop or reject).
    public static func isKubeProxys(_ chain: String) -> Bool {
        chain.hasPrefix("KUBE-") || ["services", "mark-for-masquerade", "masquerading", "nodeports"].contains(chain)
            || (["service-", "external-", "endpoint-"].contains { chain.hasPrefix($0) } && !chain.hasSuffix("-check"))
    }

    public static func parse(_ text: String) -> [Event] {
        text.split(separator: "\n").compactMap { raw in
            let line = raw.trimmingCharacters(in: .whitespaces)
            let words = line.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: true).map(String.init)
            guard words.count == 7, words[0] == "trace", words[1] == "id" else { return nil }
            let (id, family, table, chain, rest) = (words[2], words[3], words[4], words[5], words[6])
            let kind: Event.Kind
            if rest.hasPrefix("packet: ") {
                kind = .packet(String(rest.dropFirst(8)))
            } else if rest.hasPrefix("rule "), let open = rest.range(of: " (verdict ", options: .backwards), rest.hasSuffix(")") {
                kind = .rule(String(rest[rest.index(rest.startIndex, offsetBy: 5)..<open.lowerBound]),
                             verdict: String(rest[open.upperBound..<rest.index(before: rest.endIndex)]))
            } else if rest.hasPrefix("policy ") {
                kind = .policy(String(rest.dropFirst(7)))
            } else if rest.hasPrefix("verdict ") {
                kind = .verdict(String(rest.dropFirst(8)))
            } else {
                return nil  // conntrack: lines (nft 1.1.4+), unknown rule handles
            }
            return Event(id: id, family: family, table: table, chain: chain, kind: kind)
        }
    }

    /// The connection's first packet (the one nat sees): the trace id whose packet line shows the SYN to the target.
    public static func firstPacket(_ events: [Event], host: String, port: Int) -> String? {
        events.first { event in
            guard case .packet(let fields) = event.kind, event.table == NFTTracePlan.table else { return false }
            return fields.contains("ip daddr \(host) ") && fields.contains("tcp dport \(port) ") && fields.contains("tcp flags == syn")
        }?.id
    }

    /// That packet's way through kube-proxy's table, as the same steps an iptables trace makes: each rule with its
    /// verdict as the target (jump/goto CHAIN; DNAT with its destination; MASQUERADE; MARK), nested by jumps.
    /// The kernel reuses trace ids for later packets: only the events from the first packet's line in our own table
    /// to the next packet line there belong to it.
    public static func steps(_ events: [Event], id: String, table: String = "kube-proxy") -> [PacketTrace.Step] {
        var steps: [PacketTrace.Step] = []
        var depth: [String: Int] = [:]
        var numbers: [String: Int] = [:]
        let ours: (Event) -> Bool = { event in
            if case .packet = event.kind { return event.table == NFTTracePlan.table } else { return false }
        }
        guard let start = events.firstIndex(where: { $0.id == id && ours($0) }) else { return [] }
        let end = events[(start + 1)...].firstIndex(where: ours) ?? events.endIndex
        for event in events[start..<end] where event.id == id && event.table == table {
            switch event.kind {
            case .packet:
                depth[event.chain] = 0
            case .rule(let text, let verdict):
                let level = depth[event.chain] ?? 0
                let words = verdict.split(separator: " ")
                var target = ""
                if words.count == 2, words[0] == "jump" || words[0] == "goto" {
                    target = " -j \(words[1])"
                    depth[String(words[1])] = level + 1
                } else if let range = text.range(of: "dnat to ") {
                    target = " -j DNAT --to-destination \(text[range.upperBound...].split(separator: " ").first ?? "")"
                } else if text.contains("masquerade") {
                    target = " -j MASQUERADE"
                } else if text.contains("meta mark set") {
                    target = " -j MARK"
                }
                numbers[event.chain, default: 0] += 1
                let rule = IPTablesSave.Rule(table: "\(event.family) \(table)", chain: event.chain, number: numbers[event.chain]!,
                                             packets: 1, spec: text + target)
                steps.append(PacketTrace.Step(rule: rule, depth: level, packets: 1))
            case .policy, .verdict:
                break
            }
        }
        return steps
    }
}
