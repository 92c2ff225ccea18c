import KubescratchCore
import Testing

/// Decoding the real API objects captured from a real v1.20.2 node.
@Suite struct KubeObjectsTests {
    @Test func stage2PodsTellPendingFromPinnedAndMirror() throws {
        let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: Repo.fixture("stage2-pods.json")).items
        let byName = Dictionary(uniqueKeysWithValues: pods.map { ($0.metadata.name, $0) })
        let pending = try #require(byName["pending-pod"])
        #expect(pending.phase == "Pending")
        #expect(pending.nodeName == nil)
        let pinned = try #require(byName["pinned-pod"])
        #expect(pinned.phase == "Running" && pinned.isReady && pinned.nodeName == "vm")
        #expect(pinned.podIP.map { ipv4($0, isIn: "10.200.0.0/24") } == true)
        #expect(try #require(byName["web-static-vm"]).isMirror)
        #expect(!pinned.isMirror)
    }

    @Test func stage2NodeCarriesTheNotReadyTaint() throws {
        let node = try #require(try KubeDecoding.decode(KubeList<Node>.self, from: Repo.fixture("stage2-nodes.json")).items.first)
        #expect(node.metadata.name == "vm")
        #expect(node.spec?.taints?.contains { $0.key == "node.kubernetes.io/not-ready" && $0.effect == "NoSchedule" } == true)
        let stage4 = try #require(try KubeDecoding.decode(KubeList<Node>.self, from: Repo.fixture("stage4-nodes.json")).items.first)
        #expect(stage4.isReady)
        #expect(stage4.spec?.taints == nil)
    }

    @Test func stage4DeploymentOwnsOneReplicaSet() throws {
        let sets = try KubeDecoding.decode(KubeList<ReplicaSet>.self, from: Repo.fixture("stage4-replicasets.json")).items
        #expect(sets.filter { $0.metadata.isOwned(byKind: "Deployment", name: "web") }.count == 1)
        let deployment = try #require(try KubeDecoding.decode(KubeList<Deployment>.self, from: Repo.fixture("stage4-deployments.json")).items.first)
        #expect(deployment.isReady(replicas: 3))
        #expect(!deployment.isReady(replicas: 1))
        let none = try KubeDecoding.decode(KubeList<ReplicaSet>.self, from: Repo.fixture("stage2-replicasets.json")).items
        #expect(none.isEmpty)
    }

    @Test func stage5ServiceHasItsNodePort() throws {
        let services = try KubeDecoding.decode(KubeList<Service>.self, from: Repo.fixture("stage5-services.json")).items
        let web = try #require(services.first { $0.metadata.name == "web" })
        #expect(web.nodePort == 30080)
        #expect(services.first { $0.metadata.name == "kubernetes" }?.nodePort == nil)
    }

    @Test func addressRanges() {
        #expect(ipv4("10.200.0.7", isIn: "10.200.0.0/24"))
        #expect(!ipv4("10.200.1.7", isIn: "10.200.0.0/24"))
        #expect(!ipv4("10.32.0.1", isIn: "10.200.0.0/24"))
        #expect(!ipv4("169.254.169.254", isIn: "10.200.0.0/24"))
        #expect(!ipv4("not.an.ip", isIn: "10.200.0.0/24"))
        #expect(ipv4("8.8.8.8", isIn: "0.0.0.0/0"))
    }

    @Test func manifestsAreFilledIn() {
        let values = ManifestValues(nodeName: "vm", webImage: "localhost/web:1")
        #expect(values.render("nodeName: {{NODE_NAME}}\nimage: {{WEB_IMAGE}}") == "nodeName: vm\nimage: localhost/web:1")
        #expect(values.argument("{node}") == "vm")
    }
}
