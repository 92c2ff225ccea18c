/// What `setup` fetches for a release, from where, and how each file is checked
/// (shared/reference/components.md §1: dl.k8s.io and the projects' GitHub releases).
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

public struct ReleaseVersions: Sendable, Equatable {
    public var kubernetes: KubernetesVersion
    public var etcd: KubernetesVersion
    public var containerd: KubernetesVersion
    public var runc: KubernetesVersion
    public var cni: KubernetesVersion
    public var crictl: KubernetesVersion

    /// Companion versions for a Kubernetes release: etcd as kubeadm pairs it (3.5 up to 1.33, 3.6 from 1.34),
    /// containerd 2.1.4 (the release components.md cites), crictl of the same minor. The runc and CNI plugin
    /// versions and the etcd patch releases are placeholders not yet checked against the projects' release
    /// pages: `setup` is unfinished (issue 6) and must confirm them before it downloads anything.
    public static func companions(for kubernetes: KubernetesVersion) -> ReleaseVersions {
        ReleaseVersions(
            kubernetes: kubernetes,
            etcd: kubernetes.isAtLeast(1, 34) ? KubernetesVersion(3, 6, 5) : KubernetesVersion(3, 5, 21),
            containerd: KubernetesVersion(2, 1, 4),
            runc: KubernetesVersion(1, 3, 0),
            cni: KubernetesVersion(1, 7, 1),
            crictl: KubernetesVersion(kubernetes.major, kubernetes.minor, 0))
    }
}

public enum ReleaseArtifacts {
    public static let kubernetesBinaries = ["kube-apiserver", "kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet", "kubectl"]

    /// Every file of a release. With `mirror`, every URL points at the mirror, which keeps the official layout:
    /// `<mirror>/dl.k8s.io/...` and `<mirror>/github.com/...`.
    public static func list(_ versions: ReleaseVersions, architecture: String = "amd64", mirror: String? = nil) -> [Artifact] {
        func dl(_ path: String) -> String { (mirror.map { "\($0)/dl.k8s.io" } ?? "https://dl.k8s.io") + path }
        func gh(_ path: String) -> String { (mirror.map { "\($0)/github.com" } ?? "https://github.com") + path }
        let k = "v\(versions.kubernetes.major).\(versions.kubernetes.minor).\(versions.kubernetes.patch)"
        var artifacts = kubernetesBinaries.map { binary in
            Artifact(group: .kubernetes, name: "\(binary)-\(k)", url: dl("/release/\(k)/bin/linux/\(architecture)/\(binary)"),
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
