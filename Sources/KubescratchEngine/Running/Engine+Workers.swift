import Foundation
import KubescratchCore

/// Stage 6's steps for any worker: its machine, images and routes, and the checks that look across nodes.
extension Engine {
    func workerPlanner(_ worker: WorkerNode) -> WorkerPlanner { WorkerPlanner(worker, first: context.planner) }

    func workerHost(_ worker: WorkerNode) -> WorkerHost {
        WorkerHost(planner: workerPlanner(worker), supervisor: context.supervisor, shell: context.shell) { [emit] line in
            emit(line.hasPrefix("$ ") ? .command(String(line.dropFirst(2))) : .output(line))
        }
    }

    /// The workers on this host now, in order.
    var workers: [WorkerNode] { WorkerHost.present(layout: layout) }

    func worker(_ action: WorkerAction, _ worker: WorkerNode, timeout: Double) async throws -> ActionResult {
        let host = workerHost(worker)
        switch action {
        case .machine:
            let pki = PKIFiles(layout: layout)
            try await host.make(caCertificatePEM: String(contentsOfFile: pki.cert("ca"), encoding: .utf8),
                                caKeyPEM: String(contentsOfFile: pki.key("ca"), encoding: .utf8), cgroupVersion: context.facts.cgroupVersion)
            let network = host.network
            return .done("\(worker.name) is ready for its components: namespace \(network.namespace), address \(network.nodeAddress), link \(network.hostLink) ⇄ \(network.nodeLink)")
        case .images:
            return try await copyImages(to: worker, timeout: timeout)
        case .podRoutes:
            try await host.addPodRoutes()
            return .done(workers.count > 1 ? "every node now knows where \(worker.name)'s pods are, and \(worker.name) where theirs are"
                                            : "each node now knows where the other node's pods are")
        case .removePodRoutes:
            try await host.removePodRoutes()
            return .done("the pod routes are gone")
        case .remove:
            var kubectl: (@Sendable ([String]) async -> Void)?
            if apiServerUp {
                let engine = self
                kubectl = { arguments in _ = try? await engine.kubectlQuiet(arguments) }
            }
            await host.remove(kubectl: kubectl)
            return .done("\(worker.name) is gone: its pods, components, mounts, Node object, namespace, link, routes and cgroups")
        }
    }

    /// A worker's containerd gets node-1's pause and web images: exported from node-1's containerd and imported under
    /// the same names (an import without a name leaves an `import-<date>` entry the CRI plugin then resolves to).
    func copyImages(to worker: WorkerNode, timeout: Double) async throws -> ActionResult {
        let containerd = ComponentID(.containerd, on: worker)
        guard context.supervisor.runningRecord(containerd) != nil else {
            return .commandFailed("\(worker.name)'s containerd is not running: start \(containerd.name) first")
        }
        let ctr = context.binaries.ctr
        let planner = workerPlanner(worker)
        let folder = planner.layout.root + "/images"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let images = context.images
        for (index, name) in [images.pause, images.web].enumerated() {
            let archive = "\(folder)/image-\(index).tar"
            let export = context.ctrArguments(["images", "export", archive, name])
            emit(.command((["ctr"] + export).map(shellQuoted).joined(separator: " ")))
            let exported = try await context.shell.run(ctr, export, timeout: timeout)
            guard exported.succeeded else { return .commandFailed("ctr images export failed: \(exported.combinedOutput)") }
            let imported = try await importImage(planner.ctrGlobalOptions, name: name, archive: archive, timeout: timeout)
            try? FileManager.default.removeItem(atPath: archive)
            guard imported.succeeded else { return .commandFailed("ctr images import into \(worker.name) failed: \(imported.combinedOutput)") }
        }
        return .done("\(images.pause), \(images.web) ready in \(worker.name)'s containerd")
    }

    // MARK: checks across nodes

    func nodeName(_ word: String) -> String { context.values.argument(word) }

    func getNode(_ name: String) async throws -> Node? {
        guard let text = try await kubectlQuietOptional(["get", "node", name, "-o", "json"]) else { return nil }
        return try KubeDecoding.decode(Node.self, from: text)
    }

    func observeNode(_ word: String, ready: Bool) async throws -> Observation {
        let name = nodeName(word)
        guard let node = try await getNode(name) else { return Observation(holds: false, detail: "node \(name) is not registered") }
        let condition = node.readyCondition
        // The condition's message says why in words ("kubelet is posting ready status", "Kubelet stopped posting node status.").
        let said = "node \(name): Ready=\(condition?.status ?? "unknown")\((condition?.message ?? condition?.reason).map { " (\($0))" } ?? "")"
        return Observation(holds: node.isReady == ready, detail: said)
    }

    func observeTaint(_ word: String, key: String, present: Bool) async throws -> Observation {
        let name = nodeName(word)
        guard let node = try await getNode(name) else { return Observation(holds: false, detail: "node \(name) is not registered") }
        let taints = node.spec?.taints ?? []
        let listed = taints.isEmpty ? "none" : taints.map { "\($0.key):\($0.effect)" }.joined(separator: ", ")
        // `key` or `key:Effect`: the node lifecycle controller puts unreachable:NoSchedule first, NoExecute a moment later.
        let wanted = key.split(separator: ":", maxSplits: 1).map(String.init)
        let found = taints.contains { $0.key == wanted[0] && (wanted.count == 1 || $0.effect == wanted[1]) }
        return Observation(holds: found == present, detail: "node \(name) taints: \(listed)")
    }

    /// Ready pods with the selector that are not being deleted.
    func readyPods(_ selector: String) async throws -> [Pod] {
        let text = try await kubectlQuiet(["get", "pods", "-l", selector, "-o", "json"])
        return try KubeDecoding.decode(KubeList<Pod>.self, from: text).items.filter { $0.metadata.deletionTimestamp == nil && $0.isReady }
    }

    /// "3 Ready pod(s) labelled app=web: 1 on node-2, 2 on vm".
    func placement(_ pods: [Pod], _ selector: String) -> String {
        let byNode = Dictionary(grouping: pods) { $0.nodeName ?? "no node" }
        let said = byNode.keys.sorted().map { "\(byNode[$0]!.count) on \($0)" }.joined(separator: ", ")
        return "\(pods.count) Ready pod(s) labelled \(selector): \(pods.isEmpty ? "none" : said)"
    }

    func observePodsOnNode(_ selector: String, node word: String, count: Int) async throws -> Observation {
        let name = nodeName(word)
        let pods = try await readyPods(selector)
        let here = pods.filter { $0.nodeName == name }.count
        return Observation(holds: here == count, detail: placement(pods, selector))
    }

    func observeSpread(_ selector: String, count: Int) async throws -> Observation {
        let pods = try await readyPods(selector)
        let nodes = Set(pods.compactMap(\.nodeName))
        return Observation(holds: pods.count == count && nodes.count >= 2, detail: placement(pods, selector))
    }

    /// From inside a Ready pod, `nc` to the Service's ClusterIP: the address other pods use. Sent only once
    /// kube-proxy's rule catches that address (`clusterIPAddress`); the answer comes from whichever pod the rule chose.
    func observeReachService(_ selector: String, service: String) async throws -> Observation {
        let (ip, port) = try await clusterIPAddress(of: service)
        guard let client = try await readyPods(selector).first else {
            return Observation(holds: false, detail: "no Ready pod labelled \(selector) to send from")
        }
        let said = "\(client.metadata.name) (\(client.podIP ?? "?")) → \(service) at \(ip):\(port): "
        switch try await request(from: client, to: ip, port: port) {
        case .answered(let statusLine): return Observation(holds: true, detail: said + statusLine)
        case .failed(let why): return Observation(holds: false, detail: said + why)
        }
    }

    /// `kubectl exec <pod on from> -- … nc -w 2 <pod on to> 80`: the request starts inside a pod, as pod-to-pod
    /// traffic does. Only pod IPs in the cluster's pod range are asked.
    func observeReach(_ selector: String, from: String, to: String, reaches: Bool) async throws -> Observation {
        let (fromNode, toNode) = (nodeName(from), nodeName(to))
        let pods = try await readyPods(selector)
        guard let client = pods.first(where: { $0.nodeName == fromNode }) else {
            return Observation(holds: false, detail: "no Ready pod on \(fromNode) to send from (\(placement(pods, selector)))")
        }
        guard let server = pods.first(where: { $0.nodeName == toNode }), let ip = server.podIP else {
            return Observation(holds: false, detail: "no Ready pod on \(toNode) to ask (\(placement(pods, selector)))")
        }
        guard ipv4(ip, isIn: context.network.clusterCIDR) else { throw CheckError.unsafeAddress(ip) }
        let said = "\(client.metadata.name) (\(fromNode), \(client.podIP ?? "?")) → \(server.metadata.name) (\(toNode), \(ip)): "
        switch try await request(from: client, to: ip, port: 80) {
        case .answered(let statusLine):
            return Observation(holds: reaches, detail: said + statusLine)
        case .failed(let why):
            // Only a timeout is "cannot reach"; an exec that fails for another reason proves nothing either way.
            let timedOut = why.contains("timed out") || why.contains("No route to host")
            return Observation(holds: !reaches && timedOut, detail: said + why)
        }
    }

    enum InPodRequest { case answered(statusLine: String), failed(String) }

    /// `GET /` from inside a pod (`kubectl exec … busybox nc -w 2`): its 200 status line, or the first line of what
    /// went wrong. busybox's nc, not its wget: the static busybox's wget crashes (SIGSEGV) in these images, which
    /// have no NSS files, when it looks up the port name.
    func request(from client: Pod, to ip: String, port: Int) async throws -> InPodRequest {
        let request = "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | busybox nc -w 2 \(ip) \(port)"
        let arguments = ["exec", client.metadata.name, "--", "sh", "-c", request]
        let result = try await context.kubectlShell.run(context.binaries.kubectl, arguments, timeout: 15)
        let statusLine = result.stdout.split(separator: "\r\n").first.map(String.init) ?? ""
        if result.succeeded, statusLine.hasPrefix("HTTP/1."), statusLine.contains(" 200") { return .answered(statusLine: statusLine) }
        return .failed(result.combinedOutput.split(separator: "\n").first.map(String.init) ?? "exit \(result.status)")
    }
}
