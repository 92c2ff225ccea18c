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
    /// The lesson's version notes aside: shown dimmed, or folded into one line (the v key).
    public var showVersionNotes: Bool

    public init(session: TutorialSession, lessonText: String, stageTitle: String, diagram: DiagramModel?, width: Int, height: Int,
                mode: ScreenMode = .tutorial, lessonScroll: Int = 0, selected: ComponentID? = nil, inspector: [String]? = nil,
                inspectorTitle: String? = nil, now: Date = Date(), ascii: Bool = false, showVersionNotes: Bool = true) {
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
        self.showVersionNotes = showVersionNotes
    }
}

/// Composes the whole screen into a grid: lesson, live node diagram, output and status bar.
/// Side by side when there is room for an 80-column diagram beside a 40-column lesson; stacked otherwise.
public enum ScreenComposer {
    public static let minimumWidth = 80
    public static let minimumHeight = 24
    public static let keyHints = "Enter run · p back · 1-6 stage · r replay · d diagram · Tab select · ? help · q quit"

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
                drawDiagram(input, into: &grid, area: Rect(x: leftWidth, y: 0, width: input.width - leftWidth, height: body.height))
            } else {
                let lessonHeight = body.height / 2 + 2
                drawLesson(input, into: &grid, area: Rect(x: 0, y: 0, width: input.width, height: lessonHeight))
                drawOutput(input, into: &grid, area: Rect(x: 0, y: lessonHeight, width: input.width, height: body.height - lessonHeight))
            }
        }
        if let question = input.session.question { drawDialog(question, into: &grid, area: body) }
        drawStatus(input, into: &grid, y: input.height - 1)
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
        var lines = MarkdownLayout.lines(input.lessonText, width: width, showVersionNotes: input.showVersionNotes)
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
            grid.write(line.text, x: area.x + 2, y: area.y + 1 + index, style: line.style, limit: width)
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
        if let message = session.message { header.append(StyledText(message, .new)) }
        let body = (input.inspector ?? session.output).flatMap { wrap($0, width: width) }
        let room = area.height - 2
        let visible = Array(body.suffix(max(0, room - header.count)))
        for (index, line) in (header + visible.map { StyledText($0, style(ofOutput: $0)) }).prefix(room).enumerated() {
            grid.write(line.text, x: area.x + 2, y: area.y + 1 + index, style: line.style, limit: width)
        }
    }

    static func style(ofOutput line: String) -> CellStyle {
        if line.hasPrefix("✓") { return .healthy }
        if line.hasPrefix("✗") { return .unhealthy }
        if line.hasPrefix("$ ") { return .title }
        return .plain
    }

    static func drawDiagram(_ input: ScreenInput, into grid: inout Grid, area: Rect) {
        guard let model = input.diagram else {
            grid.write("observing the node…", x: area.x + 2, y: area.y + 1, style: .dim, limit: area.width - 4)
            return
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
    }

    static func drawStatus(_ input: ScreenInput, into grid: inout Grid, y: Int) {
        let session = input.session
        // Both nodes' components and pods (stage 6).
        let boxes = (input.diagram?.components ?? []) + (input.diagram?.secondNode?.components ?? [])
        let up = boxes.filter { $0.health == .healthy && $0.id != .iptables }.count
        let groups = (input.diagram?.podGroups ?? []) + (input.diagram?.secondNode?.podGroups ?? [])
        let pods = groups.flatMap(\.pods).filter { $0.phase == "Running" }.count
        let left = " \(session.progressText) · \(up) components up · \(pods) pods running "
        let used = grid.write(left, x: 0, y: y, style: .new, limit: input.width)
        grid.write(" " + keyHints, x: used, y: y, style: .dim, limit: input.width - used)
    }

    static func drawHelp(into grid: inout Grid, area: Rect) {
        frame("Keys", area, into: &grid)
        let keys = [
            ("Enter / n", "run the step you are reading (at a stage's end: go to the next stage)"),
            ("p", "read the previous step again (the node is not changed)"),
            ("PgUp / PgDn", "scroll the lesson"),
            ("1 … 6", "go to a stage: the node is moved to its start (asks first)"),
            ("r", "replay this stage from its start (asks first)"),
            ("d", "the node diagram on the whole screen (d again to come back)"),
            ("Tab", "select a component in the diagram"),
            ("l / f / h", "the selected component's log, its command line and config, its health"),
            ("b", "break it: stop the selected component, or start it again"),
            ("x", "at a stage's end: run its break-it section (predict, break, watch, heal)"),
            ("v", "hide or show the lesson's version notes (how other releases differ)"),
            ("Esc", "back to the output of the steps"),
            ("q", "quit at once; the node keeps running (`kubescratch` resumes, `kubescratch reset` removes it)"),
            ("?", "this help; any key closes it"),
        ]
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

/// Markdown to styled, wrapped lines for the lesson pane: headings bold, code indented, lists and paragraphs wrapped.
public enum MarkdownLayout {
    public static func lines(_ markdown: String, width: Int, showVersionNotes: Bool = true) -> [StyledText] {
        var out: [StyledText] = []
        var inFence = false
        var notes: [String]?
        var paragraph = ""
        func flush() {
            guard !paragraph.isEmpty else { return }
            let indent = paragraph.hasPrefix("- ") || paragraph.hasPrefix("* ") ? "  " : ""
            for (index, line) in wrapWords(paragraph, width: width, hanging: indent).enumerated() {
                out.append(StyledText(index == 0 && !indent.isEmpty ? "• " + line.dropFirst(2) : line, .plain))
            }
            paragraph = ""
        }
        for raw in markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            // The version notes aside: dimmed under a heading, or one line saying how to show it.
            if raw.trimmingCharacters(in: .whitespaces) == VersionNotes.fence { flush(); notes = []; continue }
            if var collected = notes {
                if raw.trimmingCharacters(in: .whitespaces) != "```" { collected.append(raw); notes = collected; continue }
                notes = nil
                let heading = showVersionNotes ? "\(VersionNotes.title) (other releases; v hides them)"
                    : "\(VersionNotes.title) hidden: v shows how other releases differ"
                out += wrapWords(heading, width: width, hanging: "").map { StyledText($0, .dim) }
                if showVersionNotes {
                    out += lines(collected.joined(separator: "\n"), width: width - 2).map { StyledText($0.text.isEmpty ? "" : "│ " + $0.text, .dim) }
                }
                continue
            }
            if raw.hasPrefix("```") { flush(); inFence.toggle(); continue }
            if inFence { out.append(StyledText("    " + raw, .arrow)); continue }
            let line = raw.trimmingCharacters(in: .whitespaces)
            if line.isEmpty {
                flush()
                if out.last?.text.isEmpty == false { out.append(StyledText("", .plain)) }
                continue
            }
            if line.hasPrefix("#") {
                flush()
                out.append(StyledText(line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces), .title))
                continue
            }
            if line.hasPrefix("- ") || line.hasPrefix("* ") || line.first?.isNumber == true && line.contains(". ") { flush() }
            paragraph += (paragraph.isEmpty ? "" : " ") + plain(line)
        }
        flush()
        return out
    }

    static func plain(_ text: String) -> String {
        text.replacingOccurrences(of: "**", with: "").replacingOccurrences(of: "`", with: "")
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
