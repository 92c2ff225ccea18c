import Foundation
import KubescratchCore

/// A pod as containerd knows it: its sandbox, whether its containers run, and the IP CNI gave it.
/// A static pod's name carries its node's: `web-static` on node `vm` is `web-static-vm`.
public struct RuntimePod: Sendable, Equatable {
    public func isNamed(_ pod: String, node: String) -> Bool { name == pod || name == "\(pod)-\(node)" }

    /// The pod of that name as it is now: a pod put back after it was removed has a new sandbox beside the old,
    /// stopped one until the kubelet collects it, so the running one wins.
    public static func current(_ pod: String, node: String, in pods: [RuntimePod]) -> RuntimePod? {
        let named = pods.filter { $0.isNamed(pod, node: node) }
        return named.first { $0.running && $0.ip != nil } ?? named.first { $0.running } ?? named.first
    }

    public var name: String
    public var namespace: String
    public var sandboxID: String
    public var running: Bool
    public var ip: String?
    /// The app containers of this sandbox (not pause), old attempts included until the kubelet collects them.
    public var containers: [RuntimeContainer] = []

    /// The kubelet's restart count as the runtime keeps it: the newest attempt of a container.
    public var restartCount: Int { containers.map(\.attempt).max() ?? 0 }
}

/// One container of a pod in containerd: the kubelet names every restart as a new container with the next
/// `attempt` (CRI ContainerMetadata.attempt, which the kubelet sets to the container's restart count).
public struct RuntimeContainer: Sendable, Equatable {
    public var id: String
    public var name: String
    public var attempt: Int
    public var running: Bool
}

/// Reads pods from our containerd (CRI namespace k8s.io) and the host-local IPAM folder: how stage 1 sees
/// pods, since the standalone kubelet's /pods has no status (docs/v1.20.md, P18).
public struct RuntimeInspector: Sendable {
    public let context: EngineContext

    public init(context: EngineContext) { self.context = context }

    struct ContainerInfo: Decodable {
        var ID: String
        var Labels: [String: String]?
        var Spec: OCISpec?
        var Extensions: [String: Extension]?
        struct OCISpec: Decodable { var annotations: [String: String]? }
        /// A protobuf Any as ctr prints it: the value is base64 of the JSON containerd stored.
        struct Extension: Decodable { var value: String? }

        /// CRI's metadata of the container (its name and attempt), kept by containerd's CRI plugin in the extension
        /// `io.cri-containerd.container.metadata` (containerd 1.x pkg/cri/server/helpers.go containerMetadataExtension;
        /// 2.x internal/cri/labels ContainerMetadataExtension: the same key).
        var criMetadata: (name: String, attempt: Int)? {
            guard let value = Extensions?["io.cri-containerd.container.metadata"]?.value, let data = Data(base64Encoded: value),
                  let stored = try? JSONDecoder().decode(Stored.self, from: data) else { return nil }
            return (stored.Metadata.Config.metadata.name, stored.Metadata.Config.metadata.attempt ?? 0)
        }
        struct Stored: Decodable {
            var Metadata: Inner
            struct Inner: Decodable { var Config: Config }
            struct Config: Decodable { var metadata: Name }
            struct Name: Decodable { var name: String; var attempt: Int? }
        }
    }

    /// The host PID of a sandbox's pause container: its /proc/<PID>/ns/net is the pod's network namespace.
    public func pausePID(of sandboxID: String) async throws -> Int32? {
        let tasks = try await context.shell.run(context.binaries.ctr, context.ctrArguments(["tasks", "ls"]), timeout: 10)
        return tasks.stdout.split(separator: "\n").first(where: { $0.hasPrefix(sandboxID) })?
            .split(separator: " ", omittingEmptySubsequences: true).dropFirst().first.flatMap { Int32($0) }
    }

    public func pods() async throws -> [RuntimePod] {
        let ctr = context.binaries.ctr
        let shell = context.shell
        let ids = try await shell.run(ctr, context.ctrArguments(["containers", "ls", "-q"]), timeout: 10)
        guard ids.succeeded else { throw ShellError.cannotStart("ctr containers ls", ids.combinedOutput) }
        let tasks = try await shell.run(ctr, context.ctrArguments(["tasks", "ls"]), timeout: 10)
        var running = Set<String>()
        for line in tasks.stdout.split(separator: "\n").dropFirst() {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            if fields.count >= 3, fields[2] == "RUNNING" { running.insert(String(fields[0])) }
        }
        var sandboxes: [String: (name: String, namespace: String, uid: String)] = [:]
        // By sandbox, not by pod UID: a static pod put back gets the same UID and a new sandbox, while the old
        // sandbox's stopped containers are still listed.
        var containersOfSandbox: [String: [RuntimeContainer]] = [:]
        for id in ids.stdout.split(separator: "\n").map(String.init) where !id.isEmpty {
            let info = try await shell.run(ctr, context.ctrArguments(["containers", "info", id]), timeout: 10)
            guard info.succeeded, let decoded = try? JSONDecoder().decode(ContainerInfo.self, from: Data(info.stdout.utf8)),
                  let labels = decoded.Labels, let pod = labels["io.kubernetes.pod.name"] else { continue }
            let namespace = labels["io.kubernetes.pod.namespace"] ?? "default"
            // Containers name their pod by UID, not by sandbox ID.
            let uid = labels["io.kubernetes.pod.uid"] ?? ""
            if labels["io.cri-containerd.kind"] == "sandbox" {
                sandboxes[id] = (pod, namespace, uid)
            } else {
                let metadata = decoded.criMetadata
                let container = RuntimeContainer(id: id, name: metadata?.name ?? labels["io.kubernetes.container.name"] ?? "",
                                                 attempt: metadata?.attempt ?? 0, running: running.contains(id))
                containersOfSandbox[decoded.Spec?.annotations?["io.kubernetes.cri.sandbox-id"] ?? uid, default: []].append(container)
            }
        }
        let addresses = ipamAddresses()
        return sandboxes.map { id, pod in
            let containers = containersOfSandbox[id] ?? containersOfSandbox[pod.uid] ?? []
            // Each container name's newest attempt decides: an older, exited attempt waits for garbage collection.
            let newest = Dictionary(grouping: containers, by: \.name).values.compactMap { $0.max { $0.attempt < $1.attempt } }
            return RuntimePod(name: pod.name, namespace: pod.namespace, sandboxID: id,
                              running: running.contains(id) && !newest.isEmpty && newest.allSatisfy(\.running),
                              ip: addresses[id], containers: containers.sorted { ($0.name, $0.attempt) < ($1.name, $1.attempt) })
        }.sorted { $0.name < $1.name }
    }

    /// host-local keeps one file per address it handed out, named by the address and holding the sandbox's ID.
    func ipamAddresses() -> [String: String] {
        let folder = "\(context.layout.cniIPAMDir)/\(context.network.cniNetworkName)"
        var result: [String: String] = [:]
        for file in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where ipv4(file, isIn: context.network.podSubnet) {
            guard let text = try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8) else { continue }
            let owner = text.split(whereSeparator: { $0.isNewline }).first.map(String.init) ?? ""
            result[owner] = file
        }
        return result
    }
}
