/// What the plans need to know about the machine and the releases in use.
public struct NodeFacts: Codable, Sendable, Equatable {
    /// The node's name: the lowercase host name, exactly as in the kubelet's certificate.
    public var nodeName: String
    /// The address the API server advertises and the kubelet reports (never 127.0.0.1).
    public var nodeIP: String
    public var cgroupVersion: Int
    public var kubernetes: KubernetesVersion
    public var containerd: KubernetesVersion
    public var etcd: KubernetesVersion

    public init(nodeName: String, nodeIP: String, cgroupVersion: Int,
                kubernetes: KubernetesVersion, containerd: KubernetesVersion, etcd: KubernetesVersion) {
        self.nodeName = nodeName.lowercased()
        self.nodeIP = nodeIP
        self.cgroupVersion = cgroupVersion
        self.kubernetes = kubernetes
        self.containerd = containerd
        self.etcd = etcd
    }
}

/// Address ranges of the learning cluster. Chosen away from the usual home and cloud ranges.
public struct ClusterNetwork: Codable, Sendable, Equatable {
    public var podSubnet = "10.200.0.0/24"
    public var clusterCIDR = "10.200.0.0/16"
    public var serviceRange = "10.32.0.0/24"
    /// The first address of the service range: the `kubernetes` Service, a SAN of the API server's certificate.
    public var apiServiceIP = "10.32.0.1"
    public var nodePortRange = "30000-32767"
    public var bridge = "cni0"
    public var cniNetworkName = "kubescratch"
    public var apiServerPort = 6443
    public var clusterDomain = "cluster.local"

    public init() {}
}
