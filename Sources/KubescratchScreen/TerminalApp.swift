import CNcurses
import Foundation
import KubescratchCore
import KubescratchEngine

/// The full-screen tutorial: reads keys, sends them to the session, and copies the composed grid to ncurses.
/// Every curses call happens on the main actor; the engine's work runs in tasks off it, so keys stay responsive.
@MainActor
public final class TerminalApp {
    let driver: SessionDriver
    let observer: @Sendable ([ComponentID]) -> NodeObserver
    var diagram: DiagramModel?
    var baseline: DiagramModel?
    var mode: ScreenMode = .tutorial
    var lessonScroll = 0
    var shownAsides = Aside.shownAtFirst
    var selected: ComponentID?
    var inspector: (title: String, lines: @MainActor () -> [String])?
    var shown: Grid?
    /// Composing costs ~1.5 ms at 200x60: done on a key, a node change, while work runs (spinner, output),
    /// while a log is followed, and once a second in case anything else moved; not 10 times a second idle.
    var dirty = true
    var lastCompose = Date.distantPast
    var busyAtLastCompose = false
    var colour = false
    var running = true
    var work: Task<Void, Never>?
    /// A key pressed after a step finished on screen but while its work was still being wrapped up
    /// (progress saved): run it next rather than drop it.
    var queued: SessionEvent?
    let ascii: Bool
    /// The command line: the prompt while open, the last command run from it, its scroll, the suggestion cycle.
    var prompt: PromptLine?
    var commandRun: CommandRun?
    var outputScroll = 0
    var suggestionKey = ""
    var suggestionIndex = 0
    var notice: String?
    var terminalWork: TerminalWork?
    /// A command has the real terminal: Ctrl-C is its, not the tutorial's.
    var terminalBusy = false
    /// The API server's calls, followed in its audit log; the node as last observed, which they annotate.
    let trafficFeed: TrafficFeed
    var traffic: TrafficLog
    var nodeState: NodeState?
    var lastTrafficLook = Date.distantPast
    /// Below 140 columns the calls take the output pane's place on a key (a).
    var showCalls = false
    /// The last traced request while the diagram shows it (a few seconds, or until the next key), the trace file's
    /// time when last read, and whether a trace of the P key runs.
    var shownTrace: TraceReport?
    var traceFileTime: Date?
    var tracing = false

    public init(driver: SessionDriver, ascii: Bool) {
        self.driver = driver
        self.ascii = ascii
        let context = driver.tutorial.engine.context
        let feed = TrafficFeed(layout: context.layout)
        self.observer = { NodeObserver(context: context, expected: $0, traffic: feed) }
        trafficFeed = feed
        traffic = feed.refresh().log
    }

    /// Runs until the learner quits (q or Ctrl-C); the node is kept either way.
    public func run() async {
        setlocale(LC_ALL, "")
        colour = ks_start() == 1
        defer { ks_stop() }
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
        interrupt.setEventHandler { [weak self] in
            MainActor.assumeIsolated { self?.interrupted() }
        }
        interrupt.resume()
        defer { interrupt.cancel(); signal(SIGINT, SIG_DFL) }

        let watching = Task { [weak self] in
            guard let self else { return }
            let expected = self.driver.session.componentsExpected
            let node = self.observer(expected.isEmpty ? ComponentID.firstNode : expected)
            for await _ in node.changes() {
                let state = await node.snapshot()
                await MainActor.run { self.update(state) }
            }
        }
        defer { watching.cancel() }

        while running {
            let busy = driver.session.isBusy
            lookAtTraffic()
            if dirty || busy || busyAtLastCompose || inspector != nil || Date().timeIntervalSince(lastCompose) >= 1 {
                draw()
                dirty = false
                busyAtLastCompose = busy
                lastCompose = Date()
            }
            let (code, isKey) = readKey(timeout: 100)
            if let code {
                handle(code, isKey: isKey)
                dirty = true
            }
            if let work = terminalWork {
                terminalWork = nil
                await runInTerminal(work)
                dirty = true
            }
            await Task.yield()
        }
        // Nothing the learner started outlives the tutorial.
        commandRun?.stop()
    }

    /// Ctrl-C stops the learner's command when one runs (shown or not), and is the command's own while it has the
    /// terminal; otherwise it quits like q.
    func interrupted() {
        if terminalBusy { return }
        if let run = commandRun, run.ended == nil {
            run.interrupt()
            return
        }
        quit()
    }

    func update(_ state: NodeState) {
        nodeState = state
        if let fresh = state.traffic { traffic = fresh }
        if diagram == nil { baseline = DiagramModel(state: state) }
        rebuildDiagram()
    }

    /// The node with its latest calls, judged from now (an arrow's label window, a write's second of brightness).
    func rebuildDiagram() {
        guard var state = nodeState else { return }
        state.traffic = traffic
        state.trafficTime = Date()
        if let trace = shownTrace, Date().timeIntervalSince(trace.time) >= TraceReport.shownFor { shownTrace = nil }
        state.packet = shownTrace
        diagram = DiagramModel(state: state, previous: baseline)
        dirty = true
    }

    /// Two looks a second at the audit log: a call is on screen within a second. A look without news costs a stat
    /// and no redraw (an idle node calls in bursts every 10 s or so); the arrows are still judged again every second,
    /// so a label and a highlight fade when their time is up.
    func lookAtTraffic() {
        let now = Date()
        guard now.timeIntervalSince(lastTrafficLook) >= 0.5 else { return }
        let (fresh, changed) = trafficFeed.refresh()
        traffic = fresh
        lookAtTrace()
        if changed || now.timeIntervalSince(lastCompose) >= 1 { rebuildDiagram() }
        lastTrafficLook = now
    }

    func readKey(timeout: Int32) -> (Int32?, Bool) {
        var isKey: Int32 = 0
        let code = ks_read_key(timeout, &isKey)
        return code < 0 ? (nil, false) : (code, isKey == 1)
    }

    func input(width: Int, height: Int) -> ScreenInput {
        let session = driver.session
        let lesson = driver.tutorial.book.stage(session.position.stage)
        let prose: String
        if let lesson, session.position.step < lesson.steps.count {
            prose = lesson.steps[session.position.step].prose
        } else {
            prose = lesson?.closing ?? ""
        }
        return ScreenInput(session: session, lessonText: prose, stageTitle: lesson.map { "Stage \($0.stage ?? 0) — \($0.title)" } ?? "kubescratch",
                           diagram: diagram, width: width, height: height, mode: mode, lessonScroll: lessonScroll, selected: selected,
                           inspector: inspector?.lines(), inspectorTitle: inspector?.title, now: Date(), ascii: ascii,
                           shownAsides: shownAsides, prompt: prompt, outputScroll: outputScroll,
                           suggestion: inspector == nil ? nextSuggestion : nil, notice: notice,
                           traffic: traffic, showCalls: showCalls)
    }

    func draw() {
        let grid = ScreenComposer.compose(input(width: Int(ks_cols()), height: Int(ks_lines())))
        if grid == shown { return }
        let full = shown == nil || shown!.width != grid.width || shown!.height != grid.height
        if full { ks_clear() }
        for y in 0..<grid.height {
            var x = 0
            while x < grid.width {
                let cell = grid[x, y]
                if !full, let old = shown, old[x, y] == cell { x += 1; continue }
                // Write a run of changed cells that share a style in one call.
                var text = String(cell.character)
                var end = x + 1
                while end < grid.width, grid[end, y].style == cell.style, full || shown![end, y] != grid[end, y] {
                    text.append(grid[end, y].character)
                    end += 1
                }
                let (pair, bold, reverse) = Self.attributes(cell.style)
                ks_put(Int32(y), Int32(x), text, pair, bold ? 1 : 0, reverse ? 1 : 0, cell.style == .emphasis ? 1 : 0)
                x = end
            }
        }
        ks_refresh()
        shown = grid
    }

    static func attributes(_ style: CellStyle) -> (Int32, Bool, Bool) {
        switch style {
        case .healthy, .podRunning: (1, false, false)
        case .starting, .podPending: (2, false, false)
        case .unhealthy, .podFailed: (3, false, false)
        case .crashed: (3, true, false)
        case .arrow, .code: (4, false, false)
        case .border: (5, false, false)
        case .title, .strong: (0, true, false)
        case .new: (6, true, true)
        case .dim, .stopped, .plain, .emphasis: (0, false, false)
        }
    }

    func send(_ event: SessionEvent) {
        let driver = self.driver
        let effectsNeedWork = event == .next || event == .answer(true) || { if case .toggleComponent = event { return true } else { return false } }()
        if effectsNeedWork {
            guard work == nil else {
                if !driver.session.isBusy { queued = event }
                return
            }
            inspector = nil
            work = Task.detached {
                await driver.send(event)
                await MainActor.run { [weak self] in
                    guard let self else { return }
                    self.work = nil
                    if let next = self.queued {
                        self.queued = nil
                        self.send(next)
                    }
                }
            }
            // Things that change from here on are "new since the last step".
            if let diagram { baseline = stripped(diagram) }
        } else {
            Task.detached { await driver.send(event) }
        }
    }

    func stripped(_ model: DiagramModel) -> DiagramModel {
        var copy = model
        copy.components = copy.components.map { var box = $0; box.isNew = false; return box }
        copy.arrows = copy.arrows.map { var arrow = $0; arrow.isNew = false; return arrow }
        return copy
    }

    func handle(_ code: Int32, isKey: Bool) {
        if isKey && code == ks_key_resize() { shown = nil; return }
        if mode == .help { mode = .tutorial; return }
        notice = nil
        // A traced packet stays on the diagram until the next key (P itself draws a new one).
        if shownTrace != nil, isKey || code != Int32(UnicodeScalar("P").value) { shownTrace = nil; rebuildDiagram() }
        if prompt != nil { handlePrompt(code, isKey: isKey); return }
        let session = driver.session
        if session.question != nil {
            // Only y says yes; n, Escape and any other key leave the node as it is. q still quits.
            switch isKey ? nil : UnicodeScalar(UInt32(code)).map(Character.init) {
            case "y"?: send(.answer(true))
            case "q"?: quit()
            default: send(.answer(false))
            }
            return
        }
        if isKey {
            switch code {
            // With a command's output shown, the pages scroll it; the arrows always scroll the lesson.
            case ks_key_ppage() where commandRun != nil && inspector != nil: outputScroll += 10
            case ks_key_npage() where commandRun != nil && inspector != nil: outputScroll = max(0, outputScroll - 10)
            case ks_key_ppage(), ks_key_up(): lessonScroll += code == ks_key_up() ? 1 : 10
            case ks_key_npage(), ks_key_down(): lessonScroll = max(0, lessonScroll - (code == ks_key_down() ? 1 : 10))
            case ks_key_enter(): send(.next)
            case ks_key_btab(): cycleSelection(backwards: true)
            default: break
            }
            return
        }
        guard let scalar = UnicodeScalar(UInt32(code)), let key = ScreenKey(Character(scalar)) else { return }
        switch key {
        case .next: lessonScroll = 0; send(.next)
        case .previous: lessonScroll = 0; send(.previous)
        case .goToStage: send(.goToStage(Int(String(Character(scalar)))!))
        case .replay: send(.replayStage)
        case .breakIt: send(.breakIt)
        case .notes:
            if let aside = Aside.allCases.first(where: { $0.key == Character(scalar) }), shownAsides.remove(aside) == nil { shownAsides.insert(aside) }
        case .calls: showCalls.toggle()
        case .packet: traceOnePacket()
        case .commandLine: openPrompt()
        case .suggestion: takeSuggestion()
        case .shell: terminalWork = .shell
        case .diagram: mode = mode == .diagram ? .tutorial : .diagram
        case .help: mode = .help
        case .quit: quit()
        case .select: cycleSelection(backwards: false)
        case .escape: inspector = nil; selected = nil
        case .breakComponent:
            if let component = selected { send(.toggleComponent(component)) }
        case .log:
            if let component = selected ?? session.crashedFirst {
                let supervisor = driver.tutorial.engine.context.supervisor
                inspector = ("log of \(component.name) (following)", { supervisor.logTail(component, lines: 200).split(separator: "\n").map(String.init) })
            }
        case .flags:
            if let component = selected {
                let plan = driver.tutorial.engine.context.planner.plan(component, kubeletMode: driver.tutorial.engine.context.supervisor.record(component)?.kubeletMode ?? .cluster)
                // Split once here, not on every redraw: the plan does not change while it is shown.
                let files: [String] = plan.files.flatMap { file -> [String] in
                    ["── \(file.path)"] + file.contents.split(separator: "\n").map(String.init)
                }
                let lines: [String] = (["$ " + plan.commandLine] + files)
                    .flatMap { $0.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) }
                inspector = ("flags and config of \(component.name)", { lines })
            }
        case .health:
            if let component = selected {
                let health = driver.tutorial.engine.context.planner.plan(component).health
                let box = diagram?.box(of: component)
                inspector = ("health of \(component.name)", { ["\(health)", "now: \(box?.health.word ?? "unknown")", box?.pid.map { "pid \($0)" } ?? ""] })
            }
        case .scrollLesson, .scrollOutput: break  // special keys, above
        }
    }

    /// q and Ctrl-C: at once, keeping the node, also mid-step (the step is cancelled; the next start takes its stage
    /// back) or with a question open. Leaving is the screen's business, not the session's: removing the node is `reset`.
    func quit() {
        work?.cancel()
        running = false
    }

    /// A trace written by anyone (a lesson's trace step, `:kubescratch trace`, another terminal) is drawn when the
    /// file changes, while it is recent: one stat per look.
    func lookAtTrace() {
        let path = TraceReport.file(in: driver.tutorial.engine.context.layout)
        let modified = (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        guard let modified, modified != traceFileTime else { return }
        traceFileTime = modified
        if let report = TraceRunner.last(in: driver.tutorial.engine.context.layout),
           Date().timeIntervalSince(report.time) < TraceReport.shownFor {
            shownTrace = report
            rebuildDiagram()
        }
    }

    /// P: one request to the lesson's NodePort, followed through the nat table; its path on the diagram, its report
    /// in the output pane. Pressed again, another connection: kube-proxy's random choice may pick another pod.
    func traceOnePacket() {
        guard !tracing else { return }
        guard nodeState?.services.contains(where: { $0.name == TraceTarget.service }) == true else {
            notice = "P follows a request to the Service \(TraceTarget.service)'s NodePort: it exists from stage 5"
            return
        }
        tracing = true
        notice = "tracing one request to port \(TraceTarget.lessonNodePort)…"
        let runner = TraceRunner(context: driver.tutorial.engine.context)
        let command = runner.command(.nodePort(.nodeIP))
        Task.detached {
            let outcome: Result<TraceReport, Error>
            do { outcome = .success(try await runner.run(.nodePort(.nodeIP))) } catch { outcome = .failure(error) }
            await MainActor.run { [weak self] in
                guard let self else { return }
                self.tracing = false
                self.notice = nil
                switch outcome {
                case .success(let report):
                    let lines = ["$ " + command] + report.lines
                    self.inspector = ("trace: one packet (P again: another)", { lines })
                    self.shownTrace = report
                    // This trace's file counts as seen: else lookAtTrace would draw it again after the next key
                    // took it away, when that key comes before its next look.
                    self.traceFileTime = (try? FileManager.default.attributesOfItem(atPath: TraceReport.file(in: runner.context.layout)))?[.modificationDate] as? Date
                    self.rebuildDiagram()
                case .failure(let error):
                    self.notice = "no trace: \(error)"
                }
                self.dirty = true
            }
        }
    }

    /// Tab walks node-1's boxes, then each worker's (stage 6).
    func cycleSelection(backwards: Bool) {
        let first = (diagram?.components.map(\.id) ?? []).compactMap { box in ComponentID.firstNode.first { DiagramModel.BoxID($0) == box } }
        let workers = (diagram?.workers ?? []).flatMap { worker in
            worker.components.compactMap { box in
                WorkerNode(name: worker.name).flatMap { node in ComponentID.on(node).first { DiagramModel.BoxID($0) == box.id } }
            }
        }
        let boxes = first + workers
        guard !boxes.isEmpty else { return }
        let index = selected.flatMap { boxes.firstIndex(of: $0) } ?? (backwards ? 0 : -1)
        selected = boxes[(index + (backwards ? -1 : 1) + boxes.count) % boxes.count]
    }
}
