import Foundation
import KubescratchCore

/// Follows the API server's audit log as it grows: reads only what is new, keeps a torn last line until its end is
/// written, and carries on across a rotation (the old file is read to its end first), a truncation or a restarted API
/// server. Never throws and never waits: a missing or unreadable file is simply no news.
public final class AuditTail: @unchecked Sendable {
    public let path: String
    private let lock = NSLock()
    private var handle: FileHandle?
    private var inode: UInt64 = 0
    private var offset: UInt64 = 0
    private var partial = Data()
    /// At the first look, only this much of a long log's end is read (the pane shows the latest calls, not hours).
    private var backlog: UInt64?

    public init(path: String, backlog: UInt64? = 1024 * 1024) {
        self.path = path
        self.backlog = backlog
    }

    /// The watches' starts seen lately, by audit ID: one logged twice is one call.
    private var startsSeen: [String] = []

    /// The calls written since the last look.
    public func read() -> [APICall] {
        lock.withLock {
            lines().compactMap { line -> APICall? in
                guard let event = AuditEvent.parse(line) else { return nil }
                if event.stage == "ResponseStarted", let id = event.auditID {
                    if startsSeen.contains(id) { return nil }
                    startsSeen.append(id)
                    if startsSeen.count > 200 { startsSeen.removeFirst(100) }
                }
                return APICall(event)
            }
        }
    }

    private func lines() -> [Substring] {
        var data = Data()
        let current = Self.inode(of: path)
        if let handle, current != inode {
            // Rotated (renamed, a new file in its place) or removed: finish the old file first.
            data += (try? handle.readToEnd()) ?? Data()
            try? handle.close()
            self.handle = nil
        }
        if handle == nil, let current, let opened = FileHandle(forReadingAtPath: path) {
            handle = opened
            inode = current
            offset = 0
        }
        if let handle {
            let size = (try? handle.seekToEnd()) ?? offset
            if size < offset { offset = 0; partial = Data() }  // truncated in place
            if let skip = backlog.take(), size > skip {
                // Start within the last `skip` bytes, at the beginning of a line.
                try? handle.seek(toOffset: size - skip)
                let tail = (try? handle.readToEnd()) ?? Data()
                offset = size - skip + UInt64((tail.firstIndex(of: UInt8(ascii: "\n")).map { $0 - tail.startIndex + 1 }) ?? tail.count)
            }
            try? handle.seek(toOffset: offset)
            let fresh = (try? handle.readToEnd()) ?? Data()
            offset += UInt64(fresh.count)
            data += fresh
        }
        guard !data.isEmpty else { return [] }
        var text = partial + data
        partial = Data()
        if let last = text.lastIndex(of: UInt8(ascii: "\n")), last != text.index(before: text.endIndex) {
            partial = text[text.index(after: last)...]
            text = text[...last]
        } else if text.last != UInt8(ascii: "\n") {
            partial = text
            return []
        }
        return String(decoding: text, as: UTF8.self).split(separator: "\n")
    }

    /// stat(2) itself: several looks a second, and Foundation's attribute dictionary costs more than the read.
    static func inode(of path: String) -> UInt64? {
        var info = stat()
        return stat(path, &info) == 0 ? UInt64(info.st_ino) : nil
    }

    /// Every call still on disk: the rotated file (audit-<time>.log beside it) first, then the current one.
    public static func history(of path: String, containing words: [String] = []) -> [APICall] {
        let folder = (path as NSString).deletingLastPathComponent
        let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
        let rotated = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [])
            .filter { $0.hasPrefix(base + "-") && $0.hasSuffix(".log") }.sorted().map { folder + "/" + $0 }
        return (rotated + [path]).flatMap { file -> [APICall] in
            guard let data = FileManager.default.contents(atPath: file) else { return [] }
            // Lines without the words are not decoded at all: a check reads a long log in a blink.
            return String(decoding: data, as: UTF8.self).split(separator: "\n")
                .filter { line in words.allSatisfy { line.contains($0) } }
                .compactMap { AuditEvent.parse($0).flatMap(APICall.init) }
        }
    }
}

/// The node's API calls as the diagram and the pane use them: the audit log followed, folded into a TrafficLog.
/// One per screen or `diagram --watch`; the observer puts it into every NodeState it makes.
public final class TrafficFeed: @unchecked Sendable {
    private let tail: AuditTail
    private let lock = NSLock()
    private var log: TrafficLog

    public init(layout: StateLayout) {
        tail = AuditTail(path: layout.auditLog)
        log = TrafficLog()
    }

    /// Reads what was logged since the last look: the calls so far, and whether any came.
    public func refresh() -> (log: TrafficLog, changed: Bool) {
        lock.withLock {
            let calls = tail.read()
            log.add(calls)
            return (log, !calls.isEmpty)
        }
    }
}
