import Crypto
import Foundation

/// What the end of a stage looked like, kept so that a replay later starts there in seconds instead of running the
/// earlier stages' steps again: etcd's keyspace (`etcdctl snapshot save`), the files the steps generated (PKI,
/// kubeconfigs, configs, static pod manifests, images, the CNI config), and what to wait for once it runs again.
/// Moving forward restores it and starts the stage's components in dependency order, together where nothing
/// depends on another; the earlier stages' steps and checks are not run again (they ran when it was taken).
public struct StageSnapshot: Codable, Sendable, Equatable {
    /// The stage whose end this is.
    public var stage: Int
    /// Valid only for the same binaries, node, image source and lessons (`key`).
    public var key: String
    public var taken: Date
    /// Pods of the default namespace that were Ready: the same pods (etcd keeps them) must be Ready again.
    public var readyPods: [String]
    /// Services with a NodePort whose kube-proxy rules existed.
    public var services: [String]

    public init(stage: Int, key: String, taken: Date, readyPods: [String], services: [String]) {
        self.stage = stage
        self.key = key
        self.taken = taken
        self.readyPods = readyPods
        self.services = services
    }

    /// Stage 1's end is reached by running it (about 7 s: no API server to restore); from stage 2 on, etcd holds
    /// the cluster and a snapshot pays. Stage 6's end is never kept: nothing comes after it.
    public static let stages = 2...5

    /// The state folder's subfolders a stage's end needs, besides etcd's data (relative to the state folder).
    /// Not the runtime's or the kubelet's folders: containers and pod sandboxes are made again by the kubelet.
    public static let folders = ["pki", "kubeconfigs", "config", "manifests", "images", "cni/net.d"]

    /// A digest of everything that shapes a stage's end: the binaries' versions, the node's name and address (in the
    /// certificates), the image source, and the text of every lesson and asset up to that stage. Any change makes
    /// the old snapshot useless: the steps would have made something else.
    public static func key(facts: NodeFacts, images: ImageSource, stage: Int, lessons: [String], assets: [String]) -> String {
        var hasher = SHA256()
        let parts = [facts.nodeName, facts.nodeIP, "\(facts.kubernetes)", "\(facts.containerd)", "\(facts.etcd)",
                     "cgroup v\(facts.cgroupVersion)", images.rawValue, "stage \(stage)"] + lessons + assets
        for part in parts {
            hasher.update(data: Data(part.utf8))
            hasher.update(data: Data([0]))
        }
        return hasher.finalize().map { String(format: "%02x", $0) }.joined().prefix(16).description
    }

    /// What must be healthy before a component starts when a kept end is restored; everything else starts at once.
    /// The API server needs etcd; the kubelet needs containerd (and the images in it), not the API server, whose
    /// absence it rides out until it can register; the scheduler, the controller manager and kube-proxy need the API
    /// server. So the kubelet's few seconds of start-up overlap the API server's.
    public static func startsAfter(_ component: ComponentID) -> [ComponentID] {
        switch component {
        case .kubeAPIServer: [.etcd]
        case .kubelet: [.containerd]
        case .kubeScheduler, .kubeControllerManager, .kubeProxy: [.kubeAPIServer]
        default: []
        }
    }
}
