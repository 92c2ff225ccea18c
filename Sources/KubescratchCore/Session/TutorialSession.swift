import Foundation

/// Where the learner is in the tutorial and what the node has done, changed only by events:
/// `(state, event) -> (state, effects)`. The plain runner and the terminal screen both drive it; the effects
/// (run a step, replay a stage, stop a component) are carried out by the engine, which reports back as events.
public struct TutorialSession: Sendable, Equatable {
    public struct StageOutline: Sendable, Equatable {
        public var number: Int
        public var title: String
        public var steps: [StepOutline]
        public var components: [ComponentID]
        /// Whether the stage has a "Break it" section to offer at its end.
        public var canBreakIt: Bool

        public init(number: Int, title: String, steps: [StepOutline], components: [ComponentID], canBreakIt: Bool = false) {
            self.number = number
            self.title = title
            self.steps = steps
            self.components = components
            self.canBreakIt = canBreakIt
        }

        public init(_ lesson: Lesson) {
            self.init(number: lesson.stage ?? 0, title: lesson.title,
                      steps: lesson.steps.map { StepOutline(id: $0.id, title: $0.title) }, components: lesson.components,
                      canBreakIt: !lesson.breakIt.isEmpty)
        }
    }

    public struct StepOutline: Sendable, Equatable {
        public var id: String
        public var title: String
        public init(id: String, title: String) { self.id = id; self.title = title }
    }

    /// A place in the tutorial: stage 1…6 and the step the learner reads (== steps.count: the stage's end).
    public struct Position: Sendable, Equatable, Comparable {
        public var stage: Int
        public var step: Int
        public init(stage: Int, step: Int) { self.stage = stage; self.step = step }
        public static func < (a: Self, b: Self) -> Bool { (a.stage, a.step) < (b.stage, b.step) }
    }

    public enum Activity: Sendable, Equatable {
        case idle
        case running(stepID: String, since: Date)
        case moving(toStage: Int, since: Date)
        case changingComponent(ComponentID, since: Date)
    }

    public enum Question: Sendable, Equatable {
        /// Going to another stage takes the node there (rewinding or running the stages between).
        case replayStage(Int)

        /// What the screen shows in its dialog: the question, then every answer by its key. Escape is always the safe
        /// answer (nothing changes).
        public var dialog: (title: String, text: String, answers: [(key: String, meaning: String)]) {
            switch self {
            case .replayStage(let stage):
                ("Go to stage \(stage)?",
                 "The node is moved to the start of stage \(stage): later stages are undone, earlier ones are run first.",
                 [("y", "go to stage \(stage)"), ("n or Esc", "stay where you are")])
            }
        }
    }

    public enum Outcome: Sendable, Equatable {
        case passed(String)
        case failed(String)
    }

    public var stages: [StageOutline]
    /// The step the learner is looking at.
    public var position: Position
    /// The last step the node has really done (step -1: at the start of that stage).
    public var nodeAt: Position
    public var activity: Activity = .idle
    public var question: Question?
    public var waitingFor: String?
    /// The exact commands and output of the step running or last run, newest last.
    public var output: [String] = []
    public var results: [String: Outcome] = [:]
    /// Components the learner stopped on purpose ("break it"), to be started again.
    public var broken: Set<ComponentID> = []
    /// Components that died on their own under a step, with how they ended: the screen offers r (restart) and l (log).
    public var crashed: [ComponentID: String] = [:]
    /// The crashed component r and l act on: the one that died first.
    public var crashedFirst: ComponentID? { crashed.keys.sorted { $0.name < $1.name }.first }
    public var message: String?
    public var finished = false

    public static let outputLimit = 400

    /// A session for a node stopped cleanly after `stepsDone` steps of `stage`: it goes on with the next step.
    public init(stages: [StageOutline], stage: Int, stepsDone: Int) {
        self.init(stages: stages, completedStage: stage - 1)
        guard stepsDone > 0, let outline = self.stage(stage) else { return }
        let done = min(stepsDone, outline.steps.count)
        position = Position(stage: stage, step: done)
        nodeAt = normalized(Position(stage: stage, step: done - 1))
    }

    /// A session for a node whose last completed stage is `completedStage` (0: nothing yet).
    public init(stages: [StageOutline], completedStage: Int) {
        self.stages = stages.sorted { $0.number < $1.number }
        let next = min(completedStage + 1, self.stages.count)
        if completedStage >= self.stages.count {
            let last = self.stages.last.map { Position(stage: $0.number, step: $0.steps.count) } ?? Position(stage: 1, step: 0)
            position = last
            nodeAt = last
        } else {
            position = Position(stage: next, step: 0)
            nodeAt = Position(stage: next, step: -1)
        }
    }

    public func stage(_ number: Int) -> StageOutline? { stages.first { $0.number == number } }
    public var currentStage: StageOutline? { stage(position.stage) }
    public var currentStep: StepOutline? {
        guard let stage = currentStage, position.step >= 0, position.step < stage.steps.count else { return nil }
        return stage.steps[position.step]
    }
    public var isBusy: Bool { activity != .idle }

    /// Components that should run at the node's point: those of the stage it is in or has finished.
    public var componentsExpected: [ComponentID] {
        stage(nodeAt.step >= 0 ? nodeAt.stage : nodeAt.stage - 1)?.components ?? []
    }

    public var progressText: String {
        let count = currentStage?.steps.count ?? 0
        let step = min(position.step + 1, count)
        return "stage \(position.stage)/\(stages.count) · step \(step)/\(count)"
    }
}

/// What the learner (or the engine) says.
public enum SessionEvent: Sendable, Equatable {
    /// Enter / n: run the step being read, or go on to the next stage at a stage's end.
    case next
    /// p: read the previous step again (the node is not changed).
    case previous
    /// 1-6: go to a stage (asks first, since the node is moved there).
    case goToStage(Int)
    /// r: replay the stage being read from its start (asks first).
    case replayStage
    case answer(Bool)
    /// b: stop a running component on purpose, or start it again.
    case toggleComponent(ComponentID)
    /// x at a stage's end: run the stage's "Break it" section on the node.
    case breakIt

    // Reports from the engine.
    case stepStarted(id: String, at: Date)
    case command(String)
    case output(String)
    case waiting(String)
    case stepFinished(id: String, passed: Bool, detail: String)
    /// The node is now at the start of this stage.
    case arrived(stage: Int)
    case moveFailed(String)
    case componentChanged(ComponentID, running: Bool)
    case componentChangeFailed(ComponentID, String)
    /// A component that should run exited on its own (not through "break it").
    case componentCrashed(ComponentID, String)
}

/// What the engine must do for the session.
public enum SessionEffect: Sendable, Equatable {
    case runStep(stage: Int, step: Int)
    /// Bring the node to the start of the stage (rewind later stages, or run the earlier ones without pauses).
    case moveNode(toStartOf: Int)
    case stopComponent(ComponentID)
    case startComponent(ComponentID)
    case runBreakIt(stage: Int)
}

extension TutorialSession {
    public mutating func handle(_ event: SessionEvent, now: Date = Date()) -> [SessionEffect] {
        switch event {
        case .next:
            guard !isBusy, question == nil, let stage = currentStage else { return [] }
            if position.step >= stage.steps.count {
                guard let following = self.stage(stage.number + 1) else {
                    finished = true
                    message = "That was the last stage. `kubescratch reset` removes everything when you are done."
                    return []
                }
                position = Position(stage: following.number, step: 0)
                message = nil
                return []
            }
            // A step runs only where the node is: right after the step before it.
            let previousStep = normalized(Position(stage: position.stage, step: position.step - 1))
            guard nodeAt == previousStep else {
                if nodeAt < previousStep {
                    message = "The node is not this far yet: run the steps before this one (p goes back), or replay the stage (r)."
                } else {
                    message = "The node is past this step already. Replay the stage (r) to run it again."
                }
                return []
            }
            activity = .running(stepID: stage.steps[position.step].id, since: now)
            output = []
            waitingFor = nil
            message = nil
            return [.runStep(stage: position.stage, step: position.step)]

        case .previous:
            guard !isBusy, question == nil else { return [] }
            if position.step > 0 {
                position.step -= 1
            } else if let before = self.stage(position.stage - 1) {
                position = Position(stage: before.number, step: max(0, before.steps.count - 1))
            }
            message = nil
            return []

        case .goToStage(let number):
            guard !isBusy, self.stage(number) != nil else { return [] }
            question = .replayStage(number)
            return []

        case .replayStage:
            guard !isBusy else { return [] }
            // After a crash, r means "restart it": the offer on screen says so.
            if let component = crashedFirst, question == nil {
                activity = .changingComponent(component, since: now)
                return [.startComponent(component)]
            }
            question = .replayStage(position.stage)
            return []

        case .answer(let yes):
            guard let asked = question else { return [] }
            question = nil
            switch asked {
            case .replayStage(let number):
                guard yes else { return [] }
                activity = .moving(toStage: number, since: now)
                output = []
                message = nil
                return [.moveNode(toStartOf: number)]
            }

        case .toggleComponent(let component):
            guard !isBusy, question == nil else { return [] }
            let running = componentsExpected.contains(component) && !broken.contains(component)
            guard componentsExpected.contains(component) else {
                message = "\(component.name) is not part of the node yet."
                return []
            }
            activity = .changingComponent(component, since: now)
            return [running ? .stopComponent(component) : .startComponent(component)]

        case .breakIt:
            guard !isBusy, question == nil, let stage = currentStage else { return [] }
            guard stage.canBreakIt else {
                message = "Stage \(stage.number) has no break-it section."
                return []
            }
            guard position.step >= stage.steps.count, nodeAt >= Position(stage: stage.number, step: stage.steps.count - 1) else {
                message = "Break it comes at the end of the stage: run its steps first."
                return []
            }
            activity = .running(stepID: Self.breakItID(stage.number), since: now)
            output = []
            message = nil
            return [.runBreakIt(stage: stage.number)]

        case .stepStarted(let id, let at):
            activity = .running(stepID: id, since: at)
            return []

        case .command(let text):
            append("$ " + text)
            return []

        case .output(let text):
            append(text)
            return []

        case .waiting(let text):
            waitingFor = text
            return []

        case .stepFinished(let id, let passed, let detail):
            results[id] = passed ? .passed(detail) : .failed(detail)
            append((passed ? "✓ " : "✗ ") + detail)
            waitingFor = nil
            activity = .idle
            if passed, let stage = currentStage, stage.steps.indices.contains(position.step), stage.steps[position.step].id == id {
                nodeAt = normalized(position)
                position.step += 1
            } else if !passed {
                message = "This step failed: the node stays as it is. Look at the output, then press Enter to try it again or r to replay the stage."
            }
            return []

        case .arrived(let stage):
            activity = .idle
            broken = []
            crashed = [:]
            nodeAt = Position(stage: stage, step: -1)
            position = Position(stage: stage, step: 0)
            for step in self.stage(stage)?.steps ?? [] { results[step.id] = nil }
            message = "The node is at the start of stage \(stage)."
            return []

        case .moveFailed(let detail):
            activity = .idle
            message = "Could not move the node: \(detail)"
            return []

        case .componentChanged(let component, let running):
            activity = .idle
            if running { broken.remove(component); crashed[component] = nil } else { broken.insert(component) }
            message = running ? "\(component.name) runs again." : "\(component.name) is stopped. Watch what no longer happens, then start it again."
            return []

        case .componentChangeFailed(let component, let detail):
            activity = .idle
            message = "\(component.name): \(detail)"
            return []

        case .componentCrashed(let component, let detail):
            crashed[component] = detail
            message = "\(detail). Press r to restart it, l to look at its log."
            return []
        }
    }

    /// The result of a stage's break-it section is kept under this id.
    public static func breakItID(_ stage: Int) -> String { "break-it-\(stage)" }

    /// The end of a stage is the start of the next: one name for that place.
    func normalized(_ place: Position) -> Position {
        guard let outline = stage(place.stage), place.step >= outline.steps.count - 1, stage(place.stage + 1) != nil else { return place }
        return Position(stage: place.stage + 1, step: -1)
    }

    mutating func append(_ text: String) {
        output.append(contentsOf: text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
        if output.count > Self.outputLimit { output.removeFirst(output.count - Self.outputLimit) }
    }
}
