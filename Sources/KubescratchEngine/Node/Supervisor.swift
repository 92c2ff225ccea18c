import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// What the supervisor remembers of a started component, on disk, so a later invocation finds it.
public struct ComponentRecord: Codable, Sendable, Equatable {
    public var component: ComponentID
    public var pid: Int32
    /// The process's start time in clock ticks since boot (/proc/PID/stat): a PID reused by another process has another.
    public var startTicks: UInt64
    public var executable: String
    public var arguments: [String]
    public var kubeletMode: KubeletMode?
    public var startedAt: Date
    public var logFile: String
}

public enum ComponentState: String, Sendable, Codable {
    case running
    /// We started it and it is gone without being stopped.
    case exited
    case stopped
}

public enum SupervisorError: Error, CustomStringConvertible {
    case missingBinary(ComponentID, String)
    case spawnFailed(ComponentID, Int32)
    public var description: String {
        switch self {
        case .missingBinary(let component, let path):
            "\(component.name): no executable at \(path). Put the binaries in a folder and pass --bin-dir DIR, or run `kubescratch doctor`."
        case .spawnFailed(let component, let code):
            "\(component.name): could not start (\(String(cString: strerror(code))))"
        }
    }
}

/// Starts and stops the real component processes. Each runs in its own session and process group,
/// with stdin closed and stdout/stderr appended to its own log file, so it outlives kubescratch
/// (the learner can quit and resume) and never writes to the terminal.
public struct Supervisor: Sendable {
    public let layout: StateLayout

    public init(layout: StateLayout) {
        self.layout = layout
    }

    public func start(_ plan: ComponentPlan, kubeletMode: KubeletMode?) throws -> ComponentRecord {
        guard FileManager.default.isExecutableFile(atPath: plan.executable) else {
            throw SupervisorError.missingBinary(plan.component, plan.executable)
        }
        try FileManager.default.createDirectory(atPath: layout.logs, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: layout.supervisorRecords, withIntermediateDirectories: true)
        let logFile = layout.log(plan.component)
        let banner = "\n==== kubescratch started \(plan.component.name) at \(Date()) ====\n\(plan.commandLine)\n\n"
        if let handle = FileHandle(forWritingAtPath: logFile) {
            handle.seekToEndOfFile()
            handle.write(Data(banner.utf8))
            try? handle.close()
        } else {
            FileManager.default.createFile(atPath: logFile, contents: Data(banner.utf8), attributes: [.posixPermissions: 0o600])
        }

        var pid: pid_t = 0
        let code = DetachedProcess.spawn(plan.executable, plan.arguments, environment: plan.environment, logFile: logFile, pid: &pid)
        guard code == 0 else { throw SupervisorError.spawnFailed(plan.component, code) }
        let record = ComponentRecord(component: plan.component, pid: pid, startTicks: ProcessTable.startTicks(pid) ?? 0,
                                     executable: plan.executable, arguments: plan.arguments, kubeletMode: kubeletMode,
                                     startedAt: Date(), logFile: logFile)
        try save(record)
        return record
    }

    public func record(_ component: ComponentID) -> ComponentRecord? {
        guard let data = FileManager.default.contents(atPath: layout.record(component)) else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        return try? decoder.decode(ComponentRecord.self, from: data)
    }

    /// Every component with a record, on any node, in start order: what has run since the last reset.
    public func recordedComponents() -> [ComponentID] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: layout.supervisorRecords)) ?? []
        return names.filter { $0.hasSuffix(".json") }.compactMap { ComponentID(name: String($0.dropLast(5))) }.sorted()
    }

    func save(_ record: ComponentRecord) throws {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(record).write(to: URL(fileURLWithPath: layout.record(record.component)), options: .atomic)
    }

    public func state(_ component: ComponentID) -> ComponentState {
        guard let record = record(component) else { return .stopped }
        return isAlive(record) ? .running : .exited
    }

    public func runningRecord(_ component: ComponentID) -> ComponentRecord? {
        guard let record = record(component), isAlive(record) else { return nil }
        return record
    }

    public func isAlive(_ record: ComponentRecord) -> Bool {
        // Reap it if it was our child and has exited, so it does not linger as a zombie; keep how it ended.
        var status: Int32 = 0
        if waitpid(record.pid, &status, WNOHANG) == record.pid { ExitStatuses.shared.record(record.pid, status) }
        guard let ticks = ProcessTable.startTicks(record.pid), ProcessTable.state(record.pid) != "Z" else { return false }
        return record.startTicks == 0 || ticks == record.startTicks
    }

    /// SIGTERM to the component's process group, then SIGKILL after the grace period. Forgets the record.
    public func stop(_ component: ComponentID, grace: Double = 10) async {
        guard let record = record(component) else { return }
        if isAlive(record) {
            kill(-record.pid, SIGTERM)
            let deadline = Date().addingTimeInterval(grace)
            while isAlive(record), Date() < deadline {
                try? await Task.sleep(for: .milliseconds(50))
            }
            if isAlive(record) {
                kill(-record.pid, SIGKILL)
                while isAlive(record) { try? await Task.sleep(for: .milliseconds(20)) }
            }
        }
        try? FileManager.default.removeItem(atPath: layout.record(component))
    }

    /// How a component that is no longer alive ended: from our own wait, or from a zombie's /proc entry when an
    /// earlier kubescratch started it (this machine's init may not reap orphans).
    public func howItEnded(_ record: ComponentRecord) -> String {
        guard let status = ExitStatuses.shared.status(record.pid) ?? ProcessTable.zombieExitCode(record.pid) else {
            return "exited (started by an earlier kubescratch, so its exit status went to the process that adopted it)"
        }
        return ExitStatuses.describe(status)
    }

    /// What a dead component's record says: how it ended, how long it ran, its last log lines.
    public func crash(of record: ComponentRecord) -> ComponentCrash {
        ComponentCrash(component: record.component, howItEnded: howItEnded(record), uptime: Date().timeIntervalSince(record.startedAt),
                       logFile: record.logFile, logTail: logTail(record.component))
    }

    /// The last lines of a component's log, for error messages.
    public func logTail(_ component: ComponentID, lines: Int = 15) -> String {
        guard let data = FileManager.default.contents(atPath: layout.log(component)) else { return "(no log)" }
        let text = String(decoding: data.suffix(64 * 1024), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines).joined(separator: "\n")
    }
}

/// glibc's POSIX_SPAWN_SETSID (spawn.h, glibc 2.26+); the macro does not import into Swift.
let posixSpawnSetSID: Int32 = 0x80

/// Exit statuses of components we reaped, by PID (a status can be collected only once).
final class ExitStatuses: @unchecked Sendable {
    static let shared = ExitStatuses()
    private let lock = NSLock()
    private var statuses: [Int32: Int32] = [:]

    func record(_ pid: Int32, _ status: Int32) { lock.withLock { statuses[pid] = status } }
    func status(_ pid: Int32) -> Int32? { lock.withLock { statuses[pid] } }

    /// A wait status in words: "exited with status 1", "killed by signal 9 (SIGKILL)".
    static func describe(_ status: Int32) -> String {
        let signal = status & 0x7f
        guard signal != 0 else { return "exited with status \((status >> 8) & 0xff)" }
        let names: [Int32: String] = [SIGKILL: "SIGKILL", SIGTERM: "SIGTERM", SIGINT: "SIGINT", SIGHUP: "SIGHUP",
                                      SIGABRT: "SIGABRT", SIGSEGV: "SIGSEGV", SIGBUS: "SIGBUS", SIGQUIT: "SIGQUIT"]
        return "killed by signal \(signal)\(names[signal].map { " (\($0))" } ?? "")"
    }
}

/// Facts read from /proc.
public enum ProcessTable {
    /// A zombie's wait status (/proc/PID/stat field 52, exit_code, Linux 3.5+).
    static func zombieExitCode(_ pid: Int32) -> Int32? {
        guard let fields = statFields(pid), fields.first == "Z", fields.count > 49 else { return nil }
        return Int32(fields[49])
    }

    static func statFields(_ pid: Int32) -> [Substring]? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return nil }
        // Fields after "pid (comm)": state is field 3, starttime field 22.
        return text[text.index(after: close)...].split(separator: " ")
    }

    public static func startTicks(_ pid: Int32) -> UInt64? {
        guard let fields = statFields(pid), fields.count > 19 else { return nil }
        return UInt64(fields[19])
    }

    public static func state(_ pid: Int32) -> String? {
        statFields(pid).flatMap { $0.first.map(String.init) }
    }

    public static func commandLine(_ pid: Int32) -> [String] {
        guard let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return [] }
        return data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
    }

    public static func allPIDs() -> [Int32] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []).compactMap { Int32($0) }
    }

    public static func residentMemoryKiB(_ pid: Int32) -> Int? {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return nil }
        for line in text.split(separator: "\n") where line.hasPrefix("VmRSS:") {
            return Int(line.split(separator: " ").dropFirst().first ?? "")
        }
        return nil
    }
}

public func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafeMutablePointer<CChar>?>) -> R) -> R {
    var pointers: [UnsafeMutablePointer<CChar>?] = strings.map { strdup($0) }
    pointers.append(nil)
    defer { for pointer in pointers { free(pointer) } }
    return pointers.withUnsafeBufferPointer { body($0.baseAddress!) }
}
