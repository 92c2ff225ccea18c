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

    /// The Service's ClusterIP and port, only once kube-proxy's rule catches that address (before, the packet would
    /// leave by the default route).
    func clusterIPAddress(of service: String) async throws -> (ip: String, port: Int) {
        guard let text = try await kubectlQuietOptional(["get", "service", service, "-o", "json"]),
              let spec = try KubeDecoding.decode(Service.self, from: text).spec,
              let clusterIP = spec.clusterIP, let port = spec.ports?.first?.port else { throw CheckError.noService(service) }
        guard ipv4(clusterIP, isIn: context.network.serviceRange) else { throw CheckError.unsafeAddress(clusterIP) }
        guard ServiceRules(service: service, iptablesSave: try await natRules()).catches(clusterIP: clusterIP) else {
            throw CheckError.noProxyRule(clusterIP)
        }
        return (clusterIP, port)
    }

    func clusterIPURL(of service: String) async throws -> String {
        let (ip, port) = try await clusterIPAddress(of: service)
        return "http://\(ip):\(port)/"
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
        case .podNetwork: return try await showPodNetwork("web-static")
        case .runtime: return try await showRuntime()
        case .etcdSecret: return try await showEtcdSecret(namespace: "default", name: "demo-secret")
        }
    }

    /// One request followed through the nat table, as `kubescratch trace` prints it; the screen draws it from the
    /// report the runner keeps.
    func trace(_ target: TraceTarget, expecting expectation: TraceExpectation) async throws -> ActionResult {
        let runner = TraceRunner(context: context)
        emit(.command(runner.command(target)))
        let report: TraceReport
        do {
            report = try await runner.run(target)
        } catch let refused as TraceRunner.Refused {
            return .commandFailed(refused.description)
        }
        emit(.output(report.lines.joined(separator: "\n")))
        let links = workers.map { WorkerNetwork($0, cluster: context.network) }
        if let unmet = report.unmet(expectation, links: links) { return .commandFailed(unmet) }
        return .done(report.summary)
    }

    /// `nsenter --net=/proc/<pause PID>/ns/net ip addr / ip route`: the pod's own interfaces and routes. The pause
    /// container's process holds the namespace's PID view; the namespace itself is pinned by containerd's mount.
    func showPodNetwork(_ pod: String) async throws -> ActionResult {
        guard let found = RuntimePod.current(pod, node: node, in: try await runtimePods()), found.running else {
            return .commandFailed("containerd has no running pod \(pod)")
        }
        guard let pid = try await RuntimeInspector(context: context).pausePID(of: found.sandboxID),
              let nsenter = SystemProgram.path("nsenter"), let ip = SystemProgram.path("ip") else {
            return .commandFailed("no running pause container for pod \(pod)")
        }
        var shown: [String] = []
        for arguments in [["-4", "-o", "addr", "show"], ["route", "show"]] {
            let words = ["--net=/proc/\(pid)/ns/net", ip] + arguments
            emit(.command((["nsenter"] + words).joined(separator: " ") + "   # \(pid): the pod's pause container"))
            let result = try await context.shell.run(nsenter, words, timeout: 10)
            guard result.succeeded else { return .commandFailed(result.combinedOutput) }
            let text = result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            emit(.output(text))
            shown.append(text)
        }
        let device = shown[0].split(separator: "\n").first { !$0.contains(" lo ") }?.split(separator: " ").dropFirst().first ?? "eth0"
        return .done("pod \(pod): \(found.ip ?? "no address") on \(device), default route via the bridge")
    }

    /// What containerd holds, as `ctr` shows it (every containerd namespace, tasks with host PIDs), and the same
    /// containers as the kubelet names them through the CRI (`crictl`), when crictl is installed.
    func showRuntime() async throws -> ActionResult {
        let ctr = context.binaries.ctr
        // `namespaces ls` lists every containerd namespace whatever `-n` says.
        for arguments in [["namespaces", "ls"], ["tasks", "ls"]] {
            let words = context.ctrArguments(arguments)
            emit(.command((["ctr"] + words).joined(separator: " ")))
            let result = try await context.shell.run(ctr, words, timeout: 10)
            guard result.succeeded else { return .commandFailed(result.combinedOutput) }
            emit(.output(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)))
        }
        let crictl = context.binaries.programs["crictl"] ?? SystemProgram.path("crictl")
        guard let crictl else {
            emit(.note("crictl is not installed here (Debian 12 has no package; `kubescratch setup` brings it with a release): "
                       + "it would list the same containers by pod and container name, as the kubelet sees them"))
            return .done("containerd's view shown; crictl not installed")
        }
        let words = ["--runtime-endpoint", "unix://" + layout.containerdSocket, "ps"]
        emit(.command((["crictl"] + words).joined(separator: " ")))
        let result = try await context.shell.run(crictl, words, timeout: 10)
        emit(.output(result.combinedOutput.trimmingCharacters(in: .whitespacesAndNewlines)))
        return result.succeeded ? .done("containerd's view and the kubelet's (CRI) view shown") : .commandFailed(result.combinedOutput)
    }

    /// The stored bytes of one Secret, read from etcd directly: the API server wrote them as protobuf (`k8s\0`
    /// first), and without an EncryptionConfiguration the Secret's value stands in them in plain text.
    func showEtcdSecret(namespace: String, name: String) async throws -> ActionResult {
        let key = "/registry/secrets/\(namespace)/\(name)"
        let url = "http://127.0.0.1:2379/v3/kv/range"
        emit(.command("etcdctl --endpoints=http://127.0.0.1:2379 get \(key) --print-value-only | strings   # as JSON: POST \(url)"))
        let body = "{\"key\":\"\(Data(key.utf8).base64EncodedString())\"}"
        guard case .answered(200, let answer) = await HTTPProbe.post(url, json: body) else {
            return .commandFailed("etcd did not answer on 127.0.0.1:2379")
        }
        struct Range: Decodable { var kvs: [KeyValue]?; struct KeyValue: Decodable { var value: String } }
        guard let value = try JSONDecoder().decode(Range.self, from: Data(answer.utf8)).kvs?.first.flatMap({ Data(base64Encoded: $0.value) }) else {
            return .commandFailed("etcd has no key \(key)")
        }
        let strings = EtcdValue.printableRuns(value)
        emit(.output((["\(value.count) bytes under \(key); the readable runs in them:"] + strings.map { "  " + $0 }).joined(separator: "\n")))
        let encrypted = value.starts(with: Array("k8s:enc:".utf8))
        return .done(encrypted ? "stored encrypted (k8s:enc:…)" : "stored as plain protobuf: the value is readable")
    }
}

/// What `kill-container` killed, per pod, so `container-restarted` can tell a new restart from an old one.
final class KilledContainers: @unchecked Sendable {
    private let lock = NSLock()
    private var attempts: [String: Int] = [:]
    func record(_ pod: String, _ attempt: Int) { lock.withLock { attempts[pod] = max(attempts[pod] ?? 0, attempt) } }
    func attempt(_ pod: String) -> Int? { lock.withLock { attempts[pod] } }
}
