import Foundation

/// The parts of Kubernetes API objects kubescratch reads: enough for the stage checks, `status` and the diagram.
/// Decoded from real API JSON (`kubectl get ... -o json`); unknown fields are ignored.
public struct KubeList<Item: Decodable & Sendable>: Decodable, Sendable {
    public var items: [Item]
}

public struct ObjectMeta: Codable, Sendable, Equatable {
    public var name: String
    public var namespace: String?
    public var labels: [String: String]?
    public var annotations: [String: String]?
    public var ownerReferences: [OwnerReference]?
    public var deletionTimestamp: String?

    public struct OwnerReference: Codable, Sendable, Equatable {
        public var kind: String
        public var name: String
    }

    public func isOwned(byKind kind: String, name: String) -> Bool {
        ownerReferences?.contains { $0.kind == kind && $0.name == name } ?? false
    }
}

public struct Condition: Codable, Sendable, Equatable {
    public var type: String
    public var status: String
    public var reason: String?
    public var message: String?
    /// RFC 3339, whole seconds: when the status last changed (pods), or (nodes) lastHeartbeatTime: when the kubelet
    /// last reported it.
    public var lastTransitionTime: String?
    public var lastHeartbeatTime: String?

    /// The time the condition became what it is, or was last reported, whichever is later.
    public var since: Date? {
        let formatter = ISO8601DateFormatter()
        return [lastTransitionTime, lastHeartbeatTime].compactMap { $0.flatMap(formatter.date(from:)) }.max()
    }
}

public struct Pod: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public struct Spec: Codable, Sendable, Equatable {
        public var nodeName: String?
    }

    public struct Status: Codable, Sendable, Equatable {
        public var phase: String?
        public var podIP: String?
        public var conditions: [Condition]?
        public var containerStatuses: [ContainerStatus]?
    }

    public struct ContainerStatus: Codable, Sendable, Equatable {
        public var name: String
        public var restartCount: Int
    }

    /// The kubelet's count of restarts, over the pod's containers.
    public var restartCount: Int { status?.containerStatuses?.map(\.restartCount).max() ?? 0 }

    public var phase: String { status?.phase ?? "Unknown" }
    public var nodeName: String? { (spec?.nodeName).flatMap { $0.isEmpty ? nil : $0 } }
    public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
    /// Ready, as a kubelet said since `time` (a restored etcd still holds what was said before it was kept).
    public func isReady(since time: Date) -> Bool {
        status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" && ($0.since ?? .distantPast) >= time } ?? false
    }
    /// Mirror pods are the API server's read-only copies of a kubelet's static pods.
    public var isMirror: Bool { metadata.annotations?["kubernetes.io/config.mirror"] != nil }
    public var podIP: String? { (status?.podIP).flatMap { $0.isEmpty ? nil : $0 } }
    public var scheduledCondition: Condition? { status?.conditions?.first { $0.type == "PodScheduled" } }
}

public struct Node: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public struct Spec: Codable, Sendable, Equatable {
        public var taints: [Taint]?
        public var podCIDR: String?
    }

    public struct Taint: Codable, Sendable, Equatable {
        public var key: String
        public var effect: String
    }

    public struct Status: Codable, Sendable, Equatable {
        public var conditions: [Condition]?
    }

    public var isReady: Bool { status?.conditions?.contains { $0.type == "Ready" && $0.status == "True" } ?? false }
    public var readyCondition: Condition? { status?.conditions?.first { $0.type == "Ready" } }
    /// Ready, as its kubelet reported since `time` (its heartbeat).
    public func isReady(since time: Date) -> Bool {
        guard let ready = readyCondition, ready.status == "True" else { return false }
        return (ready.since ?? .distantPast) >= time
    }
}

public struct Deployment: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public var spec: Spec?
    public var status: Status?

    public struct Spec: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var selector: Selector?
    }
    public struct Selector: Codable, Sendable, Equatable { public var matchLabels: [String: String]? }
    public struct Status: Codable, Sendable, Equatable {
        public var replicas: Int?
        public var readyReplicas: Int?
        public var updatedReplicas: Int?
    }

    /// `kubectl -l` for the Deployment's pods (its matchLabels).
    public var labelSelector: String? {
        guard let labels = spec?.selector?.matchLabels, !labels.isEmpty else { return nil }
        return labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    /// Every wanted replica is Ready and no extra pod is left over.
    public func isReady(replicas: Int) -> Bool {
        spec?.replicas == replicas && status?.readyReplicas == replicas && status?.replicas == replicas
    }
}

public struct ReplicaSet: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
}

public struct Service: Codable, Sendable, Equatable {
    public var metadata: ObjectMeta
    public var spec: Spec?

    public struct Spec: Codable, Sendable, Equatable {
        public var type: String?
        public var clusterIP: String?
        public var ports: [Port]?
        public var selector: [String: String]?
    }

    public struct Port: Codable, Sendable, Equatable {
        public var port: Int
        public var nodePort: Int?
    }

    public var nodePort: Int? { spec?.ports?.compactMap(\.nodePort).first }
}

public enum KubeDecoding {
    public static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(text.utf8))
    }
}

/// Whether an IPv4 address is inside a CIDR range, such as a pod IP in the pod subnet.
/// Used to refuse sending traffic anywhere but our own bridge.
public func ipv4(_ address: String, isIn cidr: String) -> Bool {
    func value(_ text: Substring) -> UInt32? {
        let parts = text.split(separator: ".").compactMap { UInt32($0) }
        guard parts.count == 4, parts.allSatisfy({ $0 < 256 }) else { return nil }
        return parts.reduce(0) { $0 << 8 | $1 }
    }
    let pieces = cidr.split(separator: "/")
    guard pieces.count == 2, let base = value(pieces[0]), let bits = UInt32(pieces[1]), bits <= 32,
          let address = value(Substring(address)) else { return false }
    let mask: UInt32 = bits == 0 ? 0 : ~UInt32(0) << (32 - bits)
    return address & mask == base & mask
}
