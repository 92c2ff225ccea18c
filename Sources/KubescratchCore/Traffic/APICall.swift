import Foundation

/// One line of the API server's audit log (JSON, audit.k8s.io/v1 Event): the fields the traffic view reads. The same
/// in v1.20 and current releases (staging/src/k8s.io/apiserver/pkg/apis/audit/v1/types.go).
public struct AuditEvent: Decodable, Sendable, Equatable {
    public struct User: Decodable, Sendable, Equatable { public var username: String? }
    public struct ObjectRef: Decodable, Sendable, Equatable {
        public var resource: String?
        public var subresource: String?
        public var namespace: String?
        public var name: String?
        public var apiGroup: String?
    }
    public struct Status: Decodable, Sendable, Equatable { public var code: Int? }

    public var auditID: String?
    public var stage: String
    public var verb: String
    public var requestURI: String
    public var user: User
    public var sourceIPs: [String]?
    public var objectRef: ObjectRef?
    public var responseStatus: Status?
    public var stageTimestamp: String?

    /// Lines that are not a whole event (a torn last line, a line from another format) are nil, never an error.
    public static func parse(_ line: Substring) -> AuditEvent? {
        guard line.first == "{" else { return nil }
        return try? JSONDecoder().decode(AuditEvent.self, from: Data(line.utf8))
    }
}

/// A call to the API server as the learner sees it: who, what, on which object, and how it ended.
public struct APICall: Sendable, Equatable, Codable {
    public var time: Date
    /// The user name the API server authenticated (system:node:vm, system:kube-scheduler, admin, …).
    public var user: String
    public var verb: String
    /// `pods`, `pods/binding`, `leases`, or the path of a non-resource request (`/version`).
    public var resource: String
    public var namespace: String?
    public var name: String?
    public var code: Int
    /// Where the request came from: tells node-2's kube-proxy from the first node's (they may share a name).
    public var sourceIP: String?
    /// Identical calls in a row, folded into one (the kubelet's Lease renewals every 10 s).
    public var count = 1
    /// Who it is in the diagram's terms, worked out once when a TrafficLog takes the call (the screen asks often).
    public var client: APIClient?

    enum CodingKeys: String, CodingKey { case time, user, verb, resource, namespace, name, code, sourceIP, count }

    public static let writeVerbs: Set<String> = ["create", "update", "patch", "delete", "deletecollection"]
    public var isWrite: Bool { Self.writeVerbs.contains(verb) }
    public var failed: Bool { code >= 400 }

    /// A watch counts at its ResponseStarted (its ResponseComplete comes when it ends, minutes later; v1.20 writes
    /// both then, the start marked "Connection closed early", because the watch stream bypasses the audit filter's
    /// writer), every other call when it is answered. RequestReceived is not logged (the policy omits it); Panic is a
    /// failure. A ResponseStarted logged twice for one request (k/k issue #126466) is dropped by its auditID.
    public init?(_ event: AuditEvent) {
        switch event.stage {
        case "ResponseStarted" where event.verb == "watch": break
        case "ResponseComplete" where event.verb != "watch", "Panic": break
        default: return nil
        }
        time = event.stageTimestamp.flatMap(Self.parseTime) ?? Date()
        user = event.user.username ?? "(anonymous)"
        verb = event.verb
        if let ref = event.objectRef, let resource = ref.resource {
            self.resource = resource + (ref.subresource.map { "/" + $0 } ?? "")
            namespace = ref.namespace
            name = ref.name
        } else {
            let path = String(event.requestURI.split(separator: "?").first ?? "")
            // Discovery (which API groups and kinds exist): one line per client, however many group versions it asks.
            let discovery = event.verb == "get" && (path == "/api" || path == "/apis" || path.hasPrefix("/api/") || path.hasPrefix("/apis/"))
            resource = discovery ? "/api* (discovery)" : path
        }
        code = event.stage == "Panic" ? 500 : (event.responseStatus?.code ?? 200)
        sourceIP = event.sourceIPs?.first
    }

    public init(time: Date, user: String, verb: String, resource: String, namespace: String? = nil, name: String? = nil,
                code: Int = 200, sourceIP: String? = nil) {
        self.time = time
        self.user = user
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.code = code
        self.sourceIP = sourceIP
    }

    /// RFC 3339 with microseconds, as the audit log writes it.
    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `verb resource` the way the diagram's arrows and the pane say it: `create pods/binding`, `watch services`.
    public var action: String { "\(verb) \(resource)" }

    /// The object, `namespace/name`, or what is known of it.
    public var object: String {
        switch (namespace, name) {
        case let (namespace?, name?): "\(namespace)/\(name)"
        case (nil, let name?): name
        case (let namespace?, nil): "\(namespace)/*"
        default: ""
        }
    }

    /// Same call again (what the pane folds): everything but the time and the count.
    func repeats(_ other: APICall) -> Bool {
        user == other.user && verb == other.verb && resource == other.resource && namespace == other.namespace
            && name == other.name && code == other.code && sourceIP == other.sourceIP
    }
}

/// Who made a call, in the diagram's terms: the box an arrow starts from.
public enum APIClient: Sendable, Equatable, Hashable {
    case kubelet(node: String)
    case scheduler
    /// With `--use-service-account-credentials` (on here, as kubeadm does) each controller calls as its own service
    /// account in kube-system: the controller's name.
    case controllerManager(controller: String?)
    case kubeProxy(node: String?)
    /// You, with kubectl and the admin certificate: the steps' commands and your own.
    case admin
    /// The API server calling itself (its own controllers, through loopback).
    case apiServer
    case other(String)

    /// `workerAddresses`: worker address → its name. Every kube-proxy logs in as system:kube-proxy, so a worker's
    /// is told apart by the address its calls come from.
    public init(user: String, sourceIP: String? = nil, workerAddresses: [String: String] = [:]) {
        let controllers = "system:serviceaccount:kube-system:"
        switch user {
        case "system:kube-scheduler": self = .scheduler
        case "system:kube-controller-manager": self = .controllerManager(controller: nil)
        case "system:kube-proxy": self = .kubeProxy(node: sourceIP.flatMap { workerAddresses[$0] })
        case "admin": self = .admin
        case "system:apiserver": self = .apiServer
        case let name where name.hasPrefix("system:node:"): self = .kubelet(node: String(name.dropFirst("system:node:".count)))
        case let name where name.hasPrefix(controllers): self = .controllerManager(controller: String(name.dropFirst(controllers.count)))
        default: self = .other(user)
        }
    }

    public var name: String {
        switch self {
        case .kubelet(let node): "kubelet@\(node)"
        case .scheduler: "scheduler"
        case .controllerManager(let controller): controller.map { "ctrl-manager (\($0))" } ?? "ctrl-manager"
        case .kubeProxy(let node): node.map { "kube-proxy@\($0)" } ?? "kube-proxy"
        case .admin: "you (kubectl)"
        case .apiServer: "apiserver"
        case .other(let user): user
        }
    }

    /// The calls a component of the diagram makes (Tab selects it; the pane shows only these); nil for one that
    /// calls nobody (etcd, containerd) or is the API server itself, whose pane shows everyone.
    public static func of(_ component: ComponentID, node: String) -> ((APIClient) -> Bool)? {
        let worker = component.worker?.name
        return from(DiagramModel.BoxID(component), node: worker ?? node, proxyNode: worker)
    }

    /// The calls of a diagram box on the node named `node`: what its arrow into the API server carries. `proxyNode`:
    /// how the log names that node's kube-proxy (nil for the first node's; a worker's is told apart by its address).
    public static func from(_ box: DiagramModel.BoxID, node: String, proxyNode: String?) -> ((APIClient) -> Bool)? {
        switch box {
        case .kubelet: { $0 == .kubelet(node: node) }
        case .scheduler: { $0 == .scheduler }
        case .controllerManager: { if case .controllerManager = $0 { true } else { false } }
        case .kubeProxy: { $0 == .kubeProxy(node: proxyNode) }
        default: nil
        }
    }

    /// The `--client` names `kubescratch traffic` takes.
    public func matches(_ filter: String) -> Bool {
        let wanted = filter.lowercased()
        switch self {
        case .kubelet(let node): return wanted == "kubelet" || wanted == "kubelet@\(node)" || wanted == "system:node:\(node)"
        case .scheduler: return ["scheduler", "kube-scheduler"].contains(wanted)
        case .controllerManager(let controller):
            return ["ctrl-manager", "controller-manager", "kube-controller-manager"].contains(wanted) || controller == wanted
        case .kubeProxy(let node): return wanted == "kube-proxy" || node.map { wanted == "kube-proxy@\($0)" } == true
        case .admin: return ["admin", "you", "kubectl"].contains(wanted)
        case .apiServer: return ["apiserver", "kube-apiserver"].contains(wanted)
        case .other(let user): return wanted == user.lowercased()
        }
    }
}
