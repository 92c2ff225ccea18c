import Foundation
import KubescratchCore

public enum SourceBuildError: Error, CustomStringConvertible {
    case noDebSourceArchive
    case notInArchive(String, found: [String])
    case wrongVersion(String, expected: KubernetesVersion, said: String)
    case packages([String], String)
    case diskFull(String)

    public var description: String {
        switch self {
        case .noDebSourceArchive:
            "cannot tell which Debian archive this machine uses (no `URIs:` in /etc/apt/sources.list.d/*.sources and no `deb` line in /etc/apt/sources.list)"
        case .notInArchive(let tarball, let found):
            "the archive did not give \(tarball) (it gave: \(found.isEmpty ? "nothing" : found.joined(separator: ", ")))"
        case .wrongVersion(let binary, let expected, let said):
            "the built \(binary) says '\(said.prefix(100))', not \(expected): the build is not trusted; run setup again"
        case .packages(let names, let why):
            "cannot install \(names.joined(separator: " ")) from the distribution: \(why). Install them by hand (apt-get install \(names.joined(separator: " "))) and run setup again."
        case .diskFull(let path):
            "the disk is full (building Kubernetes needs about 4 GiB free in \(path)): free some space, or choose --cache DIR elsewhere, and run setup again; the build goes on from where it stopped"
        }
    }
}

/// What a source build tells as it goes, for the progress display.
public enum SourceBuildEvent: Sendable {
    /// `secondsLeft`: the typical time of this phase and the ones after it, scaled by how fast this machine was so far.
    case started(SourceBuildPlan.Phase, index: Int, count: Int, secondsLeft: Double)
    case finished(SourceBuildPlan.Phase, seconds: Double)
    case reused(SourceBuildPlan.Phase, String)
    case note(String)
}

/// Builds Kubernetes from the distribution's source package, phase by phase, each phase's result kept in the
/// cache (docs/source-build.md). apt runs with its own lists and source entry, so the machine's apt setup is
/// left as it was.
public struct SourceBuilder: Sendable {
    public let plan: SourceBuildPlan
    let shell: Shell
    let tell: @Sendable (SourceBuildEvent) -> Void

    public init(plan: SourceBuildPlan, tell: @escaping @Sendable (SourceBuildEvent) -> Void) {
        self.plan = plan
        self.shell = Shell()
        self.tell = tell
    }

    /// The folder of verified binaries: reused at once when an earlier run finished the build.
    public func build() async throws -> String {
        if try await verifiedResult() {
            tell(.reused(.verify, "Kubernetes \(plan.source.kubernetes) built earlier from \(plan.source.title)'s source: \(plan.output)"))
            return plan.output
        }
        try await installPackages(plan.source.buildPackages, why: "the build needs them")
        let phases = plan.phases
        var spentOnDone = 0.0, typicalOfDone = 0.0
        for (index, phase) in phases.enumerated() {
            if let reason = alreadyDone(phase) {
                tell(.reused(phase, reason))
                continue
            }
            let speed = typicalOfDone > 0 ? spentOnDone / typicalOfDone : 1
            let left = phases[index...].filter { alreadyDone($0) == nil }.reduce(0) { $0 + plan.typicalSeconds($1) } * speed
            tell(.started(phase, index: index + 1, count: phases.count, secondsLeft: left))
            let started = Date()
            do {
                try await run(phase)
            } catch let error as LoggedCommandError {
                throw diskFull() ? SourceBuildError.diskFull(plan.root) : error
            }
            let seconds = Date().timeIntervalSince(started)
            // Only the long phases say how fast this machine compiles; a quick download says nothing about it.
            if plan.typicalSeconds(phase) >= 30 {
                spentOnDone += seconds
                typicalOfDone += plan.typicalSeconds(phase)
            }
            tell(.finished(phase, seconds: seconds))
        }
        // The tree and its _output take gigabytes; the binaries and the Go cache are what later runs need.
        try? FileManager.default.removeItem(atPath: plan.treeParent)
        return plan.output
    }

    /// Why a phase can be skipped (its result is in the cache), or nil.
    func alreadyDone(_ phase: SourceBuildPlan.Phase) -> String? {
        let fm = FileManager.default
        let allBuilt = plan.binaries.allSatisfy { fm.isExecutableFile(atPath: plan.result($0)) }
        switch phase {
        case .fetch:
            return fm.fileExists(atPath: plan.tarball) || allBuilt ? "source package already in the cache" : nil
        case .unpack:
            return fm.fileExists(atPath: plan.tree) || allBuilt ? "source tree already unpacked" : nil
        case .generate:
            return fm.fileExists(atPath: plan.generatedMarker) || allBuilt ? "code already generated" : nil
        case .build(let binary):
            return fm.isExecutableFile(atPath: plan.result(binary)) ? "\(binary) already built" : nil
        case .verify:
            return nil
        }
    }

    func run(_ phase: SourceBuildPlan.Phase) async throws {
        let fm = FileManager.default
        switch phase {
        case .fetch:
            try fm.createDirectory(atPath: "\(plan.aptLists)/partial", withIntermediateDirectories: true)
            try fm.createDirectory(atPath: plan.downloads, withIntermediateDirectories: true)
            let (uris, key) = try Self.debianArchive()
            try plan.sourcesEntry(uris: uris, signedBy: key).write(toFile: plan.aptSourcesFile, atomically: true, encoding: .utf8)
            tell(.note("apt, with its own lists in \(plan.aptLists) (the machine's apt sources are not changed): \(plan.aptSource.shellText)"))
            try await LoggedCommand.run(plan.aptUpdate, log: plan.log, shell: shell)
            try await LoggedCommand.run(plan.aptSource, log: plan.log, shell: shell)
            guard fm.fileExists(atPath: plan.tarball) else {
                throw SourceBuildError.notInArchive(plan.source.origTarball, found: (try? fm.contentsOfDirectory(atPath: plan.downloads)) ?? [])
            }
        case .unpack:
            try? fm.removeItem(atPath: plan.unpacking)
            try fm.createDirectory(atPath: plan.unpacking, withIntermediateDirectories: true)
            try await LoggedCommand.run(plan.unpack, log: plan.log, shell: shell)
            try? fm.removeItem(atPath: plan.treeParent)
            try fm.moveItem(atPath: plan.unpacking, toPath: plan.treeParent)
            try fm.createDirectory(atPath: plan.goCache, withIntermediateDirectories: true)
            for link in [plan.gopathLink, plan.goCacheLink] {
                try fm.createDirectory(atPath: (link.link as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fm.createSymbolicLink(atPath: link.link, withDestinationPath: link.target)
            }
        case .generate:
            try fm.createDirectory(atPath: plan.home, withIntermediateDirectories: true)
            try await LoggedCommand.run(plan.generate, log: plan.log, shell: shell)
            fm.createFile(atPath: plan.generatedMarker, contents: nil)
        case .build(let binary):
            try await LoggedCommand.run(plan.build(binary), log: plan.log, shell: shell)
            // Copied beside the result and renamed: a cut copy is never taken for a built binary.
            try fm.createDirectory(atPath: plan.output, withIntermediateDirectories: true)
            let temporary = plan.result(binary) + ".copying"
            try? fm.removeItem(atPath: temporary)
            try fm.copyItem(atPath: plan.built(binary), toPath: temporary)
            try fm.setAttributes([.posixPermissions: 0o755], ofItemAtPath: temporary)
            try? fm.removeItem(atPath: plan.result(binary))
            try fm.moveItem(atPath: temporary, toPath: plan.result(binary))
        case .verify:
            guard try await verifiedResult(strict: true) else { return }
        }
    }

    /// Every binary there and saying the release's version. `strict`: a wrong version throws (and is removed) instead of
    /// being rebuilt quietly.
    func verifiedResult(strict: Bool = false) async throws -> Bool {
        for binary in plan.binaries {
            let path = plan.result(binary)
            guard FileManager.default.isExecutableFile(atPath: path) else { return false }
            let arguments = binary == "kubectl" ? ["version", "--client", "--short"] : ["--version"]
            let said = (try? await shell.run(path, arguments, timeout: 30)).map { $0.stdout + $0.stderr } ?? ""
            guard KubernetesVersion(parsing: said.replacingOccurrences(of: "Client Version:", with: "")) == plan.source.kubernetes else {
                try? FileManager.default.removeItem(atPath: path)
                if strict { throw SourceBuildError.wrongVersion(binary, expected: plan.source.kubernetes, said: said) }
                return false
            }
        }
        return true
    }

    func diskFull() -> Bool {
        var stats = statvfs()
        guard statvfs(plan.cache, &stats) == 0 else { return false }
        return Double(stats.f_bavail) * Double(stats.f_frsize) < 200 * 1_048_576
    }

    /// Installs the distribution's packages that are missing (apt, the machine's own configuration).
    public func installPackages(_ names: [String], why: String) async throws {
        var missing: [String] = []
        for name in names {
            let status = try? await shell.run("dpkg-query", ["-W", "-f=${Status}", name], timeout: 30)
            if status?.stdout.contains("install ok installed") != true { missing.append(name) }
        }
        guard !missing.isEmpty else { return }
        tell(.note("installing \(missing.joined(separator: " ")) from \(plan.source.title) (\(why)): apt-get install \(missing.joined(separator: " "))"))
        let install = PlannedCommand("apt-get", ["install", "-y", "-q", "--no-install-recommends"] + missing,
                                     environment: ["DEBIAN_FRONTEND": "noninteractive"])
        let ownPolicy = !FileManager.default.fileExists(atPath: ServicePolicy.path)
            && FileManager.default.createFile(atPath: ServicePolicy.path, contents: Data(ServicePolicy.script.utf8), attributes: [.posixPermissions: 0o755])
        defer { if ownPolicy { try? FileManager.default.removeItem(atPath: ServicePolicy.path) } }
        do {
            try await LoggedCommand.run(install, log: plan.log, shell: shell)
        } catch is LoggedCommandError {
            // Lists never fetched on a fresh machine: fetch them once and try again.
            do {
                try await LoggedCommand.run(PlannedCommand("apt-get", ["update", "-q"]), log: plan.log, shell: shell)
                try await LoggedCommand.run(install, log: plan.log, shell: shell)
            } catch let error as LoggedCommandError {
                throw SourceBuildError.packages(missing, error.description)
            }
        }
        await disableServices(of: missing, stoppedByPolicy: ownPolicy)
    }

    /// A new package's systemd units that ended up enabled are disabled again (with systemd running), and one line
    /// says what was kept from running.
    func disableServices(of packages: [String], stoppedByPolicy: Bool) async {
        var units: [String] = []
        for package in packages {
            let listing = (try? await shell.run("dpkg-query", ["-L", package], timeout: 30))?.stdout ?? ""
            units += ServicePolicy.units(inPackageFiles: listing)
        }
        guard !units.isEmpty else { return }
        var disabled: [String] = []
        if FileManager.default.fileExists(atPath: "/run/systemd/system"), let systemctl = SystemProgram.path("systemctl") {
            for unit in units {
                let state = (try? await shell.run(systemctl, ["is-enabled", unit], timeout: 30))?.stdout
                guard state?.trimmingCharacters(in: .whitespacesAndNewlines) == "enabled" else { continue }
                if (try? await shell.run(systemctl, ["disable", "--now", unit], timeout: 60))?.succeeded == true { disabled.append(unit) }
            }
        }
        let kept = stoppedByPolicy ? "kept \(units.joined(separator: ", ")) from starting during the install (policy-rc.d)" : "left \(ServicePolicy.path) as it was"
        tell(.note(kept + (disabled.isEmpty ? "" : " and disabled \(disabled.joined(separator: ", "))") + ": kubescratch runs its own, on its own socket"))
    }

    /// The Debian archive and key of the machine's own `deb` entry (deb822 first, then the one-line format).
    static func debianArchive() throws -> (uris: String, signedBy: String?) {
        let fm = FileManager.default
        let folder = "/etc/apt/sources.list.d"
        for name in ((try? fm.contentsOfDirectory(atPath: folder)) ?? []).sorted() where name.hasSuffix(".sources") {
            guard let text = try? String(contentsOfFile: "\(folder)/\(name)", encoding: .utf8) else { continue }
            if let entry = DebianSources.archive(deb822: text) { return entry }
        }
        if let text = try? String(contentsOfFile: "/etc/apt/sources.list", encoding: .utf8), let entry = DebianSources.archive(oneLine: text) {
            return entry
        }
        throw SourceBuildError.noDebSourceArchive
    }
}
