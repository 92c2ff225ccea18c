/// The real upstream components kubescratch launches, in the order a node gains them.
public enum ComponentID: String, CaseIterable, Codable, Sendable, Comparable {
    case containerd
    case kubelet
    case etcd
    case kubeAPIServer = "kube-apiserver"
    case kubeScheduler = "kube-scheduler"
    case kubeControllerManager = "kube-controller-manager"
    case kubeProxy = "kube-proxy"

    public var name: String { rawValue }
    /// Every component's name, for "expected one of …" messages.
    public static var allNames: String { allCases.map(\.name).joined(separator: ", ") }

    /// Components started first are stopped last.
    public var startOrder: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: Self, b: Self) -> Bool { a.startOrder < b.startOrder }

    public init?(name: String) { self.init(rawValue: name) }
}

/// The kubelet runs twice in the tutorial: alone first, then as a node of the API server.
public enum KubeletMode: String, Codable, Sendable {
    /// No kubeconfig: pods come only from the static pod folder.
    case standalone
    /// With a kubeconfig: registers the node and takes pods from the API server.
    case cluster
}
