import Foundation
@testable import KubescratchEngine
import KubescratchCore
import Testing

/// Following the audit log as the API server writes it: lines from the real v1.20.2 fixture, written in pieces, torn,
/// rotated and truncated by this test (standing in for the API server's writer, which is what is being followed).
@Suite(.serialized) struct AuditTailTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-audit-\(UUID().uuidString)").path
    var path: String { folder + "/audit.log" }
    static let lines: [String] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("KubescratchCoreTests/Fixtures/audit-v1.20.2.log")
        return ((try? String(contentsOf: url, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }()
    static let callLines = lines.filter { AuditEvent.parse(Substring($0)).flatMap(APICall.init) != nil }

    func append(_ text: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try handle.seekToEnd()
        try handle.write(contentsOf: Data(text.utf8))
        try handle.close()
    }

    @Test func readsOnlyWhatIsNewAndWaitsForATornLinesEnd() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let tail = AuditTail(path: path)
        #expect(tail.read().isEmpty, "no file yet: no news")
        FileManager.default.createFile(atPath: path, contents: Data((Self.callLines[0] + "\n" + Self.callLines[1] + "\n").utf8))
        #expect(tail.read().count == 2)
        #expect(tail.read().isEmpty)
        let third = Self.callLines[2]
        try append(String(third.prefix(100)))
        #expect(tail.read().isEmpty, "half a line is not a call yet")
        try append(String(third.dropFirst(100)) + "\n")
        let calls = tail.read()
        #expect(calls.count == 1 && calls.first == AuditEvent.parse(Substring(third)).flatMap(APICall.init))
    }

    @Test func followsARotationAndATruncation() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        FileManager.default.createFile(atPath: path, contents: Data((Self.callLines[0] + "\n").utf8))
        let tail = AuditTail(path: path)
        #expect(tail.read().count == 1)
        // Written just before the rotation, then renamed away as the API server's rotation does; a new file follows.
        try append(Self.callLines[1] + "\n")
        try FileManager.default.moveItem(atPath: path, toPath: folder + "/audit-2026-12-06T19-00-00.000.log")
        FileManager.default.createFile(atPath: path, contents: Data((Self.callLines[2] + "\n").utf8))
        #expect(tail.read().count == 2, "the end of the old file, then the new one")
        #expect(AuditTail.history(of: path).count == 3, "history reads the rotated file too")
        // A restarted API server appends to the same file: just more lines.
        try append(Self.callLines[3] + "\n")
        #expect(tail.read().count == 1)
        // Emptied in place and written again, shorter than before: read from the start again.
        let short = try #require(Self.callLines.min { $0.count < $1.count })
        try Data((short + "\n").utf8).write(to: URL(fileURLWithPath: path))
        #expect(tail.read().count == 1)
    }

    @Test func aLongLogIsReadFromNearItsEnd() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let text = Self.callLines.joined(separator: "\n") + "\n"
        FileManager.default.createFile(atPath: path, contents: Data(text.utf8))
        let calls = AuditTail(path: path, backlog: 20_000).read()
        #expect(!calls.isEmpty && calls.count < Self.callLines.count, "\(calls.count) of \(Self.callLines.count)")
        #expect(calls.last == AuditEvent.parse(Substring(Self.callLines.last!)).flatMap(APICall.init), "up to the newest")
        #expect(AuditTail(path: path, backlog: nil).read().count == Self.callLines.count)
    }

    /// k/k issue #126466: with APIServingWithRoutine a watch's ResponseStarted is logged twice; it is one call.
    @Test func aWatchStartLoggedTwiceCountsOnce() throws {
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let start = try #require(Self.lines.first { $0.contains("\"stage\":\"ResponseStarted\"") && $0.contains("\"verb\":\"watch\"") })
        FileManager.default.createFile(atPath: path, contents: Data((start + "\n" + start + "\n").utf8))
        let calls = AuditTail(path: path).read()
        #expect(calls.count == 1 && calls.first?.verb == "watch")
    }
}
