/// The companions of one Kubernetes minor: what `setup` installs with it, and what `doctor` accepts beside it.
public struct CompanionRow: Sendable, Equatable {
    /// The minor this row is for, as X.Y.0.
    public var kubernetes: KubernetesVersion
    /// The fallback when kubeadm's pin at the release tag (`DefaultEtcdVersion`) cannot be read.
    public var etcd: KubernetesVersion
    public var containerd: KubernetesVersion
    /// The runc the containerd above is tested with (containerd's `script/setup/runc-version`).
    public var runc: KubernetesVersion
    public var cni: KubernetesVersion
    /// The fallback when kubeadm's `PauseVersion` cannot be read; a tag, so "3.10" stays "3.10".
    public var pause: String
    /// The oldest release of each containerd line upstream lists for this minor, newest line first.
    public var containerdSupported: [KubernetesVersion]
    /// kubeadm's `MinExternalEtcdVersion`: kubeadm refuses an etcd older than this.
    public var etcdMinimum: KubernetesVersion

    /// cri-tools tags one crictl per Kubernetes minor (kubernetes-sigs/cri-tools: RELEASE.md).
    public var crictl: KubernetesVersion { KubernetesVersion(kubernetes.major, kubernetes.minor, 0) }

    /// "2.2.0+, 2.1.5+, 1.7.28+", as upstream's table writes it.
    public var containerdSupportedText: String {
        containerdSupported.map { "\($0.major).\($0.minor).\($0.patch)+" }.joined(separator: ", ")
    }

    /// Inside upstream's list: a listed line, at or above the oldest patch listed for it.
    public func supportsContainerd(_ version: KubernetesVersion) -> Bool {
        containerdSupported.contains { $0.major == version.major && $0.minor == version.minor && version >= $0 }
    }
}

/// One compatibility matrix for every Kubernetes minor kubescratch knows, 1.20 (the end-to-end lane's
/// release) to the newest (1.37). `setup` installs a row (kubeadm's etcd and pause at the release tag win
/// over the row's when they can be read), `setup --etcd/--containerd/...` override it, and `doctor` judges
/// installed versions by the same row. Facts and sources: docs/components.md §1.2 and §14.
///
/// How each column is chosen:
/// - containerd: the newest patch of the newest line containerd's RELEASES.md ("Kubernetes support") lists for
///   the minor, avoiding end-of-life lines where the table allows. Kubelets up to 1.22 speak only CRI v1alpha2,
///   which containerd 2.0 removed, so they get 1.7 (it serves v1alpha2 "through EOL ... for older versions of
///   k8s", the table's note). Newest patches per line: releases/vX.Y.Z.toml in containerd/containerd
///   (1.7.36, 2.0.13, 2.2.9, 2.3.6; next patch numbers absent as of 2026-12).
/// - runc: what that containerd branch's `script/setup/runc-version` names: release/1.7 1.3.5 (containerd#13059)
///   and 1.3.6 asked for in containerd#13606; release/2.0 1.3.6 (containerd#13619); release/2.2 1.3.6
///   (containerd#13606); 2.3 1.4.3 (containerd#13590). Never 1.3.3 (tmpfs regression, fixed in 1.3.4) nor
///   1.3.4 (spurious "cannot start a container that has stopped", reverted in 1.3.5): runc CHANGELOG.md.
/// - CNI plugins 1.9.1 for every row: the plugins do not follow Kubernetes, and 1.9.0+ fixes
///   GHSA-jv3w-x3r3-g6rm (1.8.0, the old default, is affected).
/// - etcd: kubeadm's last known pin for the minor (cmd/kubeadm/app/constants/constants.go).
/// - pause: kubeadm's `PauseVersion` for the minor (the same file; constants_unix.go in 1.20).
public enum CompanionMatrix {
    private static func v(_ major: Int, _ minor: Int, _ patch: Int) -> KubernetesVersion { KubernetesVersion(major, minor, patch) }

    private static func row(_ minor: Int, etcd: KubernetesVersion, containerd: KubernetesVersion, runc: KubernetesVersion,
                            pause: String, supported: [KubernetesVersion], etcdMinimum: KubernetesVersion) -> CompanionRow {
        CompanionRow(kubernetes: v(1, minor, 0), etcd: etcd, containerd: containerd, runc: runc, cni: v(1, 9, 1), pause: pause,
                     containerdSupported: supported, etcdMinimum: etcdMinimum)
    }

    // containerd 1.7.36 with runc 1.3.6 (release/1.7, see above). Every line upstream lists for 1.20–1.29 is
    // past its end of life by 2026-12 (1.7: September 2026); 1.7 is the newest of them.
    private static let containerd17 = v(1, 7, 36), runcFor17 = v(1, 3, 6)
    // 1.30–1.34: 2.1 is end of life (2026-07-03); 2.0 has extended LTS to March 2027 (RELEASES.md "Current State").
    private static let containerd20 = v(2, 0, 13), runcFor20 = v(1, 3, 6)
    // kubeadm MinExternalEtcdVersion: 3.2.18 until 1.27; 3.4.13 from 1.28 (k/k#118733); from 1.35 the lowest
    // entry of SupportedEtcdVersion, 3.5.24 (k/k#134779).
    private static let etcdMin120 = v(3, 2, 18), etcdMin128 = v(3, 4, 13), etcdMin135 = v(3, 5, 24)

    /// Ascending by minor, one row per minor.
    public static let rows: [CompanionRow] = [
        // etcd 3.4.13: kubeadm's pin for 1.19–1.21. pause 3.2 (1.20, constants_unix.go) and 3.4.1 (1.21, k/k 8946f267).
        // containerd table rows 1.20/1.21 "1.5.0+" (RELEASES.md of the 1.6 era), plus 1.6 and 1.7 by the table's note.
        row(20, etcd: v(3, 4, 13), containerd: containerd17, runc: runcFor17, pause: "3.2",
            supported: [v(1, 7, 0), v(1, 6, 0), v(1, 5, 0)], etcdMinimum: etcdMin120),
        row(21, etcd: v(3, 4, 13), containerd: containerd17, runc: runcFor17, pause: "3.4.1",
            supported: [v(1, 7, 0), v(1, 6, 0), v(1, 5, 0)], etcdMinimum: etcdMin120),
        // etcd 3.5.21: kubeadm's pin at v1.33.0 (kubesphere/kubekey#2952 lists constants.go per tag); any 3.5 patch
        // serves 1.22+. pause 3.5 (1.22), 3.6 (1.23, k/k#106903), 3.7 (1.24, kubeadm#2698), 3.8 (1.25, constants.go at v1.25.5).
        row(22, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.5",
            supported: [v(1, 7, 0), v(1, 6, 0), v(1, 5, 5)], etcdMinimum: etcdMin120),
        row(23, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.6",
            supported: [v(1, 7, 0), v(1, 6, 0), v(1, 5, 8)], etcdMinimum: etcdMin120),
        // RELEASES.md rows 1.24/1.25 "1.7.0+, 1.6.4+"; 1.26 "1.7.0+, 1.6.15+" (also "v1.6.15+, v1.7.0+ | 1.26+");
        // 1.29 "1.7.11+, 1.6.27+". pause 3.9 for 1.26–1.30.
        row(24, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.7",
            supported: [v(1, 7, 0), v(1, 6, 4)], etcdMinimum: etcdMin120),
        row(25, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.8",
            supported: [v(1, 7, 0), v(1, 6, 4)], etcdMinimum: etcdMin120),
        row(26, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.9",
            supported: [v(1, 7, 0), v(1, 6, 15)], etcdMinimum: etcdMin120),
        row(27, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.9",
            supported: [v(1, 7, 0), v(1, 6, 15)], etcdMinimum: etcdMin120),
        row(28, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.9",
            supported: [v(1, 7, 0), v(1, 6, 15)], etcdMinimum: etcdMin128),
        row(29, etcd: v(3, 5, 21), containerd: containerd17, runc: runcFor17, pause: "3.9",
            supported: [v(1, 7, 11), v(1, 6, 27)], etcdMinimum: etcdMin128),
        // RELEASES.md rows 1.30–1.34 (2025 version). etcd 3.5.24 for 1.31–1.33 (k/k#134692, k/k#134779).
        // pause 3.10 from 1.31 (k/k#125112), 3.10.1 from 1.34 (k/k#130713).
        row(30, etcd: v(3, 5, 21), containerd: containerd20, runc: runcFor20, pause: "3.9",
            supported: [v(2, 1, 0), v(2, 0, 0), v(1, 7, 13), v(1, 6, 28)], etcdMinimum: etcdMin128),
        row(31, etcd: v(3, 5, 24), containerd: containerd20, runc: runcFor20, pause: "3.10",
            supported: [v(2, 1, 0), v(2, 0, 0), v(1, 7, 20), v(1, 6, 34)], etcdMinimum: etcdMin128),
        row(32, etcd: v(3, 5, 24), containerd: containerd20, runc: runcFor20, pause: "3.10",
            supported: [v(2, 1, 0), v(2, 0, 1), v(1, 7, 24), v(1, 6, 36)], etcdMinimum: etcdMin128),
        row(33, etcd: v(3, 5, 24), containerd: containerd20, runc: runcFor20, pause: "3.10",
            supported: [v(2, 1, 0), v(2, 0, 4), v(1, 7, 24), v(1, 6, 36)], etcdMinimum: etcdMin128),
        // etcd 3.6.11 for 1.34–1.36 (k/k#138746).
        row(34, etcd: v(3, 6, 11), containerd: containerd20, runc: runcFor20, pause: "3.10.1",
            supported: [v(2, 1, 3), v(2, 0, 6), v(1, 7, 28), v(1, 6, 39)], etcdMinimum: etcdMin128),
        // RELEASES.md row 1.35 "2.2.0+, 2.1.5+, 1.7.28+": 2.2.9 (2.2's planned end, 2026-11-06, has passed; 2.1 and 1.7
        // are end of life too); runc 1.3.6 (containerd#13606).
        row(35, etcd: v(3, 6, 11), containerd: v(2, 2, 9), runc: v(1, 3, 6), pause: "3.10.1",
            supported: [v(2, 2, 0), v(2, 1, 5), v(1, 7, 28)], etcdMinimum: etcdMin135),
        // RELEASES.md row 1.36 "2.3.0+, 2.2.0+": 2.3.6, an LTS line (releases/v2.3.0.toml). pause 3.10.2 for 1.36+
        // (third-party evidence only; setup reads kubeadm's own value).
        row(36, etcd: v(3, 6, 11), containerd: v(2, 3, 6), runc: v(1, 4, 3), pause: "3.10.2",
            supported: [v(2, 3, 0), v(2, 2, 0)], etcdMinimum: etcdMin135),
        // No 1.37 row in the newest RELEASES.md seen (the 2.3.0 one): assumed 2.4 (released with 1.37) and 2.3.
        // 2.3 LTS rather than 2.4: "Users prioritizing stability ... should stay on the 2.3 LTS release"
        // (releases/v2.4.0.toml). etcd 3.7.0: kubeadm 1.37 (k/k#141032).
        row(37, etcd: v(3, 7, 0), containerd: v(2, 3, 6), runc: v(1, 4, 3), pause: "3.10.2",
            supported: [v(2, 4, 0), v(2, 3, 0)], etcdMinimum: etcdMin135),
    ]

    /// The row for a release: its own, else the nearest (the newest for a newer minor, the oldest for an older one).
    public static func row(for kubernetes: KubernetesVersion) -> CompanionRow {
        if let exact = rows.first(where: { $0.kubernetes.major == kubernetes.major && $0.kubernetes.minor == kubernetes.minor }) {
            return exact
        }
        return kubernetes < rows[0].kubernetes ? rows[0] : rows[rows.count - 1]
    }

    public static func hasRow(for kubernetes: KubernetesVersion) -> Bool {
        rows.contains { $0.kubernetes.major == kubernetes.major && $0.kubernetes.minor == kubernetes.minor }
    }

    /// One line for a release without a row of its own: "no row for 1.38: using 1.37's companions".
    public static func substitutionNote(for kubernetes: KubernetesVersion) -> String? {
        hasRow(for: kubernetes) ? nil : "no row for \(kubernetes.minorRelease): using \(row(for: kubernetes).kubernetes.minorRelease)'s companions"
    }
}
