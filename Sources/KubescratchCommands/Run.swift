import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Walk through the stages in plain text, running each step on the real node.",
        discussion: """
            Continues from where the node is: after `run --through 2`, `run` goes on with stage 3. \
            Each step prints the exact command or request it performs and the result of its check. \
            Without --yes, it waits for Enter before each step when the input is a terminal.
            """
    )

    @OptionGroup var node: NodeOptions

    @Option(name: .long, help: ArgumentHelp("Run stages up to this one (1-6).", valueName: "N"))
    var through: Int = Lesson.stages.upperBound

    @OptionGroup var walk: WalkOptions

    @Flag(name: .long, help: "Do not draw the node after each stage.")
    var noDiagram = false

    @Flag(name: .customLong("break"), help: "After each stage, run its break-it section: predict, stop a part, watch what no longer works, heal it.")
    var breakIt = false

    func validate() throws {
        guard Lesson.stages.contains(through) else { throw ValidationError("--through must be \(Lesson.stageRange)") }
        try walk.validate(reaching: through)
    }

    func run() async throws {
        try Setup.requireRoot("run")
        try await Session.run(node: node, yes: walk.yes, showProse: !walk.stepsOnly, diagram: !noDiagram) { driver, beforeStep in
            try await driver.resume()
            try await driver.walk(through: through, breakIt: breakIt, beforeStep: beforeStep)
            try await walk.join(driver)
        }
    }
}

/// What `run` and `stage` share: how they print and wait, and how many nodes stage 6 ends with.
struct WalkOptions: ParsableArguments {
    @Flag(name: .long, help: "Plain text output (the only output these commands have so far; kept for scripts).")
    var plain = false

    @Flag(name: .long, help: "Never wait for a key: for scripts and CI.")
    var yes = false

    @Flag(name: .long, help: "Do not print the lesson text, only steps, commands and checks.")
    var stepsOnly = false

    @Option(name: .long, help: ArgumentHelp("How many nodes stage 6 ends with (2-9). The lesson brings node-2 in; node-3 and up then join by the same steps, written for each.", valueName: "N"))
    var nodes = 2

    /// Workers beyond node-2 come only with stage 6.
    func validate(reaching stage: Int) throws {
        guard (2...WorkerNode.indices.upperBound).contains(nodes) else { throw ValidationError("--nodes must be 2-\(WorkerNode.indices.upperBound)") }
        guard nodes == 2 || stage == Lesson.stages.upperBound else {
            throw ValidationError("--nodes adds workers at the end of stage \(Lesson.stages.upperBound): use it with stage \(Lesson.stages.upperBound)")
        }
    }

    /// node-3 … node-N, joined once stage 6 is done.
    func join(_ driver: SessionDriver) async throws {
        let extra = WorkerNode.workers(ofCluster: nodes).filter { $0 != .second }
        guard !extra.isEmpty, driver.tutorial.completedStage >= Lesson.stages.upperBound else { return }
        try await driver.tutorial.carryOut(.join(extra))
    }
}

struct StageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stage",
        abstract: "Replay one stage: bring the node to the start of stage N, then run it.",
        discussion: """
            The end of each of stages 2 to 5 is kept when it is reached (etcd's keyspace and the generated files, in \
            the cache beside the binaries; `reset --snapshots` removes them): the node is then reset and that end \
            restored, its components started in dependency order, in seconds. Without one, from a node further on, \
            the later stages are rewound (their objects deleted, their components stopped); from a node not that far \
            yet, the stages before N run first without pauses.
            """
    )

    @OptionGroup var node: NodeOptions

    @Argument(help: "The stage to replay (1-6).")
    var number: Int

    @OptionGroup var walk: WalkOptions

    @Flag(name: .long, help: "Only bring the node to the start of stage N, then stop (`kubescratch` goes on from there).")
    var startOnly = false

    func validate() throws {
        guard Lesson.stages.contains(number) else { throw ValidationError("the stage must be \(Lesson.stageRange)") }
        try walk.validate(reaching: number)
    }

    func run() async throws {
        try Setup.requireRoot("stage")
        try await Session.run(node: node, yes: walk.yes, showProse: !walk.stepsOnly, diagram: true) { driver, beforeStep in
            let started = Date()
            try await driver.replay(stage: number)
            say(String(format: "· back at the start of stage %d in %.1f s", number, Date().timeIntervalSince(started)))
            if startOnly { return }
            try await driver.walk(through: number, beforeStep: beforeStep)
            try await walk.join(driver)
        }
    }
}

/// Runs tutorial work with a plain printer, Ctrl-C handling and clear failure messages.
enum Session {
    static func run(node: NodeOptions, yes: Bool, showProse: Bool, diagram: Bool,
                    _ body: @escaping @Sendable (SessionDriver, (@Sendable (Step) async -> Void)?) async throws -> Void) async throws {
        let printer = PlainPrinter(showProse: showProse)
        let driver = try await Setup.driver(node, alsoTelling: printer.handle)
        let context = driver.tutorial.engine.context
        if diagram { driver.afterStage = printDiagram(driver.tutorial) }
        say("kubescratch: node \(context.facts.nodeName) (\(context.facts.nodeIP)), Kubernetes \(context.facts.kubernetes), containerd \(context.facts.containerd), etcd \(context.facts.etcd), cgroup v\(context.facts.cgroupVersion)")
        say("state in \(context.layout.root); to look around in another terminal, as root: eval \"$(kubescratch env)\" (kubectl, ctr, etcdctl on this node)")

        let interactive = !yes && isatty(0) == 1
        let pause: @Sendable (Step) async -> Void = { _ in
            FileHandle.standardOutput.write(Data("  press Enter to run this step (Ctrl-C to stop; the node stays as it is) ".utf8))
            _ = readLine()
        }
        let beforeStep = interactive ? pause : nil

        let started = Date()
        do {
            try await Interrupts.cancellingOnCtrlC {
                try await body(driver, beforeStep)
            }
        } catch is CancellationError {
            let during = driver.tutorial.engine.currentStep.map { " during '\($0)'" } ?? ""
            FileHandle.standardError.write(Data("""
                interrupted\(during). The node stays as it is: `kubescratch run` takes it back to the start of the \
                unfinished stage and goes on, `kubescratch reset` removes everything.\n
                """.utf8))
            throw ExitCode(130)
        } catch let failure as StageFailure where failure.crash != nil {
            let crash = failure.crash!
            throw UserFacingError("""
                \(failure)
                What to do: `kubescratch run` starts \(crash.component.name) again, takes stage \(failure.stage) back to its start \
                and runs it; the whole log: less \(crash.logFile)
                """)
        } catch let stuck as TutorialError {
            throw UserFacingError("\(stuck)")
        } catch let failure as StageFailure {
            throw UserFacingError("""
                \(failure)
                The node stays as it is, for you to look at (logs in \(context.layout.logs)). \
                `kubescratch run` retries the stage, `kubescratch reset` removes everything.
                """)
        }
        let times = printer.stageTimes.map { "\($0.0) \(String(format: "%.1f", $0.1)) s" }.joined(separator: ", ")
        say(String(format: "\nfinished in %.1f s%@", Date().timeIntervalSince(started), times.isEmpty ? "" : " (\(times))"))
    }
}

extension Session {
    /// Draws the node as it is now, after a stage: the same picture as `kubescratch diagram`.
    static func printDiagram(_ tutorial: Tutorial) -> @Sendable (Lesson) async -> Void {
        let last = LastPicture()
        return { lesson in
            let context = tutorial.engine.context
            let observer = NodeObserver(context: context, expected: lesson.components)
            let state = await observer.snapshot()
            let model = DiagramModel(state: state, previous: last.model)
            last.model = DiagramModel(state: state)
            let ascii = !Terminal.localeIsUTF8
            let columns = Terminal.size()?.columns ?? 100
            let text = DiagramCommand.picture(model, width: max(80, min(columns, 140)), height: 32, ascii: ascii).text
            // Blank rows at the bottom only pad the picture to its height: leave them out here.
            let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
            let legend = lines.last.map(String.init) ?? ""
            var body = Array(lines.dropLast())
            while let last = body.last, last.trimmingCharacters(in: .whitespaces).isEmpty || last == "\u{1B}[0m" { body.removeLast() }
            say("\nThe node after stage \(lesson.stage ?? 0):\n" + body.joined(separator: "\n") + "\n" + legend)
        }
    }
}

/// Hands every engine event to the printer and to the session.
final class EventRelay: @unchecked Sendable {
    var listeners: [(EngineEvent) -> Void] = []
    func forward(_ event: EngineEvent) { for listener in listeners { listener(event) } }
}

/// The picture drawn after the previous stage, so the next one can mark what is new.
final class LastPicture: @unchecked Sendable {
    var model: DiagramModel?
}

/// Ctrl-C cancels the work in progress instead of killing kubescratch mid-write; a second Ctrl-C exits at once.
enum Interrupts {
    static func cancellingOnCtrlC(_ body: @escaping @Sendable () async throws -> Void) async throws {
        let task = Task { try await body() }
        signal(SIGINT, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: SIGINT, queue: .global())
        let count = Counter()
        source.setEventHandler {
            if count.increment() > 1 { exit(130) }
            FileHandle.standardError.write(Data("\nstopping after the current command (Ctrl-C again to quit at once)…\n".utf8))
            task.cancel()
        }
        source.resume()
        defer {
            source.cancel()
            signal(SIGINT, SIG_DFL)
        }
        try await task.value
        if task.isCancelled { throw CancellationError() }
    }

    final class Counter: @unchecked Sendable {
        let lock = NSLock()
        var value = 0
        func increment() -> Int {
            lock.lock()
            defer { lock.unlock() }
            value += 1
            return value
        }
    }
}

/// Writes a line straight to standard output, in order with the printer's unbuffered writes.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}
