import Foundation
import KubescratchCore

/// Steps that show what is hidden (etcd's keys, the kubelet's identity, kube-proxy's rules) and the container
/// kill of stage 1's break-it section.
extension Engine {
    /// SIGKILL the newest attempt of each app container of the pod, through containerd as the kubelet's runtime.
    func killContainers(of pod: String) async throws -> ActionResult {
        guard let found = RuntimePod.current(pod, node: node, in: try await runtimePods()) else {
            return .commandFailed("containerd has no pod \(pod)")
        }
        let targets = found.containers.filter(\.running)
        guard !targets.isEmpty else { return .commandFailed("no container of pod \(pod) is running") }
        for container in targets {
            let arguments = context.ctrArguments(["tasks", "kill", "--signal", "SIGKILL", container.id])
            emit(.command((["ctr"] + arguments).map(shellQuoted).joined(separator: " ")))
            let result = try await context.shell.run(context.binaries.ctr, arguments, timeout: 10)
            guard result.succeeded else { return .commandFailed(result.combinedOutput) }
            killedContainers.record(pod, container.attempt)
        }
        let names = targets.map { "\($0.name) (restart count \($0.attempt))" }.joined(separator: ", ")
        return .done("killed \(names)")
    }

    func observeRestart(of name: String) async throws -> Observation {
        let killed = killedContainers.attempt(name)
        let count: Int
        if apiServerUp {
            guard let pod = try await getPod(name) else { return Observation(holds: false, detail: "no pod \(name) in the API") }
            count = pod.restartCount
        } else {
            guard let pod = RuntimePod.current(name, node: node, in: try await runtimePods()) else {
                return Observation(holds: false, detail: "containerd has no pod \(name)")
            }
            guard pod.running else {
                return Observation(holds: false, detail: "pod \(name): its container is not running again yet (restart count \(pod.restartCount))")
            }
            count = pod.restartCount
        }
        return Observation(holds: count > (killed ?? 0), detail: "pod \(name): restart count \(killed.map { "\($0) → " } ?? "")\(count)")
    }

    func observeProxyRules(service: String, present: Bool) async throws -> Observation {
        let rules = ServiceRules(service: service, iptablesSave: try await natRules())
        return Observation(holds: rules.rules.isEmpty != present, detail: "service \(service): \(rules.description)")
    }

    /// `iptables -t nat -S`: the same lines as iptables-save, one table.
    func natRules() async throws -> String {
        guard let iptables = SystemProgram.path("iptables") else { throw ShellError.cannotStart("iptables", "not installed") }
        let result = try await context.shell.run(iptables, ["-w", "-t", "nat", "-S"], timeout: 10)
        guard result.succeeded else { throw ShellError.cannotStart("iptables -t nat -S", result.combinedOutput) }
        return result.stdout
    }

    /// The ClusterIP URL, only once kube-proxy's rule catches it (before, the packet would leave by the default route).
    func clusterIPURL(of service: String) async throws -> String {
        guard let text = try await kubectlQuietOptional(["get", "service", service, "-o", "json"]),
              let spec = try KubeDecoding.decode(Service.self, from: text).spec,
              let clusterIP = spec.clusterIP, let port = spec.ports?.first?.port else { throw CheckError.noService(service) }
        guard ipv4(clusterIP, isIn: context.network.serviceRange) else { throw CheckError.unsafeAddress(clusterIP) }
        guard ServiceRules(service: service, iptablesSave: try await natRules()).catches(clusterIP: clusterIP) else {
            throw CheckError.noProxyRule(clusterIP)
        }
        return "http://\(clusterIP):\(port)/"
    }

    func show(_ state: HiddenState) async throws -> ActionResult {
        switch state {
        case .etcdKeys:
            // etcd's JSON gateway: keys only, from "/registry/" up to (not including) "/registry0" ('0' follows '/').
            let from = Data(EtcdKeyListing.prefix.utf8).base64EncodedString()
            let to = Data("/registry0".utf8).base64EncodedString()
            let url = "http://127.0.0.1:2379/v3/kv/range"
            emit(.command("etcdctl --endpoints=http://127.0.0.1:2379 get /registry/ --prefix --keys-only   # read-only; as JSON: POST \(url)"))
            guard case .answered(200, let body) = await HTTPProbe.post(url, json: "{\"key\":\"\(from)\",\"range_end\":\"\(to)\",\"keys_only\":true}") else {
                return .commandFailed("etcd did not answer on 127.0.0.1:2379")
            }
            struct Range: Decodable { var kvs: [KeyValue]?; struct KeyValue: Decodable { var key: String } }
            let keys = try JSONDecoder().decode(Range.self, from: Data(body.utf8)).kvs?
                .compactMap { Data(base64Encoded: $0.key).map { String(decoding: $0, as: UTF8.self) } } ?? []
            let lines = EtcdKeyListing.summary(keys)
            emit(.output(lines.joined(separator: "\n")))
            return .done(lines[0])
        case .kubeletCertificate:
            let path = PKIFiles(layout: layout).cert("kubelet-client")
            emit(.command("openssl x509 -in \(path) -noout -subject -issuer -dates -ext subjectAltName,extendedKeyUsage"))
            let lines = try CertificateSummary.lines(pem: String(contentsOfFile: path, encoding: .utf8))
            emit(.output(lines.joined(separator: "\n")))
            return .done(lines[0])
        }
    }
}

/// What `kill-container` killed, per pod, so `container-restarted` can tell a new restart from an old one.
final class KilledContainers: @unchecked Sendable {
    private let lock = NSLock()
    private var attempts: [String: Int] = [:]
    func record(_ pod: String, _ attempt: Int) { lock.withLock { attempts[pod] = max(attempts[pod] ?? 0, attempt) } }
    func attempt(_ pod: String) -> Int? { lock.withLock { attempts[pod] } }
}
