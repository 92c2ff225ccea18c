import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// What `kubescratch setup` was asked for.
public struct SetupRequest: Sendable {
    public var source: BinarySource = .auto
    public var kubernetes: KubernetesVersion?
    /// Only these groups (kubernetes, etcd, …); empty: all.
    public var only: Set<Artifact.Group> = []
    public var cache: String
    public var binDir: String?
    public var mirror: String?
    public var from: String?
    /// Companion versions given on the command line.
    public var companions = CompanionVersions()

    public init(cache: String) { self.cache = cache }
}

/// The companions' versions asked for instead of the pairing's (`--etcd`, `--containerd`, …).
public struct CompanionVersions: Sendable {
    public var etcd, containerd, runc, cni, crictl: KubernetesVersion?

    public init() {}

    func apply(to versions: inout ReleaseVersions) {
        if let etcd { versions.etcd = etcd }
        if let containerd { versions.containerd = containerd }
        if let runc { versions.runc = runc }
        if let cni { versions.cni = cni }
        if let crictl { versions.crictl = crictl }
    }
}

/// How setup tells what it does: lines, download progress, a source build's phases.
public struct SetupOutput: Sendable {
    public var say: @Sendable (String) -> Void
    public var progress: @Sendable (Downloader.Progress) -> Void
    public var build: @Sendable (SourceBuildEvent) -> Void
    /// Before anything is said again after progress or a phase was shown.
    public var clear: @Sendable () -> Void
    /// A source build installs packages: the command makes sure it runs as root (again with sudo, where there is one).
    public var requireRoot: @Sendable (String) throws -> Void

    public init(say: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (Downloader.Progress) -> Void,
                build: @escaping @Sendable (SourceBuildEvent) -> Void, clear: @escaping @Sendable () -> Void,
                requireRoot: @escaping @Sendable (String) throws -> Void) {
        self.say = say
        self.progress = progress
        self.build = build
        self.clear = clear
        self.requireRoot = requireRoot
    }
}

/// A setup that cannot go on, in words that say what to do.
public struct SetupFailure: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Setup's whole decision and work: the cache lock, which way the binaries come (the release hosts, a mirror or
/// folder, or this distribution's source when the hosts cannot be reached), and installing them into one folder.
/// `kubescratch setup` only parses its flags and draws the progress.
public struct SetupRun: Sendable {
    public let request: SetupRequest
    public let output: SetupOutput

    public init(_ request: SetupRequest, output: SetupOutput) {
        self.request = request
        self.output = output
    }

    var cache: String { request.cache }
    var say: @Sendable (String) -> Void { output.say }

    /// Installs and returns the folder the binaries are in.
    public func run() async throws -> String {
        do {
            try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        } catch {
            throw Self.explained(error, cache: cache)
        }
        // Two setups on one cache would write the same part files.
        let lock = open(cache + "/.lock", O_CREAT | O_RDWR, 0o600)
        guard lock >= 0, flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            throw SetupFailure("another kubescratch setup is using \(cache); wait for it to finish (or choose --cache DIR)")
        }
        defer { close(lock) }
        let distribution = DistributionSource.forHost(osRelease: (try? String(contentsOfFile: "/etc/os-release", encoding: .utf8)) ?? "")
        let requested = request.kubernetes
        let free = request.source == .auto && request.mirror == nil && request.from == nil
        if request.source == .debian || (free && requested == nil && pinnedSource() != nil) {
            return try await buildFromSource(DistributionSource.debianBookworm, host: distribution)
        }
        // Decided in a few seconds, before anything else: the downloads would retry for half a minute.
        if request.mirror == nil, request.from == nil, !FileManager.default.fileExists(atPath: cache + "/pinned-release"),
           case .unreachable(let why) = await Reachability.check(host: "dl.k8s.io", port: 443) {
            guard let fallback = SetupRoute.fallback(after: .unreachable, source: request.source, mirrorOrFolder: false, requested: requested,
                                                     available: distribution) else {
                throw SetupFailure(SetupRoute.noWayMessage(why, available: distribution, requested: requested))
            }
            announceFallback(fallback, why: why)
            return try await buildFromSource(fallback, host: distribution)
        }
        // Created after everything that can throw before the do/catch below, which shuts it down on every path.
        let downloader = Downloader()
        let tell: @Sendable (String) -> Void = { [output] line in output.clear(); output.say("· \(line)") }
        let installer = ReleaseInstaller(cache: cache, mirror: request.mirror, from: request.from, say: tell, progress: output.progress)
        do {
            let bin = try await install(with: installer, downloader: downloader)
            output.clear()
            await downloader.shutdown()
            try? FileManager.default.removeItem(atPath: cache + "/pinned-source")
            return bin
        } catch {
            output.clear()
            await downloader.shutdown()
            if case DownloadError.unreachable(let url, let why) = error {
                let host = URL(string: url)?.host ?? url
                if let fallback = SetupRoute.fallback(after: .unreachable, source: request.source, mirrorOrFolder: !free, requested: requested,
                                                      available: distribution) {
                    announceFallback(fallback, why: "\(host): \(why)")
                    return try await buildFromSource(fallback, host: distribution)
                }
                if free { throw SetupFailure(SetupRoute.noWayMessage("\(host): \(why)", available: distribution, requested: requested)) }
            }
            throw Self.explained(error, cache: cache)
        }
    }

    func pinnedSource() -> DistributionSource? {
        (try? String(contentsOfFile: cache + "/pinned-source", encoding: .utf8))
            .flatMap { DistributionSource.named($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    func announceFallback(_ source: DistributionSource, why: String) {
        say("""
            cannot reach the release hosts (\(why)): building Kubernetes \(source.kubernetes) from \(source.title)'s source package \
            instead, about \(source.typicalMinutes) min on 2 cores, once (kept in \(cache)). To refuse: Ctrl-C, then --mirror URL, \
            --from DIR or --source release.
            """)
    }

    /// `--source debian`, or the fallback: the distribution's source built into the cache, its companions from its
    /// packages, installed into the bin folder like downloaded files.
    func buildFromSource(_ source: DistributionSource, host: DistributionSource?) async throws -> String {
        let requested = request.kubernetes
        guard host == source else {
            throw SetupFailure("--source \(source.name) builds on \(source.title) (\(source.codename)) only, and this machine is not: use --mirror URL or --from DIR")
        }
        if let requested, requested != source.kubernetes {
            throw SetupFailure("\(source.title)'s source package holds Kubernetes \(source.kubernetes), not \(requested): drop --kubernetes, or get \(requested) with --mirror URL or --from DIR")
        }
        // It installs packages with apt.
        try output.requireRoot("setup --source")
        let plan = SourceBuildPlan(source: source, cache: cache)
        let builder = SourceBuilder(plan: plan, tell: output.build)
        let started = Date()
        let built: String
        do {
            try await builder.installPackages(source.companionPackages.map(\.package),
                                              why: "etcd, containerd, runc and the CNI plugins that pair with \(source.kubernetes)")
            built = try await builder.build()
        } catch let error as LoggedCommandError where error.isApt {
            // No release hosts and no distribution archive either: say every way there is, once.
            output.clear()
            throw SetupFailure(SetupRoute.noWayMessage("\(source.title)'s archive could not be reached either (\(error))", available: source, requested: requested))
        } catch let error as SourceBuildError {
            output.clear()
            if case .packages = error { throw SetupFailure(SetupRoute.noWayMessage("\(error)", available: source, requested: requested)) }
            throw SetupFailure(error.description)
        } catch {
            output.clear()
            throw error
        }
        output.clear()
        let bin = request.binDir ?? "\(cache)/bin/\(source.kubernetes)"
        let installer = ReleaseInstaller(cache: cache, mirror: nil, from: nil, say: { [say] in say("· \($0)") }, progress: { _ in })
        try installer.installBuilt(plan.binaries.map { "\(built)/\($0)" }, into: bin)
        try source.name.write(toFile: cache + "/pinned-source", atomically: true, encoding: .utf8)
        try bin.write(toFile: "\(cache)/current-bin-dir", atomically: true, encoding: .utf8)
        say(String(format: "· Kubernetes %@ from %@'s source, ready in %.0f s (the build log: %@)", source.kubernetes.description, source.title,
                   Date().timeIntervalSince(started), plan.log))
        return bin
    }

    func install(with installer: ReleaseInstaller, downloader: Downloader) async throws -> String {
        let companions = request.companions
        let versions = try await installer.resolveVersions(request.kubernetes, overrides: { companions.apply(to: &$0) },
                                                           etcdGiven: companions.etcd != nil, downloader: downloader)
        let bin = request.binDir ?? "\(cache)/bin/\(versions.kubernetes)"
        let artifacts = ReleaseArtifacts.list(versions, mirror: request.mirror).filter { request.only.isEmpty || request.only.contains($0.group) }
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
            return SetupFailure(error.description)
        case let error as CocoaError where error.code == .fileWriteNoPermission || error.code == .fileReadNoPermission:
            return SetupFailure("no permission to write \(error.filePath ?? cache): run setup with sudo, or choose --cache DIR and --bin-dir DIR you can write")
        case let error as CocoaError where error.code == .fileWriteOutOfSpace:
            return SetupFailure(DownloadError.diskFull(error.filePath ?? cache).description)
        default:
            return error
        }
    }
}
