/// `iptables-save -c` read as tables of chains of rules with their counters: the trace's raw material.
/// A rule line is `[packets:bytes] -A CHAIN spec…`, a chain line `:CHAIN POLICY [packets:bytes]`.
public struct IPTablesSave: Sendable, Equatable {
    public struct Rule: Sendable, Equatable, Codable {
        public var table: String
        public var chain: String
        /// 1-based, as `iptables -L --line-numbers` counts.
        public var number: Int
        public var packets: Int
        public var spec: String

        /// Where the rule sends a match: the chain or target after `-j` (DNAT, MARK, KUBE-SVC-…).
        public var target: String? { Self.value(after: "-j", in: spec) }
        public var comment: String? { Self.value(after: "--comment", in: spec) }
        /// `statistic --mode random --probability P`: how kube-proxy spreads connections among endpoints.
        public var probability: String? { Self.value(after: "--probability", in: spec) }
        public var destination: String? { Self.value(after: "--to-destination", in: spec) }

        /// The word after `flag`; a quoted one whole ("kubernetes service portals").
        static func value(after flag: String, in spec: String) -> String? {
            guard let range = spec.range(of: flag + " ") else { return nil }
            let rest = spec[range.upperBound...]
            if rest.first == "\"" {
                let body = rest.dropFirst()
                return body.firstIndex(of: "\"").map { String(body[..<$0]) }
            }
            return rest.split(separator: " ").first.map(String.init)
        }
    }

    public var rules: [Rule]
    /// Chains by table, in the order they were declared.
    public var chains: [String: [String]]

    public init(_ text: String) {
        var rules: [Rule] = []
        var chains: [String: [String]] = [:]
        var table = ""
        var numbers: [String: Int] = [:]
        for raw in text.split(separator: "\n") {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("*") {
                table = String(line.dropFirst())
                numbers = [:]
            } else if line.hasPrefix(":") {
                let name = String(line.dropFirst().split(separator: " ").first ?? "")
                chains[table, default: []].append(name)
            } else if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                let counters = line[line.index(after: line.startIndex)..<close].split(separator: ":")
                let rest = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
                let words = rest.split(separator: " ", maxSplits: 2)
                guard words.count >= 2, words[0] == "-A" else { continue }
                let chain = String(words[1])
                numbers[chain, default: 0] += 1
                rules.append(Rule(table: table, chain: chain, number: numbers[chain]!, packets: Int(counters.first ?? "") ?? 0,
                                  spec: words.count > 2 ? String(words[2]) : ""))
            }
        }
        self.rules = rules
        self.chains = chains
    }
}

/// One request's way through the rules, from the counters read just before and just after it.
public struct PacketTrace: Sendable, Equatable {
    public struct Step: Sendable, Equatable, Codable {
        public var rule: IPTablesSave.Rule
        /// How deep in the chain of jumps (0: the built-in chain the packet entered by).
        public var depth: Int
        public var packets: Int
    }

    public enum Outcome: Sendable, Equatable, Codable {
        case traced([Step])
        /// A rule changed under the request (kube-proxy rewrote its chains, which also zeroes their counters).
        case rulesChanged(String)
        /// No counter moved: the request did not reach these rules.
        case nothingMatched
    }

    /// The rules whose counters rose, in the order the packet met them: each built-in chain in the order of the
    /// netfilter hooks, then into every chain it jumped to, depth first. Only a connection's first packet goes
    /// through the nat table (the rest follow conntrack), so `matched` counts connections there.
    public static func trace(before: IPTablesSave, after: IPTablesSave, table: String = "nat") -> Outcome {
        let old = before.rules.filter { $0.table == table }
        let new = after.rules.filter { $0.table == table }
        var oldByPlace: [String: IPTablesSave.Rule] = [:]
        for rule in old { oldByPlace["\(rule.chain)#\(rule.number)"] = rule }
        var rose: [String: [(IPTablesSave.Rule, Int)]] = [:]
        for rule in new {
            guard let was = oldByPlace["\(rule.chain)#\(rule.number)"] else {
                if rule.packets > 0 { return .rulesChanged("\(rule.chain) rule \(rule.number) is new") }
                continue
            }
            if was.spec != rule.spec { return .rulesChanged("\(rule.chain) rule \(rule.number) changed") }
            if rule.packets < was.packets { return .rulesChanged("the counters of \(rule.chain) went back to zero: kube-proxy rewrote it") }
            if rule.packets > was.packets { rose[rule.chain, default: []].append((rule, rule.packets - was.packets)) }
        }
        guard !rose.isEmpty else { return .nothingMatched }
        var steps: [Step] = []
        var visited = Set<String>()
        func walk(_ chain: String, depth: Int) {
            guard !visited.contains(chain), let matched = rose[chain] else { return }
            visited.insert(chain)
            for (rule, packets) in matched {
                steps.append(Step(rule: rule, depth: depth, packets: packets))
                if let target = rule.target, rose[target] != nil { walk(target, depth: depth + 1) }
            }
        }
        for entry in ["PREROUTING", "OUTPUT", "INPUT", "POSTROUTING"] { walk(entry, depth: 0) }
        return .traced(steps)
    }

    /// Where the last DNAT sent the packet: the pod's IP and port kube-proxy's chosen endpoint names.
    public static func destination(of steps: [Step]) -> String? {
        steps.last { $0.rule.target == "DNAT" }?.rule.destination
    }

    /// Whether the packet was marked for masquerading (its source rewritten to the node's on the way out).
    public static func masqueraded(_ steps: [Step]) -> Bool {
        steps.contains { $0.rule.target == "KUBE-MARK-MASQ" || $0.rule.target == "MASQUERADE" }
    }

    /// The path as lines: indented by jumps, each rule's chain, its comment, its random choice, its target.
    public static func lines(_ steps: [Step]) -> [String] {
        steps.map { step in
            let rule = step.rule
            var text = String(repeating: "  ", count: step.depth) + "\(rule.chain) #\(rule.number)"
            if let comment = rule.comment { text += "  \"\(comment)\"" }
            // Each statistic rule takes that share of what the rules before it let through: 1/3, then 1/2, then the rest.
            if let probability = rule.probability { text += "  (random: \(probability) of the connections that reach it)" }
            if let target = rule.target {
                text += "  → \(target)"
                if let destination = rule.destination { text += " \(destination)" }
            }
            return text
        }
    }
}
