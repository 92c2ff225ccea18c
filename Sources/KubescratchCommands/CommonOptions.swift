import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

/// The state folder, for the commands that only look at the node or remove it.
struct StateOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("The state folder (default /var/lib/kubescratch, or KUBESCRATCH_STATE_DIR).", valueName: "DIR"))
    var stateDir: String?

    var layout: StateLayout { Self.layout(stateDir) }

    /// --state-dir, else KUBESCRATCH_STATE_DIR, else /var/lib/kubescratch.
    static func layout(_ stateDir: String?) -> StateLayout {
        StateLayout(root: stateDir ?? ProcessInfo.processInfo.environment["KUBESCRATCH_STATE_DIR"] ?? StateLayout.defaultRoot)
    }
}

/// Options every command that touches the node shares.
struct NodeOptions: ParsableArguments {
    @Option(name: .long, help: ArgumentHelp("Folder with the Kubernetes binaries (kubelet, kube-apiserver, …, kubectl). Also KUBESCRATCH_BIN_DIR. Programs not found there are looked up in PATH.", valueName: "DIR"))
    var binDir: String?

    @Option(name: .long, help: ArgumentHelp("Where kubescratch keeps everything it creates. Also KUBESCRATCH_STATE_DIR.", valueName: "DIR"))
    var stateDir: String?

    @Option(name: .long, help: ArgumentHelp("This machine's address for the node (default: the address of the default route's interface).", valueName: "IP"))
    var nodeIP: String?

    @Option(name: .long, help: ArgumentHelp("Folder of lesson files (default: lessons/ beside the program). Also KUBESCRATCH_LESSONS.", valueName: "DIR"))
    var lessons: String?

    @Flag(name: .long, help: "Never use a registry: build the pause and web images here from busybox (the default).")
    var offline = false

    @Option(name: .long, help: ArgumentHelp("Where pod images come from: local (built here from busybox, no network) or registry (pause from registry.k8s.io, a pinned nginx).", valueName: "SOURCE"))
    var images: ImageSource?

    /// These options as command-line words, to hand them to another command.
    var arguments: [String] {
        var words: [String] = []
        if let binDir { words += ["--bin-dir", binDir] }
        if let stateDir { words += ["--state-dir", stateDir] }
        if let nodeIP { words += ["--node-ip", nodeIP] }
        if let lessons { words += ["--lessons", lessons] }
        if offline { words.append("--offline") }
        if let images { words += ["--images", images.rawValue] }
        return words
    }

    var layout: StateLayout { StateOptions.layout(stateDir) }

    func validate() throws {
        if let nodeIP, !ipv4(nodeIP, isIn: "0.0.0.0/0") {
            throw ValidationError("--node-ip must be an IPv4 address, not '\(nodeIP)'")
        }
        if offline, images == .registry {
            throw ValidationError("--offline and --images registry contradict each other")
        }
        if let binDir, !FileManager.default.fileExists(atPath: binDir) {
            throw ValidationError("--bin-dir \(binDir) does not exist")
        }
    }
}

/// An error the user can act on: printed as it is, exit status 1.
struct UserFacingError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ImageSource: ExpressibleByArgument {}
extension BinarySource: ExpressibleByArgument {}

enum Setup {
    /// Root, or the same command again through sudo when this user has it (the README's commands are written without
    /// sudo, so they work as written from a root shell and from a user account); else how to run it as root.
    static func requireRoot(_ what: String) throws {
        guard geteuid() != 0 else { return }
        let why = "it starts containerd and the kubelet, which create network devices, mounts and iptables rules"
        if let sudo = Shell().which("sudo"), let program = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            FileHandle.standardError.write(Data("kubescratch \(what) needs root (\(why)): running it with sudo\n".utf8))
            // sudo resets the environment: our own variables and the terminal's (locale, colours) go on through env.
            let terminal: Set<String> = ["LANG", "LC_ALL", "LC_CTYPE", "TERM", "COLORTERM", "NO_COLOR", "SHELL"]
            let ours = ProcessInfo.processInfo.environment.filter { $0.key.hasPrefix("KUBESCRATCH_") || terminal.contains($0.key) }
                .map { "\($0.key)=\($0.value)" }.sorted()
            let argv = [sudo, "--", "/usr/bin/env"] + ours + [program] + CommandLine.arguments.dropFirst()
            withCStrings(argv) { pointers in _ = execv(sudo, pointers) }
        }
        throw UserFacingError("""
            kubescratch \(what) must run as root: \(why). This user has no sudo: run it from a root shell (su -), \
            as `kubescratch \(CommandLine.arguments.dropFirst().joined(separator: " "))`.
            """)
    }

    /// A folder shipped with kubescratch (lessons/, assets/): the flag or variable, else beside the program or
    /// one of its parent folders (a build tree), else the current folder, else /usr/local/share/kubescratch.
    static func locate(_ name: String, explicit: String?, variable: String) throws -> String {
        if let explicit { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment[variable] { return fromEnvironment }
        var candidates: [String] = []
        var folder = (Bundle.main.executablePath.map { ($0 as NSString).resolvingSymlinksInPath } ?? CommandLine.arguments[0])
        for _ in 0..<6 {
            folder = (folder as NSString).deletingLastPathComponent
            candidates.append("\(folder)/\(name)")
            candidates.append("\(folder)/share/kubescratch/\(name)")
        }
        candidates.append(FileManager.default.currentDirectoryPath + "/\(name)")
        candidates.append("/usr/local/share/kubescratch/\(name)")
        if let found = candidates.first(where: { FileManager.default.fileExists(atPath: $0) }) { return found }
        throw ValidationError("cannot find the \(name)/ folder; give it with \(variable)=DIR")
    }

    /// Resolves binaries, node facts and folders: everything the engine needs.
    static func context(_ options: NodeOptions, previous: TutorialProgress?, binDir: String?) async throws -> EngineContext {
        let layout = options.layout
        let shell = Shell()
        let binaries = BinaryResolver.resolve(binDir: binDir, shell: shell)
        let missing = BinaryResolver.missing(binaries)
        guard missing.isEmpty else {
            throw UserFacingError("""
                missing programs: \(missing.joined(separator: ", ")).
                Give the folder of the Kubernetes binaries with --bin-dir DIR (or KUBESCRATCH_BIN_DIR); containerd, runc, \
                etcd and the CNI plugins may also come from your distribution (Debian: apt-get install containerd runc \
                etcd-server containernetworking-plugins).
                """)
        }
        let facts = try await HostFacts.gather(binaries: binaries, shell: shell, nodeIP: options.nodeIP ?? previous?.facts.nodeIP)
        let imageSource: ImageSource = options.offline ? .local : (options.images ?? previous?.images ?? .local)
        return EngineContext(layout: layout, facts: facts, binaries: binaries, imageSource: imageSource,
                             assetsDir: try locate("assets", explicit: nil, variable: "KUBESCRATCH_ASSETS"), binDir: binDir)
    }

    /// Everything a tutorial command needs, after the same checks as `kubescratch doctor` (stopping on a FAIL):
    /// lessons, the node's context, the engine, and the session driver that all engine events reach.
    static func driver(_ node: NodeOptions, alsoTelling listener: ((EngineEvent) -> Void)? = nil) async throws -> SessionDriver {
        try NodeLock.acquire(root: node.layout.root)
        let book = try Setup.book(node)
        let previous = loadProgress(node.layout)
        let binDir = binDir(node.binDir, previous: previous)
        try requireKubernetesBinaries(binDir: binDir)
        let failing = await DoctorCommand.check(layout: node.layout, binDir: binDir).filter { $0.status == .fail }
        guard failing.isEmpty else {
            throw UserFacingError("this machine is not ready (see `kubescratch doctor`):\n" + DoctorCommand.format(failing))
        }
        let context = try await Setup.context(node, previous: previous, binDir: binDir)
        let relay = EventRelay()
        let engine = Engine(context: context) { relay.forward($0) }
        let driver = SessionDriver(tutorial: Tutorial(book: book, engine: engine))
        relay.listeners = (listener.map { [$0] } ?? []) + [driver.observe]
        return driver
    }

    /// Someone who skipped setup gets one screen that says what to run, not a list of missing programs.
    static func requireKubernetesBinaries(binDir: String?) throws {
        let binaries = BinaryResolver.resolve(binDir: binDir, shell: Shell())
        // kubectl alone is common (a distribution's client); the server binaries say whether setup ran.
        let kubernetes = ReleaseArtifacts.kubernetesBinaries.filter { $0 != "kubectl" }
        guard kubernetes.allSatisfy({ binaries.programs[$0] == nil }) else { return }
        throw UserFacingError("""
            kubescratch has no Kubernetes binaries yet: no \(kubernetes.joined(separator: ", ")) \
            \(binDir.map { "in \($0) or " } ?? "")in PATH.

            Get them with one command, then start again:

                kubescratch setup             the current release, checked against its published checksums
                                              (offline on Debian 12: builds v1.20.2 from Debian's source package)
                kubescratch

            Other ways: `setup --mirror URL` (a mirror of the release hosts), `setup --from DIR` (files you copied here),
            `setup --source debian` (build from source), or your own build with `kubescratch --bin-dir DIR`.
            `kubescratch doctor` says what else this machine needs.
            """)
    }

    /// Where the binaries are: --bin-dir, else KUBESCRATCH_BIN_DIR, else the folder the current node was
    /// started with (a resumed cluster keeps its binaries), else the one `kubescratch setup` installed last.
    static func binDir(_ explicit: String?, previous: TutorialProgress?) -> String? {
        explicit ?? ProcessInfo.processInfo.environment["KUBESCRATCH_BIN_DIR"] ?? previous?.binDir ?? installedBinDir
    }

    /// The folder `kubescratch setup` installed into last, if any.
    static var installedBinDir: String? {
        (try? String(contentsOfFile: SetupCommand.defaultCache + "/current-bin-dir", encoding: .utf8))
            .map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }
    }

    /// The node as the last run left it, and a context to look at it (or send it a request) with: for commands that
    /// change nothing of it. The binaries are the ones it was started with.
    static func existingNode(_ layout: StateLayout) throws -> (progress: TutorialProgress, context: EngineContext) {
        guard let progress = loadProgress(layout) else {
            throw UserFacingError("there is no node yet (nothing in \(layout.root)): start one with `kubescratch run`.")
        }
        let binaries = BinaryResolver.resolve(binDir: progress.binDir, shell: Shell())
        return (progress, EngineContext(layout: layout, facts: progress.facts, binaries: binaries, imageSource: progress.images,
                                        assetsDir: "", binDir: progress.binDir))
    }

    static func loadProgress(_ layout: StateLayout) -> TutorialProgress? {
        guard let data = FileManager.default.contents(atPath: layout.progressFile) else { return nil }
        return try? JSONDecoder().decode(TutorialProgress.self, from: data)
    }

    static func book(_ options: NodeOptions) throws -> LessonBook {
        let folder = try locate("lessons", explicit: options.lessons, variable: "KUBESCRATCH_LESSONS")
        let assets = try? locate("assets", explicit: nil, variable: "KUBESCRATCH_ASSETS")
        do {
            return try LessonBook.load(folder: folder, assetsDir: assets)
        } catch let error as LessonBookError {
            throw UserFacingError("the lessons in \(folder) have errors:\n\(error)")
        }
    }
}
