import KubescratchCore
import Testing

@Suite struct ReleaseArtifactsTests {
    let versions = ReleaseVersions.companions(for: KubernetesVersion(1, 34, 1))

    @Test func kubernetesBinariesComeFromDlK8sIoWithDigestFiles() throws {
        let kubelet = try #require(ReleaseArtifacts.list(versions).first { $0.installAs == "kubelet" })
        #expect(kubelet.url == "https://dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubelet")
        #expect(kubelet.checksum == .digestFile(url: "https://dl.k8s.io/release/v1.34.1/bin/linux/amd64/kubelet.sha256"))
        #expect(ReleaseArtifacts.list(versions).filter { $0.group == .kubernetes }.count == 6)
    }

    @Test func aMirrorKeepsTheLayout() {
        let urls = ReleaseArtifacts.list(versions, mirror: "http://127.0.0.1:8080").map(\.url)
        #expect(urls.allSatisfy { $0.hasPrefix("http://127.0.0.1:8080/dl.k8s.io/") || $0.hasPrefix("http://127.0.0.1:8080/github.com/") })
        #expect(urls.contains("http://127.0.0.1:8080/github.com/etcd-io/etcd/releases/download/v3.6.5/etcd-v3.6.5-linux-amd64.tar.gz"))
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
    }
}
