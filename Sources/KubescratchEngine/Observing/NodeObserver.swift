import AsyncHTTPClient
import Foundation
import KubescratchCore
import NIOCore
import NIOSSL

/// Observes the real node for the diagram: components from the supervisor and their health endpoints, pods from
/// the API server when it runs, or from containerd when it does not (stage 1).
public struct NodeObserver: Sendable {
    public let context: EngineContext
    /// Components that should exist at this point of the tutorial: shown as stopped when they are not running.
    public let expected: [ComponentID]
    /// The API server's calls, from its audit log: the arrows' labels and the pane.
    public let traffic: TrafficFeed?

    public init(context: EngineContext, expected: [ComponentID], traffic: TrafficFeed? = nil) {
        self.context = context
        self.expected = expected
        self.traffic = traffic
    }

    var apiBase: String { "https://127.0.0.1:\(context.network.apiServerPort)" }
    var adminTrust: TLSTrust {
        let pki = PKIFiles(layout: context.layout)
        // Its own user, which the audit policy leaves out; a node made before it existed has only admin's.
        let user = FileManager.default.fileExists(atPath: pki.cert("kubescratch-observer")) ? "kubescratch-observer" : "admin"
        return .clusterCAWithClient(caFile: pki.cert("ca"), certFile: pki.cert(user), keyFile: pki.key(user))
    }

    /// One component as the supervisor and its health endpoint see it, with its plan and what its health check said.
    public struct Check: Sendable {
        public var status: ComponentStatus
        public var plan: ComponentPlan
        /// nil: healthy, or not running (nothing was asked).
        public var problem: String?
    }

    /// The diagram's, `status`'s and the screen's one look at a component; nil when it is neither running nor expected.
    public func check(_ id: ComponentID) async -> Check? {
        let supervisor = context.supervisor
        let record = supervisor.record(id)
        guard record != nil || expected.contains(id) else { return nil }
        let plan = context.planner.plan(id, kubeletMode: record?.kubeletMode ?? .cluster)
        let port = plan.ports.first
        guard let record else { return Check(status: ComponentStatus(id: id, health: .stopped, pid: nil, port: port), plan: plan) }
        guard supervisor.isAlive(record) else {
            return Check(status: ComponentStatus(id: id, health: .crashed, pid: record.pid, port: port), plan: plan)
        }
        let problem = await plan.health.probe()
        let young = Date().timeIntervalSince(record.startedAt) < plan.startTimeoutSeconds
        let health: ComponentHealth = problem == nil ? .healthy : (young ? .starting : .unhealthy)
        return Check(status: ComponentStatus(id: id, health: health, pid: record.pid, port: port), plan: plan, problem: problem)
    }

    func status(of id: ComponentID) async -> ComponentStatus? { await check(id)?.status }

    /// Every node as data: the first, then each worker that exists.
    public func nodes() -> [ClusterNode] {
        [ClusterNode.first(context.planner)]
            + WorkerHost.present(layout: context.layout).map { ClusterNode.worker(WorkerPlanner($0, first: context.planner)) }
    }

    public func snapshot() async -> NodeState {
        var components: [ComponentStatus] = []
        for id in ComponentID.firstNode {
            if let status = await status(of: id) { components.append(status) }
        }
        let kubeletMode = context.supervisor.record(.kubelet)?.kubeletMode
        var state = NodeState(nodeName: context.facts.nodeName, nodeIP: context.facts.nodeIP, components: components, kubeletMode: kubeletMode)
        state.workers = await workers()
        if let traffic {
            state.traffic = traffic.refresh().log
            state.trafficTime = Date()
        }
        // A trace made in the last seconds (by `kubescratch trace` anywhere, a lesson step, the screen's P key).
        if let last = TraceRunner.last(in: context.layout), Date().timeIntervalSince(last.time) < TraceReport.shownFor {
            state.packet = last
        }
        if components.contains(where: { $0.id == .kubeAPIServer && $0.health == .healthy }) {
            if let pods: KubeList<Pod> = await get("/api/v1/namespaces/default/pods"),
               let sets: KubeList<ReplicaSet> = await get("/apis/apps/v1/namespaces/default/replicasets") {
                state.pods = NodeState.pods(from: pods.items, replicaSets: sets.items)
            }
            if let services: KubeList<Service> = await get("/api/v1/namespaces/default/services") {
                state.services = NodeState.services(from: services.items)
            }
        } else if components.contains(where: { $0.id == .kubelet && $0.health == .healthy }) {
            state.pods = await kubeletPods()
        }
        return state
    }

    /// Each worker whose machine exists (stage 6): its components, its Node object, and whether its pod routes exist.
    func workers() async -> [WorkerState] {
        var states: [WorkerState] = []
        for worker in WorkerHost.present(layout: context.layout) {
            let planner = WorkerPlanner(worker, first: context.planner)
            let host = WorkerHost(planner: planner, supervisor: context.supervisor, shell: context.shell) { _ in }
            guard host.exists else { continue }
            var components: [ComponentStatus] = []
            for id in ComponentID.on(worker) {
                components.append(await status(of: id) ?? ComponentStatus(id: id, health: .stopped))
            }
            var state = WorkerState(planner.network, components: components, podRoutes: await host.podRoutesExist())
            if context.supervisor.runningRecord(.kubeAPIServer) != nil, let node: Node = await get("/api/v1/nodes/\(worker.name)") {
                state.ready = node.isReady
                state.taints = node.spec?.taints?.map(\.key) ?? []
            }
            states.append(state)
        }
        return states
    }

    /// Without an API server, the kubelet's own pod list (its API on 10250, our admin certificate) names the pods;
    /// containerd and the IPAM folder tell whether they run and their IPs, which the v1.20 standalone kubelet
    /// leaves out of that list.
    func kubeletPods() async -> [PodStatus] {
        guard case .answered(200, let body) = await HTTPProbe.get("https://127.0.0.1:10250/pods", trust: adminTrust, timeout: 5),
              let list = try? KubeDecoding.decode(KubeList<Pod>.self, from: body) else { return [] }
        let runtime = (try? await RuntimeInspector(context: context).pods()) ?? []
        return list.items.map { pod in
            let seen = RuntimePod.current(pod.metadata.name, node: context.facts.nodeName, in: runtime)
            let running = seen?.running ?? (pod.phase == "Running")
            return PodStatus(name: pod.metadata.name, phase: running ? "Running" : "Pending", ready: running,
                             ip: pod.podIP ?? seen?.ip, nodeName: context.facts.nodeName, isStatic: true, labels: pod.metadata.labels ?? [:])
        }
    }

    func get<T: Decodable & Sendable>(_ path: String) async -> T? {
        guard case .answered(200, let body) = await HTTPProbe.get(apiBase + path, trust: adminTrust, timeout: 5) else { return nil }
        return try? KubeDecoding.decode(T.self, from: body)
    }

    /// Yields whenever the API server reports a change to pods, ReplicaSets or Services (watch streams), and at
    /// least every `tick` seconds so component health is re-probed. Reconnects when the API server comes back.
    public func changes(tick: Double = 2) -> AsyncStream<Void> {
        AsyncStream { continuation in
            let paths = ["/api/v1/namespaces/default/pods?watch=1", "/apis/apps/v1/namespaces/default/replicasets?watch=1",
                         "/api/v1/namespaces/default/services?watch=1", "/api/v1/nodes?watch=1"]
            let task = Task {
                await withTaskGroup(of: Void.self) { group in
                    group.addTask {
                        while !Task.isCancelled {
                            continuation.yield()
                            try? await Task.sleep(for: .milliseconds(Int(tick * 1000)))
                        }
                    }
                    for path in paths {
                        group.addTask {
                            while !Task.isCancelled {
                                if context.supervisor.runningRecord(.kubeAPIServer) != nil {
                                    await HTTPProbe.stream(apiBase + path, trust: adminTrust) { continuation.yield() }
                                }
                                try? await Task.sleep(for: .seconds(1))
                            }
                        }
                    }
                }
            }
            continuation.onTermination = { _ in task.cancel() }
        }
    }
}
