import Foundation


public enum ScreenMode: Sendable, Equatable {
    case tutorial
    /// The node diagram on the whole screen.
    case diagram
    case help
}

/// Everything the screen shows, as plain values: the composer turns it into a grid without touching the terminal.
public struct ScreenInput: Sendable {
    public var session: TutorialSession
    /// The lesson text leading up to the step being read (Markdown).
    public var lessonText: String
    public var stageTitle: String
    public var diagram: DiagramModel?
    public var width: Int
    public var height: Int
    public var mode: ScreenMode
    public var lessonScroll: Int
    /// A component picked with Tab in the diagram (either node's): b stops or starts it, l shows its log, f its flags,
    /// h its health.
    public var selected: ComponentID?
    /// Extra text for the output pane (a log tail, a command line) instead of the step output.
    public var inspector: [String]?
    public var inspectorTitle: String?
    public var now: Date
    public var ascii: Bool
    /// The asides shown unfolded (the others are one line saying which key shows them).
    public var shownAsides: Set<Aside>
    /// The command line (`:`), open: drawn on the bottom row instead of the status bar.
    public var prompt: PromptLine?
    /// Lines the output pane is scrolled up from its end (a command's long output).
    public var outputScroll = 0
    /// The next suggested command of the step just run, and its place among them (`t` puts it on the prompt).
    public var suggestion: (command: String, index: Int, count: Int)?
    /// A one-line message of the screen's own (the command line's), shown like the session's.
    public var notice: String?
    /// The API server's recent calls: a pane under the diagram from 140 columns, or in the output pane's place when
    /// `showCalls` (the a key) on smaller screens.
    public var traffic: TrafficLog?
    public var showCalls = false

    public init(session: TutorialSession, lessonText: String, stageTitle: String, diagram: DiagramModel?, width: Int, height: Int,
                mode: ScreenMode = .tutorial, lessonScroll: Int = 0, selected: ComponentID? = nil, inspector: [String]? = nil,
                inspectorTitle: String? = nil, now: Date = Date(), ascii: Bool = false, shownAsides: Set<Aside> = Aside.shownAtFirst,
                prompt: PromptLine? = nil, outputScroll: Int = 0, suggestion: (command: String, index: Int, count: Int)? = nil,
                notice: String? = nil, traffic: TrafficLog? = nil, showCalls: Bool = false) {
        self.session = session
        self.lessonText = lessonText
        self.stageTitle = stageTitle
        self.diagram = diagram
        self.width = width
        self.height = height
        self.mode = mode
        self.lessonScroll = lessonScroll
        self.selected = selected
        self.inspector = inspector
        self.inspectorTitle = inspectorTitle
        self.now = now
        self.ascii = ascii
        self.shownAsides = shownAsides
        self.prompt = prompt
        self.outputScroll = outputScroll
        self.suggestion = suggestion
        self.notice = notice
        self.traffic = traffic
        self.showCalls = showCalls
    }
}

/// Composes the whole screen into a grid: lesson, live node diagram, output and status bar.
/// Side by side when there is room for an 80-column diagram beside a 40-column lesson; stacked otherwise.
public enum ScreenComposer {
    public static let minimumWidth = 80
    public static let minimumHeight = 24
    public static let keyHints = ScreenKey.hints

    public static func compose(_ input: ScreenInput) -> Grid {
        var grid = Grid(width: max(1, input.width), height: max(1, input.height), ascii: input.ascii)
        guard input.width >= minimumWidth, input.height >= minimumHeight else {
            let lines = ["kubescratch needs a terminal of at least \(minimumWidth)×\(minimumHeight).",
                         "This one is \(input.width)×\(input.height): make it larger, or press q to quit."]
            for (index, line) in lines.enumerated() {
                grid.write(line, x: 0, y: min(input.height - 1, input.height / 2 - 1 + index), style: .unhealthy, limit: input.width)
            }
            return grid
        }
        let body = Rect(x: 0, y: 0, width: input.width, height: input.height - 1)
        switch input.mode {
        case .help:
            drawHelp(into: &grid, area: body)
        case .diagram:
            drawDiagram(input, into: &grid, area: body)
        case .tutorial:
            let sideBySide = input.width >= 120 && input.height >= 30
            if sideBySide {
                let leftWidth = input.width - max(80, input.width * 3 / 5)
                let lessonHeight = body.height * 3 / 5
                drawLesson(input, into: &grid, area: Rect(x: 0, y: 0, width: leftWidth, height: lessonHeight))
                drawOutput(input, into: &grid, area: Rect(x: 0, y: lessonHeight, width: leftWidth, height: body.height - lessonHeight))
                let outputArea = Rect(x: 0, y: lessonHeight, width: leftWidth, height: body.height - lessonHeight)
                let diagramArea = Rect(x: leftWidth, y: 0, width: input.width - leftWidth, height: body.height)
                let free = drawDiagram(input, into: &grid, area: diagramArea)
                // Wide screens list the calls in the diagram's free lower part; others swap them with the output (a).
                if input.width >= 140, let free, free.height >= 4 {
                    drawOutput(input, into: &grid, area: outputArea)
                    drawCalls(input, into: &grid, area: free)
                } else if input.showCalls {
                    drawCalls(input, into: &grid, area: outputArea)
                } else {
                    drawOutput(input, into: &grid, area: outputArea)
                }
            } else {
                let lessonHeight = body.height / 2 + 2
                drawLesson(input, into: &grid, area: Rect(x: 0, y: 0, width: input.width, height: lessonHeight))
                let outputArea = Rect(x: 0, y: lessonHeight, width: input.width, height: body.height - lessonHeight)
                if input.showCalls { drawCalls(input, into: &grid, area: outputArea) } else { drawOutput(input, into: &grid, area: outputArea) }
            }
        }
        if let question = input.session.question { drawDialog(question, into: &grid, area: body) }
        if let prompt = input.prompt {
            drawPrompt(prompt, into: &grid, y: input.height - 1)
        } else {
            drawStatus(input, into: &grid, y: input.height - 1)
        }
        return grid
    }

    /// A question as a box in the middle of the screen, wrapped, never cut: the question, then each answer by its key.
    static func drawDialog(_ question: TutorialSession.Question, into grid: inout Grid, area: Rect) {
        let dialog = question.dialog
        let width = min(area.width - 4, 64)
        let inner = width - 4
        let keyWidth = dialog.answers.map(\.key.count).max() ?? 0
        var lines: [StyledText] = MarkdownLayout.wrapWords(dialog.text, width: inner, hanging: "").map { StyledText($0, .plain) }
        lines.append(StyledText("", .plain))
        for answer in dialog.answers {
            let meaning: [String] = MarkdownLayout.wrapWords(answer.meaning, width: inner - keyWidth - 2, hanging: "")
            for (index, text) in meaning.enumerated() {
                let key = index == 0 ? answer.key.padding(toLength: keyWidth, withPad: " ", startingAt: 0) : String(repeating: " ", count: keyWidth)
                lines.append(StyledText(key + "  " + text, index == 0 ? .new : .plain))
            }
        }
        let height = min(area.height, lines.count + 2)
        let rect = Rect(x: area.x + (area.width - width) / 2, y: area.y + max(0, (area.height - height) / 2), width: width, height: height)
        grid.fill(rect)
        frame(dialog.title, rect, into: &grid, style: .new)
        for (index, line) in lines.prefix(height - 2).enumerated() {
            grid.write(line.text, x: rect.x + 2, y: rect.y + 1 + index, style: line.style, limit: inner)
        }
    }

    static func frame(_ title: String, _ area: Rect, into grid: inout Grid, style: CellStyle = .border) {
        let box = PlacedBox(id: title, rect: area, title: title, titleStyle: .title, lines: [])
        DiagramRenderer.drawBox(box, into: &grid, ascii: grid.ascii, borderStyle: style)
    }

    static func drawLesson(_ input: ScreenInput, into grid: inout Grid, area: Rect) {
        frame(input.stageTitle, area, into: &grid)
        let width = area.width - 4
        var lines = MarkdownLayout.lines(input.lessonText, width: width, shown: input.shownAsides)
        let session = input.session
        if let stage = session.currentStage {
            lines.append(StyledText("", .plain))
            if let step = session.currentStep {
                let marker = input.ascii ? ">" : "▶"
                lines.append(StyledText("\(marker) Step \(session.position.step + 1)/\(stage.steps.count): \(step.title)", .new))
                let hint = session.isBusy ? "running…" : "press Enter to run it"
                lines.append(StyledText("  \(hint)", .dim))
            } else {
                lines.append(StyledText("End of stage \(stage.number). Press Enter for the next stage.", .new))
                if stage.canBreakIt {
                    let result = session.results[TutorialSession.breakItID(stage.number)]
                    let hint = result == nil ? "Press x to break it: stop a part, predict, watch what no longer works, heal it."
                        : "Press x to break it again."
                    lines.append(StyledText("  \(hint)", .dim))
                }
            }
        }
        let room = area.height - 2
        // Keep the step marker in view: scroll from the end unless the learner scrolled up.
        let maxScroll = max(0, lines.count - room)
        let top = max(0, maxScroll - input.lessonScroll)
        for (index, line) in lines.dropFirst(top).prefix(room).enumerated() {
            grid.write(line, x: area.x + 2, y: area.y + 1 + index, limit: width)
        }
    }

    static func drawOutput(_ input: ScreenInput, into grid: inout Grid, area: Rect) {
        let session = input.session
        frame(input.inspectorTitle ?? "Output", area, into: &grid)
        let width = area.width - 4
        var header: [StyledText] = []
        if case .running(_, let since) = session.activity {
            header.append(StyledText("\(spinner(input.now, ascii: input.ascii)) \(session.waitingFor ?? "running") — \(String(format: "%.1f", input.now.timeIntervalSince(since))) s", .starting))
        } else if case .moving(let stage, let since) = session.activity {
            header.append(StyledText("\(spinner(input.now, ascii: input.ascii)) bringing the node to the start of stage \(stage) — \(String(format: "%.1f", input.now.timeIntervalSince(since))) s", .starting))
        }
        if let message = input.notice ?? session.message { header.append(StyledText(message, .new)) }
        var body = (input.inspector ?? session.output).flatMap { wrap($0, width: width) }
        if let suggestion = input.suggestion, input.inspector == nil {
            body += ["", "try (t): \(suggestion.command)\(suggestion.count > 1 ? "  [\(suggestion.index + 1)/\(suggestion.count)]" : "")"]
        }
        let room = area.height - 2
        let scroll = min(input.outputScroll, max(0, body.count - (room - header.count)))
        let visible = Array(body.dropLast(scroll).suffix(max(0, room - header.count)))
        for (index, line) in (header + visible.map { StyledText($0, style(ofOutput: $0)) }).prefix(room).enumerated() {
            grid.write(line, x: area.x + 2, y: area.y + 1 + index, limit: width)
        }
    }

    /// `:` and the line being typed, the cursor as a reverse-video cell, scrolled so the cursor stays in view; Tab's
    /// candidates after it when there are several.
    static func drawPrompt(_ prompt: PromptLine, into grid: inout Grid, y: Int) {
        let room = grid.width - 2
        let text = Array(prompt.line)
        let first = max(0, prompt.cursor - room + 1)
        let shown = String(text[first..<min(text.count, first + room)])
        grid.write(":", x: 0, y: y, style: .title)
        grid.write(shown, x: 1, y: y, style: .plain, limit: room)
        let cursorX = 1 + prompt.cursor - first
        let under = prompt.cursor < text.count ? text[prompt.cursor] : " "
        grid[cursorX, y] = Cell(under, .new)
        if !prompt.candidates.isEmpty, cursorX + 4 < grid.width {
            grid.write("  " + prompt.candidates.prefix(12).joined(separator: "  "), x: max(cursorX + 1, 1 + text.count - first), y: y,
                       style: .dim, limit: grid.width - cursorX - 2)
        }
    }

    static func style(ofOutput line: String) -> CellStyle {
        if line.hasPrefix("✓") { return .healthy }
        if line.hasPrefix("try (t): ") { return .dim }
        if line.hasPrefix("✗") { return .unhealthy }
        if line.hasPrefix("$ ") { return .title }
        return .plain
    }

    /// Draws the diagram; returns the free rows under what it drew (above its legend), for the API calls pane.
    @discardableResult
    static func drawDiagram(_ input: ScreenInput, into grid: inout Grid, area: Rect) -> Rect? {
        guard let model = input.diagram else {
            grid.write("observing the node…", x: area.x + 2, y: area.y + 1, style: .dim, limit: area.width - 4)
            return nil
        }
        // At the minimum size the status bar takes the diagram's last row (its legend): lay out for 24 rows, clip.
        let layout = DiagramLayoutEngine.layout(model, width: area.width, height: max(area.height, DiagramLayout.minimumHeight), ascii: input.ascii)
        let picture = DiagramRenderer.grid(layout, ascii: input.ascii)
        for y in 0..<min(picture.height, area.height) {
            for x in 0..<min(picture.width, area.width) {
                grid[area.x + x, area.y + y] = picture[x, y]
            }
        }
        // The selected box's title in reverse video, so Tab shows where b, l, f and h will act.
        if let selected = input.selected, let box = layout.box(id: DiagramLayout.boxID(of: selected)) {
            for x in (box.rect.x + 1)...(box.rect.x + min(box.rect.width - 2, box.title.count + 2)) {
                let cell = grid[area.x + x, area.y + box.rect.y]
                grid[area.x + x, area.y + box.rect.y] = Cell(cell.character, .new)
            }
        }
        let bottoms = ([layout.node?.rect.maxY].compactMap { $0 } + layout.workers.map(\.rect.maxY))
            + layout.texts.map(\.at.y).filter { $0 < layout.height - 1 }
        let used = (bottoms.max() ?? 0) + 1
        let height = min(area.height, layout.height) - used - 1
        return height > 0 ? Rect(x: area.x, y: area.y + used, width: area.width, height: height) : nil
    }

    /// Newest first, one call a line, repeated calls folded with a count; the selected component's calls only.
    static func drawCalls(_ input: ScreenInput, into grid: inout Grid, area: Rect) {
        let filter = input.selected.flatMap { APIClient.of($0, node: input.diagram?.nodeName ?? "") }
        let title = "API calls" + (input.selected.map { " of \($0.name) (Tab: another, Esc: all)" } ?? " (who → API server; Tab filters)")
        frame(title, area, into: &grid)
        let width = area.width - 4
        guard let traffic = input.traffic, traffic.total > 0 else {
            grid.write("none yet: the API server logs each call from stage 2 on", x: area.x + 2, y: area.y + 1, style: .dim, limit: width)
            return
        }
        let calls = traffic.recent(area.height - 2) { filter == nil || filter!(traffic.client(of: $0)) }
        for (index, call) in calls.enumerated() {
            let style: CellStyle = call.failed ? .unhealthy : call.isWrite ? (input.now.timeIntervalSince(call.time) < 2 ? .new : .plain) : .dim
            grid.write(traffic.line(call, width: width), x: area.x + 2, y: area.y + 1 + index, style: style, limit: width)
        }
    }

    static func drawStatus(_ input: ScreenInput, into grid: inout Grid, y: Int) {
        let session = input.session
        // Every node's components and pods (stage 6).
        let boxes = (input.diagram?.components ?? []) + (input.diagram?.workers.flatMap(\.components) ?? [])
        let up = boxes.filter { $0.health == .healthy && $0.id != .iptables }.count
        let groups = input.diagram?.allPodGroups ?? []
        let pods = groups.flatMap(\.pods).filter { $0.phase == "Running" }.count
        let left = " \(session.progressText) · \(up) components up · \(pods) pods running "
        let used = grid.write(left, x: 0, y: y, style: .new, limit: input.width)
        grid.write(" " + keyHints, x: used, y: y, style: .dim, limit: input.width - used)
    }

    static func drawHelp(into grid: inout Grid, area: Rect) {
        frame("Keys", area, into: &grid)
        let keys = ScreenKey.allCases.map { ($0.label, $0.help) }
        for (index, entry) in keys.enumerated() where index < area.height - 2 {
            grid.write(entry.0, x: area.x + 3, y: area.y + 1 + index, style: .title, limit: 14)
            grid.write(entry.1, x: area.x + 18, y: area.y + 1 + index, style: .plain, limit: area.width - 20)
        }
    }

    static func spinner(_ now: Date, ascii: Bool) -> String {
        let frames = ascii ? ["|", "/", "-", "\\"] : ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"]
        return frames[Int(now.timeIntervalSinceReferenceDate * 10) % frames.count]
    }

    static func wrap(_ text: String, width: Int) -> [String] {
        guard width > 0 else { return [] }
        if text.count <= width { return [text] }
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ", omittingEmptySubsequences: false) {
            if current.count + word.count + 1 > width, !current.isEmpty {
                lines.append(current)
                current = "  "
            }
            current += (current.isEmpty || current == "  " ? "" : " ") + word
            while current.count > width {
                lines.append(String(current.prefix(width)))
                current = "  " + current.dropFirst(width)
            }
        }
        if !current.trimmingCharacters(in: .whitespaces).isEmpty { lines.append(current) }
        return lines
    }
}

/// Markdown to styled, wrapped lines for the lesson pane: headings bold, code indented, lists and paragraphs wrapped,
/// `code` and **strong** as terminal attributes, each aside dimmed under its heading or folded to one line.
public enum MarkdownLayout {
    public static func lines(_ markdown: String, width: Int, shown asides: Set<Aside> = Aside.shownAtFirst) -> [StyledText] {
        lines(MarkdownBlock.parse(markdown), width: width, shown: asides)
    }

    static func lines(_ blocks: [MarkdownBlock], width: Int, shown asides: Set<Aside>) -> [StyledText] {
        var out: [StyledText] = []
        for block in blocks {
            switch block {
            case .heading(let text):
                out.append(StyledText(text, .title))
            case .paragraph(let marker, let runs):
                out += wrap(runs, width: width, bullet: marker == nil ? nil : marker!.first!.isNumber ? marker! : "• ")
            case .code(let code):
                out += code.map { StyledText("    " + $0, .arrow) }
            case .blank:
                if out.last?.text.isEmpty == false { out.append(StyledText("", .plain)) }
            case .aside(let aside, let inner):
                let shown = asides.contains(aside)
                let heading = shown ? "\(aside.title) (\(aside.about); \(aside.key) hides them)"
                    : "\(aside.title) hidden: \(aside.key) shows \(aside.about)"
                out += wrapWords(heading, width: width, hanging: "").map { StyledText($0, .dim) }
                guard shown else { continue }
                for line in lines(inner, width: width - 2, shown: asides) {
                    guard !line.text.isEmpty else { out.append(StyledText("", .dim)); continue }
                    let styles = (line.styles ?? Array(repeating: line.style, count: line.text.count)).map { $0 == .plain ? .dim : $0 }
                    out.append(StyledText("│ " + line.text, .dim, styles: [.dim, .dim] + styles))
                }
            }
        }
        return out
    }

    /// Words wrapped to `width`, each character keeping its inline style; a list item hangs under its bullet.
    static func wrap(_ runs: [InlineRun], width: Int, bullet: String?) -> [StyledText] {
        var words: [[(Character, CellStyle)]] = []
        var word: [(Character, CellStyle)] = []
        for run in runs {
            let style: CellStyle = switch run.style {
            case .plain: .plain
            case .emphasis: .emphasis
            case .strong: .strong
            case .code: .code
            }
            for character in run.text {
                if character == " " || character == "\n" {
                    if !word.isEmpty { words.append(word); word = [] }
                } else {
                    word.append((character, style))
                }
            }
        }
        if !word.isEmpty { words.append(word) }
        let hanging = bullet.map { String(repeating: " ", count: $0.count) } ?? ""
        var lines: [[(Character, CellStyle)]] = []
        var current: [(Character, CellStyle)] = bullet.map { $0.map { ($0, CellStyle.plain) } } ?? []
        var fresh = true
        for word in words {
            if !fresh, current.count + 1 + word.count > width {
                lines.append(current)
                current = hanging.map { ($0, CellStyle.plain) }
                fresh = true
            }
            if !fresh { current.append((" ", current.last?.1 == word.first?.1 ? word.first!.1 : .plain)) }
            current += word
            fresh = false
        }
        if !fresh { lines.append(current) }
        return lines.map { line in
            let styles = line.map(\.1)
            return StyledText(String(line.map(\.0)), .plain, styles: styles.allSatisfy { $0 == .plain } ? nil : styles)
        }
    }

    static func wrapWords(_ text: String, width: Int, hanging: String) -> [String] {
        var lines: [String] = []
        var current = ""
        for word in text.split(separator: " ") {
            if !current.isEmpty, current.count + 1 + word.count > width {
                lines.append(current)
                current = hanging
            }
            current += (current.isEmpty || current == hanging ? "" : " ") + word
        }
        if !current.isEmpty { lines.append(current) }
        return lines
    }
}
