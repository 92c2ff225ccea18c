import KubescratchCore
import Testing

@Suite struct ReleaseArtifactsTests {
    let versions = ReleaseVersions.companions(for: KubernetesVersion(1, 34, 1))

    @Test func kubernetesBinariesComeFromDlK8sIoWithDigestFiles() throws {
        let kubelet = try #require(ReleaseArtifacts.list(versions, architecture: "amd64").first { $0.installAs == "kubelet" })
        #expect(kubelet.url == "https://dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubelet")
        #expect(kubelet.checksum == .digestFile(url: "https://dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubelet.sha256"))
        #expect(ReleaseArtifacts.list(versions, architecture: "amd64").filter { $0.group == .kubernetes }.count == 6)
    }

    @Test func everyCachedNameCarriesTheArchitecture() {
        let arm = ReleaseArtifacts.list(versions, architecture: "arm64")
        #expect(arm.allSatisfy { $0.name.contains("arm64") }, "an amd64 file in the cache is never taken for an arm64 one")
        #expect(Set(arm.map(\.name)).isDisjoint(with: ReleaseArtifacts.list(versions, architecture: "amd64").map(\.name)))
        #expect(Set(arm.map(\.name)).count == arm.count, "no two files share a cache name")
        #expect(arm.first { $0.installAs == "kubelet" }?.url == "https://dl.k8s.io/release/v1.34.1/bin/linux/arm64/kubelet")
    }

    @Test func aMirrorKeepsTheLayout() {
        let urls = ReleaseArtifacts.list(versions, architecture: "amd64", mirror: "http://127.0.0.1:8080").map(\.url)
        #expect(urls.allSatisfy { $0.hasPrefix("http://127.0.0.1:8080/dl.k8s.io/") || $0.hasPrefix("http://127.0.0.1:8080/github.com/") })
        #expect(urls.contains("http://127.0.0.1:8080/github.com/etcd-io/etcd/releases/download/v3.6.11/etcd-v3.6.11-linux-amd64.tar.gz"))
    }

    @Test func digestsAreFoundInBothChecksumFormats() {
        let digest = String(repeating: "ab", count: 32)
        #expect(ReleaseArtifacts.digest(in: "\(digest)\n", for: .digestFile(url: "")) == digest)
        #expect(ReleaseArtifacts.digest(in: "not a digest", for: .digestFile(url: "")) == nil)
        let list = "\(String(repeating: "cd", count: 32))  other.tar.gz\n\(digest.uppercased())  etcd-v3.6.5-linux-amd64.tar.gz\n"
        #expect(ReleaseArtifacts.digest(in: list, for: .sumsList(url: "", name: "etcd-v3.6.5-linux-amd64.tar.gz")) == digest)
        #expect(ReleaseArtifacts.digest(in: list, for: .sumsList(url: "", name: "missing.tar.gz")) == nil)
    }

    @Test func etcdFollowsKubeadmsPairing() {
        #expect(ReleaseVersions.companions(for: KubernetesVersion(1, 33, 0)).etcd.minor == 5)
        #expect(ReleaseVersions.companions(for: KubernetesVersion(1, 34, 0)).etcd.minor == 6)
        #expect(ReleaseVersions.companions(for: KubernetesVersion(1, 20, 2)).etcd == KubernetesVersion(3, 4, 13))
    }
}

@Suite struct ReleasePinTests {
    @Test func thePinFileRoundTripsEveryCompanion() throws {
        var versions = ReleaseVersions.companions(for: KubernetesVersion(1, 34, 1))
        versions.etcd = KubernetesVersion(3, 6, 4)
        let read = try #require(ReleaseVersions(pinText: versions.pinText))
        #expect(read == versions)
        #expect(versions.pinText.hasPrefix("kubernetes v1.34.1\netcd v3.6.4\n"))
    }

    @Test func anOldPinWithOnlyTheReleaseGetsTheTable() {
        #expect(ReleaseVersions(pinText: "v1.33.2\n") == ReleaseVersions.companions(for: KubernetesVersion(1, 33, 2)))
        #expect(ReleaseVersions(pinText: "garbage") == nil)
    }

    @Test func kubeadmsEtcdPairingIsReadFromItsConstants() {
        let source = """
            const (
            \t// DefaultEtcdVersion indicates the default etcd version that kubeadm uses
            \tDefaultEtcdVersion = "3.6.5-0"
            \tMinExternalEtcdVersion = "3.5.24-0"
            )
            """
        #expect(KubeadmConstants.defaultEtcdVersion(in: source) == KubernetesVersion(3, 6, 5))
        #expect(KubeadmConstants.defaultEtcdVersion(in: "package constants\n") == nil)
        #expect(KubeadmConstants.url(for: KubernetesVersion(1, 34, 1), mirror: nil)
            == "https://raw.githubusercontent.com/kubernetes/kubernetes/v1.34.1/cmd/kubeadm/app/constants/constants.go")
    }
}
