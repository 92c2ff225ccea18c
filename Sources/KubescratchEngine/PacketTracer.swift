import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// Follows one real request through kube-proxy's rules: the nat table's counters read just before and just after one
/// new TCP connection (only a connection's first packet goes through nat), the connection-tracking entry that proves
/// where the kernel sent it, and the route to the pod.
public struct PacketTracer: Sendable {
    public let shell: Shell

    public init(shell: Shell) { self.shell = shell }

    public struct Report: Sendable {
        public var target: String
        public var outcome: PacketTrace.Outcome
        /// The HTTP status line the pod answered with (or why there was none).
        public var answer: String
        /// conntrack's entry for the connection: original destination, and the reply's source (the pod).
        public var conntrack: String?
        public var replySource: String?
        public var route: String?
        public var attempts: Int
    }

    /// Addresses a trace may be sent to: loopback, this machine's own, and the project's own ranges (pod bridges,
    /// node-2's link, the Service range once kube-proxy's rules exist). Anything else is refused before a packet.
    public static func allowed(_ host: String, network: ClusterNetwork, nodeIP: String) -> Bool {
        let second = SecondNodeNetwork(cluster: network)
        return host == nodeIP || ipv4(host, isIn: "127.0.0.0/8") || ipv4(host, isIn: network.podSubnet)
            || ipv4(host, isIn: second.podSubnet) || ipv4(host, isIn: second.link.description) || ipv4(host, isIn: network.serviceRange)
    }

    public func trace(host: String, port: Int) async -> Report {
        var attempts = 0
        while true {
            attempts += 1
            let before = IPTablesSave(await save())
            let (answer, localPort) = Self.request(host: host, port: port)
            let after = IPTablesSave(await save())
            let outcome = PacketTrace.trace(before: before, after: after)
            // kube-proxy rewrites (and so zeroes) its chains on every sync: try again, up to three times.
            if case .rulesChanged = outcome, attempts < 3 { continue }
            var report = Report(target: "\(host):\(port)", outcome: outcome, answer: answer, attempts: attempts)
            if let localPort {
                let entry = await connection(localPort: localPort, port: port)
                report.conntrack = entry
                report.replySource = entry.flatMap(Self.replySource)
            }
            if let pod = report.replySource ?? (Self.destinationOf(outcome).map { String($0.split(separator: ":")[0]) }) {
                report.route = (try? await shell.run("ip", ["route", "get", pod], timeout: 5))?.stdout
                    .split(separator: "\n").first.map(String.init)
            }
            return report
        }
    }

    static func destinationOf(_ outcome: PacketTrace.Outcome) -> String? {
        if case .traced(let steps) = outcome { return PacketTrace.destination(of: steps) }
        return nil
    }

    func save() async -> String {
        (try? await shell.run("iptables-save", ["-c", "-t", "nat"], timeout: 10))?.stdout ?? ""
    }

    /// conntrack's entry for our connection, found by the source port the kernel gave it.
    func connection(localPort: Int, port: Int) async -> String? {
        let listed = try? await shell.run("conntrack", ["-L", "-p", "tcp", "--orig-port-src", String(localPort),
                                                        "--orig-port-dst", String(port)], timeout: 5)
        return listed?.stdout.split(separator: "\n").first { $0.contains("sport=\(localPort)") }.map(String.init)
    }

    /// The second `src=` of an entry: who answered (after DNAT, the pod).
    static func replySource(_ entry: String) -> String? {
        let sources = entry.split(separator: " ").filter { $0.hasPrefix("src=") }
        return sources.count > 1 ? String(sources[1].dropFirst(4)) : nil
    }

    /// One HTTP/1.0 request on a new TCP connection; the status line and the connection's local port.
    static func request(host: String, port: Int) -> (String, Int?) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return ("no socket: \(String(cString: strerror(errno)))", nil) }
        defer { close(fd) }
        var timeout = timeval(tv_sec: 3, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else { return ("not an IPv4 address: \(host)", nil) }
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        var local = sockaddr_in()
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &local) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        let localPort = Int(UInt16(bigEndian: local.sin_port))
        guard connected == 0 else { return ("no connection: \(String(cString: strerror(errno)))", localPort == 0 ? nil : localPort) }
        let request = "GET / HTTP/1.0\r\nHost: \(host)\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = recv(fd, &buffer, buffer.count, 0)
        let text = count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : ""
        return (text.split(separator: "\r\n").first.map(String.init) ?? "no answer", localPort)
    }
}
