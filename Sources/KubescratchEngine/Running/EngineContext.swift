import Foundation
import KubescratchCore

/// Everything the engine needs about this node, resolved once per invocation.
public struct EngineContext: Sendable {
    public var layout: StateLayout
    public var facts: NodeFacts
    public var network: ClusterNetwork
    public var binaries: BinaryPaths
    public var imageSource: ImageSource
    public var assetsDir: String
    /// The folder the Kubernetes binaries came from, remembered so a later run uses the same ones.
    public var binDir: String?
    public var supervisor: Supervisor
    public var shell: Shell
    /// The pause tag kubeadm pins for these binaries, as setup recorded it in their folder (nil: the matrix's).
    public var kubeadmPause: String?

    public init(layout: StateLayout, facts: NodeFacts, network: ClusterNetwork = ClusterNetwork(), binaries: BinaryPaths,
                imageSource: ImageSource, assetsDir: String, binDir: String? = nil) {
        self.binDir = binDir
        self.layout = layout
        self.facts = facts
        self.network = network
        self.binaries = binaries
        self.imageSource = imageSource
        self.assetsDir = assetsDir
        self.supervisor = Supervisor(layout: layout)
        self.shell = Shell(extraEnvironment: ComponentPlanner.safetyEnvironment)
        self.kubeadmPause = binDir.flatMap { ReleaseInstaller.recordedVersions(in: $0, for: facts.kubernetes)?.pause }
    }

    public var images: ImageSet { ImageSet.forSource(imageSource, version: facts.kubernetes, pause: kubeadmPause) }
    public var planner: ComponentPlanner {
        ComponentPlanner(facts: facts, layout: layout, network: network, binaries: binaries, sandboxImage: images.pause)
    }
    public var values: ManifestValues { ManifestValues(nodeName: facts.nodeName, webImage: images.web) }

    /// kubectl as the learner would run it: KUBECONFIG set to the admin kubeconfig, and HOME inside our
    /// state folder so its cache is not written to ~/.kube.
    public var kubectlEnvironment: [String: String] {
        ["KUBECONFIG": layout.adminKubeconfig, "HOME": layout.root + "/kubectl-home"]
    }

    public var kubectlShell: Shell {
        Shell(extraEnvironment: ComponentPlanner.safetyEnvironment.merging(kubectlEnvironment) { $1 })
    }

    /// `ctr` on our containerd's socket, in the CRI's namespace. The connect timeout keeps it from hanging
    /// 10 s when the socket is missing.
    public func ctrArguments(_ arguments: [String]) -> [String] {
        ["-a", layout.containerdSocket, "--connect-timeout", "3s", "-n", "k8s.io"] + arguments
    }
}
