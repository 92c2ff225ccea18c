import Foundation
import KubescratchCore

/// Paths of the repository and of the test fixtures, found from this file's location.
enum Repo {
    static let root: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.path
    }()
    static var lessons: String { root + "/lessons" }
    static var assets: String { root + "/assets" }
    /// Real JSON captured from a real v1.20.2 node (Fixtures/v1.20.2/README.md).
    static var fixtures: String { root + "/Tests/KubescratchCoreTests/Fixtures/v1.20.2" }

    static func fixture(_ name: String) throws -> String {
        try String(contentsOfFile: "\(fixtures)/\(name)", encoding: .utf8)
    }
}

enum Sample {
    static let layout = StateLayout(root: "/var/lib/kubescratch")
    static let binaries = BinaryPaths(programs: [
        "containerd": "/usr/bin/containerd", "containerd-shim-runc-v2": "/usr/bin/containerd-shim-runc-v2", "runc": "/usr/sbin/runc",
        "kubelet": "/opt/k8s/kubelet", "etcd": "/usr/bin/etcd", "kube-apiserver": "/opt/k8s/kube-apiserver",
        "kube-scheduler": "/opt/k8s/kube-scheduler", "kube-controller-manager": "/opt/k8s/kube-controller-manager",
        "kube-proxy": "/opt/k8s/kube-proxy", "kubectl": "/opt/k8s/kubectl",
    ], cniBinDir: "/usr/lib/cni")

    static func facts(kubernetes: KubernetesVersion, containerd: KubernetesVersion = KubernetesVersion(1, 6, 20), cgroup: Int = 1) -> NodeFacts {
        NodeFacts(nodeName: "VM", nodeIP: "192.0.2.2", cgroupVersion: cgroup, kubernetes: kubernetes, containerd: containerd,
                  etcd: KubernetesVersion(3, 4, 23))
    }

    static func planner(_ version: KubernetesVersion, containerd: KubernetesVersion = KubernetesVersion(1, 6, 20), cgroup: Int = 1) -> ComponentPlanner {
        ComponentPlanner(facts: facts(kubernetes: version, containerd: containerd, cgroup: cgroup), layout: layout,
                         binaries: binaries, sandboxImage: "localhost/kubescratch-pause:1.0")
    }
}
