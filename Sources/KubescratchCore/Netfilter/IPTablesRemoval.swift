/// Removing our chains from one table in ONE `iptables-restore --noflush` transaction, planned from that table's
/// `iptables-save` text: the rules of other chains that jump into ours (`-D` with the rule as saved), then each of
/// our chains flushed (`-F`) and deleted (`-X`). One process per table instead of one per rule and chain, and
/// all-or-nothing: a failed transaction changes nothing (the caller falls back to removing one by one).
public struct IPTablesRemoval: Sendable, Equatable {
    public var table: String
    /// The chains removed, in the order they were declared.
    public var chains: [String]
    /// The `iptables-restore --noflush` input; empty when there is nothing of ours in the table.
    public var restoreInput: String

    public init(save: String, table: String, removing isTarget: (String) -> Bool) {
        self.table = table
        var declared: [String] = []
        var jumps: [String] = []
        var current = ""
        for raw in save.split(separator: "\n") {
            var line = raw.trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("*") { current = String(line.dropFirst()); continue }
            guard current == table else { continue }
            if line.hasPrefix(":") {
                declared.append(String(line.dropFirst().split(separator: " ").first ?? ""))
                continue
            }
            // `iptables-save -c` puts the counters first: `[packets:bytes] -A …`.
            if line.hasPrefix("["), let close = line.firstIndex(of: "]") {
                line = line[line.index(after: close)...].trimmingCharacters(in: .whitespaces)
            }
            guard line.hasPrefix("-A ") else { continue }
            let words = line.split(separator: " ", maxSplits: 2)
            guard words.count == 3, !isTarget(String(words[1])) else { continue }
            let rule = IPTablesSave.Rule(table: table, chain: String(words[1]), number: 0, packets: 0, spec: String(words[2]))
            let target = rule.target ?? IPTablesSave.Rule.value(after: "-g", in: rule.spec)
            if let target, isTarget(target) { jumps.append("-D " + line.dropFirst(3)) }
        }
        chains = declared.filter(isTarget)
        guard !chains.isEmpty else {
            restoreInput = ""
            return
        }
        restoreInput = (["*\(table)"] + jumps + chains.map { "-F \($0)" } + chains.map { "-X \($0)" } + ["COMMIT", ""])
            .joined(separator: "\n")
    }
}
