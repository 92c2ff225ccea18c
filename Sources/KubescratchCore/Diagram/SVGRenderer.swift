import Foundation

/// The diagram as an SVG picture, drawn from the same layout as the terminal: one cell is 9×18 pixels.
public enum SVGRenderer {
    static let cellWidth = 9.0
    static let cellHeight = 18.0

    public static func svg(_ layout: DiagramLayout) -> String {
        let width = Double(layout.width) * cellWidth
        let height = Double(layout.height) * cellHeight
        var out = """
        <svg xmlns="http://www.w3.org/2000/svg" width="\(Int(width))" height="\(Int(height))" viewBox="0 0 \(Int(width)) \(Int(height))" font-family="DejaVu Sans Mono, Menlo, monospace" font-size="14">
        <defs><marker id="head" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#0e7490"/></marker>
        <marker id="headNew" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#b45309"/></marker></defs>
        <rect width="100%" height="100%" fill="#ffffff"/>

        """
        if let node = layout.node { out += box(node, fill: "#f8fafc", stroke: "#64748b") }
        for worker in layout.workers { out += box(worker, fill: "#f8fafc", stroke: "#64748b") }
        for link in layout.links {
            guard let first = link.ends.first, let last = link.ends.last else { continue }
            // A thick line from border to border: the cable, not a request.
            let (x1, y1) = center(first), (x2, y2) = center(last)
            let color = link.style == .new ? "#b45309" : color(link.style)
            out += "<line x1=\"\(format(x1))\" y1=\"\(format(y1))\" x2=\"\(format(x2))\" y2=\"\(format(y2))\" stroke=\"\(color)\" stroke-width=\"4\"/>\n"
            for label in link.labels { out += text(label.text, at: label.at, background: "#ffffff") }
        }
        for placed in layout.boxes { out += box(placed, fill: "#ffffff", stroke: "#334155") }
        for arrow in layout.arrows where !arrow.path.isEmpty {
            var points = arrow.path.map { center($0) }
            // End at the target's edge, where the arrowhead belongs.
            if let last = arrow.path.last {
                let (x, y) = center(last)
                switch arrow.head {
                case .north: points.append((x, y - cellHeight / 2))
                case .south: points.append((x, y + cellHeight / 2))
                case .east: points.append((x + cellWidth / 2, y))
                case .west: points.append((x - cellWidth / 2, y))
                }
            }
            let list = points.map { "\(format($0.0)),\(format($0.1))" }.joined(separator: " ")
            let color = arrow.isNew ? "#b45309" : "#0e7490"
            out += "<polyline points=\"\(list)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"\(arrow.isNew ? 2.5 : 1.5)\" marker-end=\"url(#\(arrow.isNew ? "headNew" : "head"))\"/>\n"
            if let label = arrow.label { out += text(label.text, at: label.at) }
        }
        for placed in layout.texts { out += text(placed.text, at: placed.at) }
        return out + "</svg>\n"
    }

    static func center(_ p: Point) -> (Double, Double) {
        (Double(p.x) * cellWidth + cellWidth / 2, Double(p.y) * cellHeight + cellHeight / 2)
    }

    static func box(_ box: PlacedBox, fill: String, stroke: String) -> String {
        let r = box.rect
        var out = "<rect x=\"\(format(Double(r.x) * cellWidth + cellWidth / 2))\" y=\"\(format(Double(r.y) * cellHeight + cellHeight / 2))\" "
            + "width=\"\(format(Double(r.width - 1) * cellWidth))\" height=\"\(format(Double(r.height - 1) * cellHeight))\" rx=\"6\" "
            + "fill=\"\(fill)\" stroke=\"\(box.titleStyle == .new ? "#b45309" : stroke)\" stroke-width=\"\(box.titleStyle == .new ? 2.5 : 1.2)\"/>\n"
        out += text(StyledText(box.title, box.titleStyle), at: Point(r.x + 2, r.y), background: fill)
        for (index, line) in box.lines.enumerated() where index < r.height - 2 {
            out += text(line, at: Point(r.x + 2, r.y + 1 + index))
        }
        return out
    }

    static func text(_ text: StyledText, at p: Point, background: String? = nil) -> String {
        let x = Double(p.x) * cellWidth
        let y = Double(p.y) * cellHeight + cellHeight * 0.72
        var out = ""
        if let background {
            out += "<rect x=\"\(format(x - 3))\" y=\"\(format(Double(p.y) * cellHeight + 2))\" width=\"\(format(Double(text.text.count) * cellWidth + 6))\" height=\"\(format(cellHeight - 4))\" fill=\"\(background)\"/>\n"
        }
        let weight = text.style == .title || text.style == .new || text.style == .strong ? " font-weight=\"bold\"" : ""
        return out + "<text x=\"\(format(x))\" y=\"\(format(y))\" fill=\"\(color(text.style))\"\(weight)>\(escape(text.text))</text>\n"
    }

    static func color(_ style: CellStyle) -> String {
        switch style {
        case .healthy, .podRunning: "#15803d"
        case .starting, .podPending: "#a16207"
        case .unhealthy, .podFailed, .crashed: "#b91c1c"
        case .stopped, .dim: "#64748b"
        case .arrow, .code: "#0e7490"
        case .new: "#b45309"
        case .plain, .border, .title, .strong, .emphasis: "#0f172a"
        }
    }

    static func escape(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() ? String(Int(value)) : String(format: "%.1f", value)
    }
}
