import Foundation

/// Where `kubescratch trace` (and a lesson's `trace:` step, and the screen's P key) sends its one request.
public enum TraceTarget: Sendable, Equatable, CustomStringConvertible {
    /// The lesson's NodePort (service web, 30080) on this node's address, on 127.0.0.1, or on node-2's address.
    case nodePort(HTTPTarget.NodePortHost)
    /// The Service web's ClusterIP, sent from inside a pod on this node: the way other pods use a Service.
    case clusterIP
    /// A web pod on that node, by its pod IP: no Service, only routes (stage 6: across the link).
    case pod(onNode: String)
    /// Any address of the kinds above, from this node or (with `fromPod`) from inside that pod.
    case address(host: String, port: Int)

    /// The names the command line and lessons use (`node-N` and `pod-on-node-N` for any worker); anything else must
    /// be IP:PORT.
    public static let names = ["nodeport", "loopback", "node-N", "cluster-ip", "pod-on-node-N"]

    public static func parse(_ text: String) -> TraceTarget? {
        switch text {
        case "nodeport", "node-ip": return .nodePort(.nodeIP)
        case "loopback": return .nodePort(.loopback)
        case "cluster-ip": return .clusterIP
        case let name where WorkerNode(name: name) != nil: return .nodePort(.worker(WorkerNode(name: name)!))
        case let name where name.hasPrefix("pod-on-") && WorkerNode(name: String(name.dropFirst(7))) != nil:
            return .pod(onNode: String(name.dropFirst(7)))
        default:
            let parts = text.split(separator: ":")
            guard parts.count == 2, let port = Int(parts[1]), (1...65535).contains(port),
                  parts[0].split(separator: ".").count == 4, parts[0].split(separator: ".").allSatisfy({ UInt8($0) != nil }) else { return nil }
            return .address(host: String(parts[0]), port: port)
        }
    }

    /// The lesson's own Service and NodePort (assets/service-web.yaml).
    public static let service = "web"
    public static let lessonNodePort = 30080

    public var description: String {
        switch self {
        case .nodePort(.nodeIP): "nodeport"
        case .nodePort(.loopback): "loopback"
        case .nodePort(.worker(let node)): node.name
        case .clusterIP: "cluster-ip"
        case .pod(let node): "pod-on-\(node)"
        case .address(let host, let port): "\(host):\(port)"
        }
    }
}

/// One traced request, as `kubescratch trace` prints it, the screen draws it and the next trace compares with it.
public struct TraceReport: Sendable, Equatable, Codable {
    /// IP:PORT the request went to, and what that address is ("the NodePort of web on node-2's address").
    public var target: String
    public var what: String
    /// "this node", or "pod web-… (10.200.0.7)": where the request was sent from.
    public var client: String
    /// Whose nat table the counters were read from: "this node" or "node-2".
    public var rulesOf: String
    public var outcome: PacketTrace.Outcome
    /// The status line the pod answered with, or why there was none.
    public var answer: String
    /// conntrack's entry for the connection, and its reply's source (after DNAT: the pod that answered).
    public var conntrack: String?
    public var replySource: String?
    /// `ip route get` of the address the packet ended at.
    public var route: String?
    public var attempts: Int
    /// The pod at the reply source (or the DNAT's address), and the node it runs on.
    public var pod: String?
    public var podNode: String?
    /// Chains the last trace to this same target went through that no longer exist.
    public var gone: [String] = []
    /// "nftrace" when the kernel's trace events were read (nft monitor trace), nil for counters.
    public var method: String?
    public var time: Date

    public init(target: String, what: String, client: String, rulesOf: String, outcome: PacketTrace.Outcome, answer: String,
                attempts: Int, time: Date) {
        self.target = target
        self.what = what
        self.client = client
        self.rulesOf = rulesOf
        self.outcome = outcome
        self.answer = answer
        self.attempts = attempts
        self.time = time
    }

    public var steps: [PacketTrace.Step] {
        if case .traced(let steps) = outcome { return steps }
        return []
    }

    /// Where kube-proxy's DNAT sent it ("10.200.0.5:80"), nil when no rule did.
    public var dnat: String? { PacketTrace.destination(of: steps) }

    /// The address that answered: conntrack's reply source, or the DNAT's, or (no DNAT) the target itself.
    public var endpoint: String? {
        replySource ?? dnat.map { String($0.split(separator: ":")[0]) }
    }

    /// kube-proxy's chains it went through, in order, each once (KUBE-SERVICES, KUBE-NODEPORTS, KUBE-SVC-…, KUBE-SEP-…):
    /// every chain a matched rule jumped into, whether or not a rule in it matched too.
    public var kubeChains: [String] {
        var seen: [String] = []
        for step in steps {
            for chain in [step.rule.chain, step.rule.target ?? ""] where NFTTrace.isKubeProxys(chain) && !seen.contains(chain) {
                seen.append(chain)
            }
        }
        return seen
    }

    /// The chains that chose where it went: without the marking and masquerading ones every such packet meets.
    public var wayChains: [String] {
        kubeChains.filter { !["KUBE-MARK-MASQ", "KUBE-POSTROUTING", "KUBE-MARK-DROP", "mark-for-masquerade", "masquerading"].contains($0) }
    }

    /// The route left by a link device (stage 6: the veth to the other node) rather than a pod bridge.
    /// The worker whose link the packet crossed, from the route's device: the host's end names the worker; a
    /// worker's own end (`ks-to-host`, the same name in every namespace) means the worker whose rules were read.
    public func crossedLink(of workers: [WorkerNetwork]) -> WorkerNode? {
        guard let route else { return nil }
        let words = route.split(separator: " ").map(String.init)
        guard let dev = words.firstIndex(of: "dev"), dev + 1 < words.count else { return nil }
        if let network = workers.first(where: { $0.hostLink == words[dev + 1] }) { return network.worker }
        return words[dev + 1] == workers.first?.nodeLink ? WorkerNode(name: rulesOf) : nil
    }

    /// What `kubescratch trace` prints, and the screen's output pane shows.
    public var lines: [String] {
        var lines = ["one new connection from \(client) to \(target) (\(what)): \(answer)"]
        switch outcome {
        case .nothingMatched:
            lines.append("no rule of \(rulesOf)'s nat table counted it: no KUBE-* rule stood in its way")
        case .rulesChanged(let why):
            lines.append("kube-proxy rewrote its rules during each of \(attempts) tries (\(why)): try again")
        case .traced(let steps):
            lines.append(method == "nftrace"
                ? "the rules of \(rulesOf)'s nat table it met, in order, as the kernel's trace events reported them (nft monitor trace):"
                : "the rules of \(rulesOf)'s nat table it matched, in order (a counter counts new connections):")
            lines += PacketTrace.lines(steps).map { "  " + $0 }
            if let marker = steps.first(where: { $0.rule.target == "KUBE-MARK-MASQ" || $0.rule.target == "mark-for-masquerade" }) {
                // v1.20 marks in the endpoint's chain when the source is that endpoint (`-s <pod IP>/32`), and in
                // KUBE-NODEPORTS (1.24+: KUBE-EXT-…) for a NodePort.
                lines.append(marker.rule.chain.hasPrefix("KUBE-SEP-") || marker.rule.chain.hasPrefix("endpoint-")
                    ? "  the pod reached itself through the Service (hairpin): marked for masquerading, so it sees the bridge's address as the source and its reply goes back through the node to be un-DNATed"
                    : "  marked for masquerading: on its way out its source becomes the node's address, so the pod's reply comes back through this node to be un-DNATed")
            }
            if dnat == nil {
                lines.append("  no DNAT: no rule of kube-proxy's sent it elsewhere; it went to \(target) itself")
            }
        }
        if !gone.isEmpty {
            lines.append("the last trace to \(target) went through \(gone.joined(separator: ", ")): \(gone.count == 1 ? "that chain is" : "those chains are") gone now")
        }
        if let conntrack { lines.append("conntrack: \(conntrack)") }
        if let replySource {
            let who = pod.map { "pod \($0)" + (podNode.map { " on \($0)" } ?? "") } ?? "an address with no pod"
            lines.append(dnat == nil ? "the reply came from \(replySource): \(who)"
                                     : "the reply came from \(replySource): \(who), the endpoint kube-proxy's rules chose")
        }
        if let route { lines.append("route to it: \(route)") }
        return lines
    }

    /// Chains of `previous` (a trace to the same target) that the nat table no longer declares.
    public static func gone(since previous: TraceReport?, declared: [String]) -> [String] {
        guard let previous else { return [] }
        let now = Set(declared)
        return previous.wayChains.filter { $0 != "KUBE-SERVICES" && $0 != "KUBE-NODEPORTS" && !now.contains($0) }
    }

    /// How long the diagram shows a trace (the screen: or until the next key).
    public static let shownFor: TimeInterval = 20

    /// The file the last trace is kept in: the screen draws it, the next trace to the same target compares.
    public static func file(in layout: StateLayout) -> String { layout.root + "/last-trace.json" }

    public func encoded() -> Data? {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return try? encoder.encode(self)
    }

    public static func decode(_ data: Data) -> TraceReport? {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(TraceReport.self, from: data)
    }
}

/// What a lesson's trace step predicts, checked against the real trace.
public enum TraceExpectation: String, Sendable, Equatable, CaseIterable {
    /// kube-proxy's rules sent it (DNAT) to one endpoint, and that pod answered: conntrack's reply source is it.
    case endpoint
    /// No KUBE-SVC chain caught it (the Service is gone), and it was not answered by a pod.
    case noServiceRule = "no-service-rule"
    /// It reached a pod on another node: the route to it leaves by a worker's link.
    case link
}

extension TraceReport {
    /// nil when the trace shows what was predicted; otherwise what it showed instead.
    public func unmet(_ expectation: TraceExpectation, links: [WorkerNetwork]) -> String? {
        if case .rulesChanged(let why) = outcome { return "kube-proxy rewrote its rules under each of \(attempts) tries (\(why))" }
        switch expectation {
        case .endpoint:
            guard let dnat else { return "no rule of kube-proxy's sent it to a pod (no DNAT): \(answer)" }
            guard let replySource else { return "conntrack shows no reply for the connection to \(dnat)" }
            guard dnat.hasPrefix(replySource + ":") else { return "the rules sent it to \(dnat) but the reply came from \(replySource)" }
            guard pod != nil else { return "\(replySource) is no pod's address" }
            return answer.contains(" 200") ? nil : "\(pod!) did not answer 200: \(answer)"
        case .noServiceRule:
            if let chain = kubeChains.first(where: { $0.hasPrefix("KUBE-SVC-") || $0.hasPrefix("KUBE-EXT-") }) {
                return "\(chain) still caught it: the Service's rules are in place"
            }
            return dnat == nil ? nil : "it was still sent to \(dnat!)"
        case .link:
            guard let route, crossedLink(of: links) != nil else { return "the route to it does not leave by the link: \(route ?? "none")" }
            return answer.contains(" 200") ? nil : "it crossed the link (\(route)) but got no answer: \(answer)"
        }
    }

    /// One line for a step's result.
    public var summary: String {
        let who = pod.map { "pod \($0)" + (podNode.map { " on \($0)" } ?? "") } ?? endpoint ?? target
        var chains = wayChains.filter { $0 != "KUBE-SERVICES" }
        if chains.count > 3 { chains = Array(chains.suffix(3)) }
        let through = chains.isEmpty ? "no KUBE-* rule" : chains.joined(separator: " → ")
        return "\(target) → \(through) → \(who): \(answer)"
    }
}
