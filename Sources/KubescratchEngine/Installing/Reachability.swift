import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Can a host be reached at all? Decided in a few seconds, before any download: an HTTP client retries a refused
/// connection until its deadline, and a machine without the release hosts should hear so at once.
public enum Reachability {
    public enum Answer: Sendable, Equatable {
        case reachable
        /// The name does not resolve, every address refuses, or none answers in time: the words say which.
        case unreachable(String)
    }

    public static func check(host: String, port: Int, timeout: Double = 4) async -> Answer {
        await Task.detached { probe(host: host, port: port, timeout: timeout) }.value
    }

    static func probe(host: String, port: Int, timeout: Double) -> Answer {
        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        var list: UnsafeMutablePointer<addrinfo>?
        let resolved = getaddrinfo(host, String(port), &hints, &list)
        guard resolved == 0, let first = list else {
            return .unreachable("the name \(host) does not resolve: \(String(cString: gai_strerror(resolved)))")
        }
        defer { freeaddrinfo(list) }
        var why = "no address of \(host) answered within \(Int(timeout)) s"
        var cursor: UnsafeMutablePointer<addrinfo>? = first
        let deadline = Date().addingTimeInterval(timeout)
        while let entry = cursor, Date() < deadline {
            defer { cursor = entry.pointee.ai_next }
            let fd = socket(entry.pointee.ai_family, entry.pointee.ai_socktype | Int32(SOCK_NONBLOCK.rawValue), entry.pointee.ai_protocol)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            if connect(fd, entry.pointee.ai_addr, entry.pointee.ai_addrlen) == 0 { return .reachable }
            guard errno == EINPROGRESS else {
                why = "\(host) refused the connection (\(String(cString: strerror(errno))))"
                continue
            }
            var poller = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
            let waitMs = Int32(max(0, deadline.timeIntervalSinceNow) * 1000)
            guard poll(&poller, 1, waitMs) == 1 else { continue }
            var error: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
            if error == 0 { return .reachable }
            why = "\(host) refused the connection (\(String(cString: strerror(error))))"
        }
        return .unreachable(why)
    }
}
