import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct SetupCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "setup",
        abstract: "Get a Kubernetes release and its companions (download and verify, or build from source) and install them in one folder.",
        discussion: """
            Fetches kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet and kubectl from dl.k8s.io, \
            and etcd, containerd, runc, the CNI plugins and crictl from their GitHub releases, each checked against its \
            published checksum before it is installed. Interrupted downloads resume. Without network: --from DIR takes the \
            same files from a folder. The release is pinned after the first run, so later runs install the same one.

            When the release hosts cannot be reached (the name does not resolve, the connection is refused or times out) \
            and this machine is Debian 12, setup builds Kubernetes v1.20.2 from Debian's `kubernetes` source package instead \
            (about 8 minutes on 2 cores, once: the result and the Go build cache stay in the cache), with etcd, containerd, \
            runc and the CNI plugins from Debian's packages. --source debian chooses that build; --source release refuses it.
            """
    )

    @Option(name: .long, help: ArgumentHelp("Where the binaries come from: auto (the release hosts, else this distribution's source), release (the release hosts, --mirror or --from only), debian (build from Debian 12's source package).", valueName: "SOURCE"))
    var source: BinarySource = .auto

    @Option(name: .long, help: ArgumentHelp("The Kubernetes release (default: the current stable, pinned after the first run).", valueName: "vX.Y.Z"))
    var kubernetes: String?

    @Option(name: .long, parsing: .singleValue, help: ArgumentHelp("Fetch only these (repeatable): kubernetes, etcd, containerd, runc, cni, crictl.", valueName: "GROUP"))
    var only: [String] = []

    @Option(name: .long, help: ArgumentHelp("The download cache (default: $XDG_CACHE_HOME/kubescratch or ~/.cache/kubescratch).", valueName: "DIR"))
    var cache: String?

    @Option(name: .long, help: ArgumentHelp("Where to install the binaries (default: <cache>/bin/<release>).", valueName: "DIR"))
    var binDir: String?

    @Option(name: .long, help: ArgumentHelp("A mirror with the official layout (<mirror>/dl.k8s.io/…, <mirror>/github.com/…, <mirror>/raw.githubusercontent.com/… for kubeadm's etcd pin). Also KUBESCRATCH_MIRROR.", valueName: "URL"))
    var mirror: String?

    @Option(name: .long, help: ArgumentHelp("Take the files from this folder instead of downloading them (checked against a <file>.sha256, <file>.sha256sum, runc.sha256sum or SHA256SUMS beside them). Needs --kubernetes.", valueName: "DIR"))
    var from: String?

    @Option(name: .long, help: ArgumentHelp("etcd release (default: the one kubeadm pins for the Kubernetes release).", valueName: "vX.Y.Z"))
    var etcd: String?

    @Option(name: .long, help: ArgumentHelp("containerd release.", valueName: "vX.Y.Z"))
    var containerd: String?

    @Option(name: .long, help: ArgumentHelp("runc release.", valueName: "vX.Y.Z"))
    var runc: String?

    @Option(name: .long, help: ArgumentHelp("CNI plugins release.", valueName: "vX.Y.Z"))
    var cni: String?

    @Option(name: .long, help: ArgumentHelp("crictl release (default: vX.Y.0 of the Kubernetes minor).", valueName: "vX.Y.Z"))
    var crictl: String?

    func validate() throws {
        for (flag, value) in [("kubernetes", kubernetes)] + companionFlags {
            if let value, KubernetesVersion(parsing: value) == nil { throw ValidationError("--\(flag) must look like v1.2.3, not \(value)") }
        }
        for group in only where Artifact.Group(rawValue: group) == nil {
            throw ValidationError("unknown --only \(group); expected one of \(Artifact.Group.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let from, !FileManager.default.fileExists(atPath: from) { throw ValidationError("--from \(from) does not exist") }
        if source == .debian, mirror != nil || from != nil { throw ValidationError("--source debian builds from source; it takes no --mirror or --from") }
    }

    static var defaultCache: String { StateLayout.defaultCache(environment: ProcessInfo.processInfo.environment) }

    /// Each companion's flag and its value.
    var companionFlags: [(String, String?)] {
        [("etcd", etcd), ("containerd", containerd), ("runc", runc), ("cni", cni), ("crictl", crictl)]
    }

    func run() async throws {
        var request = SetupRequest(cache: cache ?? Self.defaultCache)
        request.source = source
        request.kubernetes = kubernetes.flatMap(KubernetesVersion.init(parsing:))
        request.only = Set(only.compactMap(Artifact.Group.init(rawValue:)))
        request.binDir = binDir
        request.mirror = (mirror ?? ProcessInfo.processInfo.environment["KUBESCRATCH_MIRROR"]).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        request.from = from
        let version = { (text: String?) in text.flatMap(KubernetesVersion.init(parsing:)) }
        request.companions.etcd = version(etcd)
        request.companions.containerd = version(containerd)
        request.companions.runc = version(runc)
        request.companions.cni = version(cni)
        request.companions.crictl = version(crictl)
        let progressLine = ProgressLine(enabled: isatty(1) == 1)
        let display = SourceBuildDisplay(enabled: isatty(1) == 1)
        let output = SetupOutput(say: { say($0) }, progress: progressLine.show, build: display.show,
                                 clear: { progressLine.finish(); display.finish() }, requireRoot: { try Setup.requireRoot($0) })
        do {
            let setup = SetupRun(request, output: output)
            try await Interrupts.cancellingOnCtrlC { [self] in finished(bin: try await setup.run()) }
        } catch is CancellationError {
            say("setup interrupted. What was finished is kept in the cache: run setup again to go on from there.")
            throw ExitCode(130)
        } catch let failure as SetupFailure {
            throw UserFacingError(failure.description)
        }
    }

    func finished(bin: String) {
        // Later commands find setup's folder by themselves when they read the same cache (root's).
        let found = binDir == nil && self.cache == nil && getuid() == 0
        let flag = found ? "" : " --bin-dir \(bin)"
        say("installed in \(bin). Next: kubescratch doctor\(flag), then kubescratch\(flag)")
        if getuid() != 0 {
            say("note: these files belong to you, and kubescratch runs them as root; `kubescratch setup` run as root keeps them root's")
        }
    }
}

/// A source build's phases: a line each as it starts and ends; on a terminal, a line that ticks with the time spent.
final class SourceBuildDisplay: @unchecked Sendable {
    let enabled: Bool
    let lock = NSLock()
    var ticker: Task<Void, Never>?

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ event: SourceBuildEvent) {
        finish()
        switch event {
        case .note(let text):
            say("· \(text)")
        case .reused(_, let why):
            say("· \(why)")
        case .started(let phase, let index, let count, let left):
            let line = "· [\(index)/\(count)] \(phase)… (about \(Self.duration(left)) left in all)"
            guard enabled else { return say(line) }
            let started = Date()
            ticker = Task {
                while !Task.isCancelled {
                    FileHandle.standardOutput.write(Data("\r\u{1B}[2K\(line) \(Self.duration(Date().timeIntervalSince(started)))".utf8))
                    try? await Task.sleep(for: .seconds(1))
                }
            }
        case .finished(let phase, let seconds):
            say("· \(phase): done in \(Self.duration(seconds))")
        }
    }

    func finish() {
        lock.withLock {
            guard let ticker else { return }
            ticker.cancel()
            self.ticker = nil
            FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8))
        }
    }

    static func duration(_ seconds: Double) -> String {
        seconds < 90 ? "\(Int(seconds.rounded())) s" : "\(Int(seconds / 60)) min \(Int(seconds.truncatingRemainder(dividingBy: 60))) s"
    }
}

/// A progress bar on a terminal (bytes, rate, time left over the files coming in side by side), nothing
/// elsewhere (the per-file lines suffice there).
final class ProgressLine: @unchecked Sendable {
    let enabled: Bool
    let lock = NSLock()
    var shown = false
    var files: [String: Downloader.Progress] = [:]

    init(enabled: Bool) { self.enabled = enabled }

    func show(_ progress: Downloader.Progress) {
        guard enabled else { return }
        lock.withLock {
            files[progress.file] = progress
            let active = files.values.filter { file in file.total.map { file.bytes < $0 } ?? true }
            guard !active.isEmpty else { return }
            let bytes = active.reduce(0) { $0 + $1.bytes }
            let rate = active.reduce(0) { $0 + $1.bytesPerSecond }
            let names = active.count == 1 ? active[0].file : "\(active.count) files"
            var text = String(format: "  %@  %.1f MiB", names as NSString, Double(bytes) / 1_048_576)
            if active.allSatisfy({ $0.total != nil }) {
                let total = active.reduce(0) { $0 + ($1.total ?? 0) }
                let fraction = total > 0 ? min(1, Double(bytes) / Double(total)) : 0
                let bar = String(repeating: "█", count: Int(fraction * 20)) + String(repeating: "░", count: 20 - Int(fraction * 20))
                let left = rate > 0 ? Double(total - bytes) / rate : 0
                text += String(format: " / %.1f MiB %@ %.1f MiB/s, %.0f s left", Double(total) / 1_048_576, bar, rate / 1_048_576, left)
            } else {
                text += String(format: ", %.1f MiB/s", rate / 1_048_576)
            }
            FileHandle.standardOutput.write(Data("\r\u{1B}[2K\(text)".utf8))
            shown = true
        }
    }

    func finish() {
        lock.withLock {
            if shown { FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8)) }
            shown = false
        }
    }
}
