import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// A command the learner typed on the screen's command line, run as typed by bash with the tutorial's environment.
/// Its output goes to a file in the state folder that is read as it grows (no pipe to fill up), and it runs in a
/// session of its own, so Ctrl-C reaches it alone and never the tutorial.
public final class CommandRun: @unchecked Sendable {
    public let line: String
    public let started: Date
    let pid: pid_t
    let outputFile: String
    private let lock = NSLock()
    private var _lines: [String] = []
    private var partial = ""
    private var offset: UInt64 = 0
    private var _ended: (status: Int32, seconds: Double)?
    /// The pane keeps this many lines; older ones are dropped (the whole output stays in the file until the next run).
    static let keptLines = 5000

    init(line: String, pid: pid_t, outputFile: String) {
        self.line = line
        self.pid = pid
        self.outputFile = outputFile
        self.started = Date()
    }

    public var lines: [String] { lock.withLock { _lines } }
    /// The exit status (128 + signal when a signal ended it, as shells say it) and how long it ran; nil while running.
    public var ended: (status: Int32, seconds: Double)? { lock.withLock { _ended } }

    /// Ctrl-C: SIGINT to the command's whole process group, as a terminal sends it.
    public func interrupt() {
        guard ended == nil else { return }
        kill(-pid, SIGINT)
    }

    /// The tutorial is quitting: the whole group goes, also what ignores Ctrl-C, and is reaped.
    public func stop() {
        guard ended == nil else { return }
        kill(-pid, SIGKILL)
        var status: Int32 = 0
        _ = waitpid(pid, &status, 0)
    }

    /// Reads what the command wrote since the last look and reaps it once it exits. Returns true while it runs.
    @discardableResult
    public func poll() -> Bool {
        var status: Int32 = 0
        let reaped = lock.withLock { _ended == nil } ? waitpid(pid, &status, WNOHANG) == pid : false
        readNewOutput(final: reaped)
        if reaped {
            let code: Int32 = status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
            lock.withLock { _ended = (code, Date().timeIntervalSince(started)) }
        }
        return lock.withLock { _ended == nil }
    }

    private func readNewOutput(final: Bool) {
        guard let handle = FileHandle(forReadingAtPath: outputFile) else { return }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = (try? handle.readToEnd()) ?? Data()
        lock.withLock {
            offset += UInt64(data.count)
            var text = partial + String(decoding: data, as: UTF8.self)
            partial = ""
            if !final, let lastNewline = text.lastIndex(of: "\n") {
                partial = String(text[text.index(after: lastNewline)...])
                text = String(text[..<lastNewline])
            } else if !final {
                partial = text
                return
            }
            guard !text.isEmpty else { return }
            // A carriage return redraws a line in a terminal: keep what was drawn last.
            _lines += text.split(separator: "\n", omittingEmptySubsequences: false)
                .map { line in String(line.split(separator: "\r", omittingEmptySubsequences: false).last ?? "") }
            if text.hasSuffix("\n") { _lines.removeLast() }
            if _lines.count > Self.keptLines { _lines.removeFirst(_lines.count - Self.keptLines) }
        }
    }
}

public enum LearnerCommand {
    /// bash when it is there (the learner types bash), else the POSIX shell.
    static var shell: String { FileManager.default.isExecutableFile(atPath: "/bin/bash") ? "/bin/bash" : "/bin/sh" }

    /// The tutorial's environment for the learner's commands (see ToolEnvironment). HOME is the state folder's
    /// kubectl home, as for the steps' own kubectl: a kubectl older than KUBECACHEDIR (v1.20's) writes its cache there,
    /// not into ~/.kube.
    public static func environment(_ context: EngineContext) -> [String: String] {
        var base = ProcessInfo.processInfo.environment.merging(ComponentPlanner.safetyEnvironment) { $1 }
        base["HOME"] = context.kubectlEnvironment["HOME"]
        return ToolEnvironment(layout: context.layout, binDir: context.binDir).applied(to: base)
    }

    /// Starts `line` with its output streamed into a file under the state folder's run/ directory.
    public static func start(_ line: String, context: EngineContext) throws -> CommandRun {
        let outputFile = context.layout.run + "/command-line.out"
        try FileManager.default.createDirectory(atPath: context.layout.run, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: outputFile, contents: nil)
        let home = context.kubectlEnvironment["HOME"] ?? context.layout.root
        try FileManager.default.createDirectory(atPath: home, withIntermediateDirectories: true)
        var pid: pid_t = 0
        let error = DetachedProcess.spawn(shell, ["-c", line], environment: environment(context), logFile: outputFile,
                                          directory: FileManager.default.currentDirectoryPath, pid: &pid)
        guard error == 0 else { throw ShellError.cannotStart(shell, String(cString: strerror(error))) }
        return CommandRun(line: line, pid: pid, outputFile: outputFile)
    }

    /// Runs `argv` in the real terminal, in kubescratch's own process group so it gets the keyboard and Ctrl-C
    /// (kubescratch ignores SIGINT meanwhile), with every signal back at its default. Returns the exit status
    /// (128 + signal) once it ends; waits off the caller's thread.
    public static func runInTerminal(_ argv: [String], environment: [String: String]) async -> Int32 {
        var attributes = DetachedProcess.signalsReset(newSession: false)
        defer { posix_spawnattr_destroy(&attributes) }
        var pid: pid_t = 0
        let executable = argv[0]
        let spawned = withCStrings(argv) { argvPointers in
            withCStrings(environment.map { "\($0.key)=\($0.value)" }.sorted()) { envPointers in
                posix_spawnp(&pid, executable, nil, &attributes, argvPointers, envPointers)
            }
        }
        guard spawned == 0 else { return 127 }
        return await Task.detached {
            var status: Int32 = 0
            while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
            return status & 0x7f == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        }.value
    }

    /// The learner's line in the terminal, through the same shell as a streamed one.
    public static func runLineInTerminal(_ line: String, context: EngineContext) async -> Int32 {
        await runInTerminal([shell, "-c", line], environment: environment(context))
    }

    /// `!`: the learner's own shell, with the tutorial's environment.
    public static func runShell(context: EngineContext) async -> Int32 {
        let login = ProcessInfo.processInfo.environment["SHELL"].flatMap { FileManager.default.isExecutableFile(atPath: $0) ? $0 : nil }
        var environment = environment(context)
        // Your own shell keeps your HOME (its rc files, its history); KUBECACHEDIR keeps a current kubectl's cache out of it.
        environment["HOME"] = ProcessInfo.processInfo.environment["HOME"]
        return await runInTerminal([login ?? shell], environment: environment)
    }
}
