import AsyncHTTPClient
import Crypto
import Foundation
import KubescratchCore
import NIOCore
import NIOHTTP1

public enum DownloadError: Error, CustomStringConvertible, Equatable {
    case unreachable(String, String)
    case notFound(String)
    case httpStatus(String, Int)
    case checksumMismatch(file: String, expected: String, actual: String)
    case noDigest(String)
    case diskFull(String)
    case interrupted(String)
    case cannotWrite(String)
    case unpack(String, String)
    case notInFolder(String, [String])
    case needsVersion(String)

    public var description: String {
        switch self {
        case .unreachable(let url, let why):
            "cannot reach \(URL(string: url)?.host ?? url) (\(why)). Check the network, or use --mirror URL, or --from DIR with the files."
        case .notFound(let url):
            "\(url) does not exist (404): is the version right?"
        case .httpStatus(let url, let status):
            "\(url) answered HTTP \(status)"
        case .checksumMismatch(let file, let expected, let actual):
            "checksum mismatch for \(file): expected sha256 \(expected), got \(actual). The file was deleted; run setup again."
        case .noDigest(let url):
            "no SHA-256 digest found in \(url)"
        case .diskFull(let path):
            "the disk is full while writing \(path): free some space (or use --cache DIR) and run setup again"
        case .notInFolder(let folder, let names):
            "\(folder) has none of \(names.joined(separator: ", ")): put the release's files there, as downloaded or named after the program"
        case .needsVersion(let folder):
            "which release are the files in \(folder)? Say it with --kubernetes vX.Y.Z"
        case .unpack(let file, let why):
            "cannot unpack \(file): \(why). The cached copy is not trusted any more; run setup again."
        case .cannotWrite(let path):
            "cannot write \(path): run setup with sudo, or choose --cache DIR and --bin-dir DIR you can write"
        case .interrupted(let url):
            "the download of \(url) was cut off; run setup again to resume it"
        }
    }
}

/// Downloads one file at a time into a `.part` file, resuming with an HTTP Range request when a part is
/// already there, hashing as it writes, and moving it into place only once its SHA-256 matches.
public struct Downloader: Sendable {
    public struct Progress: Sendable {
        public var file: String
        public var bytes: Int64
        public var total: Int64?
        public var bytesPerSecond: Double
    }

    let client: HTTPClient
    let timeout: TimeAmount

    public init(timeout: Double = 30) {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(10), read: .seconds(Int64(timeout)))
        configuration.redirectConfiguration = .follow(max: 10, allowCycles: false)
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        self.timeout = .seconds(Int64(timeout))
    }

    public func shutdown() async { try? await client.shutdown() }

    /// A small text file (a checksum, a version marker).
    public func text(_ url: String) async throws -> String {
        let response: HTTPClientResponse
        do {
            response = try await client.execute(HTTPClientRequest(url: url), timeout: timeout)
        } catch {
            throw DownloadError.unreachable(url, HTTPProbe.describe(error))
        }
        try check(response.status, url)
        do {
            return String(buffer: try await response.body.collect(upTo: 1 << 20))
        } catch {
            throw DownloadError.interrupted(url)
        }
    }

    /// The first byte of a `Content-Range: bytes START-END/TOTAL` header; nil when it is missing or unreadable.
    static func rangeStart(_ header: String?) -> Int64? {
        guard let header, header.hasPrefix("bytes ") else { return nil }
        return Int64(header.dropFirst(6).prefix(while: { $0 != "-" }))
    }

    func check(_ status: HTTPResponseStatus, _ url: String) throws {
        if status == .notFound { throw DownloadError.notFound(url) }
        guard status == .ok || status == .partialContent else { throw DownloadError.httpStatus(url, Int(status.code)) }
    }

    /// Fetches `url` into `destination`, verified against `sha256`. A `destination.part` from an earlier cut
    /// download is continued. Nothing unverified is ever left at `destination`.
    public func fetch(_ url: String, to destination: String, sha256 expected: String,
                      progress: @escaping @Sendable (Progress) -> Void = { _ in }) async throws {
        let part = destination + ".part"
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: (destination as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        } catch {
            throw DownloadError.cannotWrite((destination as NSString).deletingLastPathComponent)
        }
        var hasher = SHA256()
        var have: Int64 = 0
        if let existing = fm.contents(atPath: part), !existing.isEmpty {
            hasher.update(data: existing)
            have = Int64(existing.count)
        } else if !fm.createFile(atPath: part, contents: nil) {
            throw DownloadError.cannotWrite(part)
        }
        var request = HTTPClientRequest(url: url)
        if have > 0 { request.headers.add(name: "Range", value: "bytes=\(have)-") }
        let response: HTTPClientResponse
        do {
            response = try await client.execute(request, timeout: .hours(2))
        } catch {
            throw DownloadError.unreachable(url, HTTPProbe.describe(error))
        }
        if response.status == .rangeNotSatisfiable && have > 0 {
            // The part is already whole (or longer than the file): start again from nothing.
            try? fm.removeItem(atPath: part)
            return try await fetch(url, to: destination, sha256: expected, progress: progress)
        }
        try check(response.status, url)
        guard let handle = FileHandle(forWritingAtPath: part) else { throw DownloadError.cannotWrite(part) }
        defer { try? handle.close() }
        let resumesAt = response.status == .partialContent ? Self.rangeStart(response.headers.first(name: "Content-Range")) : 0
        if have > 0 && resumesAt != have {
            // The server ignored the Range (200), or sent another range than the one asked for: keep only
            // what it sends from the start.
            guard resumesAt == 0 else {
                try? handle.close()
                try? fm.removeItem(atPath: part)
                return try await fetch(url, to: destination, sha256: expected, progress: progress)
            }
            try handle.truncate(atOffset: 0)
            hasher = SHA256()
            have = 0
        }
        try handle.seekToEnd()
        let length = response.headers.first(name: "Content-Length").flatMap(Int64.init)
        let total = length.map { $0 + have }
        let started = Date()
        var received: Int64 = 0
        var lastReport = Date.distantPast
        do {
            for try await buffer in response.body {
                let data = Data(buffer.readableBytesView)
                do {
                    try handle.write(contentsOf: data)
                } catch {
                    throw DownloadError.diskFull(part)
                }
                hasher.update(data: data)
                received += Int64(data.count)
                if Date().timeIntervalSince(lastReport) > 0.2 {
                    lastReport = Date()
                    progress(Progress(file: (destination as NSString).lastPathComponent, bytes: have + received, total: total,
                                      bytesPerSecond: Double(received) / max(0.001, Date().timeIntervalSince(started))))
                }
            }
        } catch let error as DownloadError {
            throw error
        } catch {
            throw DownloadError.interrupted(url)
        }
        if let total, have + received < total { throw DownloadError.interrupted(url) }
        // The last report carries the size even without a Content-Length, so a progress display knows it is done.
        progress(Progress(file: (destination as NSString).lastPathComponent, bytes: have + received, total: total ?? have + received,
                          bytesPerSecond: Double(received) / max(0.001, Date().timeIntervalSince(started))))
        let actual = hasher.finalize().map { String(format: "%02x", $0) }.joined()
        guard actual == expected.lowercased() else {
            try? fm.removeItem(atPath: part)
            throw DownloadError.checksumMismatch(file: (destination as NSString).lastPathComponent, expected: expected, actual: actual)
        }
        try? fm.removeItem(atPath: destination)
        try fm.moveItem(atPath: part, toPath: destination)
    }
}
