import Foundation
import Crypto
import KubescratchCore

/// Fetches a release's binaries into a cache (or takes them from a folder), verifies each against its
/// published SHA-256, and installs them into one bin folder for `--bin-dir`.
public struct ReleaseInstaller: Sendable {
    public var cache: String
    public var mirror: String?
    public var from: String?
    let say: @Sendable (String) -> Void
    let progress: @Sendable (Downloader.Progress) -> Void

    public init(cache: String, mirror: String?, from: String?,
                say: @escaping @Sendable (String) -> Void, progress: @escaping @Sendable (Downloader.Progress) -> Void) {
        self.cache = cache
        self.mirror = mirror
        self.from = from
        self.say = say
        self.progress = progress
    }

    var pinFile: String { "\(cache)/pinned-release" }

    /// The release to install: the one given, else the one pinned by an earlier run, else the current stable.
    /// Its companions: as pinned for that release, else etcd as kubeadm pins it for the release and the rest
    /// from our table; `overrides` win over both. `pin` it once installed, so later runs install the same files.
    public func resolveVersions(_ given: KubernetesVersion?, overrides: (inout ReleaseVersions) -> Void = { _ in },
                                etcdGiven: Bool = false, downloader: Downloader) async throws -> ReleaseVersions {
        let pinned = (try? String(contentsOfFile: pinFile, encoding: .utf8)).flatMap(ReleaseVersions.init(pinText:))
        var versions: ReleaseVersions
        if let pinned, given == nil || given == pinned.kubernetes {
            versions = pinned
            say("using \(pinned.kubernetes), pinned by an earlier setup (\(pinFile)); --kubernetes vX.Y.Z picks another")
        } else {
            let kubernetes: KubernetesVersion
            if let given {
                kubernetes = given
            } else {
                guard from == nil else {
                    throw DownloadError.needsVersion(from!)
                }
                let marker = (mirror.map { "\($0)/dl.k8s.io" } ?? "https://dl.k8s.io") + "/release/stable.txt"
                say("asking \(marker) for the current stable release")
                guard let stable = KubernetesVersion(parsing: try await downloader.text(marker)) else { throw DownloadError.noDigest(marker) }
                kubernetes = stable
                say("the current stable release is \(kubernetes) (\(marker))")
            }
            versions = ReleaseVersions.companions(for: kubernetes)
            let row = CompanionMatrix.row(for: kubernetes)
            if let note = CompanionMatrix.substitutionNote(for: kubernetes) { say(note) }
            if from == nil && !etcdGiven {
                let constants = KubeadmConstants.url(for: kubernetes, mirror: mirror)
                say("reading the etcd and pause versions kubeadm pins for \(kubernetes) from \(constants)")
                let source = try? await downloader.text(constants)
                if let etcd = source.flatMap(KubeadmConstants.defaultEtcdVersion(in:)) {
                    versions.etcd = etcd
                    say("etcd \(etcd), as kubeadm \(kubernetes) pins it")
                } else {
                    say("could not read it; the matrix says etcd \(versions.etcd) for \(row.kubernetes.minorRelease)")
                }
                if let pause = source.flatMap(KubeadmConstants.pauseVersion(in:)) {
                    versions.pause = pause
                    say("pause \(pause), as kubeadm \(kubernetes) pins it" + (pause == row.pause ? "" : " (the matrix says \(row.pause))"))
                } else if source != nil {
                    // Until 1.21 PauseVersion lived in constants_unix.go.
                    say("no PauseVersion in that file; the matrix says pause \(row.pause) for \(row.kubernetes.minorRelease)")
                }
            }
        }
        overrides(&versions)
        return versions
    }

    /// Written only after a successful install: a mistyped version that 404s is not remembered. A copy goes into the
    /// bin folder, so the node knows the pause tag kubeadm pins for exactly these binaries (`--images registry`).
    public func pin(_ versions: ReleaseVersions, binDir: String? = nil) throws {
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try versions.pinText.write(toFile: pinFile, atomically: true, encoding: .utf8)
        if let binDir { try versions.pinText.write(toFile: Self.releaseRecord(in: binDir), atomically: true, encoding: .utf8) }
    }

    public static func releaseRecord(in binDir: String) -> String { "\(binDir)/.kubescratch-release" }

    /// What setup recorded in a bin folder, if it was for this very release.
    public static func recordedVersions(in binDir: String, for kubernetes: KubernetesVersion) -> ReleaseVersions? {
        guard let text = try? String(contentsOfFile: releaseRecord(in: binDir), encoding: .utf8),
              let versions = ReleaseVersions(pinText: text), versions.kubernetes == kubernetes else { return nil }
        return versions
    }

    /// Gets every file into the cache (downloads run side by side, a few at a time: one slow host does not
    /// hold up the rest), then installs them one by one. Returns the warnings about optional files (a fallback
    /// installed, or none); a required file that cannot be had fails the install.
    @discardableResult
    public func install(_ artifacts: [Artifact], into binDir: String, downloader: Downloader, parallel: Int = 3) async throws -> [String] {
        try FileManager.default.createDirectory(atPath: binDir, withIntermediateDirectories: true)
        var obtained: [Int: Artifact] = [:]
        var warnings: [String] = []
        try await withThrowingTaskGroup(of: (Int, ObtainedFile).self) { group in
            func collect(_ result: (Int, ObtainedFile)) {
                if let file = result.1.artifact { obtained[result.0] = file }
                if let warning = result.1.warning { warnings.append(warning) }
            }
            var running = 0
            for (index, artifact) in artifacts.enumerated() {
                if running == parallel {
                    if let result = try await group.next() { collect(result) }
                    running -= 1
                }
                group.addTask { (index, try await self.obtainOrFallBack(artifact, downloader: downloader)) }
                running += 1
            }
            for try await result in group { collect(result) }
        }
        for index in artifacts.indices {
            guard let artifact = obtained[index] else { continue }
            try installFile(artifact, from: cachedPath(artifact), into: binDir)
        }
        return warnings
    }

    struct ObtainedFile: Sendable {
        /// What is in the cache now: the artifact, a fallback, or nothing (an optional file nobody publishes).
        var artifact: Artifact?
        var warning: String?
    }

    /// A required file, or the error. An optional one that is not published (404, or not in the `--from` folder):
    /// its first published fallback, else nothing, with a warning either way. Other errors (a wrong checksum,
    /// an unreachable host) fail as for a required file.
    func obtainOrFallBack(_ artifact: Artifact, downloader: Downloader) async throws -> ObtainedFile {
        do {
            try await obtain(artifact, downloader: downloader)
            return ObtainedFile(artifact: artifact)
        } catch where artifact.optional && Self.isUnpublished(error) {
            for fallback in artifact.fallbacks {
                do {
                    try await obtain(fallback, downloader: downloader)
                } catch where Self.isUnpublished(error) {
                    continue
                }
                let warning = "\(artifact.name) is not published (yet): installed \(fallback.name) instead. "
                    + "\(artifact.group.rawValue) is optional; a later setup tries \(artifact.name) again"
                say("warning: " + warning)
                return ObtainedFile(artifact: fallback, warning: warning)
            }
            let warning = "\(artifact.name) is not published (yet), nor \(artifact.fallbacks.map(\.name).joined(separator: ", ")): "
                + "\(artifact.group.rawValue) not installed. It is optional: the tutorial runs without it"
            say("warning: " + warning)
            return ObtainedFile(artifact: nil, warning: warning)
        }
    }

    static func isUnpublished(_ error: Error) -> Bool {
        switch error as? DownloadError {
        case .notFound?, .notInFolder?: true
        default: false
        }
    }

    func cachedPath(_ artifact: Artifact) -> String { "\(cache)/files/\(artifact.name)" }

    /// A verified file in the cache. The `.verified` marker holds the digest, and the file is hashed again
    /// before it is trusted, so a cache damaged after the fact is fetched again rather than installed.
    func obtain(_ artifact: Artifact, downloader: Downloader) async throws {
        let fm = FileManager.default
        let cached = cachedPath(artifact)
        if let from {
            try takeFromFolder(artifact, folder: from, to: cached)
            return
        }
        if let marker = try? String(contentsOfFile: cached + ".verified", encoding: .utf8) {
            if sha256(of: cached) == marker.trimmingCharacters(in: .whitespacesAndNewlines) {
                say("\(artifact.name): verified copy in the cache")
                return
            }
            say("\(artifact.name): the cached copy no longer matches its digest; fetching it again")
            try? fm.removeItem(atPath: cached)
            try? fm.removeItem(atPath: cached + ".verified")
        }
        let checksumURL: String
        switch artifact.checksum {
        case .digestFile(let url), .sumsList(let url, _): checksumURL = url
        }
        guard let digest = ReleaseArtifacts.digest(in: try await downloader.text(checksumURL), for: artifact.checksum) else {
            throw DownloadError.noDigest(checksumURL)
        }
        say("\(artifact.name): \(artifact.url)")
        try await downloader.fetch(artifact.url, to: cached, sha256: digest, progress: progress)
        try digest.write(toFile: cached + ".verified", atomically: true, encoding: .utf8)
        say("\(artifact.name): sha256 \(digest) verified")
    }

    /// `--from DIR`: the same files, already downloaded. A `<file>.sha256` beside one is checked.
    func takeFromFolder(_ artifact: Artifact, folder: String, to cached: String) throws {
        let fm = FileManager.default
        var candidates: [String] = []
        for name in [artifact.name, (artifact.url as NSString).lastPathComponent, artifact.installAs].compactMap({ $0 }) where !candidates.contains(name) {
            candidates.append(name)
        }
        guard let found = candidates.map({ "\(folder)/\($0)" }).first(where: { fm.fileExists(atPath: $0) }) else {
            throw DownloadError.notInFolder(folder, candidates)
        }
        try fm.createDirectory(atPath: (cached as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try? fm.removeItem(atPath: cached)
        try fm.copyItem(atPath: found, toPath: cached)
        // The names a checksum list may use for it, and the shapes the projects publish: <file>.sha256
        // (dl.k8s.io, CNI, crictl) and <file>.sha256sum (containerd) of its own, runc.sha256sum and
        // SHA256SUMS (etcd) shared by several files.
        let names = Set([(found as NSString).lastPathComponent, (artifact.url as NSString).lastPathComponent])
        func digest(in path: String, own: Bool) -> String? {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
            for name in names.sorted() {
                if let digest = ReleaseArtifacts.digest(in: text, for: .sumsList(url: path, name: name)) { return digest }
            }
            return own ? ReleaseArtifacts.digest(in: text, for: .digestFile(url: path)) : nil
        }
        let own = [found + ".sha256", found + ".sha256sum"].filter { fm.fileExists(atPath: $0) }
        let shared = ["\(folder)/runc.sha256sum", "\(folder)/SHA256SUMS"].filter { fm.fileExists(atPath: $0) }
        guard let expected = own.lazy.compactMap({ digest(in: $0, own: true) }).first
                ?? shared.lazy.compactMap({ digest(in: $0, own: false) }).first else {
            if own.isEmpty {
                say("\(artifact.name): from \(found) (no checksum beside it to check)")
                return
            }
            try? fm.removeItem(atPath: cached)
            throw DownloadError.noDigest(own.joined(separator: ", "))
        }
        let actual = sha256(of: cached)
        guard actual == expected else {
            try? fm.removeItem(atPath: cached)
            throw DownloadError.checksumMismatch(file: artifact.name, expected: expected, actual: actual)
        }
        say("\(artifact.name): from \(found), sha256 verified")
    }

    func installFile(_ artifact: Artifact, from cached: String, into binDir: String) throws {
        let fm = FileManager.default
        if let name = artifact.installAs {
            try place(cached, at: "\(binDir)/\(name)")
            return
        }
        let work = "\(cache)/extract-\(UUID().uuidString)"
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }
        let tar = Process()
        tar.executableURL = URL(fileURLWithPath: "/bin/tar")
        tar.arguments = ["-xzf", cached, "-C", work]
        tar.standardError = FileHandle.nullDevice
        do { try tar.run() } catch { throw DownloadError.unpack(artifact.name, "cannot run /bin/tar: \(error.localizedDescription)") }
        tar.waitUntilExit()
        guard tar.terminationStatus == 0 else {
            try? fm.removeItem(atPath: cached + ".verified")
            throw DownloadError.unpack(artifact.name, "tar -xzf failed with status \(tar.terminationStatus)")
        }
        for (member, name) in artifact.extract.sorted(by: { $0.key < $1.key }) {
            let source = "\(work)/\(member.hasPrefix("./") ? String(member.dropFirst(2)) : member)"
            guard fm.fileExists(atPath: source) else { throw DownloadError.unpack(artifact.name, "it has no \(member)") }
            try place(source, at: "\(binDir)/\(name)")
        }
    }

    /// Binaries built here (a source build), installed the same way as downloaded ones.
    public func installBuilt(_ files: [String], into binDir: String) throws {
        for file in files { try place(file, at: "\(binDir)/\((file as NSString).lastPathComponent)") }
    }

    /// Copies beside the target, makes it executable, then renames it over the target: an interrupted
    /// install never leaves a cut-off program where a binary is expected.
    func place(_ source: String, at target: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let temporary = "\(target).installing-\(UUID().uuidString)"
        do {
            try fm.copyItem(atPath: source, toPath: temporary)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: temporary)
            guard rename(temporary, target) == 0 else { throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: target]) }
        } catch {
            try? fm.removeItem(atPath: temporary)
            throw error
        }
    }

    func sha256(of path: String) -> String {
        guard let handle = FileHandle(forReadingAtPath: path) else { return "" }
        defer { try? handle.close() }
        var hasher = Crypto.SHA256()
        while let chunk = try? handle.read(upToCount: 1 << 20), !chunk.isEmpty { hasher.update(data: chunk) }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }
}
