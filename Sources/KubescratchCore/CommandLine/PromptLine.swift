/// The screen's one-line command prompt (`:`), as a value: keys in, the line, cursor and history out. Edits like a
/// shell's line editor (readline's emacs keys), so the terminal code only maps keys and draws.
public struct PromptLine: Sendable, Equatable {
    public enum Key: Sendable, Equatable {
        case character(Character)
        case left, right, home, end, backspace, delete
        /// Ctrl-U: delete to the start of the line; Ctrl-W: the word before the cursor.
        case killToStart, killWordBack
        case up, down, tab, enter, escape
    }

    public enum Outcome: Sendable, Equatable {
        case editing
        /// Enter on a line: run it. Enter on an empty line and Escape close the prompt.
        case submit(String)
        case close
    }

    public private(set) var text: [Character] = []
    public private(set) var cursor = 0
    /// Oldest first; what ↑ walks back through.
    public private(set) var history: [String]
    /// Where ↑/↓ stand in the history (nil: on the line being typed, kept in `draft`).
    private var historyIndex: Int?
    private var draft: [Character] = []
    /// What Tab offered last, when it had more than one candidate.
    public private(set) var candidates: [String] = []

    public static let historyLimit = 500

    public init(history: [String] = [], text: String = "") {
        self.history = Array(history.suffix(Self.historyLimit))
        self.text = Array(text)
        self.cursor = self.text.count
    }

    public var line: String { String(text) }

    /// Applies one key. Tab completes the word under the cursor from `completions(word)`: the candidates' common
    /// prefix, and a space when only one is left (none after a folder, so its files can follow).
    public mutating func apply(_ key: Key, completions: (String) -> [String] = { _ in [] }) -> Outcome {
        if key != .tab { candidates = [] }
        switch key {
        case .character(let character):
            text.insert(character, at: cursor)
            cursor += 1
        case .left: cursor = max(0, cursor - 1)
        case .right: cursor = min(text.count, cursor + 1)
        case .home: cursor = 0
        case .end: cursor = text.count
        case .backspace:
            guard cursor > 0 else { break }
            text.remove(at: cursor - 1)
            cursor -= 1
        case .delete:
            if cursor < text.count { text.remove(at: cursor) }
        case .killToStart:
            text.removeSubrange(0..<cursor)
            cursor = 0
        case .killWordBack:
            var start = cursor
            while start > 0, text[start - 1] == " " { start -= 1 }
            while start > 0, text[start - 1] != " " { start -= 1 }
            text.removeSubrange(start..<cursor)
            cursor = start
        case .up:
            guard !history.isEmpty else { break }
            if historyIndex == nil { draft = text }
            let index = max(0, (historyIndex ?? history.count) - 1)
            historyIndex = index
            text = Array(history[index])
            cursor = text.count
        case .down:
            guard let index = historyIndex else { break }
            if index + 1 < history.count {
                historyIndex = index + 1
                text = Array(history[index + 1])
            } else {
                historyIndex = nil
                text = draft
            }
            cursor = text.count
        case .tab:
            complete(completions)
        case .escape:
            return .close
        case .enter:
            let line = String(text).trimmingCharacters(in: .whitespaces)
            guard !line.isEmpty else { return .close }
            if history.last != line { history.append(line) }
            if history.count > Self.historyLimit { history.removeFirst(history.count - Self.historyLimit) }
            historyIndex = nil
            draft = []
            text = []
            cursor = 0
            return .submit(line)
        }
        return .editing
    }

    /// The word the cursor ends: what Tab completes.
    public var wordBeforeCursor: String {
        var start = cursor
        while start > 0, text[start - 1] != " " { start -= 1 }
        return String(text[start..<cursor])
    }

    /// Is the word under the cursor the first of the line (a command name)?
    public var completingCommand: Bool {
        !text[..<cursor].contains(" ")
    }

    mutating func complete(_ completions: (String) -> [String]) {
        let word = wordBeforeCursor
        let found = Array(Set(completions(word).filter { $0.hasPrefix(word) })).sorted()
        guard let first = found.first else { candidates = []; return }
        var common = first
        for candidate in found.dropFirst() {
            while !candidate.hasPrefix(common) { common.removeLast() }
        }
        var addition = Array(common.dropFirst(word.count))
        if found.count == 1, !first.hasSuffix("/") { addition.append(" ") }
        text.insert(contentsOf: addition, at: cursor)
        cursor += addition.count
        candidates = found.count > 1 ? found : []
    }
}
