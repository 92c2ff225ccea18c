import Foundation

/// Kubernetes built from a distribution's own source package, for machines that cannot reach the release
/// hosts but can reach their distribution's archive (docs/source-build.md).
public struct DistributionSource: Sendable, Equatable {
    /// The name `setup --source` takes.
    public var name: String
    /// How the distribution calls itself in messages.
    public var title: String
    /// `ID` and `VERSION_CODENAME` of /etc/os-release that this source serves.
    public var osID: String
    public var codename: String
    public var sourcePackage: String
    /// The source package's version, which names its files (`<package>_<version>.orig.tar.gz`).
    public var packageVersion: String
    /// The upstream release inside it: what the built binaries say with `--version`.
    public var kubernetes: KubernetesVersion
    /// The folder the upstream tarball unpacks into.
    public var treeFolder: String
    /// Packages the build needs (installed only when a build is chosen: no Go toolchain otherwise).
    public var buildPackages: [String]
    /// The companions from the distribution's binary packages, by setup group.
    public var companionPackages: [(group: Artifact.Group, package: String)]
    /// Rough minutes the whole build takes on 2 cores, for the one-line announcement.
    public var typicalMinutes: Int

    /// Debian 12's `kubernetes` source package holds the complete upstream v1.20.2 tree, vendor/ included (its
    /// version is 1.20.5+really1.20.2); Debian's Go 1.19 builds it. Its etcd 3.4.23, containerd 1.6.20, runc 1.1.5
    /// and CNI plugins 1.1.1 pair with v1.20 (docs/source-build.md). trixie's package builds kubectl only.
    public static let debianBookworm = DistributionSource(
        name: "debian", title: "Debian 12", osID: "debian", codename: "bookworm", sourcePackage: "kubernetes",
        packageVersion: "1.20.5+really1.20.2", kubernetes: KubernetesVersion(1, 20, 2), treeFolder: "kubernetes-1.20.2",
        buildPackages: ["golang-go", "rsync", "make"],
        companionPackages: [(.etcd, "etcd-server"), (.etcd, "etcd-client"), (.containerd, "containerd"), (.runc, "runc"),
                            (.cni, "containernetworking-plugins")],
        typicalMinutes: 8)

    public static let all = [debianBookworm]

    public static func named(_ name: String) -> DistributionSource? { all.first { $0.name == name } }

    /// The source that serves the machine described by /etc/os-release, if any.
    public static func forHost(osRelease: String) -> DistributionSource? {
        let fields = OSRelease.fields(osRelease)
        return all.first { $0.osID == fields["ID"] && $0.codename == fields["VERSION_CODENAME"] }
    }

    public var origTarball: String { "\(sourcePackage)_\(packageVersion).orig.tar.gz" }

    public static func == (a: Self, b: Self) -> Bool { a.name == b.name && a.packageVersion == b.packageVersion }
}

public enum OSRelease {
    /// `KEY=value` lines of /etc/os-release, quotes removed.
    public static func fields(_ text: String) -> [String: String] {
        var fields: [String: String] = [:]
        for line in text.split(separator: "\n") {
            guard let equals = line.firstIndex(of: "=") else { continue }
            var value = line[line.index(after: equals)...]
            if value.count >= 2, let first = value.first, first == "\"" || first == "'", value.last == first { value = value.dropFirst().dropLast() }
            fields[String(line[..<equals])] = String(value)
        }
        return fields
    }
}

/// A program to run, with its arguments, working folder and environment additions.
public struct PlannedCommand: Sendable, Equatable {
    public var program: String
    public var arguments: [String]
    public var directory: String?
    public var environment: [String: String]

    public init(_ program: String, _ arguments: [String], in directory: String? = nil, environment: [String: String] = [:]) {
        self.program = program
        self.arguments = arguments
        self.directory = directory
        self.environment = environment
    }

    public var shellText: String {
        let env = environment.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return ((directory.map { ["cd \($0) &&"] } ?? []) + env + [program] + arguments).joined(separator: " ")
    }
}

/// Every path and command of a source build. The cache is keyed by the source package's version: a finished
/// build is reused as it is, a cut one goes on from the last finished phase (the Go build cache keeps compiled
/// packages, so a binary cut halfway is quick to build again).
public struct SourceBuildPlan: Sendable, Equatable {
    public enum Phase: Sendable, Equatable, CustomStringConvertible {
        case fetch, unpack, generate, build(String), verify

        public var description: String {
            switch self {
            case .fetch: "fetch the source package"
            case .unpack: "unpack it"
            case .generate: "generate code"
            case .build(let binary): "build \(binary)"
            case .verify: "check the binaries"
            }
        }
    }

    public var source: DistributionSource
    public var cache: String
    public var architecture: String

    public init(source: DistributionSource, cache: String, architecture: String = ReleaseArtifacts.hostArchitecture) {
        self.source = source
        self.cache = cache
        self.architecture = architecture
    }

    /// Built in this order: the API server first (it compiles most of the shared packages), kubectl last.
    public var binaries: [String] { ["kube-apiserver", "kube-controller-manager", "kubelet", "kube-scheduler", "kube-proxy", "kubectl"] }

    public var phases: [Phase] { [.fetch, .unpack, .generate] + binaries.map { .build($0) } + [.verify] }

    /// Seconds each phase took here (2 cores, a cold Go cache), the basis of "about N min left".
    public func typicalSeconds(_ phase: Phase) -> Double {
        switch phase {
        case .fetch: 15
        case .unpack: 5
        case .generate: 90
        case .build("kube-apiserver"): 170
        case .build("kubectl"): 45
        case .build: 40
        case .verify: 2
        }
    }

    public var root: String { "\(cache)/source/\(source.name)-\(source.sourcePackage)-\(source.packageVersion)-\(architecture)" }
    /// apt's lists for the source entry alone: the machine's own apt configuration and lists are not touched.
    public var aptLists: String { "\(root)/apt-lists" }
    public var aptSourcesFile: String { "\(root)/deb-src.sources" }
    public var downloads: String { "\(root)/download" }
    public var tarball: String { "\(downloads)/\(source.origTarball)" }
    /// Unpacked into `unpacking` and renamed when whole, so a cut unpack starts over.
    public var unpacking: String { "\(root)/unpacking" }
    public var treeParent: String { "\(root)/tree" }
    public var tree: String { "\(treeParent)/\(source.treeFolder)" }
    public var generatedMarker: String { "\(root)/generated" }
    /// Each finished binary is copied here at once: the result of the build, reused by later runs.
    public var output: String { "\(root)/bin" }
    /// The Go build cache outlives trees and versions (it is content-addressed).
    public var goCache: String { "\(cache)/source/go-build" }
    public var home: String { "\(root)/home" }
    public var log: String { "\(root)/build.log" }

    /// A deb-src entry in apt's deb822 format, with the archive and key of the machine's own entry.
    public func sourcesEntry(uris: String, signedBy: String?) -> String {
        ["Types: deb-src", "URIs: \(uris)", "Suites: \(source.codename)", "Components: main"]
            .appending(signedBy.map { "Signed-By: \($0)" })
            .joined(separator: "\n") + "\n"
    }

    /// apt pointed at our entry and our lists only.
    var aptOptions: [String] {
        ["-o", "Dir::Etc::SourceList=\(aptSourcesFile)", "-o", "Dir::Etc::SourceParts=/dev/null",
         "-o", "Dir::State::Lists=\(aptLists)", "-o", "APT::Sandbox::User=root", "-q"]
    }

    public var aptUpdate: PlannedCommand { PlannedCommand("apt-get", aptOptions + ["update"]) }

    /// apt checks the files against the signed index before it keeps them. The Debian revision moves with point
    /// releases (-1.1+deb12u1); the upstream tarball's name, which the plan checks, does not.
    public var aptSource: PlannedCommand {
        PlannedCommand("apt-get", aptOptions + ["source", "--download-only", source.sourcePackage], in: downloads)
    }

    public var unpack: PlannedCommand { PlannedCommand("tar", ["-xzf", tarball, "-C", unpacking]) }

    /// The 1.20 build scripts expect the tree inside a GOPATH (k8s.io/kubernetes). CGO off: static binaries, like the release's.
    public var buildEnvironment: [String: String] {
        ["GOPATH": "\(tree)/.go", "CGO_ENABLED": "0", "HOME": home]
    }

    public var gopathLink: (link: String, target: String) { ("\(tree)/.go/src/k8s.io/kubernetes", "../../..") }

    /// hack/lib/golang.sh sets GOCACHE to _output/local/go/cache inside the tree, whatever the environment says;
    /// a link there keeps the compiled packages in our cache when the tree is removed.
    public var goCacheLink: (link: String, target: String) { ("\(tree)/_output/local/go/cache", goCache) }

    /// The code generators and the `zz_generated` files the tarball does not carry.
    public var generate: PlannedCommand { PlannedCommand("make", ["generated_files"], in: tree, environment: buildEnvironment) }

    /// One binary at a time (what `make WHAT=cmd/<binary>` does after generating code), so progress is per binary.
    public func build(_ binary: String) -> PlannedCommand {
        PlannedCommand("hack/make-rules/build.sh", ["cmd/\(binary)"], in: tree, environment: buildEnvironment)
    }

    public func built(_ binary: String) -> String { "\(tree)/_output/local/bin/linux/\(architecture)/\(binary)" }
    public func result(_ binary: String) -> String { "\(output)/\(binary)" }
}

extension Array {
    func appending(_ element: Element?) -> [Element] { element.map { self + [$0] } ?? self }
}

/// Where setup gets its binaries, in the order it tries them.
public enum BinarySource: String, Sendable, CaseIterable {
    /// The release hosts, falling back to the distribution's source when they cannot be reached.
    case auto
    /// The release hosts (or --mirror / --from) only.
    case release
    /// Build from the distribution's source package.
    case debian
}

/// Why a download failed, as far as the choice of a fallback cares.
public enum FetchFailure: Sendable, Equatable {
    /// No answer at all: the name does not resolve, the connection is refused or times out.
    case unreachable
    /// The host answered: 404, another HTTP status, a checksum mismatch, a cut transfer.
    case answered
}

public enum SetupRoute {
    /// Falls back to the distribution's source only when nothing answered, setup was free to choose (no
    /// --mirror, --from or --source release), no other release was asked for, and this machine has a source.
    /// A 404 or a bad checksum is a real problem with what was asked for, and building something else would hide it.
    public static func fallback(after failure: FetchFailure, source: BinarySource, mirrorOrFolder: Bool,
                                requested: KubernetesVersion?, available: DistributionSource?) -> DistributionSource? {
        guard failure == .unreachable, source == .auto, !mirrorOrFolder, let available else { return nil }
        if let requested, requested != available.kubernetes { return nil }
        return available
    }

    /// The one message for a machine that can get binaries no way at all.
    public static func noWayMessage(_ why: String, available: DistributionSource?, requested: KubernetesVersion?) -> String {
        var lines = ["cannot get the Kubernetes binaries: \(why). Three ways to get them:",
                     "  --mirror URL   a mirror with the official layout (or KUBESCRATCH_MIRROR), e.g. a classroom cache",
                     "  --from DIR     the release's files, downloaded elsewhere and copied here (with --kubernetes vX.Y.Z)"]
        if let available {
            let version = requested.map { $0 == available.kubernetes ? "" : " (it holds \(available.kubernetes), not \($0))" } ?? ""
            lines.append("  --source \(available.name)  build \(available.kubernetes) from \(available.title)'s source package (about \(available.typicalMinutes) min)\(version)")
        } else {
            lines.append("  --source debian  build from Debian 12's source package (on Debian 12 only; this machine is not)")
        }
        return lines.joined(separator: "\n")
    }
}

/// The machine's Debian archive, read from its apt sources, so the source entry uses the same mirror and key.
public enum DebianSources {
    /// The first stanza of type `deb` with the `main` component whose suites include a release (not -security).
    public static func archive(deb822 text: String) -> (uris: String, signedBy: String?)? {
        for stanza in text.components(separatedBy: "\n\n") {
            var fields: [String: String] = [:]
            for line in stanza.split(separator: "\n") where !line.hasPrefix("#") {
                guard let colon = line.firstIndex(of: ":") else { continue }
                fields[line[..<colon].trimmingCharacters(in: .whitespaces)] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
            guard let types = fields["Types"], types.split(separator: " ").contains("deb"),
                  let uris = fields["URIs"]?.split(separator: " ").first,
                  fields["Components"]?.split(separator: " ").contains("main") == true,
                  let suites = fields["Suites"], suites.split(separator: " ").contains(where: { !$0.contains("security") }),
                  !uris.contains("security") else { continue }
            return (String(uris), fields["Signed-By"])
        }
        return nil
    }

    /// `deb [signed-by=KEY] URI SUITE main …` lines.
    public static func archive(oneLine text: String) -> (uris: String, signedBy: String?)? {
        for line in text.split(separator: "\n") {
            var words = line.split(separator: " ").map(String.init)
            guard words.first == "deb" else { continue }
            words.removeFirst()
            var key: String?
            if words.first?.hasPrefix("[") == true {
                var options: [String] = []
                while let word = words.first {
                    options.append(word)
                    words.removeFirst()
                    if word.hasSuffix("]") { break }
                }
                key = options.joined(separator: " ").trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
                    .split(separator: " ").first { $0.hasPrefix("signed-by=") }.map { String($0.dropFirst("signed-by=".count)) }
            }
            guard words.count >= 3, !words[0].contains("security"), !words[1].contains("security"), words[2...].contains("main") else { continue }
            return (words[0], key)
        }
        return nil
    }
}
