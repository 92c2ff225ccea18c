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
}

public struct ReleaseVersions: Sendable, Equatable, Codable {
    public var kubernetes: KubernetesVersion
    public var etcd: KubernetesVersion
    public var containerd: KubernetesVersion
    public var runc: KubernetesVersion
    public var cni: KubernetesVersion
    public var crictl: KubernetesVersion

    /// Companions for a release when nothing better is known (no network, or `--from`). `setup` prefers
    /// the etcd that kubeadm pins for the very release (`KubeadmConstants`). kubeadm pairs etcd 3.4.13 with
    /// 1.20–1.21, 3.5 with 1.22–1.33 and 3.6 from 1.34 (docs/components.md §1.2; kubeadm's constants). containerd 2.1.4 is the release components.md
    /// cites; runc 1.3.3 and CNI plugins 1.8.0 are releases other projects pair with containerd 2.1 and
    /// Kubernetes 1.34. crictl follows the Kubernetes minor (cri-tools cuts a vX.Y.0 per minor).
    /// `setup --etcd/--containerd/--runc/--cni/--crictl` override each.
    public static func companions(for kubernetes: KubernetesVersion) -> ReleaseVersions {
        ReleaseVersions(
            kubernetes: kubernetes,
            etcd: kubernetes.isAtLeast(1, 34) ? KubernetesVersion(3, 6, 5)
                : kubernetes.isAtLeast(1, 22) ? KubernetesVersion(3, 5, 21) : KubernetesVersion(3, 4, 13),
            containerd: KubernetesVersion(2, 1, 4),
            runc: KubernetesVersion(1, 3, 3),
            cni: KubernetesVersion(1, 8, 0),
            crictl: KubernetesVersion(kubernetes.major, kubernetes.minor, 0))
    }

    /// The pin file: one "name vX.Y.Z" line per component, so a later `setup` installs exactly the same.
    public var pinText: String {
        [("kubernetes", kubernetes), ("etcd", etcd), ("containerd", containerd), ("runc", runc), ("cni", cni), ("crictl", crictl)]
            .map { "\($0.0) \($0.1)" }.joined(separator: "\n") + "\n"
    }

    /// Reads a pin file; a file from before companions were pinned (only the Kubernetes version) gets the table's.
    public init?(pinText text: String) {
        var found: [String: KubernetesVersion] = [:]
        for line in text.split(separator: "\n") {
            let words = line.split(separator: " ")
            if words.count == 2, let version = KubernetesVersion(parsing: String(words[1])) { found[String(words[0])] = version }
        }
        let kubernetes = found["kubernetes"] ?? KubernetesVersion(parsing: text)
        guard let kubernetes else { return nil }
        let table = Self.companions(for: kubernetes)
        self.init(kubernetes: kubernetes, etcd: found["etcd"] ?? table.etcd, containerd: found["containerd"] ?? table.containerd,
                  runc: found["runc"] ?? table.runc, cni: found["cni"] ?? table.cni, crictl: found["crictl"] ?? table.crictl)
    }

    public init(kubernetes: KubernetesVersion, etcd: KubernetesVersion, containerd: KubernetesVersion,
                runc: KubernetesVersion, cni: KubernetesVersion, crictl: KubernetesVersion) {
        self.kubernetes = kubernetes
        self.etcd = etcd
        self.containerd = containerd
        self.runc = runc
        self.cni = cni
        self.crictl = crictl
    }
}

/// kubeadm's constants for a release (`cmd/kubeadm/app/constants/constants.go` at the release tag) name the
/// etcd version that release is tested with: `DefaultEtcdVersion = "3.6.5-0"` (the `-0` is the image revision).
public enum KubeadmConstants {
    public static func url(for kubernetes: KubernetesVersion, mirror: String?) -> String {
        (mirror.map { "\($0)/raw.githubusercontent.com" } ?? "https://raw.githubusercontent.com")
            + "/kubernetes/kubernetes/\(kubernetes)/cmd/kubeadm/app/constants/constants.go"
    }

    public static func defaultEtcdVersion(in source: String) -> KubernetesVersion? {
        for line in source.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("DefaultEtcdVersion"), let open = trimmed.firstIndex(of: "\"") else { continue }
            let value = trimmed[trimmed.index(after: open)...].prefix(while: { $0 != "\"" })
            return KubernetesVersion(parsing: String(value))
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
        let crictl = "v\(versions.crictl.major).\(versions.crictl.minor).\(versions.crictl.patch)"
        let crictlTarball = "crictl-\(crictl)-linux-\(architecture).tar.gz"
        artifacts.append(Artifact(group: .crictl, name: crictlTarball, url: gh("/kubernetes-sigs/cri-tools/releases/download/\(crictl)/\(crictlTarball)"),
                                  checksum: .digestFile(url: gh("/kubernetes-sigs/cri-tools/releases/download/\(crictl)/\(crictlTarball).sha256")),
                                  extract: ["crictl": "crictl"], installAs: nil))
        return artifacts
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
