import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// Starts programs in a session of their own, stdin closed and output appended to a log file: Ctrl-C in our
/// terminal does not reach them, and their whole process group can be signalled at once.
enum DetachedProcess {
    /// Spawn attributes that undo kubescratch's own signal handling in the child: no signal blocked, every one at
    /// its default (SIGINT is ignored here while the screen or a run handles Ctrl-C, and an ignored signal would
    /// stay ignored across exec). `newSession`: a session of its own, out of reach of our terminal's Ctrl-C.
    /// The caller destroys it.
    static func signalsReset(newSession: Bool) -> posix_spawnattr_t {
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        posix_spawnattr_setflags(&attributes, Int16((newSession ? posixSpawnSetSID : 0) | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF))
        var emptyMask = sigset_t()
        sigemptyset(&emptyMask)
        posix_spawnattr_setsigmask(&attributes, &emptyMask)
        var defaults = sigset_t()
        sigfillset(&defaults)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        return attributes
    }

    /// glibc 2.29+'s posix_spawn_file_actions_addchdir_np, which Swift's Glibc module does not import.
    typealias AddChdir = @convention(c) (UnsafeMutablePointer<posix_spawn_file_actions_t>, UnsafePointer<CChar>) -> Int32
    static let addChdir: AddChdir? = dlsym(nil, "posix_spawn_file_actions_addchdir_np").map { unsafeBitCast($0, to: AddChdir.self) }

    /// posix_spawn's error code (0 on success).
    static func spawn(_ executable: String, _ arguments: [String], environment: [String: String], logFile: String,
                      directory: String? = nil, pid: inout pid_t) -> Int32 {
        var attributes = signalsReset(newSession: true)
        defer { posix_spawnattr_destroy(&attributes) }

        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        if let directory, let addChdir = Self.addChdir { _ = addChdir(&actions, directory) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, logFile, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)

        let argv = [executable] + arguments
        let environment = environment.map { "\($0.key)=\($0.value)" }.sorted()
        if directory != nil, addChdir == nil { return ENOSYS }
        return withCStrings(argv) { argvPointers in
            withCStrings(environment) { envPointers in
                posix_spawn(&pid, executable, &actions, &attributes, argvPointers, envPointers)
            }
        }
    }
}

public enum LoggedCommandError: Error, CustomStringConvertible, Equatable {
    case cannotStart(String, String)
    case failed(String, status: Int32, log: String)

    /// apt failed: most often its archive cannot be reached.
    public var isApt: Bool {
        switch self {
        case .cannotStart(let program, _): program == "apt-get"
        case .failed(let command, _, _): command.hasPrefix("apt-get ")
        }
    }

    public var description: String {
        switch self {
        case .cannotStart(let program, let why): "cannot run \(program): \(why)"
        case .failed(let command, let status, let log): "`\(command)` failed (exit status \(status)); its output is in \(log)"
        }
    }
}

/// Long work (apt, tar, a compiler) whose output goes to a log file. Cancelling the task stops the whole process
/// group within a second and throws CancellationError; nothing keeps running behind the user's back.
public enum LoggedCommand {
    public static func run(_ command: PlannedCommand, log: String, shell: Shell = Shell()) async throws {
        let executable: String
        if command.program.hasPrefix("/") {
            executable = command.program
        } else if command.program.contains("/") {
            executable = (command.directory ?? FileManager.default.currentDirectoryPath) + "/" + command.program
        } else {
            guard let found = shell.which(command.program) else { throw LoggedCommandError.cannotStart(command.program, "not found in PATH") }
            executable = found
        }
        try FileManager.default.createDirectory(atPath: (log as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        if let handle = FileHandle(forWritingAtPath: log) ?? {
            FileManager.default.createFile(atPath: log, contents: nil)
            return FileHandle(forWritingAtPath: log)
        }() {
            handle.seekToEndOfFile()
            handle.write(Data("\n==== \(Date()) \(command.shellText)\n".utf8))
            try? handle.close()
        }
        var environment = shell.environment
        for (key, value) in command.environment { environment[key] = value }
        var pid: pid_t = 0
        let code = DetachedProcess.spawn(executable, command.arguments, environment: environment, logFile: log,
                                         directory: command.directory, pid: &pid)
        guard code == 0 else { throw LoggedCommandError.cannotStart(command.program, String(cString: strerror(code))) }
        var status: Int32 = 0
        while waitpid(pid, &status, WNOHANG) == 0 {
            if Task.isCancelled {
                kill(-pid, SIGTERM)
                for _ in 0..<10 where waitpid(pid, &status, WNOHANG) == 0 { usleep(50_000) }
                kill(-pid, SIGKILL)
                _ = waitpid(pid, &status, 0)
                throw CancellationError()
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        let exited = status & 0x7f == 0
        let exitStatus = exited ? (status >> 8) & 0xff : 128 + (status & 0x7f)
        guard exitStatus == 0 else { throw LoggedCommandError.failed(command.shellText, status: exitStatus, log: log) }
    }
}
