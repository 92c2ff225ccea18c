import AsyncHTTPClient
import Foundation
import KubescratchCore
import NIOCore
import NIOSSL

/// How to trust (and authenticate to) an HTTPS endpoint.
public enum TLSTrust: Sendable {
    case plainHTTP
    /// Verify the server against our cluster CA.
    case clusterCA(caFile: String)
    /// Verify against our CA and present a client certificate (the kubelet's API on 10250).
    case clusterCAWithClient(caFile: String, certFile: String, keyFile: String)
    /// The scheduler's and controller manager's self-generated certificates: no CA exists for them.
    case selfSigned
}

extension TLSTrust {
    /// How a client trusts the server (and proves who it is); nil for plain HTTP.
    func configuration() throws -> TLSConfiguration? {
        switch self {
        case .plainHTTP:
            return nil
        case .clusterCA(let caFile):
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            return tls
        case .clusterCAWithClient(let caFile, let certFile, let keyFile):
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .file(caFile)
            tls.certificateChain = try NIOSSLCertificate.fromPEMFile(certFile).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(file: keyFile, format: .pem))
            return tls
        case .selfSigned:
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.certificateVerification = .none
            return tls
        }
    }

    var files: [String] {
        switch self {
        case .plainHTTP, .selfSigned: []
        case .clusterCA(let caFile): [caFile]
        case .clusterCAWithClient(let caFile, let certFile, let keyFile): [caFile, certFile, keyFile]
        }
    }
}

public enum HTTPOutcome: Sendable, Equatable {
    case answered(status: Int, body: String)
    case failed(String)

    public var status: Int? {
        if case .answered(let status, _) = self { return status }
        return nil
    }
}

/// One HTTP client per way of trusting the server, kept for the life of the process: connections (and their
/// TLS sessions) are reused, so probing every component every two seconds costs little.
final class ClientPool: @unchecked Sendable {
    static let shared = ClientPool()
    private let lock = NSLock()
    private var clients: [String: HTTPClient] = [:]

    func client(for trust: TLSTrust) throws -> HTTPClient {
        lock.lock()
        defer { lock.unlock() }
        // New certificates (after a reset) make a new client: TLS contexts are built once per client.
        let key = "\(trust)" + trust.files.map { path in
            let date = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
            return "|\(date?.timeIntervalSince1970 ?? 0)"
        }.joined()
        if let client = clients[key] { return client }
        var configuration = HTTPClient.Configuration()
        configuration.redirectConfiguration = .disallow
        configuration.timeout = .init(connect: .seconds(3))
        configuration.tlsConfiguration = try trust.configuration()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        clients[key] = client
        return client
    }
}

/// One GET at a time, to loopback, this machine's address or a pod IP on our bridge: nothing else is ever asked.
public enum HTTPProbe {
    public static func get(_ url: String, trust: TLSTrust = .plainHTTP, timeout: Double = 3) async -> HTTPOutcome {
        await send(url, trust: trust, timeout: timeout)
    }

    /// A POST with a JSON body, for etcd's JSON gateway (read-only calls such as /v3/kv/range).
    public static func post(_ url: String, json: String, trust: TLSTrust = .plainHTTP, timeout: Double = 5) async -> HTTPOutcome {
        await send(url, trust: trust, timeout: timeout, jsonBody: json)
    }

    static func send(_ url: String, trust: TLSTrust, timeout: Double, jsonBody: String? = nil) async -> HTTPOutcome {
        let client: HTTPClient
        do {
            client = try ClientPool.shared.client(for: trust)
        } catch {
            return .failed("cannot load TLS files: \(error)")
        }
        return await execute(url, client: client, timeout: timeout, jsonBody: jsonBody)
    }

    static func execute(_ url: String, client: HTTPClient, timeout: Double, jsonBody: String? = nil) async -> HTTPOutcome {
        let timeout = TimeAmount.milliseconds(Int64(timeout * 1000))
        do {
            var request = HTTPClientRequest(url: url)
            request.method = .GET
            if let jsonBody {
                request.method = .POST
                request.headers.add(name: "Content-Type", value: "application/json")
                request.body = .bytes(ByteBuffer(string: jsonBody))
            }
            let response = try await client.execute(request, timeout: timeout)
            let body = try await response.body.collect(upTo: 4 * 1024 * 1024)
            return .answered(status: Int(response.status.code), body: String(buffer: body))
        } catch {
            return .failed(describe(error))
        }
    }

    /// Follows a streaming response (a Kubernetes watch) and calls `onChunk` for each piece that arrives,
    /// until the server ends it, it fails, or the task is cancelled.
    public static func stream(_ url: String, trust: TLSTrust, onChunk: @escaping @Sendable () -> Void) async {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(3), read: .minutes(10))
        do { configuration.tlsConfiguration = try trust.configuration() } catch { return }
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        do {
            let response = try await client.execute(HTTPClientRequest(url: url), timeout: .hours(1))
            if response.status == .ok {
                for try await _ in response.body { onChunk() }
            }
        } catch {}
        try? await client.shutdown()
    }

    static func describe(_ error: Error) -> String {
        let text = String(describing: error)
        if text.contains("connectionRefused") || text.contains("Connection refused") { return "connection refused" }
        if text.contains("connectTimeout") || text.contains("deadlineExceeded") || text.contains("readTimeout") { return "timed out" }
        return text
    }

    /// Whether something accepts connections on a Unix socket (containerd's gRPC socket).
    public static func unixSocketAccepts(_ path: String) -> Bool {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var address = sockaddr_un()
        address.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: address.sun_path) else { return false }
        withUnsafeMutableBytes(of: &address.sun_path) { raw in
            for (index, byte) in bytes.enumerated() { raw[index] = byte }
            raw[bytes.count] = 0
        }
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        return result == 0
    }
}

extension HealthCheck {
    /// Probes once; nil means healthy, otherwise what was seen.
    public func probe() async -> String? {
        switch self {
        case .unixSocket(let path):
            return HTTPProbe.unixSocketAccepts(path) ? nil : "nothing accepts connections on \(path) yet"
        case .http(let url):
            return Self.judge(await HTTPProbe.get(url))
        case .https(let url, let caFile):
            return Self.judge(await HTTPProbe.get(url, trust: .clusterCA(caFile: caFile)))
        case .httpsSelfSigned(let url):
            return Self.judge(await HTTPProbe.get(url, trust: .selfSigned))
        }
    }

    static func judge(_ outcome: HTTPOutcome) -> String? {
        switch outcome {
        case .answered(200, _): return nil
        case .answered(let status, let body): return "HTTP \(status): \(body.prefix(200))"
        case .failed(let why): return why
        }
    }
}
