import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct DiagramCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diagram",
        abstract: "Draw the node as it is now: components, pods, and who talks to whom.",
        discussion: """
            Drawn from live state only: each component's process and health endpoint, pods from the API server \
            (or from containerd before there is one). Colour only on a terminal, never with NO_COLOR; ASCII when \
            the locale is not UTF-8. With --watch it redraws when the API reports a change (watch streams) and \
            every 2 seconds for component health; what changed since the previous picture is marked ✚.
            """
    )

    @OptionGroup var state: StateOptions

    @Flag(name: .long, help: "Redraw in place whenever the node changes, until Ctrl-C.")
    var watch = false

    @Option(name: .long, help: ArgumentHelp("Also write the picture as SVG to this file.", valueName: "FILE"))
    var svg: String?

    @Flag(name: .long, help: "Draw with ASCII characters only.")
    var ascii = false

    @Option(name: .long, help: ArgumentHelp("Columns (default: the terminal's, or 100).", valueName: "N"))
    var width: Int?

    @Option(name: .long, help: ArgumentHelp("Rows (default: the terminal's, or 32).", valueName: "N"))
    var height: Int?

    static let markSeconds = 5.0

    func validate() throws {
        if let width, width < DiagramLayout.minimumWidth { throw ValidationError("--width must be at least \(DiagramLayout.minimumWidth)") }
        if let height, height < DiagramLayout.minimumHeight { throw ValidationError("--height must be at least \(DiagramLayout.minimumHeight)") }
    }

    func run() async throws {
        try Setup.requireRoot("diagram")
        let layout = state.layout
        let (progress, context) = try Setup.existingNode(layout)
        let book = try? Setup.book(NodeOptions.parse([]))
        let stage = progress.unfinishedStage ?? progress.completedStage
        let expected = book?.stage(stage)?.components ?? []
        let observer = NodeObserver(context: context, expected: expected,
                                    traffic: TrafficFeed(layout: layout))
        let terminal = Terminal.size()
        let columns = width ?? terminal?.columns ?? 100
        let rows = height ?? terminal.map { $0.rows - (watch ? 1 : 0) } ?? 32
        let useASCII = ascii || !Terminal.localeIsUTF8

        func picture(_ model: DiagramModel) -> (text: String, layout: DiagramLayout) {
            Self.picture(model, width: max(columns, 80), height: max(rows, 24), ascii: useASCII)
        }

        var model = DiagramModel(state: await observer.snapshot())
        let first = picture(model)
        if let svg { try SVGRenderer.svg(first.layout).write(toFile: svg, atomically: true, encoding: .utf8) }
        guard watch else {
            print(first.text)
            return
        }
        FileHandle.standardOutput.write(Data("\u{1B}[?25l\u{1B}[H\u{1B}[2J\(first.text)\n".utf8))
        signal(SIGINT, SIG_IGN)
        let interrupt = DispatchSource.makeSignalSource(signal: SIGINT, queue: .main)
        interrupt.setEventHandler {
            FileHandle.standardOutput.write(Data("\u{1B}[?25h\n".utf8))
            Foundation.exit(0)
        }
        interrupt.resume()
        var shown = first.text
        var lastState: NodeState?
        var lastChange = Date.distantPast
        for await _ in observer.changes() {
            let state = await observer.snapshot()
            if state != lastState {
                lastChange = Date()
                lastState = state
            }
            // What changed stays marked ✚ for a few seconds, then becomes the new baseline.
            let next = DiagramModel(state: state, previous: model)
            if Date().timeIntervalSince(lastChange) > Self.markSeconds { model = DiagramModel(state: state) }
            let drawn = picture(next)
            if drawn.text != shown {
                FileHandle.standardOutput.write(Data("\u{1B}[H\u{1B}[2J\(drawn.text)\n".utf8))
                shown = drawn.text
                if let svg { try? SVGRenderer.svg(drawn.layout).write(toFile: svg, atomically: true, encoding: .utf8) }
            }
        }
    }
}

extension DiagramCommand {
    /// The node drawn as text for standard output: ANSI colours where allowed, plain otherwise.
    static func picture(_ model: DiagramModel, width: Int, height: Int, ascii: Bool) -> (text: String, layout: DiagramLayout) {
        let placed = DiagramLayoutEngine.layout(model, width: width, height: height, ascii: ascii)
        let grid = DiagramRenderer.grid(placed, ascii: ascii)
        return (Terminal.colourAllowed ? TextRenderer.ansi(grid) : TextRenderer.plain(grid), placed)
    }
}

/// Facts about the terminal we write to.
enum Terminal {
    static func size() -> (columns: Int, rows: Int)? {
        guard isatty(1) == 1 else { return nil }
        var size = winsize()
        guard ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col > 0 else { return nil }
        return (Int(size.ws_col), Int(size.ws_row))
    }

    static var localeIsUTF8: Bool {
        let environment = ProcessInfo.processInfo.environment
        let locale = environment["LC_ALL"] ?? environment["LC_CTYPE"] ?? environment["LANG"] ?? ""
        return locale.uppercased().contains("UTF-8") || locale.uppercased().contains("UTF8")
    }

    /// Colour only on a terminal that can show it, and never when NO_COLOR is set (no-color.org).
    static var colourAllowed: Bool {
        let environment = ProcessInfo.processInfo.environment
        return isatty(1) == 1 && environment["NO_COLOR"] == nil && environment["TERM"] != "dumb"
    }
}
