import Foundation
import KubescratchCore
import Testing
import Yams

/// The manifests the steps apply: valid YAML once filled in, and written for a node without a registry.
@Suite struct ManifestTests {
    let values = ManifestValues(nodeName: "vm", webImage: "localhost/kubescratch-web:1.0")

    func manifest(_ name: String) throws -> [String: Any] {
        let text = values.render(try String(contentsOfFile: "\(Repo.assets)/\(name)", encoding: .utf8))
        #expect(!text.contains("{{"), "\(name) has an unfilled placeholder")
        return try #require(try Yams.load(yaml: text) as? [String: Any])
    }

    func podSpec(_ object: [String: Any]) -> [String: Any]? {
        if object["kind"] as? String == "Pod" { return object["spec"] as? [String: Any] }
        return ((object["spec"] as? [String: Any])?["template"] as? [String: Any])?["spec"] as? [String: Any]
    }

    @Test(arguments: ["web-static.yaml", "pod-needs-token.yaml", "pod-pending.yaml", "pod-pinned.yaml", "deployment-web.yaml"])
    func podsStopFastAndNeverPull(name: String) throws {
        let spec = try #require(podSpec(try manifest(name)))
        // busybox httpd ignores SIGTERM: without a short grace period every stop waits 30 s.
        #expect(spec["terminationGracePeriodSeconds"] as? Int == 2)
        let container = try #require((spec["containers"] as? [[String: Any]])?.first)
        #expect(container["image"] as? String == "localhost/kubescratch-web:1.0")
        #expect(container["imagePullPolicy"] as? String == "IfNotPresent")
    }

    @Test func podsBeforeTheControllerManagerMountNoToken() throws {
        for name in ["pod-pending.yaml", "pod-pinned.yaml"] {
            #expect(podSpec(try manifest(name))?["automountServiceAccountToken"] as? Bool == false, "\(name)")
        }
        #expect(podSpec(try manifest("pod-needs-token.yaml"))?["automountServiceAccountToken"] == nil)
        #expect(podSpec(try manifest("pod-pinned.yaml"))?["nodeName"] as? String == "vm")
        #expect(podSpec(try manifest("pod-pending.yaml"))?["nodeName"] == nil)
    }

    @Test func serviceSelectsTheDeploymentsPods() throws {
        let service = try manifest("service-web.yaml")
        let spec = try #require(service["spec"] as? [String: Any])
        #expect(spec["type"] as? String == "NodePort")
        #expect(spec["selector"] as? [String: String] == ["app": "web"])
        let port = try #require((spec["ports"] as? [[String: Any]])?.first)
        #expect(port["nodePort"] as? Int == 30080)
        let deployment = try manifest("deployment-web.yaml")
        let labels = (((deployment["spec"] as? [String: Any])?["template"] as? [String: Any])?["metadata"] as? [String: Any])?["labels"] as? [String: String]
        #expect(labels == ["app": "web"])
    }
}
