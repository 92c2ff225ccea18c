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
        for (flag, value, _) in [("kubernetes", kubernetes, \ReleaseVersions.kubernetes)] + companionFlags {
            if let value, KubernetesVersion(parsing: value) == nil { throw ValidationError("--\(flag) must look like v1.2.3, not \(value)") }
        }
        for group in only where Artifact.Group(rawValue: group) == nil {
            throw ValidationError("unknown --only \(group); expected one of \(Artifact.Group.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if let from, !FileManager.default.fileExists(atPath: from) { throw ValidationError("--from \(from) does not exist") }
        if source == .debian, mirror != nil || from != nil { throw ValidationError("--source debian builds from source; it takes no --mirror or --from") }
    }

    static var defaultCache: String { StateLayout.defaultCache(environment: ProcessInfo.processInfo.environment) }

    /// Each companion's flag, its value, and the version it sets.
    var companionFlags: [(String, String?, WritableKeyPath<ReleaseVersions, KubernetesVersion>)] {
        [("etcd", etcd, \.etcd), ("containerd", containerd, \.containerd), ("runc", runc, \.runc), ("cni", cni, \.cni), ("crictl", crictl, \.crictl)]
    }

    func overrides(_ versions: inout ReleaseVersions) {
        for (_, value, keyPath) in companionFlags {
            if let version = value.flatMap(KubernetesVersion.init(parsing:)) { versions[keyPath: keyPath] = version }
        }
    }

    func run() async throws {
        do {
            try await Interrupts.cancellingOnCtrlC { try await self.setUp() }
        } catch is CancellationError {
            say("setup interrupted. What was finished is kept in the cache: run setup again to go on from there.")
            throw ExitCode(130)
        }
    }

    func setUp() async throws {
        let cache = self.cache ?? Self.defaultCache
        let mirror = (self.mirror ?? ProcessInfo.processInfo.environment["KUBESCRATCH_MIRROR"]).map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        do {
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        } catch {
            throw Self.explained(error, cache: cache)
        }
        // Two setups on one cache would write the same part files.
        let lock = open(cache + "/.lock", O_CREAT | O_RDWR, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            throw UserFacingError("another kubescratch setup is using \(cache); wait for it to finish (or choose --cache DIR)")
        }
        defer { close(lock) }
        let distribution = DistributionSource.forHost(osRelease: (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? "")
        let requested = kubernetes.flatMap(KubernetesVersion.init(parsing:))
        let free = source == .auto && mirror == nil && from == nil
        if source == .debian || (free && requested == nil && pinnedSource(cache) != nil) {
            return try await buildFromSource(DistributionSource.debianBookworm, host: distribution, cache: cache, requested: requested)
        }
        // Decided in a few seconds, before anything else: the downloads would retry for half a minute.
        if mirror == nil, from == nil, !FileManager.default.fileExists(atPath: cache + "/pinned-release"),
           case .unreachable(let why) = await Reachability.check(host: "dl.k8s.io", port: 443) {
            guard let fallback = SetupRoute.fallback(after: .unreachable, source: source, mirrorOrFolder: false, requested: requested, available: distribution) else {
                throw UserFacingError(SetupRoute.noWayMessage(why, available: distribution, requested: requested))
            }
            announceFallback(fallback, why: why, cache: cache)
            return try await buildFromSource(fallback, host: distribution, cache: cache, requested: requested)
        }
        // Created after everything that can throw before the do/catch below, which shuts it down on every path.
        let downloader = Downloader()
        let progressLine = ProgressLine(enabled: isatty(1) == 1)
        let tell: @Sendable (String) -> Void = { line in progressLine.finish(); say("· \(line)") }
        let installer = ReleaseInstaller(cache: cache, mirror: mirror, from: from, say: tell, progress: progressLine.show)
        do {
            let bin = try await install(with: installer, cache: cache, mirror: mirror, downloader: downloader)
            progressLine.finish()
            await downloader.shutdown()
            try? FileManager.default.removeItem(atPath: cache + "/pinned-source")
            finished(bin: bin)
        } catch {
            progressLine.finish()
            await downloader.shutdown()
            if case DownloadError.unreachable(let url, let why) = error {
                let host = URL(string: url)?.host ?? url
                if let fallback = SetupRoute.fallback(after: .unreachable, source: source, mirrorOrFolder: !free, requested: requested, available: distribution) {
                    announceFallback(fallback, why: "\(host): \(why)", cache: cache)
                    return try await buildFromSource(fallback, host: distribution, cache: cache, requested: requested)
                }
                if free { throw UserFacingError(SetupRoute.noWayMessage("\(host): \(why)", available: distribution, requested: requested)) }
            }
            throw Self.explained(error, cache: cache)
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

    func pinnedSource(_ cache: String) -> DistributionSource? {
        (try? String(contentsOfFile: cache + "/pinned-source", encoding: .utf8))
            .flatMap { DistributionSource.named($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func announceFallback(_ source: DistributionSource, why: String, cache: String) {
        say("""
            cannot reach the release hosts (\(why)): building Kubernetes \(source.kubernetes) from \(source.title)'s source package \
            instead, about \(source.typicalMinutes) min on 2 cores, once (kept in \(cache)). To refuse: Ctrl-C, then --mirror URL, \
            --from DIR or --source release.
            """)
    }

    /// `--source debian`, or the fallback: the distribution's source built into the cache, its companions from its
    /// packages, installed into the bin folder like downloaded files.
    func buildFromSource(_ source: DistributionSource, host: DistributionSource?, cache: String, requested: KubernetesVersion?) async throws {
        guard host == source else {
            throw UserFacingError("--source \(source.name) builds on \(source.title) (\(source.codename)) only, and this machine is not: use --mirror URL or --from DIR")
        }
        if let requested, requested != source.kubernetes {
            throw UserFacingError("\(source.title)'s source package holds Kubernetes \(source.kubernetes), not \(requested): drop --kubernetes, or get \(requested) with --mirror URL or --from DIR")
        }
        // It installs packages with apt.
        try Setup.requireRoot("setup --source")
        let plan = SourceBuildPlan(source: source, cache: cache)
        let display = SourceBuildDisplay(enabled: isatty(1) == 1)
        let builder = SourceBuilder(plan: plan, tell: display.show)
        let started = Date()
        let output: String
        do {
            try await builder.installPackages(source.companionPackages.map(\.package),
                                              why: "etcd, containerd, runc and the CNI plugins that pair with \(source.kubernetes)")
            output = try await builder.build()
        } catch let error as LoggedCommandError where error.isApt {
            // No release hosts and no distribution archive either: say every way there is, once.
            display.finish()
            throw UserFacingError(SetupRoute.noWayMessage("\(source.title)'s archive could not be reached either (\(error))",
                                                          available: source, requested: requested))
        } catch let error as SourceBuildError {
            display.finish()
            if case .packages = error { throw UserFacingError(SetupRoute.noWayMessage("\(error)", available: source, requested: requested)) }
            throw UserFacingError(error.description)
        } catch {
            display.finish()
            throw error
        }
        display.finish()
        let bin = binDir ?? "\(cache)/bin/\(source.kubernetes)"
        let installer = ReleaseInstaller(cache: cache, mirror: nil, from: nil, say: { say("· \($0)") }, progress: { _ in })
        try installer.installBuilt(plan.binaries.map { "\(output)/\($0)" }, into: bin)
        try source.name.write(toFile: cache + "/pinned-source", atomically: true, encoding: .utf8)
        try bin.write(toFile: "\(cache)/current-bin-dir", atomically: true, encoding: .utf8)
        say(String(format: "· Kubernetes %@ from %@'s source, ready in %.0f s (the build log: %@)", source.kubernetes.description, source.title,
                   Date().timeIntervalSince(started), plan.log))
        finished(bin: bin)
    }

    func install(with installer: ReleaseInstaller, cache: String, mirror: String?, downloader: Downloader) async throws -> String {
        let versions = try await installer.resolveVersions(kubernetes.flatMap(KubernetesVersion.init(parsing:)), overrides: overrides, etcdGiven: etcd != nil, downloader: downloader)
        let bin = binDir ?? "\(cache)/bin/\(versions.kubernetes)"
        let groups = Set(only.compactMap(Artifact.Group.init(rawValue:)))
        let artifacts = ReleaseArtifacts.list(versions, mirror: mirror).filter { groups.isEmpty || groups.contains($0.group) }
        say("Kubernetes \(versions.kubernetes) with etcd \(versions.etcd), containerd \(versions.containerd), runc \(versions.runc), CNI plugins \(versions.cni), crictl \(versions.crictl), pause \(versions.pause): \(artifacts.count) files")
        let warnings = try await installer.install(artifacts, into: bin, downloader: downloader)
        try installer.pin(versions, binDir: bin)
        // Repeated after the progress lines, where they are seen: an optional file was replaced or left out.
        for warning in warnings { say("warning: \(warning)") }
        try bin.write(toFile: "\(cache)/current-bin-dir", atomically: true, encoding: .utf8)
        return bin
    }

    /// What went wrong, in words that say what to do.
    static func explained(_ error: Error, cache: String) -> Error {
        switch error {
        case let error as DownloadError:
            return UserFacingError(error.description)
        case let error as CocoaError where error.code == .fileWriteNoPermission || error.code == .fileReadNoPermission:
            return UserFacingError("no permission to write \(error.filePath ?? cache): run setup with sudo, or choose --cache DIR and --bin-dir DIR you can write")
        case let error as CocoaError where error.code == .fileWriteOutOfSpace:
            return UserFacingError(DownloadError.diskFull(error.filePath ?? cache).description)
        default:
            return error
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
