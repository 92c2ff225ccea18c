/// Draws a laid-out diagram into a grid of cells, with Unicode box drawing or plain ASCII.
public enum DiagramRenderer {
    public static func grid(_ layout: DiagramLayout, ascii: Bool = false) -> Grid {
        var grid = Grid(width: layout.width, height: layout.height, ascii: ascii)
        if let node = layout.node { drawBox(node, into: &grid, ascii: ascii, borderStyle: .border) }
        for worker in layout.workers { drawBox(worker, into: &grid, ascii: ascii, borderStyle: .border) }
        for box in layout.boxes { drawBox(box, into: &grid, ascii: ascii, borderStyle: .border) }
        for link in layout.links { drawLink(link, into: &grid, ascii: ascii) }
        drawArrows(layout.arrows, into: &grid, ascii: ascii)
        for text in layout.texts {
            grid.write(text.text.text, x: text.at.x, y: text.at.y, style: text.text.style, limit: text.limit)
        }
        return grid
    }

    public static func drawBox(_ box: PlacedBox, into grid: inout Grid, ascii: Bool, borderStyle: CellStyle) {
        let r = box.rect
        let (h, v, tl, tr, bl, br): (Character, Character, Character, Character, Character, Character) =
            ascii ? ("-", "|", "+", "+", "+", "+") : ("─", "│", "┌", "┐", "└", "┘")
        for x in r.x...r.maxX {
            grid[x, r.y] = Cell(h, borderStyle)
            grid[x, r.maxY] = Cell(h, borderStyle)
        }
        for y in r.y...r.maxY {
            grid[r.x, y] = Cell(v, borderStyle)
            grid[r.maxX, y] = Cell(v, borderStyle)
        }
        grid[r.x, r.y] = Cell(tl, borderStyle)
        grid[r.maxX, r.y] = Cell(tr, borderStyle)
        grid[r.x, r.maxY] = Cell(bl, borderStyle)
        grid[r.maxX, r.maxY] = Cell(br, borderStyle)
        // The title sits in the top border: "┌ title ───┐".
        grid.write(" \(box.title) ", x: r.x + 1, y: r.y, style: box.titleStyle, limit: r.width - 2)
        for (index, line) in box.lines.enumerated() where index < r.height - 2 {
            grid.write(line.text, x: r.x + 2, y: r.y + 1 + index, style: line.style, limit: r.width - 4)
        }
    }

    /// The link as a double line (a cable, not a request), joined to both node borders.
    static func drawLink(_ link: PlacedLink, into grid: inout Grid, ascii: Bool) {
        let line: Character = link.vertical ? (ascii ? "|" : "║") : (ascii ? "=" : "═")
        for point in link.path { grid[point.x, point.y] = Cell(line, link.style) }
        let ends = link.ends
        if ends.count == 2 {
            let (start, end): (Character, Character) = link.vertical ? (ascii ? ("+", "+") : ("╥", "╨")) : (ascii ? ("+", "+") : ("╞", "╡"))
            grid[ends[0].x, ends[0].y] = Cell(start, link.style)
            grid[ends[1].x, ends[1].y] = Cell(end, link.style)
        }
        for label in link.labels {
            grid.write(label.text.text, x: label.at.x, y: label.at.y, style: label.text.style, limit: label.limit)
        }
    }

    static func drawArrows(_ arrows: [PlacedArrow], into grid: inout Grid, ascii: Bool) {
        // Each cell's joins to its neighbours on every arrow through it, so crossings and merges draw as junctions.
        var joins: [Point: Set<Direction>] = [:]
        var newCells = Set<Point>()
        for arrow in arrows {
            for (index, point) in arrow.path.enumerated() {
                if index > 0 { joins[point, default: []].insert(direction(from: point, to: arrow.path[index - 1])) }
                if index + 1 < arrow.path.count { joins[point, default: []].insert(direction(from: point, to: arrow.path[index + 1])) }
                // The first cell also joins back toward the box the arrow leaves.
                if index == 0 { joins[point, default: []].insert(opposite(startingDirection(arrow))) }
                if arrow.isNew || arrow.writing { newCells.insert(point) }
            }
        }
        for (point, directions) in joins {
            grid[point.x, point.y] = Cell(junction(directions, ascii: ascii), newCells.contains(point) ? .new : .arrow)
        }
        for arrow in arrows {
            guard let last = arrow.path.last else { continue }
            grid[last.x, last.y] = Cell(head(arrow.head, ascii: ascii), arrow.isNew ? .new : .arrow)
            if let label = arrow.label {
                grid.write(label.text.text, x: label.at.x, y: label.at.y, style: label.text.style, limit: label.limit)
            }
        }
    }

    /// Which way the arrow travels as it leaves its source box.
    static func startingDirection(_ arrow: PlacedArrow) -> Direction {
        arrow.path.count > 1 ? direction(from: arrow.path[0], to: arrow.path[1]) : arrow.head
    }

    static func opposite(_ direction: Direction) -> Direction {
        switch direction {
        case .north: .south
        case .south: .north
        case .east: .west
        case .west: .east
        }
    }

    static func direction(from a: Point, to b: Point) -> Direction {
        if b.x > a.x { return .east }
        if b.x < a.x { return .west }
        return b.y > a.y ? .south : .north
    }

    static func head(_ direction: Direction, ascii: Bool) -> Character {
        switch direction {
        case .north: ascii ? "^" : "▲"
        case .south: ascii ? "v" : "▼"
        case .east: ascii ? ">" : "►"
        case .west: ascii ? "<" : "◄"
        }
    }

    static func junction(_ d: Set<Direction>, ascii: Bool) -> Character {
        let n = d.contains(.north), s = d.contains(.south), e = d.contains(.east), w = d.contains(.west)
        if ascii {
            if (n || s) && (e || w) { return "+" }
            return (n || s) ? "|" : "-"
        }
        switch (n, s, e, w) {
        case (true, true, true, true): return "┼"
        case (true, true, true, false): return "├"
        case (true, true, false, true): return "┤"
        case (true, false, true, true): return "┴"
        case (false, true, true, true): return "┬"
        case (true, false, true, false): return "└"
        case (true, false, false, true): return "┘"
        case (false, true, true, false): return "┌"
        case (false, true, false, true): return "┐"
        case (true, true, false, false), (true, false, false, false), (false, true, false, false): return "│"
        default: return "─"
        }
    }
}

/// The diagram as text for a terminal: plain, or with ANSI colours (only on a TTY, never with NO_COLOR).
public enum TextRenderer {
    public static func plain(_ grid: Grid) -> String { grid.text }

    public static func ansi(_ grid: Grid) -> String {
        var out = ""
        for y in 0..<grid.height {
            var current: CellStyle = .plain
            var line = ""
            var lastNonSpace = -1
            for x in 0..<grid.width where grid[x, y].character != " " { lastNonSpace = x }
            if lastNonSpace >= 0 {
                for x in 0...lastNonSpace {
                    let cell = grid[x, y]
                    if cell.style != current {
                        line += "\u{1B}[0m" + code(cell.style)
                        current = cell.style
                    }
                    line.append(cell.character)
                }
                line += "\u{1B}[0m"
            }
            out += line + (y + 1 < grid.height ? "\n" : "")
        }
        return out
    }

    static func code(_ style: CellStyle) -> String {
        switch style {
        case .plain: ""
        case .emphasis: "\u{1B}[4m"
        case .border: "\u{1B}[90m"
        case .title, .strong: "\u{1B}[1m"
        case .arrow, .code: "\u{1B}[36m"
        case .dim: "\u{1B}[2m"
        case .healthy, .podRunning: "\u{1B}[32m"
        case .starting, .podPending: "\u{1B}[33m"
        case .unhealthy, .podFailed: "\u{1B}[31m"
        case .stopped: "\u{1B}[2m"
        case .crashed: "\u{1B}[1;31m"
        case .new: "\u{1B}[1;7m"
        }
    }
}
