import Crypto
import Foundation
import KubescratchCore
@testable import KubescratchEngine
import Testing

/// setup against a local HTTP server (127.0.0.1, started by the test) serving a release-shaped tree of real
/// files: the machine's busybox as "binaries", a real tar.gz, and their checksum files.
@Suite(.serialized) final class SetupTests {
    final class Server {
        let process = Process()
        let stdin = Pipe()
        let port: Int
        let root: String

        init() throws {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("ks-release-\(UUID().uuidString)").path
            try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/release_server.py").path
            process.arguments = ["python3", script, root]
            let pipe = Pipe()
            process.standardOutput = pipe
            // Not our stderr: `swift test` waits for every holder of its output pipes to exit.
            process.standardError = FileHandle.nullDevice
            process.standardInput = stdin
            try process.run()
            var line = Data()
            while let byte = try pipe.fileHandleForReading.read(upToCount: 1), !byte.isEmpty, byte != Data("\n".utf8) { line.append(byte) }
            port = Int(String(decoding: line, as: UTF8.self)) ?? 0
        }

        deinit {
            try? stdin.fileHandleForWriting.close()
            process.terminate()
            process.waitUntilExit()
            try? FileManager.default.removeItem(atPath: root)
            try? FileManager.default.removeItem(atPath: root + ".requests")
        }

        /// Each request as "path range" ("-" when it had no Range header).
        var requests: [String] {
            (try? String(contentsOfFile: root + ".requests", encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
        }

        var base: String { "http://127.0.0.1:\(port)" }

        func put(_ path: String, _ data: Data) throws {
            let full = root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: full))
        }
    }

    static func hex(_ data: Data) -> String { SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined() }

    let busybox = FileManager.default.contents(atPath: "/bin/busybox")!
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-setup-\(UUID().uuidString)").path

    deinit { try? FileManager.default.removeItem(atPath: folder) }

    @Test func downloadsVerifiesAndInstallsABinaryAndATarball() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        let versions = ReleaseVersions.companions(for: KubernetesVersion(1, 34, 1))
        let artifacts = ReleaseArtifacts.list(versions, architecture: "amd64", mirror: server.base).filter { $0.installAs == "kubelet" || $0.group == .crictl }
        let kubelet = artifacts[0], crictl = artifacts[1]
        try server.put("dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubelet", busybox)
        try server.put("dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubelet.sha256", Data(Self.hex(busybox).utf8))
        // A real gzip tarball with one member, crictl.
        let staging = folder + "/staging"
        try FileManager.default.createDirectory(atPath: staging, withIntermediateDirectories: true)
        try busybox.write(to: URL(fileURLWithPath: staging + "/crictl"))
        let tarball = folder + "/crictl.tar.gz"
        let tar = try await Shell().run("/bin/tar", ["-czf", tarball, "-C", staging, "crictl"])
        #expect(tar.succeeded)
        let tarData = try Data(contentsOf: URL(fileURLWithPath: tarball))
        let crictlPath = String(crictl.url.dropFirst(server.base.count + 1))
        try server.put(crictlPath, tarData)
        try server.put(crictlPath + ".sha256", Data("\(Self.hex(tarData))  \(crictl.name)\n".utf8))

        try await withDownloader(timeout: 10) { downloader in
            let installer = ReleaseInstaller(cache: folder + "/cache", mirror: server.base, from: nil, say: { _ in }, progress: { _ in })
            try await installer.install([kubelet, crictl], into: folder + "/bin", downloader: downloader)
            #expect(FileManager.default.contents(atPath: folder + "/bin/kubelet") == busybox)
            #expect(FileManager.default.isExecutableFile(atPath: folder + "/bin/crictl"))
            #expect(FileManager.default.fileExists(atPath: folder + "/cache/files/\(kubelet.name).verified"))
            #expect(!FileManager.default.fileExists(atPath: folder + "/cache/files/\(kubelet.name).part"))
        }
    }

    @Test func resumesACutDownloadWithARangeRequest() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try server.put("files/kubectl", busybox)
        try await withDownloader(timeout: 10) { downloader in
            let target = folder + "/kubectl"
            await #expect(throws: DownloadError.interrupted("\(server.base)/cut/files/kubectl")) {
                try await downloader.fetch("\(server.base)/cut/files/kubectl", to: target, sha256: Self.hex(busybox))
            }
            let part = try #require(FileManager.default.contents(atPath: target + ".part"))
            #expect(part.count > 0 && part.count < busybox.count && busybox.starts(with: part), "what arrived stays as a part")
            #expect(!FileManager.default.fileExists(atPath: target), "nothing unverified where the binary belongs")
            let reports = Reports()
            try await downloader.fetch("\(server.base)/cut/files/kubectl", to: target, sha256: Self.hex(busybox)) { reports.add($0) }
            #expect(FileManager.default.contents(atPath: target) == busybox)
            #expect(reports.last?.bytes == Int64(busybox.count) && reports.last?.total == Int64(busybox.count))
            #expect(server.requests.last == "/cut/files/kubectl bytes=\(part.count)-", "only the rest was asked for")
        }
    }

    /// A downloader shut down on every path: one left running crashes the test process in debug builds.
    func withDownloader(timeout: Double = 10, _ body: (Downloader) async throws -> Void) async throws {
        let downloader = Downloader(timeout: timeout)
        do {
            try await body(downloader)
        } catch {
            await downloader.shutdown()
            throw error
        }
        await downloader.shutdown()
    }

    @Test func aServerThatIgnoresOrMisanswersTheRangeStillGivesTheRightFile() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try server.put("files/containerd", busybox)
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        try await withDownloader { downloader in
            // A correct half from an earlier run; the server answers 200 with the whole file.
            try busybox.prefix(busybox.count / 2).write(to: URL(fileURLWithPath: folder + "/a.part"))
            try await downloader.fetch("\(server.base)/norange/files/containerd", to: folder + "/a", sha256: Self.hex(busybox))
            #expect(FileManager.default.contents(atPath: folder + "/a") == busybox)
            // The server answers 206 but from byte 0: what it sends replaces the part.
            try Data(repeating: 0x41, count: 1000).write(to: URL(fileURLWithPath: folder + "/b.part"))
            try await downloader.fetch("\(server.base)/wrongrange/files/containerd", to: folder + "/b", sha256: Self.hex(busybox))
            #expect(FileManager.default.contents(atPath: folder + "/b") == busybox)
        }
        #expect(server.requests.filter { $0.contains("range/files/containerd bytes=") }.count == 2, "both were asked for the rest")
    }

    @Test func aChecksumMismatchDeletesTheFileAndNamesBothDigests() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try server.put("files/etcd", busybox)
        try await withDownloader(timeout: 10) { downloader in
            let wrong = String(repeating: "0", count: 64)
            do {
                try await downloader.fetch("\(server.base)/files/etcd", to: folder + "/etcd", sha256: wrong)
                Issue.record("a mismatch must fail")
            } catch let error as DownloadError {
                #expect(error == .checksumMismatch(file: "etcd", expected: wrong, actual: Self.hex(busybox)))
                #expect(error.description.contains(wrong) && error.description.contains(Self.hex(busybox)))
            }
            #expect(!FileManager.default.fileExists(atPath: folder + "/etcd"))
            #expect(!FileManager.default.fileExists(atPath: folder + "/etcd.part"))
        }
    }

    @Test func notFoundAndUnreachableSayWhatToDo() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try await withDownloader(timeout: 2) { downloader in
            await #expect(throws: DownloadError.notFound("\(server.base)/dl.k8s.io/release/v9.9.9/bin/linux/amd64/kubelet")) {
                try await downloader.fetch("\(server.base)/dl.k8s.io/release/v9.9.9/bin/linux/amd64/kubelet", to: folder + "/k", sha256: "x")
            }
            do {
                _ = try await downloader.text("http://127.0.0.1:9/release/stable.txt")
                Issue.record("a closed port must fail")
            } catch let error as DownloadError {
                #expect(error.description.contains("cannot reach 127.0.0.1"))
                #expect(error.description.contains("--mirror"))
            }
        }
    }

    @Test func aSlowServerReportsProgress() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try server.put("files/runc", busybox)
        try await withDownloader(timeout: 10) { downloader in
            let reports = Reports()
            try await downloader.fetch("\(server.base)/slow/files/runc", to: folder + "/runc", sha256: Self.hex(busybox)) { reports.add($0) }
            #expect(reports.count >= 3, "several progress reports while it trickles in (\(reports.count))")
            #expect(reports.all.map(\.bytes) == reports.all.map(\.bytes).sorted())
        }
    }

    @Test func theStableReleaseAndKubeadmsEtcdAreResolvedOnceThenPinned() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try server.put("dl.k8s.io/release/stable.txt", Data("v1.34.1\n".utf8))
        try server.put("raw.githubusercontent.com/kubernetes/kubernetes/v1.34.1/cmd/kubeadm/app/constants/constants.go",
                       Data("const (\n\tDefaultEtcdVersion = \"3.6.4-0\"\n)\n".utf8))
        try await withDownloader(timeout: 5) { downloader in
            let installer = ReleaseInstaller(cache: folder + "/cache", mirror: server.base, from: nil, say: { _ in }, progress: { _ in })
            let first = try await installer.resolveVersions(nil, downloader: downloader)
            #expect(first.kubernetes == KubernetesVersion(1, 34, 1))
            #expect(first.etcd == KubernetesVersion(3, 6, 4), "kubeadm's pairing wins over the table")
            try installer.pin(first)
            try server.put("dl.k8s.io/release/stable.txt", Data("v1.35.0\n".utf8))
            #expect(try await installer.resolveVersions(nil, downloader: downloader) == first, "pinned")
            let other = try await installer.resolveVersions(KubernetesVersion(1, 33, 2), overrides: { $0.runc = KubernetesVersion(1, 2, 9) }, downloader: downloader)
            #expect(other.kubernetes == KubernetesVersion(1, 33, 2) && other.etcd.minor == 5, "no constants served: the table's etcd 3.5")
            #expect(other.runc == KubernetesVersion(1, 2, 9))
            #expect(try await installer.resolveVersions(nil, downloader: downloader) == first, "not pinned before it is installed")
            try installer.pin(other)
            #expect(try await installer.resolveVersions(nil, downloader: downloader) == other, "the new choice is pinned")
            _ = try await installer.resolveVersions(KubernetesVersion(1, 32, 0), overrides: { $0.etcd = KubernetesVersion(3, 5, 9) },
                                                    etcdGiven: true, downloader: downloader)
            #expect(!server.requests.contains { $0.contains("/v1.32.0/cmd/kubeadm/") }, "--etcd given: kubeadm's pin is not looked up")
        }
    }

    @Test func filesFromAFolderAreCheckedAgainstAChecksumBesideThem() async throws {
        let source = folder + "/offline"
        try FileManager.default.createDirectory(atPath: source, withIntermediateDirectories: true)
        try busybox.write(to: URL(fileURLWithPath: source + "/kubectl"))
        try Data(String(repeating: "0", count: 64).utf8).write(to: URL(fileURLWithPath: source + "/kubectl.sha256"))
        let artifacts = ReleaseArtifacts.list(ReleaseVersions.companions(for: KubernetesVersion(1, 34, 1)), architecture: "amd64").filter { $0.installAs == "kubectl" }
        let installer = ReleaseInstaller(cache: folder + "/cache", mirror: nil, from: source, say: { _ in }, progress: { _ in })
        try await withDownloader(timeout: 2) { downloader in
            await #expect(throws: DownloadError.self) { try await installer.install(artifacts, into: folder + "/bin", downloader: downloader) }
            #expect(!FileManager.default.fileExists(atPath: folder + "/bin/kubectl"), "a mismatching file is not installed")
            try Data(Self.hex(busybox).utf8).write(to: URL(fileURLWithPath: source + "/kubectl.sha256"))
            try await installer.install(artifacts, into: folder + "/bin", downloader: downloader)
            #expect(FileManager.default.contents(atPath: folder + "/bin/kubectl") == busybox)
            await #expect(throws: DownloadError.self, "--from without --kubernetes must ask for the release, not go online") {
                try await ReleaseInstaller(cache: folder + "/cache2", mirror: nil, from: source, say: { _ in }, progress: { _ in })
                    .resolveVersions(nil, downloader: downloader)
            }
        }
    }

    @Test func aDamagedCacheIsFetchedAgainNotInstalled() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        let artifacts = ReleaseArtifacts.list(ReleaseVersions.companions(for: KubernetesVersion(1, 34, 1)), architecture: "amd64", mirror: server.base)
            .filter { $0.installAs == "kube-proxy" }
        try server.put("dl.k8s.io/release/v1.34.1/bin/linux/amd64/kube-proxy", busybox)
        try server.put("dl.k8s.io/release/v1.34.1/bin/linux/amd64/kube-proxy.sha256", Data(Self.hex(busybox).utf8))
        try await withDownloader(timeout: 5) { downloader in
            let installer = ReleaseInstaller(cache: folder + "/cache", mirror: server.base, from: nil, say: { _ in }, progress: { _ in })
            try await installer.install(artifacts, into: folder + "/bin", downloader: downloader)
            let cached = folder + "/cache/files/\(artifacts[0].name)"
            try Data("damaged".utf8).write(to: URL(fileURLWithPath: cached))
            try await installer.install(artifacts, into: folder + "/bin", downloader: downloader)
            #expect(FileManager.default.contents(atPath: folder + "/bin/kube-proxy") == busybox)
            #expect(server.requests.filter { $0.hasSuffix("/kube-proxy -") }.count == 2, "downloaded again")
        }
    }

    // MARK: release day

    /// Publishes every file of a release on the server, in the projects' shapes, each program a small script naming
    /// its file. Files whose name contains one of `missing` are left out (a 404, as before a project tags).
    func publish(_ versions: ReleaseVersions, on server: Server, missing: [String] = [], crictlAlso: [KubernetesVersion] = []) async throws {
        var artifacts = ReleaseArtifacts.list(versions, mirror: server.base)
        var older = versions
        for crictl in crictlAlso {
            older.crictl = crictl
            artifacts += ReleaseArtifacts.list(older, mirror: server.base).filter { $0.group == .crictl }
        }
        var lists: [String: String] = [:]
        for artifact in artifacts where !missing.contains(where: { artifact.name.contains($0) }) {
            let data: Data
            if artifact.installAs != nil {
                data = Data("#!/bin/sh\necho \(artifact.name)\n".utf8)
            } else {
                let staging = folder + "/publish-\(UUID().uuidString)"
                for member in artifact.extract.keys {
                    let path = staging + "/" + (member.hasPrefix("./") ? String(member.dropFirst(2)) : member)
                    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                    try Data("#!/bin/sh\necho \(artifact.name) \(member)\n".utf8).write(to: URL(fileURLWithPath: path))
                }
                let tarball = staging + ".tar.gz"
                let tar = try await Shell().run("/bin/tar", ["-czf", tarball, "-C", staging, "."])
                #expect(tar.succeeded)
                data = try Data(contentsOf: URL(fileURLWithPath: tarball))
            }
            let path = String(artifact.url.dropFirst(server.base.count + 1))
            try server.put(path, data)
            switch artifact.checksum {
            case .digestFile(let url):
                try server.put(String(url.dropFirst(server.base.count + 1)), Data(Self.hex(data).utf8))
            case .sumsList(let url, let name):
                lists[url, default: ""] += "\(Self.hex(data))  \(name)\n"
            }
        }
        for (url, text) in lists { try server.put(String(url.dropFirst(server.base.count + 1)), Data(text.utf8)) }
    }

    func putConstants(_ kubernetes: String, etcd: String, pause: String, on server: Server) throws {
        try server.put("raw.githubusercontent.com/kubernetes/kubernetes/\(kubernetes)/cmd/kubeadm/app/constants/constants.go",
                       Data("const (\n\tDefaultEtcdVersion = \"\(etcd)-0\"\n\t// PauseVersion indicates the default pause image version for kubeadm\n\tPauseVersion = \"\(pause)\"\n)\n".utf8))
    }

    func v(_ major: Int, _ minor: Int, _ patch: Int) -> KubernetesVersion { KubernetesVersion(major, minor, patch) }

    /// The steps `setup` takes (SetupCommand.install): resolve, list, install, pin.
    func setUp(_ given: KubernetesVersion?, server: Server, said: Reports.Lines) async throws -> (ReleaseVersions, [String]) {
        var result: (ReleaseVersions, [String])?
        try await withDownloader(timeout: 10) { downloader in
            let installer = ReleaseInstaller(cache: folder + "/cache", mirror: server.base, from: nil, say: { said.add($0) }, progress: { _ in })
            let versions = try await installer.resolveVersions(given, downloader: downloader)
            let warnings = try await installer.install(ReleaseArtifacts.list(versions, mirror: server.base), into: folder + "/bin", downloader: downloader)
            try installer.pin(versions, binDir: folder + "/bin")
            result = (versions, warnings)
        }
        return try #require(result)
    }

    @Test func setupInstallsTheMatrixVersionsFor135And137() async throws {
        for (release, etcd, expected) in [
            ("v1.35.2", "3.6.6", ReleaseVersions(kubernetes: v(1, 35, 2), etcd: v(3, 6, 6), containerd: v(2, 2, 9), runc: v(1, 3, 6),
                                                 cni: v(1, 9, 1), crictl: v(1, 35, 0), pause: "3.10.1")),
            ("v1.37.0", "3.7.0", ReleaseVersions(kubernetes: v(1, 37, 0), etcd: v(3, 7, 0), containerd: v(2, 3, 6), runc: v(1, 4, 3),
                                                 cni: v(1, 9, 1), crictl: v(1, 37, 0), pause: "3.10.2")),
        ] {
            let server = try Server()
            defer { withExtendedLifetime(server) {} }
            try? FileManager.default.removeItem(atPath: folder)
            try server.put("dl.k8s.io/release/stable.txt", Data("\(release)\n".utf8))
            try putConstants(release, etcd: etcd, pause: expected.pause, on: server)
            try await publish(expected, on: server)
            let said = Reports.Lines()
            let (versions, warnings) = try await setUp(nil, server: server, said: said)
            #expect(versions == expected, "\(release)")
            #expect(warnings.isEmpty)
            #expect(!said.all.contains { $0.hasPrefix("no row") }, "\(release) has a row")
            let c = expected.containerd
            #expect(server.requests.contains { $0.hasPrefix("/github.com/containerd/containerd/releases/download/v\(c.major).\(c.minor).\(c.patch)/containerd-\(c.major).\(c.minor).\(c.patch)-linux-") })
            #expect(server.requests.contains { $0.hasPrefix("/github.com/opencontainers/runc/releases/download/\(expected.runc)/runc.") })
            #expect(String(decoding: FileManager.default.contents(atPath: folder + "/bin/containerd") ?? Data(), as: UTF8.self)
                        .contains("containerd-\(c.major).\(c.minor).\(c.patch)-linux"))
            #expect(ReleaseInstaller.recordedVersions(in: folder + "/bin", for: expected.kubernetes)?.pause == expected.pause,
                    "the node finds kubeadm's pause tag beside the binaries")
        }
    }

    @Test func releaseDayWithoutCrictlInstallsThePreviousOneWithAWarning() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        let release = ReleaseVersions.companions(for: v(1, 37, 0))
        try server.put("dl.k8s.io/release/stable.txt", Data("v1.37.0\n".utf8))
        try putConstants("v1.37.0", etcd: "3.7.0", pause: "3.10.2", on: server)
        // cri-tools has not tagged v1.37.0 yet; v1.36.0 is out.
        try await publish(release, on: server, missing: ["crictl-v1.37.0"], crictlAlso: [v(1, 36, 0)])
        let said = Reports.Lines()
        let (versions, warnings) = try await setUp(nil, server: server, said: said)
        #expect(versions.crictl == v(1, 37, 0), "the release's own crictl stays pinned: a later setup tries it again")
        #expect(warnings == ["crictl-v1.37.0-linux-\(ReleaseArtifacts.hostArchitecture).tar.gz is not published (yet): installed "
                             + "crictl-v1.36.0-linux-\(ReleaseArtifacts.hostArchitecture).tar.gz instead. crictl is optional; a later setup tries "
                             + "crictl-v1.37.0-linux-\(ReleaseArtifacts.hostArchitecture).tar.gz again"])
        #expect(said.all.filter { $0.hasPrefix("warning: ") }.count == 1)
        let crictl = String(decoding: FileManager.default.contents(atPath: folder + "/bin/crictl") ?? Data(), as: UTF8.self)
        #expect(crictl.contains("crictl-v1.36.0"), "the fallback crictl is installed")
        #expect(FileManager.default.isExecutableFile(atPath: folder + "/bin/kubelet"), "the rest is installed as usual")
        #expect(server.requests.contains { $0.contains("/v1.37.0/crictl-v1.37.0-linux-") }, "the release's own was asked for first")
    }

    @Test func noCrictlAtAllIsStillASuccessButAMissingRequiredFileFails() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        let release = ReleaseVersions.companions(for: v(1, 37, 0))
        try await publish(release, on: server, missing: ["crictl-"])
        let said = Reports.Lines()
        let (_, warnings) = try await setUp(v(1, 37, 0), server: server, said: said)
        #expect(warnings.count == 1 && warnings[0].contains("crictl not installed. It is optional"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/bin/crictl"))
        #expect(server.requests.filter { $0.contains("/kubernetes-sigs/cri-tools/") }.count == 4, "its own and three fallbacks, once each")

        let broken = try Server()
        defer { withExtendedLifetime(broken) {} }
        try await publish(release, on: broken, missing: ["runc"])
        try await withDownloader(timeout: 10) { downloader in
            let installer = ReleaseInstaller(cache: folder + "/cache2", mirror: broken.base, from: nil, say: { _ in }, progress: { _ in })
            await #expect(throws: DownloadError.self, "runc is required: its 404 fails setup") {
                try await installer.install(ReleaseArtifacts.list(release, mirror: broken.base), into: folder + "/bin2", downloader: downloader)
            }
        }
    }

    @Test func aReleaseNewerThanTheMatrixUsesTheNewestRowAndSaysSoOnce() async throws {
        let server = try Server()
        defer { withExtendedLifetime(server) {} }
        try server.put("dl.k8s.io/release/stable.txt", Data("v1.38.0\n".utf8))
        try putConstants("v1.38.0", etcd: "3.7.1", pause: "3.10.2", on: server)
        let expected = ReleaseVersions(kubernetes: v(1, 38, 0), etcd: v(3, 7, 1), containerd: v(2, 3, 6), runc: v(1, 4, 3),
                                       cni: v(1, 9, 1), crictl: v(1, 38, 0), pause: "3.10.2")
        try await publish(expected, on: server)
        let said = Reports.Lines()
        let (versions, _) = try await setUp(nil, server: server, said: said)
        #expect(versions == expected, "1.37's row, kubeadm's etcd for 1.38, crictl of 1.38")
        #expect(said.all.filter { $0.contains("no row for") } == ["no row for 1.38: using 1.37's companions"])
    }

    final class Reports: @unchecked Sendable {
        final class Lines: @unchecked Sendable {
            let lock = NSLock()
            var lines: [String] = []
            func add(_ line: String) { lock.withLock { lines.append(line) } }
            var all: [String] { lock.withLock { lines } }
        }

        let lock = NSLock()
        var all: [Downloader.Progress] = []
        func add(_ progress: Downloader.Progress) { lock.withLock { all.append(progress) } }
        var count: Int { lock.withLock { all.count } }
        var last: Downloader.Progress? { lock.withLock { all.last } }
    }
}
