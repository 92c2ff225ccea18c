/// One lesson file: Markdown prose with the stage's steps in fenced ```step blocks (YAML).
public struct Lesson: Sendable, Equatable {
    /// The stages of the tutorial: five on one node, the sixth adds a second node.
    public static let stages = 1...6
    public static var stageRange: String { "\(stages.lowerBound) to \(stages.upperBound)" }

    /// 1...6 for a stage; nil for the introduction and the wrap-up.
    public var stage: Int?
    public var title: String
    public var file: String
    /// Components running when the stage is done.
    public var components: [ComponentID]
    public var steps: [Step]
    /// Steps that take a node at the end of this stage back to its start, for replay.
    public var rewind: [Step]
    /// Prose after the last step.
    public var closing: String
    /// The optional "Break it" section after the stage (`## Break it`): predict, break, see the degraded node,
    /// undo, see it heal. Run on request only (`run --break`, a key on the screen), never when fast-forwarding.
    public var breakIt: [Step] = []
    /// Prose after the last break-it step.
    public var breakItClosing: String = ""
    /// This "lesson" is a stage's break-it section, run as a stage of its own.
    public var isBreakItSection = false

    /// The break-it section as a lesson the engine can run: its steps, its closing words.
    public var breakItSection: Lesson {
        var section = self
        section.title = "Break it: \(title)"
        section.steps = breakIt
        section.closing = breakItClosing
        section.rewind = []
        section.isBreakItSection = true
        return section
    }

    public init(stage: Int?, title: String, file: String, components: [ComponentID], steps: [Step], rewind: [Step], closing: String,
                breakIt: [Step] = [], breakItClosing: String = "") {
        self.stage = stage
        self.title = title
        self.file = file
        self.components = components
        self.steps = steps
        self.rewind = rewind
        self.closing = closing
        self.breakIt = breakIt
        self.breakItClosing = breakItClosing
    }

    /// The steps that heal the node after its break-it section: starting what it stops, putting back static pods
    /// it removes, applying again what it deletes. Run again on the next start when kubescratch stopped in the middle of the section.
    public var breakItUndo: [Step] {
        var deleted: Set<String> = []
        return breakIt.filter { step in
            if case .action(let action, _) = step.kind {
                switch action {
                case .start, .installStaticPod, .worker(.podRoutes, _): return true
                case .delete(let manifest, _): deleted.insert(manifest); return false
                // Only an apply that brings back what the section deleted heals; one that makes the section's own
                // object (stage 3's unscheduled pod) would leave it behind.
                case .apply(let manifest): return deleted.contains(manifest)
                default: return false
                }
            }
            return false
        }
    }
}

public struct Step: Sendable, Equatable, Identifiable {
    public var id: String
    public var title: String
    /// The lesson text that leads up to this step.
    public var prose: String
    public var kind: Kind
    /// A check fails after this many seconds; an action's command too.
    public var timeoutSeconds: Double
    /// For "stays so" checks (a pod stays Pending): how long the condition must keep holding.
    public var holdSeconds: Double
    /// Where the step is written, for error messages.
    public var line: Int
    /// `fast-forward: skip`: a check that only shows the learner something (the node turning Ready, a pod
    /// answering) and that no later step depends on. Not waited for when the node is moved forward to
    /// replay a later stage; the node gets there by itself meanwhile.
    public var skippedWhenFastForwarding: Bool = false
    /// Words of the answer this step reveals to the Predict prompt before it (`answers: [CNI, bridge]`):
    /// `lessons check` warns when one of them appears in the lesson before that prompt.
    public var answers: [String] = []
    /// Commands to try after this step (`try: [kubectl get nodes]`): the screen lists them and `t` puts each on the
    /// command line for the learner to run or edit.
    public var suggestions: [String] = []

    public enum Kind: Sendable, Equatable {
        case action(Action, expectFailure: String?)
        case check(Check)
    }

    public init(id: String, title: String, prose: String = "", kind: Kind, timeoutSeconds: Double = 60, holdSeconds: Double = 0, line: Int = 0) {
        self.id = id
        self.title = title
        self.prose = prose
        self.kind = kind
        self.timeoutSeconds = timeoutSeconds
        self.holdSeconds = holdSeconds
        self.line = line
    }
}

/// What a step does to the node. Each prints the exact command it runs.
public enum Action: Sendable, Equatable {
    /// Generate the CA, certificates, service-account keys and kubeconfigs (kept if already there).
    case prepareCertificates
    /// Build (or pull) the pause and web images and import them into our containerd.
    case prepareImages
    case start(ComponentID, KubeletMode)
    case stop(ComponentID)
    /// Copy a manifest from assets/ into the kubelet's static pod folder.
    case installStaticPod(String)
    case removeStaticPod(String)
    /// `kubectl apply -f` a manifest from assets/ (printed first: the learner sees every object the tutorial makes).
    case apply(String)
    /// `kubectl create -f` a manifest: for objects that cannot be applied, like a pod's Binding (no GET exists).
    case create(String)
    /// A bounded `kubectl … --watch`: the changes it prints for `seconds`, then it is stopped (not a failure).
    case watch([String], seconds: Double)
    /// `kubectl delete -f` a manifest from assets/ and wait until it is gone; with `force`, remove the API
    /// object at once and let the kubelet stop the containers afterwards (for rewinds).
    case delete(String, force: Bool)
    /// Any kubectl command, with the admin kubeconfig. `{node}` stands for the node's name.
    case kubectl([String])
    /// Remove the iptables rules kube-proxy wrote (`kube-proxy --cleanup`), after kube-proxy stops.
    case cleanupProxyRules
    /// Delete etcd's data folder (etcd must be stopped): the cluster's whole API state is gone.
    case wipeEtcdData
    /// SIGKILL the running app containers of a pod through containerd (not the pause container): the kubelet
    /// notices and starts them again in the same sandbox, one restart more.
    case killContainer(pod: String)
    /// Print state the learner cannot see from the outside, read-only.
    case show(HiddenState)
    /// Follow one real request through the nat table (`kubescratch trace`), and require what the lesson predicts.
    case trace(TraceTarget, expect: TraceExpectation)
    /// Stage 6: make, fill or take away a worker's "machine" (WorkerNetwork, WorkerPlanner).
    case worker(WorkerAction, node: WorkerNode)
}

public enum WorkerAction: String, Sendable, Equatable, CaseIterable {
    /// Its folder, credentials (signed by the cluster CA), cgroup parent, network namespace and link.
    case machine
    /// The pause and web images, copied from node-1's containerd into the worker's.
    case images
    /// The pod network routes to and from the worker, and taking them away again.
    case podRoutes = "pod-routes"
    case removePodRoutes = "remove-pod-routes"
    /// Everything of the worker, in the order that leaves the host clean: its pods, components, mounts, Node object,
    /// network and cgroups. Safe to run when there is nothing to remove.
    case remove
}

/// What a `show` step prints. Nothing it does changes the node.
public enum HiddenState: String, Sendable, Equatable, CaseIterable {
    /// Every key the API server stored in etcd, grouped by resource (keys only, never values: Secrets are there).
    case etcdKeys = "etcd-keys"
    /// The subject, issuer, validity and names of the kubelet's client certificate: what the Node authorizer reads.
    case kubeletCertificate = "kubelet-certificate"
    /// Inside the web pod's network namespace (`nsenter --net` into its pause container): its addresses and routes.
    case podNetwork = "pod-network"
    /// containerd's own view (`ctr`: its namespaces, tasks and PIDs) beside the kubelet's CRI view (`crictl`, where
    /// it is installed).
    case runtime
    /// The raw bytes etcd holds for the demo Secret: its value is readable, because nothing encrypts it.
    case etcdSecret = "etcd-secret"
}

/// A fact about the real node that must become (and, with `hold`, stay) true.
public enum Check: Sendable, Equatable {
    case healthy(ComponentID)
    /// Without an API server: the kubelet's containers in containerd; with one: phase Running and Ready.
    case podRunning(String)
    /// Phase Pending and no node chosen for it (no `spec.nodeName`).
    case podUnscheduled(String)
    case podBound(String)
    /// No pod with this label selector is left (after a delete, once the garbage collector is done).
    case podsGone(selector: String)
    /// No running pod of that name: asked of the API when it runs, of containerd before it exists.
    case podGone(String)
    case nodeRegistered
    /// The API server's read-only copy of a static pod, named `<pod>-<node>`.
    case mirrorPod(String)
    case replicaSets(deployment: String, count: Int)
    case deploymentReady(deployment: String, replicas: Int)
    case httpAnswers(HTTPTarget, status: Int)
    /// Nothing listens there yet: the connection is refused or times out.
    case noAnswer(HTTPTarget)
    /// The pod's app container was started again since the last `kill-container` of it (or at least once).
    case containerRestarted(pod: String)
    /// kube-proxy's nat rules for the Service exist (`present`) or are all gone.
    case proxyRules(service: String, present: Bool)
    /// A named node's Ready condition is True (`ready`) or not (False or Unknown).
    case nodeIs(node: String, ready: Bool)
    /// A taint with this key (`key` or `key:Effect`) is on the named node (`present`), or is not.
    case nodeTaint(node: String, key: String, present: Bool)
    /// Exactly `count` Ready, not terminating pods with the selector are bound to the node.
    case podsOnNode(selector: String, node: String, count: Int)
    /// `count` Ready, not terminating pods with the selector, on at least two nodes.
    case podsSpread(selector: String, count: Int)
    /// From inside a Ready pod on one node, `wget` a Ready pod on another: it answers (`reaches`) or times out.
    case podReaches(selector: String, from: String, to: String, reaches: Bool)
    /// From inside a Ready pod, a request to a Service's ClusterIP answers 200: the way other pods use a Service.
    case podReachesService(selector: String, service: String)
    /// The API server's audit log holds, since the stage began, a call from `client` (kubelet, kubelet@node-2,
    /// scheduler, ctrl-manager, a controller's name, kube-proxy, you) with `verb` on `resource` (`pods/binding`),
    /// on the object `name` when given (a prefix, for generated names). `present: false`: none.
    case apiCall(client: String, verb: String, resource: String, name: String?, present: Bool)
}

public enum HTTPTarget: Sendable, Equatable, CustomStringConvertible {
    /// `http://<pod IP>/`, on our own bridge.
    case pod(String)
    /// `http://<host>:<nodePort>/` of a Service.
    case nodePort(service: String, host: NodePortHost)
    /// `http://<clusterIP>:<port>/` of a Service. Sent only once kube-proxy's rule for that address exists: before
    /// it, no route on this machine knows the service range and the packet would leave by the default route.
    case clusterIP(service: String)

    public enum NodePortHost: Sendable, Equatable {
        case loopback, nodeIP
        /// A worker's address (stage 6): its own kube-proxy's rules, inside its namespace.
        case worker(WorkerNode)

        /// `loopback`, `node-ip`, `node-2`, …
        public init?(_ text: String) {
            switch text {
            case "loopback": self = .loopback
            case "node-ip": self = .nodeIP
            default:
                guard let worker = WorkerNode(name: text) else { return nil }
                self = .worker(worker)
            }
        }
    }

    public var description: String {
        switch self {
        case .pod(let name): "pod \(name)"
        case .nodePort(let service, let host):
            switch host {
            case .loopback: "NodePort of service \(service) on 127.0.0.1"
            case .nodeIP: "NodePort of service \(service) on the node's address"
            case .worker(let node): "NodePort of service \(service) on \(node.name)'s address"
            }
        case .clusterIP(let service): "ClusterIP of service \(service)"
        }
    }
}

