import Foundation

/// A file a component needs before it starts: a config, a manifest, a kubeconfig.
public struct PlannedFile: Sendable, Equatable {
    public var path: String
    public var contents: String
    /// Secrets (keys, kubeconfigs with embedded keys) are 0600.
    public var mode: UInt16

    public init(path: String, contents: String, mode: UInt16 = 0o644) {
        self.path = path
        self.contents = contents
        self.mode = mode
    }
}

/// How to tell that a component is up. Each one is a real endpoint of the real component.
public enum HealthCheck: Sendable, Equatable, CustomStringConvertible {
    /// The process accepts connections on its socket (containerd's gRPC socket).
    case unixSocket(path: String)
    /// Plain HTTP on loopback (kubelet 10248, etcd 2379, kube-proxy 10256).
    case http(url: String)
    /// HTTPS verified against our CA (the API server), optionally with a client certificate.
    case https(url: String, caFile: String)
    /// HTTPS with the component's own self-signed certificate (scheduler 10259, controller manager 10257):
    /// there is no CA to verify against, and the health paths need no credentials.
    case httpsSelfSigned(url: String)

    public var description: String {
        switch self {
        case .unixSocket(let path): "connect to \(path)"
        case .http(let url), .https(let url, _), .httpsSelfSigned(let url): "GET \(url)"
        }
    }
}

/// Everything needed to start one component: the exact command line, environment, files and health probe.
public struct ComponentPlan: Sendable, Equatable {
    public var component: ComponentID
    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    public var files: [PlannedFile]
    public var health: HealthCheck
    /// How long a healthy start may take on a slow machine before we call it a failure.
    public var startTimeoutSeconds: Double
    /// The components this one opens connections to: the arrows of the node diagram.
    public var talksTo: [ComponentID]
    /// TCP ports it listens on, for `status` and for `doctor`'s "port already in use".
    public var ports: [Int]

    public init(component: ComponentID, executable: String, arguments: [String], environment: [String: String],
                files: [PlannedFile], health: HealthCheck, startTimeoutSeconds: Double, talksTo: [ComponentID], ports: [Int]) {
        self.component = component
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.files = files
        self.health = health
        self.startTimeoutSeconds = startTimeoutSeconds
        self.talksTo = talksTo
        self.ports = ports
    }

    /// The command as a learner would type it, one flag per line.
    public var commandLine: String {
        ([executable] + arguments).map(shellQuoted).joined(separator: " \\\n    ")
    }
}

/// Quotes a word for a POSIX shell only when it needs it, so printed commands stay readable and copyable.
public func shellQuoted(_ word: String) -> String {
    let safe = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:=,@%+")
    if !word.isEmpty && word.allSatisfy({ safe.contains($0) }) { return word }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
}
