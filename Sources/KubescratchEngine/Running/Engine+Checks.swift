import Foundation
import KubescratchCore

/// One look at the real node for a check: whether it holds, and what was seen.
struct Observation {
    var holds: Bool
    var detail: String
}

extension Engine {
    func wait(for check: Check, timeout: Double, hold: Double) async -> StepResult {
        emit(.command(howWeLook(check)))
        let started = Date()
        var holdingSince: Date?
        var lastSaid = Date.distantPast
        while true {
            let seen = await observe(check)
            let now = Date()
            if seen.holds {
                if hold <= 0 { return .passed(seen.detail) }
                if holdingSince == nil { holdingSince = now }
                if now.timeIntervalSince(holdingSince!) >= hold {
                    return .passed("\(seen.detail) (still so after \(Int(hold)) s)")
                }
            } else if holdingSince != nil {
                return .failed("it stopped being so: \(seen.detail)")
            }
            if now.timeIntervalSince(started) > timeout + hold {
                return .failed("not so after \(Int(timeout)) s: \(seen.detail)")
            }
            if now.timeIntervalSince(lastSaid) >= 1 {
                emit(.waiting(seen.detail, elapsed: now.timeIntervalSince(started)))
                lastSaid = now
            }
            try? await Task.sleep(for: .milliseconds(500))
            if Task.isCancelled { return .failed("interrupted") }
        }
    }

    var apiServerUp: Bool { context.supervisor.runningRecord(.kubeAPIServer) != nil }
    var node: String { context.facts.nodeName }

    /// The command a learner can type to see the same thing.
    func howWeLook(_ check: Check) -> String {
        switch check {
        case .healthy(let component): return "\(context.planner.plan(component).health)"
        case .podRunning(let pod), .podUnscheduled(let pod), .podBound(let pod):
            return apiServerUp ? "kubectl get pod \(pod) -o json"
                : "ctr -a \(layout.containerdSocket) -n k8s.io containers ls; ctr ... tasks ls   # no API server: ask containerd"
        case .podsGone(let selector): return "kubectl get pods -l \(selector) -o json"
        case .podGone(let pod):
            return apiServerUp ? "kubectl get pod \(pod) -o json"
                : "ctr -a \(layout.containerdSocket) -n k8s.io tasks ls   # no API server: ask containerd"
        case .nodeRegistered: return "kubectl get node \(node) -o json"
        case .mirrorPod(let pod): return "kubectl get pod \(pod)-\(node) -o json"
        case .replicaSets: return "kubectl get replicasets -o json"
        case .deploymentReady(let deployment, _): return "kubectl get deployment \(deployment) -o json"
        case .httpAnswers(let target, _), .noAnswer(let target):
            switch target {
            case .pod: return "curl http://<pod IP>/   # \(target)"
            case .nodePort(let service, let host):
                return "curl http://\(address(of: host)):<nodePort of \(service)>/"
            case .clusterIP(let service):
                return "curl http://<clusterIP of \(service)>:<port>/   # only once iptables -t nat -S KUBE-SERVICES has its rule"
            }
        case .containerRestarted(let pod):
            return apiServerUp ? "kubectl get pod \(pod) -o jsonpath='{.status.containerStatuses[*].restartCount}'"
                : "ctr -a \(layout.containerdSocket) -n k8s.io containers info <id>   # CRI metadata: attempt = restart count"
        case .proxyRules(let service, _):
            return "iptables -t nat -S | grep '\"default/\(service)'"
        case .nodeIs(let node, _), .nodeTaint(let node, _, _): return "kubectl get node \(nodeName(node)) -o json"
        case .podsOnNode(let selector, _, _), .podsSpread(let selector, _): return "kubectl get pods -l \(selector) -o wide"
        case .podReaches(let selector, let from, let to, _):
            return "kubectl exec <a pod labelled \(selector) on \(nodeName(from))> -- sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | busybox nc -w 2 <IP of one on \(nodeName(to))> 80'"
        case .podReachesService(let selector, let service):
            return "kubectl exec <a pod labelled \(selector)> -- sh -c 'printf \"GET / HTTP/1.0\\r\\n\\r\\n\" | busybox nc -w 2 <ClusterIP of \(service)> <port>'"
        case .apiCall(let client, let verb, let resource, _, _):
            return "kubescratch traffic --client \(client) | grep '\(verb) \(resource)'   # the API server's audit log"
        }
    }

    func observe(_ check: Check) async -> Observation {
        do {
            return try await observeOrThrow(check)
        } catch {
            return Observation(holds: false, detail: String(describing: error))
        }
    }

    func observeOrThrow(_ check: Check) async throws -> Observation {
        switch check {
        case .healthy(let component):
            let problem = await context.planner.plan(component).health.probe()
            return Observation(holds: problem == nil, detail: problem ?? "\(component.name) is healthy")

        case .podRunning(let name):
            if !apiServerUp {
                let pods = try await runtimePods()
                guard let pod = RuntimePod.current(name, node: node, in: pods) else {
                    return Observation(holds: false, detail: "containerd has no container of pod \(name) yet")
                }
                return Observation(holds: pod.running && pod.ip != nil,
                                   detail: pod.running ? "pod \(name) runs in containerd, IP \(pod.ip ?? "not yet")" : "pod \(name): container not running yet")
            }
            guard let pod = try await getPod(name) else { return Observation(holds: false, detail: "no pod \(name) in the API") }
            return Observation(holds: pod.phase == "Running" && pod.isReady,
                               detail: "pod \(name): \(pod.phase), \(pod.isReady ? "Ready" : "not Ready"), node \(pod.nodeName ?? "none"), IP \(pod.podIP ?? "none")")

        case .podUnscheduled(let name):
            guard let pod = try await getPod(name) else { return Observation(holds: false, detail: "no pod \(name) in the API") }
            let unscheduled = pod.phase == "Pending" && pod.nodeName == nil
            var why = "pod \(name): \(pod.phase), node \(pod.nodeName ?? "none")"
            if unscheduled {
                if context.supervisor.runningRecord(.kubeScheduler) == nil {
                    why += " — expected: there is no scheduler yet, so nobody chooses a node"
                } else if let condition = pod.scheduledCondition, let message = condition.message {
                    why += " — the scheduler says: \(condition.reason ?? ""): \(message)"
                }
            }
            return Observation(holds: unscheduled, detail: why)

        case .podBound(let name):
            guard let pod = try await getPod(name) else { return Observation(holds: false, detail: "no pod \(name) in the API") }
            return Observation(holds: pod.nodeName == node, detail: "pod \(name) is bound to node \(pod.nodeName ?? "none")")

        case .podsGone(let selector):
            let text = try await kubectlQuiet(["get", "pods", "-l", selector, "-o", "json"])
            let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: text).items
            return Observation(holds: pods.isEmpty, detail: pods.isEmpty ? "no pod labelled \(selector) is left"
                                : "\(pods.count) pod(s) labelled \(selector) still there: \(pods.map(\.metadata.name).joined(separator: ", "))")

        case .podGone(let name):
            if !apiServerUp {
                let running = try await runtimePods().filter { $0.isNamed(name, node: node) && $0.running }
                return Observation(holds: running.isEmpty, detail: running.isEmpty ? "containerd runs no container of pod \(name)"
                                   : "pod \(name) still runs in containerd")
            }
            guard let pod = try await getPod(name) else { return Observation(holds: true, detail: "no pod \(name) in the API") }
            return Observation(holds: false, detail: "pod \(name) is still there: \(pod.phase)")

        case .nodeRegistered:
            guard let object = try await getNode(node) else { return Observation(holds: false, detail: "node \(node) is not registered yet") }
            let taints = object.spec?.taints?.map { "\($0.key):\($0.effect)" }.joined(separator: ", ") ?? "none"
            return Observation(holds: true, detail: "node \(node) is registered (taints: \(taints))")

        case .mirrorPod(let name):
            let mirrorName = "\(name)-\(node)"
            guard let pod = try await getPod(mirrorName) else {
                return Observation(holds: false, detail: "no mirror pod \(mirrorName) yet")
            }
            return Observation(holds: pod.isMirror, detail: "mirror pod \(mirrorName): \(pod.phase), IP \(pod.podIP ?? "none")")

        case .replicaSets(let deployment, let count):
            let text = try await kubectlQuiet(["get", "replicasets", "-o", "json"])
            let owned = try KubeDecoding.decode(KubeList<ReplicaSet>.self, from: text).items
                .filter { $0.metadata.isOwned(byKind: "Deployment", name: deployment) }
            var detail = "deployment \(deployment) has \(owned.count) ReplicaSet(s)\(owned.isEmpty ? "" : ": " + owned.map(\.metadata.name).joined(separator: ", "))"
            if owned.isEmpty && context.supervisor.runningRecord(.kubeControllerManager) == nil {
                detail += " — expected: no controller manager, so nobody acts on the Deployment"
            }
            return Observation(holds: owned.count == count, detail: detail)

        case .deploymentReady(let name, let replicas):
            guard let text = try await kubectlQuietOptional(["get", "deployment", name, "-o", "json"]) else {
                return Observation(holds: false, detail: "no deployment \(name)")
            }
            let deployment = try KubeDecoding.decode(Deployment.self, from: text)
            let said = "deployment \(name): \(deployment.status?.readyReplicas ?? 0)/\(deployment.spec?.replicas ?? 0) ready"
            guard deployment.isReady(replicas: replicas) else { return Observation(holds: false, detail: said) }
            // The status is written by the controller manager: while it was stopped (break it), it still says
            // what was true before. The pods themselves say what is true now.
            guard let selector = deployment.labelSelector else { return Observation(holds: true, detail: said) }
            let pods = try KubeDecoding.decode(KubeList<Pod>.self, from: try await kubectlQuiet(["get", "pods", "-l", selector, "-o", "json"])).items
            let ready = pods.filter { $0.metadata.deletionTimestamp == nil && $0.isReady }.count
            return Observation(holds: ready == replicas, detail: "\(said); \(ready) of its pods Ready")

        case .httpAnswers(let target, let status):
            let url = try await url(for: target)
            let outcome = await HTTPProbe.get(url, timeout: 3)
            switch outcome {
            case .answered(let got, let body):
                let firstLine = body.split(separator: "\n").first { $0.contains("<h1>") || $0.contains("<title>") } ?? ""
                return Observation(holds: got == status, detail: "GET \(url) → HTTP \(got) \(firstLine.trimmingCharacters(in: .whitespaces))")
            case .failed(let why):
                return Observation(holds: false, detail: "GET \(url) → \(why)")
            }

        case .noAnswer(let target):
            let url = try await url(for: target)
            let outcome = await HTTPProbe.get(url, timeout: 2)
            switch outcome {
            case .answered(let got, _):
                return Observation(holds: false, detail: "GET \(url) → HTTP \(got): something answers")
            case .failed(let why):
                var detail = "GET \(url) → \(why)"
                if context.supervisor.runningRecord(.kubeProxy) == nil {
                    detail += " — expected: no kube-proxy, so no rule leads this port to the pods"
                }
                return Observation(holds: true, detail: detail)
            }

        case .containerRestarted(let pod):
            return try await observeRestart(of: pod)

        case .proxyRules(let service, let present):
            return try await observeProxyRules(service: service, present: present)
        case .nodeIs(let node, let ready): return try await observeNode(node, ready: ready)
        case .nodeTaint(let node, let key, let present): return try await observeTaint(node, key: key, present: present)
        case .podsOnNode(let selector, let node, let count): return try await observePodsOnNode(selector, node: node, count: count)
        case .podsSpread(let selector, let count): return try await observeSpread(selector, count: count)
        case .podReaches(let selector, let from, let to, let reaches):
            return try await observeReach(selector, from: from, to: to, reaches: reaches)
        case .podReachesService(let selector, let service):
            return try await observeReachService(selector, service: service)
        case .apiCall(let client, let verb, let resource, let name, let present):
            return observeCalls(client: client, verb: verb, resource: resource, name: name, present: present)
        }
    }

    /// Read from the audit log since the stage began: what the learner saw on the arrows and in the API calls pane.
    func observeCalls(client: String, verb: String, resource: String, name: String?, present: Bool) -> Observation {
        let log = TrafficLog()
        let since = stageStarted ?? .distantPast
        let theirs = AuditTail.history(of: layout.auditLog, containing: present ? ["\"verb\":\"\(verb)\""] : []).filter { $0.time >= since && log.client(of: $0).matches(client) }
        let matching = theirs.filter { call in
            call.verb == verb && call.resource == resource && (name.map { call.name?.hasPrefix($0) == true } ?? true)
        }
        let what = "\(verb) \(resource)\(name.map { " \($0)" } ?? "")"
        guard let last = matching.last else {
            let heard = Array(Set(theirs.map(\.action))).sorted().prefix(4).joined(separator: ", ")
            return Observation(holds: !present, detail: "no \(what) from \(client) since the stage began"
                               + (theirs.isEmpty ? " (no call from it at all)" : " (it did: \(heard))"))
        }
        let whom = log.client(of: last).name
        return Observation(holds: present, detail: "\(whom): \(matching.count == 1 ? "" : "\(matching.count)× ")\(last.action) \(last.object) → \(last.code)")
    }

    /// The URL for an HTTP check. Refuses any address outside our pod subnet, loopback and the node's own.
    func url(for target: HTTPTarget) async throws -> String {
        switch target {
        case .pod(let name):
            let ip: String?
            if apiServerUp {
                ip = try await getPod(name)?.podIP
            } else {
                ip = RuntimePod.current(name, node: node, in: try await runtimePods())?.ip
            }
            guard let ip else { throw CheckError.noPodIP(name) }
            guard ipv4(ip, isIn: context.network.podSubnet) else { throw CheckError.unsafeAddress(ip) }
            return "http://\(ip)/"
        case .nodePort(let service, let host):
            guard let text = try await kubectlQuietOptional(["get", "service", service, "-o", "json"]) else {
                throw CheckError.noService(service)
            }
            guard let port = try KubeDecoding.decode(Service.self, from: text).nodePort else { throw CheckError.noService(service) }
            return "http://\(address(of: host)):\(port)/"
        case .clusterIP(let service):
            return try await clusterIPURL(of: service)
        }
    }

    func address(of host: HTTPTarget.NodePortHost) -> String {
        switch host {
        case .loopback: "127.0.0.1"
        case .nodeIP: context.facts.nodeIP
        case .worker(let node): workerPlanner(node).network.nodeAddress
        }
    }

    func getPod(_ name: String) async throws -> Pod? {
        guard let text = try await kubectlQuietOptional(["get", "pod", name, "-o", "json"]) else { return nil }
        return try KubeDecoding.decode(Pod.self, from: text)
    }

    /// kubectl without printing it (polling); throws on failure.
    func kubectlQuiet(_ arguments: [String]) async throws -> String {
        let result = try await context.kubectlShell.run(context.binaries.kubectl, arguments, timeout: 20)
        guard result.succeeded else { throw CheckError.kubectl(arguments.joined(separator: " "), result.combinedOutput) }
        return result.stdout
    }

    /// nil when the object does not exist.
    func kubectlQuietOptional(_ arguments: [String]) async throws -> String? {
        let result = try await context.kubectlShell.run(context.binaries.kubectl, arguments, timeout: 20)
        if result.succeeded { return result.stdout }
        if result.stderr.contains("NotFound") || result.stderr.contains("not found") { return nil }
        throw CheckError.kubectl(arguments.joined(separator: " "), result.combinedOutput)
    }

    /// Pods as containerd sees them: what the kubelet started, readable without an API server.
    func runtimePods() async throws -> [RuntimePod] {
        try await RuntimeInspector(context: context).pods()
    }
}

enum CheckError: Error, CustomStringConvertible {
    case noPodIP(String)
    case unsafeAddress(String)
    case noService(String)
    case noProxyRule(String)
    case kubectl(String, String)
    var description: String {
        switch self {
        case .noPodIP(let pod): "pod \(pod) has no IP yet"
        case .unsafeAddress(let ip): "refusing to send traffic to \(ip): it is not in our pod subnet"
        case .noService(let service): "no NodePort service \(service)"
        case .noProxyRule(let ip): "no kube-proxy rule catches \(ip) yet, so nothing is sent there (the packet would leave this machine by its default route)"
        case .kubectl(let command, let output): "kubectl \(command) failed: \(output)"
        }
    }
}
