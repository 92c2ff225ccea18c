import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// One kubescratch changes a node at a time. Every command that starts, stops or removes anything takes this lock
/// first: `flock` on `<state>/lock`, which the kernel releases when the holder exits in any way (Ctrl-C, kill -9,
/// a crash), so a stale lock never needs cleaning. The holder writes its PID and command line into the file, so a
/// second command can say who holds it. Read-only commands (status, diagram, doctor, lessons) never take it.
public enum NodeLock {
    /// What a second command learns of the holder.
    public struct Holder: Sendable, Equatable {
        public var pid: Int32
        public var commandLine: String
        public var since: String
    }

    public struct Busy: Error, CustomStringConvertible {
        public let holder: Holder?
        public let path: String
        public var description: String {
            let who = holder.map { "pid \($0.pid), `\($0.commandLine)`\($0.since.isEmpty ? "" : ", since \($0.since)")" }
                ?? "its PID is not written yet"
            let stop = holder.map { "stop it (Ctrl-C in its terminal, or `kill \($0.pid)`)" } ?? "stop it"
            return """
                another kubescratch is changing this node (\(who)). Wait for it to finish, or \(stop) and run this \
                again: the next run takes an unfinished stage back to its start. Meanwhile `kubescratch status` and \
                `kubescratch diagram` show the node without changing it. (Lock: \(path))
                """
        }
    }

    /// Paths this process already holds: a command that runs another in-process (the tutorial without a terminal
    /// runs `run`) takes the lock once.
    nonisolated(unsafe) static var held: [String: Int32] = [:]
    static let heldLock = NSLock()

    public static func path(root: String) -> String { root + "/lock" }

    /// Takes the lock of the node in `root` for the rest of this process, or throws `Busy` at once.
    public static func acquire(root: String, commandLine: [String] = CommandLine.arguments) throws {
        let path = path(root: root)
        heldLock.lock()
        defer { heldLock.unlock() }
        if held[path] != nil { return }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let descriptor = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { throw POSIXError(POSIXErrorCode(rawValue: errno) ?? .EIO) }
        guard flock(descriptor, LOCK_EX | LOCK_NB) == 0 else {
            let text = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            close(descriptor)
            throw Busy(holder: parse(text), path: path)
        }
        // O_CLOEXEC: the components kubescratch starts must not inherit the lock and keep it after it exits.
        let record = describe(pid: getpid(), commandLine: commandLine, since: Date())
        _ = ftruncate(descriptor, 0)
        _ = record.withCString { pwrite(descriptor, $0, strlen($0), 0) }
        held[path] = descriptor
    }

    /// Whether some process holds the node's lock now (for tests and `status`).
    public static func isHeld(root: String) -> Bool {
        let descriptor = open(path(root: root), O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        if flock(descriptor, LOCK_SH | LOCK_NB) == 0 { flock(descriptor, LOCK_UN); return false }
        return true
    }

    static func describe(pid: Int32, commandLine: [String], since: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "HH:mm:ss"
        let words = [commandLine.first.map { ($0 as NSString).lastPathComponent } ?? "kubescratch"] + commandLine.dropFirst()
        return "pid \(pid)\ncommand \(words.joined(separator: " "))\nsince \(formatter.string(from: since))\n"
    }

    static func parse(_ text: String) -> Holder? {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", maxSplits: 1)
            if parts.count == 2 { fields[String(parts[0])] = String(parts[1]) }
        }
        guard let pid = fields["pid"].flatMap({ Int32($0) }) else { return nil }
        return Holder(pid: pid, commandLine: fields["command"] ?? "kubescratch", since: fields["since"] ?? "")
    }
}
