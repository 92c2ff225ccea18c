/// Where the node is, as far as moving it goes: read from the progress file, the supervisor and the host by the
/// engine (`Tutorial.position`), decided on here.
public struct NodePosition: Sendable, Equatable {
    public var completedStage: Int
    /// A stage started and not finished.
    public var unfinishedStage: Int?
    /// The learner stopped cleanly between two steps of `unfinishedStage`, after `stepsDone` of them: it goes on
    /// from there, no rewind.
    public var betweenSteps: Bool
    public var stepsDone: Int
    /// A break-it section cut short (Ctrl-C, a failed check): what it broke may still be broken.
    public var cutBreakIt: Int?
    /// Components the completed stage runs (and every worker present) that are not running.
    public var missing: [ComponentID]
    /// Workers whose network namespace is gone (the machine restarted): nothing of theirs can start again.
    public var lostWorkers: [WorkerNode]
    /// Workers with anything on this host.
    public var workers: [WorkerNode]
    /// Stages whose kept end can be restored on an empty node.
    public var snapshots: Set<Int>

    public init(completedStage: Int = 0, unfinishedStage: Int? = nil, betweenSteps: Bool = false, stepsDone: Int = 0, cutBreakIt: Int? = nil,
                missing: [ComponentID] = [], lostWorkers: [WorkerNode] = [], workers: [WorkerNode] = [], snapshots: Set<Int> = []) {
        self.completedStage = completedStage
        self.unfinishedStage = unfinishedStage
        self.betweenSteps = betweenSteps
        self.stepsDone = stepsDone
        self.cutBreakIt = cutBreakIt
        self.missing = missing
        self.lostWorkers = lostWorkers
        self.workers = workers
        self.snapshots = snapshots
    }

    /// Nothing on the node: what a reset leaves, and the only node a kept end is restored onto.
    public var isEmpty: Bool { completedStage == 0 && unfinishedStage == nil && workers.isEmpty }
}

/// What was asked of the node.
public enum NodeRequest: Sendable, Equatable {
    /// Back to a known point after whatever happened since the last run: heal a cut break-it, start again what
    /// died, take back a stage left half done.
    case recover
    /// Go on from a clean stop between two steps: only start again what died.
    case resume
    /// The learner's own run (`run`, `stage`): the rest of a stage stopped between two steps, then each next stage's
    /// steps with their observation windows, through stage N; with `breakIt`, each stage run here is followed by its
    /// break-it section.
    case learn(through: Int, breakIt: Bool)
    /// The node as it was at the end of stage `N - 1`, ready for stage N to run (a replay, the screen's 1-6 and r).
    case moveToStart(Int)
    /// The node at the end of stage N, moving only forward (a restore, else the stages' steps without their windows).
    case forward(toEndOf: Int)
    /// A stage's break-it section, on a node at that stage's end.
    case breakIt(Int)
    /// Workers beyond the lesson's own join by the lesson's steps (`stage 6 --nodes N`).
    case join([WorkerNode])
}

/// One run of the step runner: a list of steps (or a reset, a restore), and what it does to the node's progress.
public struct PlannedRun: Sendable, Equatable {
    public enum Kind: Sendable, Hashable, CustomStringConvertible {
        /// The undo steps of a break-it section cut short.
        case heal(Int)
        /// Start again what should run and does not, in dependency order.
        case restart
        /// A stage's rewind steps: afterwards the node is at the end of the stage before.
        case rewind(Int)
        case reset
        /// A stage's kept end, restored onto an empty node.
        case restore(Int)
        /// A stage's steps: the learner's (step by step, through the session) or moving forward (`fastForward`).
        case stage(Int)
        case breakIt(Int)
        case join(WorkerNode)

        public var description: String {
            switch self {
            case .heal(let stage): "heal the break-it section of stage \(stage)"
            case .restart: "start again what died"
            case .rewind(let stage): "rewind stage \(stage)"
            case .reset: "reset"
            case .restore(let stage): "restore the end of stage \(stage)"
            case .stage(let stage): "stage \(stage)"
            case .breakIt(let stage): "the break-it section of stage \(stage)"
            case .join(let worker): "join \(worker.name)"
            }
        }
    }

    public var kind: Kind
    public var title: String
    public var steps: [Step]
    /// The first step to run: a learner's stage stopped between two steps goes on after the last one done.
    public var from = 0
    /// Said before it runs: why the node needs it.
    public var note: String?
    /// Moving forward: checks that only show something are not waited for, and no progress is kept between steps.
    public var fastForward: Bool

    public init(_ kind: Kind, title: String, steps: [Step] = [], note: String? = nil, fastForward: Bool = false) {
        self.kind = kind
        self.title = title
        self.steps = steps
        self.note = note
        self.fastForward = fastForward
    }
}

/// Turns where the node is and what was asked into the next run, one at a time: the engine's one step runner asks
/// again after each run, with the node as it is then and what has run or failed so far, so a plan never acts on a
/// node it only guessed. Pure: every rule of moving between stages is here and unit-tested without a node.
public struct RunPlanner: Sendable {
    public var lessons: [Lesson]

    public init(lessons: [Lesson]) { self.lessons = lessons }

    func lesson(_ stage: Int) -> Lesson? { lessons.first { $0.stage == stage } }

    /// Dependency order for starting many at once (after a reboot every component is gone): the runtime and the
    /// store, then the API server, the node agent, the controllers; each worker's after the first node's.
    static let recoveryOrder: [Program] = [.containerd, .etcd, .kubeAPIServer, .kubelet, .kubeScheduler, .kubeControllerManager, .kubeProxy]

    public static func recoveryRank(_ component: ComponentID) -> Int {
        (component.worker?.index ?? 0) * 100 + (recoveryOrder.firstIndex(of: component.program) ?? 99)
    }

    /// The next run for `request`, or nil when the node is where it was asked to be. `done` and `failed`: the runs
    /// of this request so far.
    public func next(_ request: NodeRequest, at position: NodePosition, done: [PlannedRun.Kind] = [],
                     failed: [PlannedRun.Kind] = []) -> PlannedRun? {
        if case .breakIt(let stage) = request {
            guard !done.contains(.breakIt(stage)), let lesson = lesson(stage), !lesson.breakIt.isEmpty else { return nil }
            return PlannedRun(.breakIt(stage), title: lesson.breakItSection.title, steps: lesson.breakIt)
        }
        // A rewind or a restore that failed left the node half way: a reset follows each.
        let owedResets = failed.count - done.filter { $0 == .reset }.count
        if owedResets > 0, let failure = failed.last {
            return PlannedRun(.reset, title: "Reset", note: "\(failure) failed: resetting the node and taking another way")
        }
        if let repair = repair(position, request: request, failed: failed) { return repair }
        switch request {
        case .learn(let last, let breakIt):
            return learn(through: last, breakIt: breakIt, from: position, done: done)
        case .recover, .resume:
            // A rewind that failed is replaced by a reset and the way forward to where it would have left the node.
            guard let rewound = failed.compactMap({ if case .rewind(let stage) = $0 { stage } else { nil } }).max() else { return nil }
            return forward(to: rewound - 1, from: position, failed: failed)
        case .moveToStart(let target):
            return moveToStart(target, from: position, done: done, failed: failed)
        case .forward(let stage):
            return forward(to: stage, from: position, failed: failed)
        case .join(let workers):
            guard let worker = workers.sorted().first(where: { !position.workers.contains($0) && !done.contains(.join($0)) }),
                  let lesson = lessons.first(where: { $0.components.contains(where: \.isOnWorker) }) else { return nil }
            return PlannedRun(.join(worker), title: "Join \(worker.name): the steps that brought node-2 in, for \(worker.name)",
                              steps: lesson.joinSteps(for: worker))
        case .breakIt:
            return nil
        }
    }

    /// What must happen before anything else: heal a cut break-it, start again what died, take back a stage left
    /// half done or one whose workers are gone. A rewind that failed before is not tried again: a reset is.
    func repair(_ position: NodePosition, request: NodeRequest, failed: [PlannedRun.Kind]) -> PlannedRun? {
        if let stage = position.cutBreakIt, let lesson = lesson(stage) {
            return PlannedRun(.heal(stage), title: "Heal the node after the break-it section of stage \(stage)", steps: lesson.breakItUndo,
                              note: "the break-it section of stage \(stage) did not finish last time: healing the node first")
        }
        // A reboot takes the workers' network and mount namespaces: their components have nothing to start into.
        let startable = position.lostWorkers.isEmpty ? position.missing : position.missing.filter { !$0.isOnWorker }
        if !startable.isEmpty {
            let mode = KubeletMode.onNode(atStage: position.completedStage, step: 0)
            let ordered = startable.sorted { Self.recoveryRank($0) < Self.recoveryRank($1) }
            let steps = ordered.map { component in
                Step(id: "restart-\(component.name)", title: "Start \(component.name) again",
                     kind: .action(.start(component, component.isOnWorker ? .cluster : mode), expectFailure: nil))
            }
            // One line each: a log names the component that did not come back.
            return PlannedRun(.restart, title: "Start again what should run", steps: steps,
                              note: ordered.map { "\($0.name) should be running after stage \(position.completedStage) but is not: starting it again" }
                                  .joined(separator: "\n"))
        }
        let goesOn = position.betweenSteps && (request == .resume || { if case .learn = request { true } else { false } }())
        var unfinished = goesOn ? nil : position.unfinishedStage
        var note = unfinished.map { "stage \($0) did not finish last time: taking the node back to its start first" }
        if let lost = position.lostWorkers.first, let stage = lessons.first(where: { $0.components.contains(where: \.isOnWorker) })?.stage,
           position.completedStage >= stage || position.unfinishedStage == stage {
            // The stage that made them is taken back (its rewind removes what is left of every worker) and run again.
            unfinished = stage
            note = "\(lost.name)'s network namespace is gone (did the machine restart?): stage \(stage) is taken back and run again"
        }
        guard let stage = unfinished else { return nil }
        guard !failed.contains(.rewind(stage)) else { return nil }
        guard stage > 1, let lesson = lesson(stage) else { return PlannedRun(.reset, title: "Reset", note: note) }
        return PlannedRun(.rewind(stage), title: "Rewind stage \(stage)", steps: lesson.rewindSteps(workers: position.workers), note: note)
    }

    /// The learner's stages, one after the other, each with its break-it section when asked, after the rest of a
    /// stage left between two steps.
    func learn(through last: Int, breakIt: Bool, from position: NodePosition, done: [PlannedRun.Kind]) -> PlannedRun? {
        if breakIt, let ran = done.compactMap({ if case .stage(let stage) = $0 { stage } else { nil } }).last,
           !done.contains(.breakIt(ran)), let lesson = lesson(ran), !lesson.breakIt.isEmpty {
            return PlannedRun(.breakIt(ran), title: lesson.breakItSection.title, steps: lesson.breakIt)
        }
        if let stage = position.unfinishedStage, position.betweenSteps, let lesson = lesson(stage), stage <= last {
            var rest = PlannedRun(.stage(stage), title: lesson.title, steps: lesson.steps)
            rest.from = min(position.stepsDone, lesson.steps.count)
            return rest
        }
        let next = position.completedStage + 1
        guard next <= last, let lesson = lesson(next) else { return nil }
        return PlannedRun(.stage(next), title: lesson.title, steps: lesson.steps)
    }

    /// Forward only: the kept end onto an empty node, else the next stage's steps.
    func forward(to stage: Int, from position: NodePosition, failed: [PlannedRun.Kind]) -> PlannedRun? {
        guard position.completedStage < stage else { return nil }
        if position.isEmpty, position.snapshots.contains(stage), !failed.contains(.restore(stage)) {
            return PlannedRun(.restore(stage), title: "Restore the end of stage \(stage)")
        }
        let next = position.completedStage + 1
        guard let lesson = lesson(next) else { return nil }
        return PlannedRun(.stage(next), title: lesson.title, steps: lesson.steps, fastForward: true)
    }

    /// Reset and restore when the kept end is there, else rewind stage after stage from further on, else forward.
    func moveToStart(_ target: Int, from position: NodePosition, done: [PlannedRun.Kind], failed: [PlannedRun.Kind]) -> PlannedRun? {
        let wanted = target - 1
        if target == 1 {
            return position.isEmpty && done.contains(.reset) ? nil
                : PlannedRun(.reset, title: "Reset", note: "stage 1 starts from an empty node: resetting")
        }
        if position.completedStage == wanted && position.unfinishedStage == nil { return nil }
        if !position.isEmpty, position.snapshots.contains(wanted), !failed.contains(.restore(wanted)), !done.contains(.reset) {
            return PlannedRun(.reset, title: "Reset", note: "moving to the start of stage \(target) from the kept end of stage \(wanted): resetting first")
        }
        if position.completedStage > wanted, let lesson = lesson(position.completedStage) {
            return PlannedRun(.rewind(position.completedStage), title: "Rewind stage \(position.completedStage)",
                              steps: lesson.rewindSteps(workers: position.workers), note: "rewinding stage \(position.completedStage)")
        }
        return forward(to: wanted, from: position, failed: failed)
    }
}
