/// A lesson's folded asides. Each is a fenced block (```version-notes … ```) that the screen dims under a heading and
/// folds on its own key, and the plain printer frames so a reader can skip it. The main text stays about what the
/// learner sees; what only some readers need goes here.
public enum Aside: String, CaseIterable, Sendable, Hashable {
    /// How other releases differ from the one that runs.
    case versionNotes = "version-notes"
    /// What some machines need and why (containers without CAP_SYS_RESOURCE, cloud metadata, slow start-up causes).
    case machineNotes = "machine-notes"

    public var fence: String { "```" + rawValue }
    public var title: String { self == .versionNotes ? "Version notes" : "Machine notes" }
    /// The screen's key that folds and unfolds it.
    public var key: Character { self == .versionNotes ? "v" : "m" }
    public var about: String {
        self == .versionNotes ? "how other releases differ" : "what some machines need, and why"
    }
    /// Version notes are short and part of the lesson; machine workarounds are for the curious, folded at first.
    public var shownAtFirst: Bool { self == .versionNotes }
    public static var shownAtFirst: Set<Aside> { Set(allCases.filter(\.shownAtFirst)) }

    public static func opening(_ line: String) -> Aside? {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        return allCases.first { trimmed == $0.fence }
    }
}

/// A stretch of text with one inline Markdown style.
public struct InlineRun: Sendable, Equatable {
    public enum Style: Sendable, Equatable { case plain, strong, emphasis, code }
    public var text: String
    public var style: Style
    public init(_ text: String, _ style: Style = .plain) { self.text = text; self.style = style }
}

/// The Markdown our lessons use, as blocks: one parse that the screen and the plain printer both render.
public enum MarkdownBlock: Sendable, Equatable {
    case heading(String)
    /// A paragraph or list item. Its runs keep the source's line breaks ("\n" plus the next line's indent): the
    /// plain printer prints them as written, the screen wraps to its width.
    case paragraph(marker: String?, runs: [InlineRun])
    case code([String])
    case blank
    case aside(Aside, [MarkdownBlock])

    public static func parse(_ markdown: String) -> [MarkdownBlock] {
        parse(lines: markdown.split(separator: "\n", omittingEmptySubsequences: false).map(String.init))
    }

    static func parse(lines: [String]) -> [MarkdownBlock] {
        var blocks: [MarkdownBlock] = []
        var paragraph: (marker: String?, text: String)?
        func flush() {
            guard let open = paragraph else { return }
            blocks.append(.paragraph(marker: open.marker, runs: Inline.parse(open.text)))
            paragraph = nil
        }
        var index = 0
        while index < lines.count {
            let raw = lines[index]
            let line = raw.trimmingCharacters(in: .whitespaces)
            index += 1
            if let aside = Aside.opening(raw) {
                flush()
                var inner: [String] = []
                while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != "```" {
                    inner.append(lines[index])
                    index += 1
                }
                index += 1
                blocks.append(.aside(aside, parse(lines: inner)))
            } else if raw.hasPrefix("```") {
                flush()
                var code: [String] = []
                while index < lines.count, !lines[index].hasPrefix("```") {
                    code.append(lines[index])
                    index += 1
                }
                index += 1
                blocks.append(.code(code))
            } else if line.isEmpty {
                flush()
                blocks.append(.blank)
            } else if line.hasPrefix("#") {
                flush()
                blocks.append(.heading(Inline.plainText(line.drop { $0 == "#" }.trimmingCharacters(in: .whitespaces))))
            } else if let marker = listMarker(line) {
                flush()
                paragraph = (marker, String(line.dropFirst(marker.count)))
            } else if let open = paragraph {
                paragraph = (open.marker, open.text + "\n" + raw.prefix { $0 == " " } + line)
            } else {
                paragraph = (nil, line)
            }
        }
        flush()
        return blocks
    }

    /// "- ", "* " or "12. " at the start of a list item.
    static func listMarker(_ line: String) -> String? {
        if line.hasPrefix("- ") || line.hasPrefix("* ") { return String(line.prefix(2)) }
        let digits = line.prefix { $0.isNumber }
        guard !digits.isEmpty, line.dropFirst(digits.count).hasPrefix(". ") else { return nil }
        return digits + ". "
    }
}

/// Inline Markdown: `code`, **strong** and *emphasis*. A marker with no partner stays as written, as in CommonMark.
public enum Inline {
    public static func parse(_ text: String) -> [InlineRun] {
        let characters = Array(text)
        var runs: [InlineRun] = []
        var plain = ""
        func emit(_ run: InlineRun) {
            if !plain.isEmpty { runs.append(InlineRun(plain)); plain = "" }
            runs.append(run)
        }
        var index = 0
        while index < characters.count {
            let character = characters[index]
            if character == "`", let close = characters[(index + 1)...].firstIndex(of: "`"), close > index + 1 {
                emit(InlineRun(String(characters[(index + 1)..<close]), .code))
                index = close + 1
            } else if character == "*", index + 1 < characters.count, characters[index + 1] == "*",
                      let close = closing("**", in: characters, from: index + 2) {
                emit(InlineRun(String(characters[(index + 2)..<close]), .strong))
                index = close + 2
            } else if character == "*", index + 1 < characters.count, !characters[index + 1].isWhitespace,
                      characters[index + 1] != "*", let close = closing("*", in: characters, from: index + 1) {
                emit(InlineRun(String(characters[(index + 1)..<close]), .emphasis))
                index = close + 1
            } else {
                plain.append(character)
                index += 1
            }
        }
        if !plain.isEmpty { runs.append(InlineRun(plain)) }
        return runs
    }

    /// The text without its markers, for plain output.
    public static func plainText(_ text: String) -> String { parse(text).map(\.text).joined() }

    /// Where a closing marker starts: after non-space text, not inside a code span.
    static func closing(_ marker: String, in characters: [Character], from start: Int) -> Int? {
        let mark = Array(marker)
        var index = start
        while index + mark.count <= characters.count {
            if characters[index] == "`", let close = characters[(index + 1)...].firstIndex(of: "`") { index = close + 1; continue }
            if Array(characters[index..<(index + mark.count)]) == mark, index > start, !characters[index - 1].isWhitespace,
               marker == "**" || index + 1 >= characters.count || characters[index + 1] != "*" {
                return index
            }
            index += 1
        }
        return nil
    }
}
