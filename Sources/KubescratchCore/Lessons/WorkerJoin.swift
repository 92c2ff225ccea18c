/// More workers than the lesson teaches (`stage 6 --nodes N`): each joins by the lesson's own steps for node-2,
/// written for it. Nothing about node-3 is written anywhere: its steps are node-2's with another number, and its
/// addresses, names and folders follow from that number (WorkerNetwork, WorkerPlanner).
extension Lesson {
    /// The steps that bring `taught` into the cluster, in the lesson's order: its machine, its containerd, its
    /// images, its kubelet, its Node turning Ready, its kube-proxy and its pod routes; for `worker`. The lesson's
    /// other steps (scaling, spreading, the requests between pods, the node going away and back) are about the
    /// cluster the lesson builds, and stay the lesson's.
    public func joinSteps(for worker: WorkerNode, taught: WorkerNode = .second) -> [Step] {
        // Up to its pod routes: the node is in then; what follows (it going away and coming back) is the lesson's story.
        let joined = steps.firstIndex { $0.kind == .action(.worker(.podRoutes, node: taught), expectFailure: nil) }.map { steps[...$0] } ?? []
        return joined.compactMap { step in
            guard let kind = Self.joining(step.kind, taught: taught, as: worker) else { return nil }
            var joined = step
            joined.kind = kind
            joined.id = "join-\(worker.name)-\(step.id)"
            joined.title = step.title.replacingOccurrences(of: taught.name, with: worker.name)
            if case .action(.worker(.podRoutes, _), _) = kind {
                // The lesson's "on both nodes" is about two; a join routes to and from every node.
                joined.title = "Add the pod network routes between \(worker.name) and every other node"
            }
            joined.prose = ""
            joined.suggestions = joined.suggestions.map { $0.replacingOccurrences(of: taught.name, with: worker.name) }
            return joined
        }
    }

    /// The join part of a step of `taught`, for `worker`; nil for a step that is not part of joining.
    static func joining(_ kind: Step.Kind, taught: WorkerNode, as worker: WorkerNode) -> Step.Kind? {
        switch kind {
        case .action(.worker(let action, node: taught), let expectFailure) where [.machine, .images, .podRoutes].contains(action):
            return .action(.worker(action, node: worker), expectFailure: expectFailure)
        case .action(.start(let component, let mode), let expectFailure) where component.worker == taught:
            return .action(.start(ComponentID(component.program, on: worker), mode), expectFailure: expectFailure)
        case .check(.nodeIs(node: taught.name, ready: true)):
            return .check(.nodeIs(node: worker.name, ready: true))
        default:
            return nil
        }
    }

    /// The rewind, removing every worker present before the one the lesson teaches (its `worker: remove` step
    /// stays where the lesson put it): `workers` beyond it went by the same step, written for each.
    public func rewindSteps(workers: [WorkerNode], taught: WorkerNode = .second) -> [Step] {
        rewind.flatMap { step -> [Step] in
            guard case .action(.worker(.remove, node: taught), let expectFailure) = step.kind else { return [step] }
            let extra = workers.filter { $0 != taught }.sorted(by: >).map { worker in
                var removal = step
                removal.kind = .action(.worker(.remove, node: worker), expectFailure: expectFailure)
                removal.id = "\(step.id)-\(worker.name)"
                removal.title = step.title.replacingOccurrences(of: taught.name, with: worker.name)
                return removal
            }
            return extra + [step]
        }
    }
}
