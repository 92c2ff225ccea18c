import Foundation
/// What `setup` fetches for a release, from where, and how each file is checked
/// (docs/components.md §1.1: dl.k8s.io and the projects' GitHub releases).
public struct Artifact: Sendable, Equatable {
    public enum Group: String, Sendable, CaseIterable { case kubernetes, etcd, containerd, runc, cni, crictl }
    public enum Checksum: Sendable, Equatable {
        /// A file holding only the hex digest (dl.k8s.io's `<file>.sha256`).
        case digestFile(url: String)
        /// A `sha256sum`-style list ("<digest>  <name>"); the line for `name` holds the digest.
        case sumsList(url: String, name: String)
    }

    public var group: Group
    /// The file name in the cache.
    public var name: String
    public var url: String
    public var checksum: Checksum
    /// For tarballs: the members to install, and the names they get in the bin folder.
    public var extract: [String: String]
    /// For a bare binary: its name in the bin folder.
    public var installAs: String?
    /// Not needed to run the tutorial (crictl is for looking around): a missing file is a warning, not a failed setup.
    public var optional = false
    /// For an optional file: the releases to try instead, in order, when this one is not published (yet).
    public var fallbacks: [Artifact] = []
}

public struct ReleaseVersions: Sendable, Equatable, Codable {
    public var kubernetes: KubernetesVersion
    public var etcd: KubernetesVersion
    public var containerd: KubernetesVersion
    public var runc: KubernetesVersion
    public var cni: KubernetesVersion
    public var crictl: KubernetesVersion
    /// The pause image tag ("3.10.1"), used with `--images registry`.
    public var pause: String

    /// Companions for a release from `CompanionMatrix` (its row, or the nearest row for a minor it does not know).
    /// `setup` prefers the etcd and pause that kubeadm pins for the very release (`KubeadmConstants`);
    /// `setup --etcd/--containerd/--runc/--cni/--crictl` override each. crictl follows the release's own minor.
    public static func companions(for kubernetes: KubernetesVersion) -> ReleaseVersions {
        let row = CompanionMatrix.row(for: kubernetes)
        return ReleaseVersions(kubernetes: kubernetes, etcd: row.etcd, containerd: row.containerd, runc: row.runc, cni: row.cni,
                               crictl: KubernetesVersion(kubernetes.major, kubernetes.minor, 0), pause: row.pause)
    }

    /// The pin file: one "name version" line per component, so a later `setup` installs exactly the same.
    public var pinText: String {
        [("kubernetes", kubernetes), ("etcd", etcd), ("containerd", containerd), ("runc", runc), ("cni", cni), ("crictl", crictl)]
            .map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\npause \(pause)\n"
    }

    /// Reads a pin file; what an older file lacks (only the Kubernetes version, or no pause) comes from the matrix.
    public init?(pinText text: String) {
        var found: [String: KubernetesVersion] = [:]
        var pause: String?
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            guard words.count == 2 else { continue }
            if words[0] == "pause" {
                pause = String(words[1])
            } else if let version = KubernetesVersion(parsing: String(words[1])) {
                found[String(words[0])] = version
            }
        }
        let kubernetes = found["kubernetes"] ?? KubernetesVersion(parsing: text)
        guard let kubernetes else { return nil }
        let table = Self.companions(for: kubernetes)
        self.init(kubernetes: kubernetes, etcd: found["etcd"] ?? table.etcd, containerd: found["containerd"] ?? table.containerd,
                  runc: found["runc"] ?? table.runc, cni: found["cni"] ?? table.cni, crictl: found["crictl"] ?? table.crictl,
                  pause: pause ?? table.pause)
    }

    public init(kubernetes: KubernetesVersion, etcd: KubernetesVersion, containerd: KubernetesVersion,
                runc: KubernetesVersion, cni: KubernetesVersion, crictl: KubernetesVersion, pause: String? = nil) {
        self.kubernetes = kubernetes
        self.etcd = etcd
        self.containerd = containerd
        self.runc = runc
        self.cni = cni
        self.crictl = crictl
        self.pause = pause ?? CompanionMatrix.row(for: kubernetes).pause
    }
}

/// kubeadm's constants for a release (`cmd/kubeadm/app/constants/constants.go` at the release tag) name the
/// etcd version that release is tested with: `DefaultEtcdVersion = "3.6.5-0"` (the `-0` is the image revision).
/// The same file names the pause image tag: `PauseVersion = "3.10.1"`. In 1.20 and before, PauseVersion lived in
/// constants_unix.go instead (moved in 1.21, k/k commit 8946f267), so this file has none and the matrix's is used.
public enum KubeadmConstants {
    public static func url(for kubernetes: KubernetesVersion, mirror: String?) -> String {
        (mirror.map { "\($0)/raw.githubusercontent.com" } ?? "https://raw.githubusercontent.com")
            + "/kubernetes/kubernetes/\(kubernetes)/cmd/kubeadm/app/constants/constants.go"
    }

    public static func defaultEtcdVersion(in source: String) -> KubernetesVersion? {
        quotedValue(of: "DefaultEtcdVersion", in: source).flatMap(KubernetesVersion.init(parsing:))
    }

    /// The tag as written ("3.10", not "3.10.0": the image is looked up by exactly this tag).
    public static func pauseVersion(in source: String) -> String? {
        quotedValue(of: "PauseVersion", in: source).flatMap { $0.isEmpty || !$0.allSatisfy { $0.isNumber || $0 == "." } ? nil : $0 }
    }

    /// The string of a `Name = "value"` line (the first one: the constant, not a later mention).
    static func quotedValue(of name: String, in source: String) -> String? {
        for line in source.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix(name), trimmed.dropFirst(name.count).first.map({ $0 == " " || $0 == "=" }) == true,
                  let open = trimmed.firstIndex(of: "\"") else { continue }
            return String(trimmed[trimmed.index(after: open)...].prefix(while: { $0 != "\"" }))
        }
        return nil
    }
}

public enum ReleaseArtifacts {
    public static let kubernetesBinaries = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubectl"]

    /// Every file of a release. With `mirror`, every URL points at the mirror, which keeps the official layout:
    /// `<mirror>/dl.k8s.io/...` and `<mirror>/github.com/...`.
    /// The machine's architecture in the releases' spelling.
    public static var hostArchitecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "amd64"
        #endif
    }

    public static func list(_ versions: ReleaseVersions, architecture: String = hostArchitecture, mirror: String? = nil) -> [Artifact] {
        func dl(_ path: String) -> String { (mirror.map { "\($0)/dl.k8s.io" } ?? "https://dl.k8s.io") + path }
        func gh(_ path: String) -> String { (mirror.map { "\($0)/github.com" } ?? "https://github.com") + path }
        let k = "v\(versions.kubernetes.major).\(versions.kubernetes.minor).\(versions.kubernetes.patch)"
        var artifacts = kubernetesBinaries.map { binary in
            Artifact(group: .kubernetes, name: "\(binary)-\(k)-linux-\(architecture)", url: dl("/release/\(k)/bin/linux/\(architecture)/\(binary)"),
                     checksum: .digestFile(url: dl("/release/\(k)/bin/linux/\(architecture)/\(binary).sha256")), extract: [:], installAs: binary)
        }
        let etcd = "v\(versions.etcd.major).\(versions.etcd.minor).\(versions.etcd.patch)"
        let etcdTarball = "etcd-\(etcd)-linux-\(architecture).tar.gz"
        artifacts.append(Artifact(group: .etcd, name: etcdTarball, url: gh("/etcd-io/etcd/releases/download/\(etcd)/\(etcdTarball)"),
                                  checksum: .sumsList(url: gh("/etcd-io/etcd/releases/download/\(etcd)/SHA256SUMS"), name: etcdTarball),
                                  extract: ["etcd-\(etcd)-linux-\(architecture)/etcd": "etcd", "etcd-\(etcd)-linux-\(architecture)/etcdctl": "etcdctl"],
                                  installAs: nil))
        let containerd = "\(versions.containerd.major).\(versions.containerd.minor).\(versions.containerd.patch)"
        let containerdTarball = "containerd-\(containerd)-linux-\(architecture).tar.gz"
        artifacts.append(Artifact(group: .containerd, name: containerdTarball,
                                  url: gh("/containerd/containerd/releases/download/v\(containerd)/\(containerdTarball)"),
                                  checksum: .sumsList(url: gh("/containerd/containerd/releases/download/v\(containerd)/\(containerdTarball).sha256sum"),
                                                      name: containerdTarball),
                                  extract: ["bin/containerd": "containerd", "bin/containerd-shim-runc-v2": "containerd-shim-runc-v2", "bin/ctr": "ctr"],
                                  installAs: nil))
        let runc = "v\(versions.runc.major).\(versions.runc.minor).\(versions.runc.patch)"
        artifacts.append(Artifact(group: .runc, name: "runc-\(runc).\(architecture)", url: gh("/opencontainers/runc/releases/download/\(runc)/runc.\(architecture)"),
                                  checksum: .sumsList(url: gh("/opencontainers/runc/releases/download/\(runc)/runc.sha256sum"), name: "runc.\(architecture)"),
                                  extract: [:], installAs: "runc"))
        let cni = "v\(versions.cni.major).\(versions.cni.minor).\(versions.cni.patch)"
        let cniTarball = "cni-plugins-linux-\(architecture)-\(cni).tgz"
        artifacts.append(Artifact(group: .cni, name: cniTarball, url: gh("/containernetworking/plugins/releases/download/\(cni)/\(cniTarball)"),
                                  checksum: .digestFile(url: gh("/containernetworking/plugins/releases/download/\(cni)/\(cniTarball).sha256")),
                                  extract: Dictionary(uniqueKeysWithValues: BinaryPaths.requiredCNIPlugins.map { ("./\($0)", "cni/\($0)") }),
                                  installAs: nil))
        func crictl(_ version: KubernetesVersion) -> Artifact {
            let tag = "v\(version.major).\(version.minor).\(version.patch)"
            let tarball = "crictl-\(tag)-linux-\(architecture).tar.gz"
            return Artifact(group: .crictl, name: tarball, url: gh("/kubernetes-sigs/cri-tools/releases/download/\(tag)/\(tarball)"),
                            checksum: .digestFile(url: gh("/kubernetes-sigs/cri-tools/releases/download/\(tag)/\(tarball).sha256")),
                            extract: ["crictl": "crictl"], installAs: nil, optional: true)
        }
        var crictlArtifact = crictl(versions.crictl)
        crictlArtifact.fallbacks = crictlFallbacks(below: versions.crictl).map(crictl)
        artifacts.append(crictlArtifact)
        return artifacts
    }

    /// cri-tools tags `vX.Y.0` by hand, sometimes days after Kubernetes X.Y.0 (kubernetes-sigs/cri-tools: RELEASE.md;
    /// v1.37.0 came after Kubernetes 1.37.0, cri-tools#2146): the `.0` of the three minors before, newest first.
    public static func crictlFallbacks(below version: KubernetesVersion) -> [KubernetesVersion] {
        (1...3).compactMap { back in version.minor - back >= 0 ? KubernetesVersion(version.major, version.minor - back, 0) : nil }
    }

    /// The digest in a checksum file: the first hex word, or the one on the line naming `name`.
    public static func digest(in text: String, for checksum: Artifact.Checksum) -> String? {
        func isDigest(_ word: Substring) -> Bool { word.count == 64 && word.allSatisfy(\.isHexDigit) }
        switch checksum {
        case .digestFile:
            return text.split(whereSeparator: \.isWhitespace).first(where: isDigest).map { $0.lowercased() }
        case .sumsList(_, let name):
            for line in text.split(separator: "\n") {
                let words = line.split(whereSeparator: \.isWhitespace)
                if words.count >= 2, isDigest(words[0]), words.dropFirst().contains(where: { $0 == name || $0 == "*\(name)" }) {
                    return words[0].lowercased()
                }
            }
            return nil
        }
    }
}
