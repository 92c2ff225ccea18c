/// What a cell is drawing, so each renderer can colour it its own way.
public enum CellStyle: UInt8, Sendable, Equatable {
    case plain, border, title, arrow, dim
    /// Markdown's **strong**, *emphasis* and `code` in lesson text.
    case strong, emphasis, code
    case healthy, starting, unhealthy, stopped, crashed
    case podRunning, podPending, podFailed
    /// Something new since the previous step: where the eye should go.
    case new

    public static func of(_ health: ComponentHealth) -> CellStyle {
        switch health {
        case .healthy: .healthy
        case .starting: .starting
        case .unhealthy: .unhealthy
        case .stopped: .stopped
        case .crashed: .crashed
        }
    }
}

public struct Cell: Sendable, Equatable {
    public var character: Character
    public var style: CellStyle

    public init(_ character: Character = " ", _ style: CellStyle = .plain) {
        self.character = character
        self.style = style
    }
}

/// A screen-sized grid of cells: the diagram drawn in pure code, tested as text, copied to a terminal by a driver.
public struct Grid: Sendable, Equatable {
    public let width: Int
    public let height: Int
    /// Draw only ASCII: for terminals whose locale is not UTF-8.
    public let ascii: Bool
    public private(set) var cells: [Cell]

    public init(width: Int, height: Int, ascii: Bool = false) {
        self.width = width
        self.height = height
        self.ascii = ascii
        self.cells = Array(repeating: Cell(), count: max(0, width * height))
    }

    public subscript(x: Int, y: Int) -> Cell {
        get { cells[y * width + x] }
        set {
            guard x >= 0, y >= 0, x < width, y < height else { return }
            cells[y * width + x] = newValue
        }
    }

    public func contains(x: Int, y: Int) -> Bool { x >= 0 && y >= 0 && x < width && y < height }

    /// Blanks a rectangle: what a box drawn over other content (a dialog) starts from.
    public mutating func fill(_ rect: Rect) {
        for y in rect.y..<(rect.y + rect.height) {
            for x in rect.x..<(rect.x + rect.width) { self[x, y] = Cell() }
        }
    }

    /// Writes text from (x, y), cut at `limit` columns (with an ellipsis when cut). Returns the columns used.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, style: CellStyle = .plain, limit: Int? = nil) -> Int {
        let room = min(limit ?? (width - x), width - x)
        guard room > 0, y >= 0, y < height else { return 0 }
        var characters = Array(ascii ? Self.asciiOnly(text) : text)
        if characters.count > room {
            characters = Array(characters.prefix(room - 1)) + [ascii ? "~" : "…"]
        }
        for (offset, character) in characters.enumerated() {
            self[x + offset, y] = Cell(character, style)
        }
        return characters.count
    }

    /// Writes a line whose characters may each have a style of their own.
    @discardableResult
    public mutating func write(_ line: StyledText, x: Int, y: Int, limit: Int? = nil) -> Int {
        guard let styles = line.styles, styles.count == line.text.count else {
            return write(line.text, x: x, y: y, style: line.style, limit: limit)
        }
        var column = x
        let end = x + min(limit ?? (width - x), width - x)
        for (character, style) in zip(line.text, styles) {
            let used = write(String(character), x: column, y: y, style: style, limit: end - column)
            guard used > 0 else { break }
            column += used
        }
        return column - x
    }

    static func asciiOnly(_ text: String) -> String {
        let known: [Character: String] = ["·": "-", "›": ">", "…": "...", "─": "-", "►": ">", "✗": "X", "✚": "+", "×": "x", "⇄": "<>", "◄": "<"]
        return String(text.flatMap { character -> [Character] in
            if character.isASCII { return [character] }
            return Array(known[character] ?? "?")
        })
    }

    /// The grid as lines of text, trailing spaces removed.
    public var text: String {
        (0..<height).map { y in
            var line = String((0..<width).map { self[$0, y].character })
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}
