/// The real upstream components kubescratch launches, in the order a node gains them. Stage 6's second node runs
/// its own containerd, kubelet and kube-proxy: the same programs, supervised under names of their own.
public enum ComponentID: String, CaseIterable, Codable, Sendable, Comparable {
    case containerd
    case kubelet
    case etcd
    case kubeAPIServer = "kube-apiserver"
    case kubeScheduler = "kube-scheduler"
    case kubeControllerManager = "kube-controller-manager"
    case kubeProxy = "kube-proxy"
    case secondNodeContainerd = "node-2-containerd"
    case secondNodeKubelet = "node-2-kubelet"
    case secondNodeKubeProxy = "node-2-kube-proxy"

    public var name: String { rawValue }
    /// Every component's name, for "expected one of …" messages.
    public static var allNames: String { allCases.map(\.name).joined(separator: ", ") }

    /// Components started first are stopped last.
    public var startOrder: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: Self, b: Self) -> Bool { a.startOrder < b.startOrder }

    public init?(name: String) { self.init(rawValue: name) }

    /// The program this component runs: node-2's kubelet is a kubelet.
    public var program: ComponentID {
        switch self {
        case .secondNodeContainerd: .containerd
        case .secondNodeKubelet: .kubelet
        case .secondNodeKubeProxy: .kubeProxy
        default: self
        }
    }

    public var isOnSecondNode: Bool { program != self }

    /// The first node's components, as stages 1-5 run them.
    public static var firstNode: [ComponentID] { allCases.filter { !$0.isOnSecondNode } }
    public static var secondNode: [ComponentID] { allCases.filter(\.isOnSecondNode) }
}

/// The kubelet runs twice in the tutorial: alone first, then as a node of the API server.
public enum KubeletMode: String, Codable, Sendable {
    /// No kubeconfig: pods come only from the static pod folder.
    case standalone
    /// With a kubeconfig: registers the node and takes pods from the API server.
    case cluster
}
