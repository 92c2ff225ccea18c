/// kube-proxy's nat rules for one Service, read from `iptables-save -t nat`. kube-proxy names each rule's Service
/// in a comment: `"default/web cluster IP"`, `"default/web"` (an endpoint), `"default/web:http"` with a port name.
public struct ServiceRules: Sendable, Equatable {
    /// The `-A` lines that mention the Service.
    public var rules: [String]

    public init(service: String, namespace: String = "default", iptablesSave: String) {
        let name = "\"\(namespace)/\(service)"
        rules = iptablesSave.split(separator: "\n").map(String.init).filter { line in
            guard line.hasPrefix("-A KUBE-"), let range = line.range(of: "--comment " + name) else { return false }
            let next = line[range.upperBound...].first
            return next == " " || next == ":" || next == "\""
        }
    }

    /// The chains the rules live in, such as KUBE-SVC-… (the Service) and KUBE-SEP-… (one per endpoint).
    public var chains: [String] {
        var seen: [String] = []
        for rule in rules {
            let chain = String(rule.split(separator: " ")[1])
            if !seen.contains(chain) { seen.append(chain) }
        }
        return seen
    }

    public var endpointChains: [String] { chains.filter { $0.hasPrefix("KUBE-SEP-") } }

    /// A rule that sends packets for this address to the Service's chain: only then may anything be sent there.
    public func catches(clusterIP: String) -> Bool {
        rules.contains { $0.hasPrefix("-A KUBE-SERVICES ") && $0.contains(" -d \(clusterIP)/32 ") }
    }

    public var description: String {
        rules.isEmpty ? "no rule mentions the Service"
            : "\(rules.count) nat rule(s) in \(chains.count) chain(s), \(endpointChains.count) endpoint chain(s): \(chains.joined(separator: ", "))"
    }
}
