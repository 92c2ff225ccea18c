import KubescratchCore
import Testing

/// The matrix pinned for several minors, its fallback for minors it does not know, and the promise that setup
/// and doctor read the same rows (setup's choice always passes doctor).
@Suite struct CompanionMatrixTests {
    func v(_ major: Int, _ minor: Int, _ patch: Int) -> KubernetesVersion { KubernetesVersion(major, minor, patch) }

    @Test func oneRowPerMinorFrom120To137() {
        #expect(CompanionMatrix.rows.map(\.kubernetes.minor) == Array(20...37))
        #expect(CompanionMatrix.rows.allSatisfy { $0.kubernetes.major == 1 && $0.kubernetes.patch == 0 })
    }

    @Test func pinnedRows() {
        let r120 = CompanionMatrix.row(for: v(1, 20, 2))
        #expect(r120.etcd == v(3, 4, 13) && r120.containerd == v(1, 7, 36) && r120.runc == v(1, 3, 6))
        #expect(r120.pause == "3.2" && r120.crictl == v(1, 20, 0) && r120.cni == v(1, 9, 1))
        let r130 = CompanionMatrix.row(for: v(1, 30, 14))
        #expect(r130.containerd == v(2, 0, 13) && r130.runc == v(1, 3, 6) && r130.pause == "3.9")
        let r135 = CompanionMatrix.row(for: v(1, 35, 2))
        #expect(r135.etcd == v(3, 6, 11) && r135.containerd == v(2, 2, 9) && r135.runc == v(1, 3, 6) && r135.pause == "3.10.1")
        #expect(r135.containerdSupportedText == "2.2.0+, 2.1.5+, 1.7.28+")
        let r136 = CompanionMatrix.row(for: v(1, 36, 0))
        #expect(r136.containerd == v(2, 3, 6) && r136.runc == v(1, 4, 3) && r136.pause == "3.10.2")
        #expect(r136.containerdSupportedText == "2.3.0+, 2.2.0+")
        let r137 = CompanionMatrix.row(for: v(1, 37, 0))
        #expect(r137.etcd == v(3, 7, 0) && r137.containerd == v(2, 3, 6) && r137.runc == v(1, 4, 3) && r137.crictl == v(1, 37, 0))
    }

    @Test func aMinorNewerThanTheTableGetsTheNewestRowAndSaysSo() {
        #expect(CompanionMatrix.row(for: v(1, 38, 2)) == CompanionMatrix.row(for: v(1, 37, 0)))
        #expect(CompanionMatrix.substitutionNote(for: v(1, 38, 2)) == "no row for 1.38: using 1.37's companions")
        #expect(CompanionMatrix.substitutionNote(for: v(1, 37, 1)) == nil)
        let companions = ReleaseVersions.companions(for: v(1, 38, 2))
        #expect(companions.containerd == v(2, 3, 6) && companions.runc == v(1, 4, 3) && companions.etcd == v(3, 7, 0))
        #expect(companions.crictl == v(1, 38, 0), "crictl follows the release's own minor; older ones are its fallbacks")
        #expect(CompanionMatrix.row(for: v(1, 19, 16)).kubernetes == v(1, 20, 0))
        #expect(CompanionMatrix.substitutionNote(for: v(1, 19, 16)) == "no row for 1.19: using 1.20's companions")
    }

    @Test func kubeletsUpTo122GetAContainerdThatStillSpeaksV1alpha2() {
        for minor in 20...22 { #expect(CompanionMatrix.row(for: v(1, minor, 0)).containerd.major == 1, "1.\(minor)") }
    }

    @Test func noRowPinsARuncWithAKnownRegression() {
        // 1.3.3: tmpfs mode= regression (fixed in 1.3.4); 1.3.4 and 1.4.0: spurious "cannot start a container that has stopped".
        let regressions = [v(1, 3, 3), v(1, 3, 4), v(1, 4, 0)]
        #expect(CompanionMatrix.rows.allSatisfy { !regressions.contains($0.runc) })
    }

    @Test func setupsChoicePassesDoctorOnEveryRow() {
        for row in CompanionMatrix.rows {
            #expect(row.supportsContainerd(row.containerd), "\(row.kubernetes.minorRelease)")
            #expect(Doctor.judgeContainerd(row.containerd, kubelet: row.kubernetes).status == .pass, "\(row.kubernetes.minorRelease)")
            #expect(Doctor.judgeEtcd(row.etcd, server: row.kubernetes).status == .pass, "\(row.kubernetes.minorRelease)")
        }
    }

    @Test func supportedMeansAListedLineAtOrAboveItsOldestPatch() {
        let row = CompanionMatrix.row(for: v(1, 35, 0))
        #expect(row.supportsContainerd(v(2, 1, 5)) && row.supportsContainerd(v(2, 2, 0)) && row.supportsContainerd(v(1, 7, 36)))
        #expect(!row.supportsContainerd(v(2, 1, 4)))
        #expect(!row.supportsContainerd(v(2, 3, 0)), "a line the table does not list for 1.35")
        #expect(!row.supportsContainerd(v(1, 6, 39)))
    }

    @Test func crictlIsOptionalWithThePreviousMinorsAsFallbacks() throws {
        let artifacts = ReleaseArtifacts.list(ReleaseVersions.companions(for: v(1, 37, 0)), architecture: "amd64")
        let crictl = try #require(artifacts.first { $0.group == .crictl })
        #expect(crictl.optional && crictl.name == "crictl-v1.37.0-linux-amd64.tar.gz")
        #expect(crictl.fallbacks.map(\.name) == ["crictl-v1.36.0-linux-amd64.tar.gz", "crictl-v1.35.0-linux-amd64.tar.gz",
                                                 "crictl-v1.34.0-linux-amd64.tar.gz"])
        #expect(crictl.fallbacks.allSatisfy { $0.optional })
        #expect(artifacts.filter { $0.group != .crictl }.allSatisfy { !$0.optional && $0.fallbacks.isEmpty }, "the rest fail loudly")
    }

    @Test func kubeadmsPauseVersionIsReadAsWritten() {
        let source = """
            const (
            \t// DefaultEtcdVersion indicates the default etcd version that kubeadm uses
            \tDefaultEtcdVersion = "3.6.6-0"
            \t// PauseVersion indicates the default pause image version for kubeadm
            \tPauseVersion = "3.10"
            )
            """
        #expect(KubeadmConstants.pauseVersion(in: source) == "3.10", "a tag, not 3.10.0")
        #expect(KubeadmConstants.defaultEtcdVersion(in: source) == v(3, 6, 6))
        // 1.20's constants.go has no PauseVersion (it was in constants_unix.go).
        #expect(KubeadmConstants.pauseVersion(in: "const (\n\tDefaultEtcdVersion = \"3.4.13-0\"\n)\n") == nil)
        #expect(KubeadmConstants.pauseVersion(in: "\tPauseVersionSuffix = \"x\"\n") == nil)
    }

    @Test func thePauseImageComesFromTheMatrixOrKubeadm() {
        #expect(ImageSet.registry(for: v(1, 36, 1)).pause == "registry.k8s.io/pause:3.10.2")
        #expect(ImageSet.registry(for: v(1, 28, 3)).pause == "registry.k8s.io/pause:3.9")
        #expect(ImageSet.registry(for: v(1, 20, 2)).pause == "k8s.gcr.io/pause:3.2")
        #expect(ImageSet.registry(for: v(1, 36, 1), pause: "3.10.3").pause == "registry.k8s.io/pause:3.10.3")
        #expect(ImageSet.forSource(.local, version: v(1, 36, 1), pause: "3.10.3") == .local)
    }

    @Test func thePinCarriesThePauseTag() throws {
        var versions = ReleaseVersions.companions(for: v(1, 35, 1))
        versions.pause = "3.10"
        let read = try #require(ReleaseVersions(pinText: versions.pinText))
        #expect(read.pause == "3.10")
        #expect(ReleaseVersions(pinText: "kubernetes v1.36.0\netcd v3.6.11\n")?.pause == "3.10.2", "an older pin gets the matrix's")
    }

    @Test func aStaticExecutableNamesNoLoader() {
        let elf: [UInt8] = [0x7F, 0x45, 0x4C, 0x46, 2, 1, 1, 0] + Array(repeating: 0, count: 64)
        #expect(StaticExecutable.isStatic(head: elf))
        #expect(!StaticExecutable.isStatic(head: elf + Array("/lib64/ld-linux-x86-64.so.2".utf8)))
        #expect(!StaticExecutable.isStatic(head: elf + Array("/lib/ld-musl-x86_64.so.1".utf8)))
        #expect(!StaticExecutable.isStatic(head: []), "an empty file is no busybox")
    }
}
