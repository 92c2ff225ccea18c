import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// Follows one real request through kube-proxy's rules: the nat table's counters read just before and just after one
/// new TCP connection, the connection-tracking entry that proves where the kernel sent it, and the route to the pod.
///
/// What it relies on, per version:
/// - Only a connection's first packet passes the nat table (iptables(8): the nat table "is consulted when a packet
///   that creates a new connection is encountered"); later packets follow conntrack. So a counter counts connections.
/// - kube-proxy writes its chains with `iptables-restore --noflush`, declaring each (`:KUBE-SVC-… - [0:0]`), which
///   zeroes its counters. v1.20 (pkg/proxy/iptables/proxier.go syncProxyRules) declares every chain on every sync: on
///   each change and every `iptables.syncPeriod` (30 s). From 1.28 (`MinimizeIPTablesRestore`, kubernetes PR #110268
///   alpha 1.26, #115138 beta 1.27, #117872 GA 1.28) a sync rewrites only changed Services' chains, with
///   KUBE-SERVICES, KUBE-NODEPORTS and the masquerade chains. A trace that meets a reset tries again.
/// - Layouts: v1.20 marks NodePort traffic in KUBE-NODEPORTS and has KUBE-XLB- for `externalTrafficPolicy: Local`;
///   1.24 (PR #109060) moved that to KUBE-EXT-… (and KUBE-SVL-… for local endpoints). PacketTrace follows whatever
///   chains the counters name, so both read the same way (tests: Fixtures/v1.20.2 and Fixtures/current).
/// - nftables mode (`NFTablesProxyMode`: alpha 1.29, beta 1.31, GA 1.33; pkg/features/kube_features.go) keeps table
///   `ip kube-proxy` without counters and must not be touched: `Method.nftrace` (NFTTracePlan).
public struct PacketTracer: Sendable {
    public let shell: Shell

    /// The network namespace whose nat table and conntrack handle the packet (nil: the host's). node-2's
    /// NodePort is handled by node-2's kube-proxy's rules, inside its namespace.
    public var rulesNamespace: String?
    /// The namespace the request is sent from (nil: the host's), e.g. a pod's: `/proc/<pause PID>/ns/net`.
    public var clientNamespace: String?

    public init(shell: Shell, rulesNamespace: String? = nil, clientNamespace: String? = nil) {
        self.shell = shell
        self.rulesNamespace = rulesNamespace
        self.clientNamespace = clientNamespace
    }

    /// What one traced request found: the report, filled with what the packet met (its outcome, the answer,
    /// conntrack's entry, the route), and what only the next trace and `--save-counters` need.
    public struct Finding: Sendable {
        public var report: TraceReport
        /// The nat table's chains after the request: a previous trace's chain missing from them is gone (nil: not
        /// known, as with nftrace, which sees only the chains the packet passed).
        public var declaredChains: [String]?
        /// The two `iptables-save -c -t nat` outputs the trace compared (nftrace: its commands and event count).
        public var counters: (before: String, after: String) = ("", "")
    }

    /// Addresses a trace may be sent to: loopback, this machine's own, and the project's own ranges (pod bridges,
    /// the links and pod ranges of the workers that exist, the Service range once kube-proxy's rules exist).
    /// Anything else is refused before a packet: a worker that does not exist has no route here.
    public static func allowed(_ host: String, network: ClusterNetwork, nodeIP: String, workers: [WorkerNetwork]) -> Bool {
        host == nodeIP || ipv4(host, isIn: "127.0.0.0/8") || ipv4(host, isIn: network.podSubnet) || ipv4(host, isIn: network.serviceRange)
            || workers.contains { ipv4(host, isIn: $0.podSubnet) || ipv4(host, isIn: $0.link.description) }
    }

    /// How the rules are read: counters (iptables), or the kernel's trace events (nftables: no counters there).
    public enum Method: String, Sendable, CaseIterable {
        case counters, nftrace
    }

    /// Traces one new connection to the report's target. Counters where kube-proxy wrote iptables rules; its
    /// nftables mode (table `ip kube-proxy`, no iptables rules of its) only by nftrace.
    public func trace(_ report: TraceReport, host: String, port: Int, method chosen: Method? = nil) async -> Finding {
        let rules = await natRules()
        var method = chosen ?? .counters
        if chosen == nil, !rules.text.contains(":KUBE-SERVICES"),
           await run("nft", ["list", "table", "ip", "kube-proxy"]).contains("table ip kube-proxy") {
            method = .nftrace
        }
        var finding: (found: Finding, sent: SentRequest)
        var tries = 0
        repeat {
            tries += 1
            finding = method == .nftrace ? await traceEvents(report, host: host, port: port)
                                         : await traceCounters(report, save: rules.save, host: host, port: port)
            if let localPort = finding.sent.localPort {
                finding.found.report.conntrack = await connection(localPort: localPort, host: host, port: port)
                finding.found.report.replySource = finding.found.report.conntrack.flatMap(Self.replySource)
            }
            // Once our socket has closed, another client's new connection to the same address may get the same
            // port and replace conntrack's entry before it is read (the e2e lane's watcher did, 2026-12-07): an
            // entry whose reply is not from the pod the rules chose is not taken as the answer; the trace is sent again.
        } while tries < 3 && finding.found.report.dnat.map({ dnat in finding.found.report.replySource.map { !dnat.hasPrefix($0 + ":") } ?? false }) == true
        let dnat = finding.found.report.dnat.map { String($0.split(separator: ":")[0]) }
        finding.found.report.route = await run("ip", ["route", "get", finding.found.report.replySource ?? dnat ?? host])
            .split(separator: "\n").first.map { $0.trimmingCharacters(in: .whitespaces) }
        return finding.found
    }

    /// Counters: the nat table read just before and just after the request; kube-proxy rewrites (and so zeroes) its
    /// chains on every sync, so a trace that meets that is tried again, up to three times.
    func traceCounters(_ report: TraceReport, save: String, host: String, port: Int) async -> (found: Finding, sent: SentRequest) {
        var attempts = 0
        while true {
            attempts += 1
            let beforeText = await run(save, ["-c", "-t", "nat"])
            let sent = await Self.request(host: host, port: port, from: clientNamespace)
            let afterText = await run(save, ["-c", "-t", "nat"])
            let after = IPTablesSave(afterText)
            let outcome = PacketTrace.trace(before: IPTablesSave(beforeText), after: after)
            if case .rulesChanged = outcome, attempts < 3 { continue }
            var filled = report
            filled.outcome = outcome
            filled.answer = sent.answer
            filled.attempts = attempts
            return (Finding(report: filled, declaredChains: after.chains["nat"] ?? [], counters: (beforeText, afterText)), sent)
        }
    }

    /// nftables: our own table marks the connection (NFTTracePlan), `nft monitor trace` reports each chain and rule
    /// the marked packets meet, and the table is removed again whatever happened. kube-proxy's table is only read.
    /// The steps are those of kube-proxy's table, or (`iptables-nft` writing for an iptables-mode kube-proxy, as here)
    /// of the `nat` table its rules live in.
    func traceEvents(_ report: TraceReport, host: String, port: Int) async -> (found: Finding, sent: SentRequest) {
        let plan = NFTTracePlan(host: host, port: port)
        _ = await runNFT(stdin: plan.teardown)  // one an interrupted trace left
        for command in plan.setup { _ = await run("nft", command) }
        async let monitored = run("nft", plan.monitor, timeout: 2)
        try? await Task.sleep(for: .milliseconds(400))  // the monitor subscribes before the packet
        let sent = await Self.request(host: host, port: port, from: clientNamespace)
        let events = NFTTrace.parse(await monitored)
        _ = await runNFT(stdin: plan.teardown)
        var filled = report
        filled.answer = sent.answer
        filled.attempts = 1
        filled.method = Method.nftrace.rawValue
        filled.outcome = .nothingMatched
        if let id = NFTTrace.firstPacket(events, host: host, port: port) {
            let table = events.contains { $0.table == "kube-proxy" } ? "kube-proxy" : "nat"
            let steps = NFTTrace.steps(events, id: id, table: table)
            if !steps.isEmpty { filled.outcome = .traced(steps) }
        }
        let counters = (plan.setup.map { "nft " + $0.joined(separator: " ") }.joined(separator: "\n"),
                        events.isEmpty ? "(no trace events)" : "\(events.count) trace events")
        return (Finding(report: filled, declaredChains: nil, counters: counters), sent)
    }

    func runNFT(stdin: String) async -> String {
        let nft = SystemProgram.path("nft") ?? "nft"
        if let rulesNamespace, let nsenter = SystemProgram.path("nsenter") {
            return (try? await shell.run(nsenter, ["--net=\(rulesNamespace)", nft, "-f", "-"], timeout: 10, stdin: stdin))?.stdout ?? ""
        }
        return (try? await shell.run(nft, ["-f", "-"], timeout: 10, stdin: stdin))?.stdout ?? ""
    }

    /// The nat table as kube-proxy's iptables backend holds it, and that backend's save command. A kube-proxy binary
    /// runs the `iptables`/`iptables-save` it finds on PATH (v1.20: pkg/util/iptables/iptables.go, cmdIPTables
    /// "iptables"); its image picks a backend with kubernetes-sigs/iptables-wrappers (pkg/xtables/detect.go: the
    /// kubelet's KUBE-IPTABLES-HINT or KUBE-KUBELET-CANARY chains in nft first, then legacy). Here: the one that
    /// declares KUBE-SERVICES, since the two backends never see each other's rules.
    public func natRules() async -> (save: String, text: String) {
        var first: (save: String, text: String)?
        for candidate in ["iptables-save", "iptables-nft-save", "iptables-legacy-save"] where SystemProgram.path(candidate) != nil {
            let text = await run(candidate, ["-t", "nat"])
            if text.contains(":KUBE-SERVICES") { return (candidate, text) }
            if first == nil { first = (candidate, text) }
        }
        return first ?? ("iptables-save", "")
    }

    /// A program by absolute path, inside the rules' namespace when there is one.
    func run(_ program: String, _ arguments: [String], timeout: Double = 10) async -> String {
        let path = SystemProgram.path(program) ?? program
        if let rulesNamespace, let nsenter = SystemProgram.path("nsenter") {
            return (try? await shell.run(nsenter, ["--net=\(rulesNamespace)", path] + arguments, timeout: timeout))?.stdout ?? ""
        }
        return (try? await shell.run(path, arguments, timeout: timeout))?.stdout ?? ""
    }

    /// conntrack's entry for our connection, found by the source port the kernel gave it and the address it was
    /// sent to: source ports are chosen per address pair, so the kubelet's probe of another pod can have the same one
    /// (seen in the e2e lane, 2026-12-07: the probe's entry was taken for the trace's).
    func connection(localPort: Int, host: String, port: Int) async -> String? {
        let listed = await run("conntrack", ["-L", "-p", "tcp", "--orig-dst", host, "--orig-port-src", String(localPort),
                                             "--orig-port-dst", String(port)])
        return listed.split(separator: "\n").first { $0.contains("sport=\(localPort)") }.map(String.init)
    }

    /// The second `src=` of an entry: who answered (after DNAT, the pod).
    static func replySource(_ entry: String) -> String? {
        let sources = entry.split(separator: " ").filter { $0.hasPrefix("src=") }
        return sources.count > 1 ? String(sources[1].dropFirst(4)) : nil
    }

    /// The request from inside another network namespace: a thread of its own enters it (setns changes only the
    /// calling thread) and ends with the request, so no other work ever runs in that namespace.
    static func request(host: String, port: Int, from namespace: String?) async -> SentRequest {
        guard let namespace else { return request(host: host, port: port) }
        return await withCheckedContinuation { continuation in
            let thread = Thread {
                let fd = open(namespace, O_RDONLY | O_CLOEXEC)
                guard fd >= 0 else {
                    continuation.resume(returning: SentRequest("cannot open \(namespace): \(String(cString: strerror(errno)))"))
                    return
                }
                defer { close(fd) }
                guard let setns = Self.setns, setns(fd, Self.newNetworkNamespace) == 0 else {
                    continuation.resume(returning: SentRequest("cannot enter \(namespace): \(String(cString: strerror(errno)))"))
                    return
                }
                continuation.resume(returning: request(host: host, port: port))
            }
            thread.start()
        }
    }

    /// setns(2) from the C library by name: Glibc's Swift module does not export it (it needs _GNU_SOURCE).
    static let setns: (@convention(c) (Int32, Int32) -> Int32)? = {
        guard let symbol = dlsym(dlopen(nil, RTLD_NOW), "setns") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int32, Int32) -> Int32).self)
    }()
    /// CLONE_NEWNET from <linux/sched.h>.
    static let newNetworkNamespace: Int32 = 0x4000_0000

    /// One HTTP/1.0 request on a new TCP connection: the status line and the connection's local port.
    static func request(host: String, port: Int) -> SentRequest {
        // Close-on-exec: nothing this process starts afterwards (a component) may hold it.
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return SentRequest("no socket: \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return SentRequest("not an IPv4 address: \(host)") }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let localPort = Int(UInt16(bigEndian: local.sin_port))
        guard connected == 0 else { return SentRequest("no connection: \(String(cString: strerror(errno)))", localPort: localPort == 0 ? nil : localPort) }
        let request = "GET / HTTP/1.0\r\nHost: \(host)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(fd, &buffer, buffer.count, 0)
        let text = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        return SentRequest(text.split(separator: "\r\n").first.map(String.init) ?? "no answer", localPort: localPort)
    }
}

/// The answer to a traced request, and its connection's local port.
struct SentRequest: Sendable {
    let answer: String
    let localPort: Int?

    init(_ answer: String, localPort: Int? = nil) {
        self.answer = answer
        self.localPort = localPort
    }
}
