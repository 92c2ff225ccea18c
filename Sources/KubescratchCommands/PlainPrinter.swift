import Foundation
import KubescratchCore
import KubescratchEngine

/// Prints engine events as plain text: for scripts, CI logs and screen readers.
/// On a terminal, "waiting" lines overwrite each other; elsewhere they are printed every few seconds.
final class PlainPrinter: @unchecked Sendable {
    let showProse: Bool
    let isTerminal = isatty(1) == 1
    let lock = NSLock()
    var lastWaitingPrint = Date.distantPast
    var waitingShown = false
    var stageTimes: [(String, Double)] = []

    init(showProse: Bool) {
        self.showProse = showProse
    }

    func write(_ text: String) {
        FileHandle.standardOutput.write(Data(text.utf8))
    }

    func clearWaiting() {
        if waitingShown && isTerminal { write("\r\u{1B}[2K") }
        waitingShown = false
    }

    func indent(_ text: String, by prefix: String = "    ") -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { prefix + $0 }.joined(separator: "\n")
    }

    func handle(_ event: EngineEvent) {
        lock.lock()
        defer { lock.unlock() }
        switch event {
        case .waiting(let what, let elapsed):
            if isTerminal {
                write("\r\u{1B}[2K  … \(what.prefix(150)) — \(String(format: "%.1f", elapsed)) s")
                waitingShown = true
            } else if Date().timeIntervalSince(lastWaitingPrint) >= 5 {
                write("  … \(what) — \(String(format: "%.1f", elapsed)) s\n")
                lastWaitingPrint = Date()
            }
            return
        default:
            clearWaiting()
        }
        switch event {
        case .stageStarted(let lesson):
            let label = lesson.stage.map { "Stage \($0)/\(Lesson.stages.upperBound) · " } ?? ""  // the break-it section's title says what it is
            write("\n━━ \(label)\(lesson.title) ━━\n")
        case .stepStarted(let step, let index, let count):
            if showProse, !step.prose.isEmpty { write("\n" + MarkdownText.plain(step.prose) + "\n") }
            write("\n[\(index)/\(count)] \(step.title)\n")
        case .command(let text):
            write(indent("$ " + text, by: "  ") + "\n")
        case .output(let text):
            write(indent(text) + "\n")
        case .note(let text):
            write("  · \(text)\n")
        case .stepFinished(_, let result, let seconds):
            let mark = result.passed ? "✓" : "✗"
            write("  \(mark) \(result.detail) (\(String(format: "%.1f", seconds)) s)\n")
        case .reading(let lesson):
            if showProse { write("\n" + MarkdownText.plain(lesson.closing) + "\n") }
        case .stageFinished(let lesson, let seconds):
            if showProse, !lesson.closing.isEmpty { write("\n" + MarkdownText.plain(lesson.closing) + "\n") }
            let label = lesson.isBreakItSection ? "break it, stage \(lesson.stage ?? 0)," : (lesson.stage.map { "stage \($0)" } ?? lesson.title)
            write("━━ \(label) done in \(String(format: "%.1f", seconds)) s ━━\n")
            stageTimes.append((label, seconds))
        case .waiting, .componentCrashed:
            // A crash ends the step: its failure line and the final message say what died.
            break
        }
    }
}

/// Markdown to plain terminal text: the lines as written without their inline markers, headings underlined, code
/// fences indented, each aside framed so a reader can skip it.
enum MarkdownText {
    static func plain(_ markdown: String) -> String {
        lines(MarkdownBlock.parse(markdown)).joined(separator: "\n")
    }

    static func lines(_ blocks: [MarkdownBlock]) -> [String] {
        var out: [String] = []
        for block in blocks {
            switch block {
            case .heading(let title):
                out += [title, String(repeating: "─", count: title.count)]
            case .paragraph(let marker, let runs):
                out += ((marker ?? "") + runs.map(\.text).joined()).split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
            case .code(let code):
                out += code.map { "    " + $0 }
            case .blank:
                out.append("")
            case .aside(let aside, let inner):
                out.append("┌ \(aside.title) (\(aside.about); skip if you like)")
                out += lines(inner).map { $0.isEmpty ? "│" : "│ " + $0 }
                out.append("└")
            }
        }
        return out
    }
}
