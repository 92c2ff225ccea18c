public struct Point: Sendable, Hashable {
    public var x: Int
    public var y: Int
    public init(_ x: Int, _ y: Int) { self.x = x; self.y = y }
}

public struct Rect: Sendable, Equatable {
    public var x: Int, y: Int, width: Int, height: Int
    public init(x: Int, y: Int, width: Int, height: Int) { self.x = x; self.y = y; self.width = width; self.height = height }
    public var maxX: Int { x + width - 1 }
    public var maxY: Int { y + height - 1 }
    public var centerX: Int { x + width / 2 }
    public func contains(_ p: Point) -> Bool { p.x >= x && p.x <= maxX && p.y >= y && p.y <= maxY }
    public func intersects(_ other: Rect) -> Bool {
        x <= other.maxX && other.x <= maxX && y <= other.maxY && other.y <= maxY
    }
    /// Whether a cell touches the rectangle's border from outside (left, right, above or below it).
    public func isAdjacent(_ p: Point) -> Bool {
        !contains(p) && (
            (p.y >= y && p.y <= maxY && (p.x == x - 1 || p.x == maxX + 1)) ||
            (p.x >= x && p.x <= maxX && (p.y == y - 1 || p.y == maxY + 1)))
    }
}

public struct PlacedBox: Sendable, Equatable {
    public var id: String
    public var rect: Rect
    public var title: String
    public var titleStyle: CellStyle
    public var lines: [StyledText]

    public init(id: String, rect: Rect, title: String, titleStyle: CellStyle, lines: [StyledText]) {
        self.id = id
        self.rect = rect
        self.title = title
        self.titleStyle = titleStyle
        self.lines = lines
    }
}

public struct StyledText: Sendable, Equatable {
    public var text: String
    public var style: CellStyle
    /// One style per character where they differ (Markdown's `code` and **strong** in a lesson line); nil: all `style`.
    public var styles: [CellStyle]?
    public init(_ text: String, _ style: CellStyle = .plain, styles: [CellStyle]? = nil) {
        self.text = text
        self.style = style
        self.styles = styles
    }
}

public struct PlacedText: Sendable, Equatable {
    public var at: Point
    public var text: StyledText
    /// Columns the text may use; it is cut there.
    public var limit: Int
}

public enum Direction: Sendable, Hashable { case north, south, east, west }

public struct PlacedArrow: Sendable, Equatable {
    public var from: DiagramModel.BoxID
    public var to: DiagramModel.BoxID
    /// Cells from next to the source box to next to the target box; the last one carries the arrowhead.
    public var path: [Point]
    /// The way the head points: into the target box.
    public var head: Direction
    public var label: PlacedText?
    public var isNew: Bool
    /// Into the API server: its source's recent calls, to be written beside it (see `labelCalls`).
    public var calls: String? = nil
    public var writing = false
    public var failing = false
    /// The placed boxes it joins (ids in `DiagramLayout.boxes`): tells node-2's kubelet from the first node's.
    public var sourceBox: String = ""
    public var targetBox: String = ""
}

/// The veth pair between the two node boxes: a double line across the gap between them, with its addresses and
/// pod routes written beside it. Its two ends join the node boxes' borders.
public struct PlacedLink: Sendable, Equatable {
    /// The cells between two node boxes, from the first node's border (or the worker above's) to the worker's.
    public var path: [Point]
    /// Stacked nodes: the link runs down from the bottom border above to the worker's top border.
    public var vertical: Bool
    public var labels: [PlacedText]
    public var style: CellStyle

    /// The border cells where the link meets the node boxes.
    public var ends: [Point] {
        guard let first = path.first, let last = path.last else { return [] }
        return vertical ? [Point(first.x, first.y - 1), Point(last.x, last.y + 1)] : [Point(first.x - 1, first.y), Point(last.x + 1, last.y)]
    }
}

/// Boxes, arrows and texts with their places on a grid of the given size.
public struct DiagramLayout: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var node: PlacedBox?
    public var boxes: [PlacedBox]
    public var arrows: [PlacedArrow]
    public var texts: [PlacedText]
    /// Stage 6's worker node boxes (their components are in `boxes`, with ids from `workerBoxID`), and their links.
    public var workers: [PlacedBox] = []
    public var links: [PlacedLink] = []

    public static let minimumWidth = 80
    public static let minimumHeight = 24

    public func box(_ id: DiagramModel.BoxID) -> PlacedBox? { boxes.first { $0.id == id.rawValue } }
    public func box(id: String) -> PlacedBox? { boxes.first { $0.id == id } }

    /// A worker's boxes are named after the node, so they never share an id with another node's.
    public static func workerBoxID(node: String, _ id: DiagramModel.BoxID) -> String { "\(node)/\(id.rawValue)" }

    /// The placed box of a component, on whichever node it runs.
    public static func boxID(of component: ComponentID) -> String {
        component.worker.map { workerBoxID(node: $0.name, DiagramModel.BoxID(component)) } ?? DiagramModel.BoxID(component).rawValue
    }
}

/// Places the diagram on a grid of `width`×`height` cells (80×24 at least), using the room of larger terminals.
/// Rows: control plane (etcd, API server, scheduler, controller manager), a channel for arrows into the API
/// server, node agents (kubelet, kube-proxy, iptables), then containerd with the pods. Arrows run only in the
/// gaps and channels between boxes, so they never cross a box. Worker nodes go in a column to the right of the
/// first node when the width allows, below it otherwise, each joined to it by its link.
public enum DiagramLayoutEngine {
    static let rowAIDs: [DiagramModel.BoxID] = [.etcd, .apiserver, .scheduler, .controllerManager]
    static let rowBIDs: [DiagramModel.BoxID] = [.kubelet, .kubeProxy, .iptables]

    public static func layout(_ model: DiagramModel, width: Int, height: Int, ascii: Bool = false) -> DiagramLayout {
        guard width >= DiagramLayout.minimumWidth, height >= DiagramLayout.minimumHeight else {
            let message = "The node diagram needs at least \(DiagramLayout.minimumWidth)×\(DiagramLayout.minimumHeight); this is \(width)×\(height)."
            return DiagramLayout(width: width, height: height, node: nil, boxes: [], arrows: [],
                                 texts: [PlacedText(at: Point(0, 0), text: StyledText(message, .unhealthy), limit: width)])
        }
        if !model.workers.isEmpty {
            return WorkerLayout(model: model, width: width, height: height, ascii: ascii).layout()
        }
        let innerX = 2
        let innerWidth = width - 4
        let agents = placeAgentRows(model, x: innerX, y: 1, width: innerWidth, ascii: ascii)
        var boxes = agents.boxes
        var y = agents.nextY

        // What goes below the node box, so the node box knows how far down it may reach.
        let below = belowTexts(model, ascii: ascii, width: width)
        let legendFits = height - (y + 4 + below.count) >= 1

        if let containerd = model.box(.containerd) {
            let lastRow = height - 2 - below.count - (legendFits ? 1 : 0)
            let room = max(1, lastRow - y - 1)
            let box = containerdBox(containerd, pods: model.podGroups, id: containerd.id.rawValue, x: innerX, y: y, width: innerWidth,
                                    capacity: room, ascii: ascii)
            boxes.append(box)
            y = box.rect.maxY + 1
        }
        let node = PlacedBox(id: "node", rect: Rect(x: 0, y: 0, width: width, height: max(3, y + 1)),
                             title: model.nodeTitle, titleStyle: .title, lines: [])
        let texts = placeBelow(below, from: node.rect.maxY + 1, width: width, height: height, legend: legendFits ? legend(ascii: ascii) : nil)
        var arrows = placeArrows(model.arrows, boxes: boxes, id: { $0.rawValue }, rows: agents.rows, busY: agents.busY)
        labelCalls(&arrows, boxes: boxes + [node], ascii: ascii)
        return DiagramLayout(width: width, height: height, node: node, boxes: boxes, arrows: arrows, texts: texts)
    }

    struct AgentRows {
        var boxes: [PlacedBox]
        /// The rows as placed (control plane, node agents): arrows between neighbours in a row run in their gap.
        var rows: [[PlacedBox]]
        /// The channel row between the two rows, for arrows into the API server.
        var busY: Int?
        /// Where containerd's box goes.
        var nextY: Int
    }

    /// The control-plane row, its channel, and the node-agent row, from `y` down.
    static func placeAgentRows(_ model: DiagramModel, x: Int, y top: Int, width: Int, ascii: Bool) -> AgentRows {
        var y = top
        var placed = AgentRows(boxes: [], rows: [], busY: nil, nextY: y)
        let rowA = rowAIDs.compactMap { model.box($0) }
        let rowB = rowBIDs.compactMap { model.box($0) }
        if !rowA.isEmpty {
            let row = placeRow(rowA, y: y, x: x, width: width, ascii: ascii)
            placed.boxes += row
            placed.rows.append(row)
            y += 4
            placed.busY = y + 1
            y += 3
        }
        if !rowB.isEmpty {
            let row = placeRow(rowB, y: y, x: x, width: width, ascii: ascii)
            placed.boxes += row
            placed.rows.append(row)
            y += 4 + 1
        }
        placed.nextY = y
        return placed
    }

    /// The runtime box with the pods, `capacity` pod lines at most.
    static func containerdBox(_ containerd: DiagramModel.ComponentBox, pods: [DiagramModel.PodGroup], id: String, x: Int, y: Int, width: Int,
                              capacity: Int, ascii: Bool) -> PlacedBox {
        let podLines = podRows(pods, width: width - 4, capacity: capacity, ascii: ascii)
        let rect = Rect(x: x, y: y, width: width, height: podLines.count + 2)
        let title = title(for: containerd, width: width, ascii: ascii)
        return PlacedBox(id: id, rect: rect, title: title.text, titleStyle: title.style, lines: podLines)
    }

    static func legend(ascii: Bool) -> StyledText {
        StyledText(ascii
            ? "* up  ~ starting  ! unhealthy  o stopped  X crashed  + new since last step"
            : "● up  ◐ starting  ▲ unhealthy  ○ stopped  ✖ crashed  ✚ new since last step", .dim)
    }

    /// Pods no node was chosen for, and the NodePort paths: lines under the node boxes.
    static func belowTexts(_ model: DiagramModel, ascii: Bool, width: Int) -> [StyledText] {
        var below: [StyledText] = []
        if let packet = model.packet {
            below.append(StyledText(packet.line(ascii: ascii, width: width - 2), packet.answered ? .new : .unhealthy))
        }
        if !model.unscheduled.isEmpty {
            let names = model.unscheduled.map { $0.text(ascii: ascii) }.joined(separator: ", ")
            let style: CellStyle = model.unscheduled.contains { $0.isNew } ? .new : .podPending
            below.append(StyledText("Pending, no node chosen yet: \(names)", style))
        }
        for path in model.nodePorts.prefix(2) {
            let arrow = ascii ? "-->" : "──►"
            let start = "client \(arrow) \(path.address):\(path.port) (service \(path.service))"
            var pods = "\(path.backends) pod\(path.backends == 1 ? "" : "s")"
            if !path.onWorkers.isEmpty {
                // kube-proxy may pick a pod on a worker: reachable only over its pod routes.
                pods += " (" + path.onWorkers.map(\.said).joined(separator: ", ") + ")"
            }
            let text = path.proxyRunning
                ? "\(start) \(arrow) kube-proxy's rules \(arrow) \(pods)"
                : "\(start) \(ascii ? "--X" : "──✗") no answer: no kube-proxy"
            below.append(StyledText(text, path.isNew ? .new : (path.proxyRunning ? .arrow : .unhealthy)))
        }
        return below
    }

    /// The lines under the nodes from row `from`, and the legend on the last row when it fits.
    static func placeBelow(_ below: [StyledText], from: Int, width: Int, height: Int, legend: StyledText?) -> [PlacedText] {
        var texts: [PlacedText] = []
        var textY = from
        for line in below where textY < height {
            texts.append(PlacedText(at: Point(1, textY), text: line, limit: width - 2))
            textY += 1
        }
        if let legend, textY < height {
            texts.append(PlacedText(at: Point(1, height - 1), text: legend, limit: width - 2))
        }
        return texts
    }

    /// Arrows between placed boxes: in the gap between neighbours of a row, along the channel into the API server, or
    /// straight down into containerd. `id` names a model box's placed box.
    static func placeArrows(_ connections: [DiagramModel.Connection], boxes: [PlacedBox], id: (DiagramModel.BoxID) -> String,
                            rows: [[PlacedBox]], busY: Int?) -> [PlacedArrow] {
        var arrows: [PlacedArrow] = []
        for connection in connections {
            guard let from = boxes.first(where: { $0.id == id(connection.from) }),
                  let to = boxes.first(where: { $0.id == id(connection.to) }) else { continue }
            var arrow: PlacedArrow?
            if let row = rows.first(where: { row in row.contains(from) && row.contains(to) }),
               let i = row.firstIndex(of: from), let j = row.firstIndex(of: to), abs(i - j) == 1 {
                arrow = gapArrow(from: from, to: to)
            } else if connection.to == .apiserver, let busY {
                arrow = busArrow(from: from, to: to, busY: busY, fromBelow: from.rect.y > busY)
            } else if connection.to == .containerd {
                let x = from.rect.centerX
                arrow = PlacedArrow(from: connection.from, to: connection.to, path: Array((from.rect.maxY + 1)..<to.rect.y).map { Point(x, $0) },
                                    head: .south, label: nil, isNew: false)
            }
            guard var placed = arrow, !placed.path.isEmpty else { continue }
            placed.from = connection.from
            placed.to = connection.to
            placed.sourceBox = from.id
            placed.targetBox = to.id
            placed.isNew = connection.isNew
            placed.calls = connection.calls
            placed.writing = connection.writing
            placed.failing = connection.failing
            if let label = connection.label, connection.to == .containerd, let last = placed.path.last {
                placed.label = PlacedText(at: Point(last.x + 2, last.y), text: StyledText(label, connection.isNew ? .new : .arrow), limit: label.count)
            }
            arrows.append(placed)
        }
        return arrows
    }

    /// Each arrow into the API server gets its source's recent calls written beside it, in the free cells next to
    /// where it leaves its box: right of an arrow that rises from below, left of one that comes down from above, under
    /// a neighbour's box for a short arrow between neighbours. A label stops at the first cell taken by a box, an
    /// arrow or another label, so it never covers anything.
    static func labelCalls(_ arrows: inout [PlacedArrow], boxes: [PlacedBox], ascii: Bool) {
        var taken = Set(arrows.flatMap(\.path))
        for box in boxes {
            // Box borders and contents; the node box only by its border (everything is inside it).
            if box.id == "node" {
                for y in box.rect.y...box.rect.maxY { taken.insert(Point(box.rect.x, y)); taken.insert(Point(box.rect.maxX, y)) }
            } else {
                for y in box.rect.y...box.rect.maxY { for x in box.rect.x...box.rect.maxX { taken.insert(Point(x, y)) } }
            }
        }
        // Between neighbours first (their place is fixed), then from above, then from below.
        let order = arrows.indices.filter { arrows[$0].calls != nil }.sorted { rank(arrows[$0]) < rank(arrows[$1]) }
        for index in order {
            let arrow = arrows[index]
            guard let text = arrow.calls, let from = boxes.first(where: { $0.id == arrow.sourceBox }),
                  let first = arrow.path.first else { continue }
            let shown = ascii ? Grid.asciiOnly(text) : text
            var cells: [Point] = []
            switch arrow.head {
            case .north where first.y < from.rect.y:  // rises from below: right of it, on the row above the box
                var x = first.x + 2
                while cells.count < shown.count, free(x, first.y, taken, toward: 1) {
                    cells.append(Point(x, first.y)); x += 1
                }
            case .north:  // comes down from above: left of it, on the row under the box, ending two cells before it
                var x = first.x - 2
                while cells.count < shown.count, x > 0, free(x, first.y, taken, toward: -1) {
                    cells.insert(Point(x, first.y), at: 0); x -= 1
                }
            default:  // between neighbours: under the source box
                let y = from.rect.maxY + 1
                var x = from.rect.x
                while cells.count < shown.count, free(x, y, taken, toward: 1) {
                    cells.append(Point(x, y)); x += 1
                }
            }
            guard cells.count >= 6, let start = cells.first else { continue }
            let style: CellStyle = arrow.failing ? .unhealthy : (arrow.writing ? .new : .arrow)
            arrows[index].label = PlacedText(at: start, text: StyledText(shown, style), limit: cells.count)
            taken.formUnion(cells)
        }
    }

    /// A label's next cell: free, and the two beyond it in the way it grows, so two labels never run together.
    static func free(_ x: Int, _ y: Int, _ taken: Set<Point>, toward step: Int) -> Bool {
        [x, x + step, x + 2 * step].allSatisfy { !taken.contains(Point($0, y)) }
    }

    static func rank(_ arrow: PlacedArrow) -> Int {
        guard arrow.head == .north, let first = arrow.path.first else { return 0 }
        return arrow.path.count > 1 && arrow.path[1].y > first.y ? 1 : 2
    }

    /// The runtime box is wide: its state and PID go in its title.
    static func title(for box: DiagramModel.ComponentBox, width: Int, ascii: Bool) -> StyledText {
        let symbol = ascii ? box.health.asciiSymbol : box.health.symbol
        let pid = box.pid.map { "  pid \($0)" } ?? ""
        let text = "\(box.id.longTitle)\(box.isNew ? (ascii ? " +" : " ✚") : "")  \(symbol) \(box.health.word)\(pid)"
        return StyledText(text, box.isNew ? .new : (box.health == .healthy ? .title : CellStyle.of(box.health)))
    }

    static func contentLines(_ box: DiagramModel.ComponentBox, ascii: Bool) -> [StyledText] {
        let symbol = ascii ? box.health.asciiSymbol : box.health.symbol
        if box.id == .iptables, let packet = box.packetLines {
            return packet.map { StyledText($0, .new) }
        }
        if box.id == .iptables {
            return [StyledText("\(symbol) \(box.health == .healthy ? "KUBE-* rules" : "no rules")", CellStyle.of(box.health)),
                    StyledText("netfilter", .dim)]
        }
        var first = "\(symbol) \(box.health.word)"
        if let port = box.port { first += "  :\(port)" }
        return [StyledText(first, CellStyle.of(box.health)), StyledText(box.pid.map { "pid \($0)" } ?? "", .dim)]
    }

    static func naturalWidth(_ box: DiagramModel.ComponentBox, long: Bool, ascii: Bool) -> Int {
        let titleWidth = (long ? box.id.longTitle : box.id.shortTitle).count + (box.isNew ? 2 : 0)
        return max(titleWidth + 4, (contentLines(box, ascii: ascii).map(\.text.count).max() ?? 0) + 4, 12)
    }

    /// The least width a row of boxes takes (short titles, the smallest gaps).
    static func minimumRowWidth(_ row: [DiagramModel.ComponentBox], ascii: Bool) -> Int {
        row.isEmpty ? 0 : row.map { naturalWidth($0, long: false, ascii: ascii) }.reduce(0, +) + 4 * (row.count - 1)
    }

    static func placeRow(_ row: [DiagramModel.ComponentBox], y: Int, x: Int, width: Int, ascii: Bool,
                         id: (DiagramModel.BoxID) -> String = { $0.rawValue }) -> [PlacedBox] {
        let minimumGap = 4
        let gaps = minimumGap * (row.count - 1)
        func natural(_ box: DiagramModel.ComponentBox, long: Bool) -> Int { naturalWidth(box, long: long, ascii: ascii) }
        var long = true
        var widths = row.map { natural($0, long: true) }
        if widths.reduce(0, +) + gaps > width {
            long = false
            widths = row.map { natural($0, long: false) }
        }
        if widths.reduce(0, +) + gaps > width {
            let each = (width - gaps) / row.count
            widths = widths.map { min($0, each) }
        }
        let spare = width - widths.reduce(0, +)
        let gap = row.count > 1 ? min(max(minimumGap, spare / (row.count - 1)), 12) : 0
        var cursor = x
        var placed: [PlacedBox] = []
        for (box, boxWidth) in zip(row, widths) {
            let name = (long ? box.id.longTitle : box.id.shortTitle) + (box.isNew ? (ascii ? " +" : " ✚") : "")
            placed.append(PlacedBox(id: id(box.id), rect: Rect(x: cursor, y: y, width: boxWidth, height: 4), title: name,
                                    titleStyle: box.isNew ? .new : .title, lines: contentLines(box, ascii: ascii)))
            cursor += boxWidth + gap
        }
        return placed
    }

    /// Pods as lines, in columns when the box is wide; the last line says how many did not fit.
    static func podRows(_ podGroups: [DiagramModel.PodGroup], width: Int, capacity: Int, ascii: Bool) -> [StyledText] {
        let longest = podGroups.flatMap(\.pods).map { $0.text(ascii: ascii).count + 2 }.max() ?? 0
        let columnWidth = longest + 3
        let columns = max(1, width / max(1, columnWidth))
        var rows: [(line: StyledText, pods: Int)] = []
        for group in podGroups {
            if let header = group.header { rows.append((StyledText(header, .title), 0)) }
            for chunk in stride(from: 0, to: group.pods.count, by: columns) {
                let pods = group.pods[chunk..<min(chunk + columns, group.pods.count)]
                let indent = group.header == nil ? "" : "  "
                let cells = pods.map { pod -> String in
                    let text = indent + pod.text(ascii: ascii)
                    return columns > 1 ? text.padding(toLength: columnWidth, withPad: " ", startingAt: 0) : text
                }
                let style = pods.contains { $0.isNew } ? CellStyle.new : (pods.first?.style ?? .plain)
                rows.append((StyledText(cells.joined().trimmingTrailingSpace, style), pods.count))
            }
        }
        if rows.isEmpty { return [StyledText("no pods", .dim)] }
        guard rows.count > capacity else { return rows.map(\.line) }
        if capacity <= 1 {
            // No room for any pod line: one line that counts them.
            let pods = podGroups.flatMap(\.pods)
            var counts: [(String, Int)] = []
            for pod in pods {
                let word = pod.terminating ? "Terminating" : pod.phase
                if let index = counts.firstIndex(where: { $0.0 == word }) { counts[index].1 += 1 } else { counts.append((word, 1)) }
            }
            let summary = counts.map { "\($0.1) \($0.0)" }.joined(separator: ", ")
            return [StyledText("\(pods.count) pod\(pods.count == 1 ? "" : "s"): \(summary)", pods.contains { $0.isNew } ? .new : .dim)]
        }
        let kept = rows.prefix(max(0, capacity - 1))
        let hidden = rows.dropFirst(kept.count).reduce(0) { $0 + $1.pods }
        return kept.map(\.line) + [StyledText("… \(hidden) more pod\(hidden == 1 ? "" : "s") not shown", .dim)]
    }

    static func gapArrow(from: PlacedBox, to: PlacedBox) -> PlacedArrow {
        let y = from.rect.y + 1
        if to.rect.x < from.rect.x {
            let path = stride(from: from.rect.x - 1, through: to.rect.maxX + 1, by: -1).map { Point($0, y) }
            return PlacedArrow(from: .etcd, to: .etcd, path: path, head: .west, label: nil, isNew: false)
        }
        let path = ((from.rect.maxX + 1)...(to.rect.x - 1)).map { Point($0, y) }
        return PlacedArrow(from: .etcd, to: .etcd, path: path, head: .east, label: nil, isNew: false)
    }

    /// Out of the source box to the channel row, along it, and up into the API server's bottom edge.
    static func busArrow(from: PlacedBox, to: PlacedBox, busY: Int, fromBelow: Bool) -> PlacedArrow {
        var path: [Point] = []
        let startX = from.rect.centerX
        let endX = to.rect.centerX
        if fromBelow {
            for y in stride(from: from.rect.y - 1, through: busY, by: -1) { path.append(Point(startX, y)) }
        } else {
            for y in (from.rect.maxY + 1)...busY { path.append(Point(startX, y)) }
        }
        if startX != endX {
            for x in stride(from: startX + (endX > startX ? 1 : -1), through: endX, by: endX > startX ? 1 : -1) { path.append(Point(x, busY)) }
        }
        for y in stride(from: busY - 1, through: to.rect.maxY + 1, by: -1) { path.append(Point(endX, y)) }
        return PlacedArrow(from: .etcd, to: .etcd, path: path, head: .north, label: nil, isNew: false)
    }
}
