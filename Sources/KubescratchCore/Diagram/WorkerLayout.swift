/// The diagram with stage 6's worker nodes, any number of them: the first node as always (it keeps the control
/// plane), the workers in a column to its right when the width allows and below it otherwise, each joined to it by
/// its link. A worker gets its three components as boxes, the kubelet's CRI arrow and its pods when there is room
/// (its full form), or one line of components and a few pod lines when there is not (its compact form).
struct WorkerLayout {
    typealias BoxID = DiagramModel.BoxID
    typealias Engine = DiagramLayoutEngine

    let model: DiagramModel
    let width: Int
    let height: Int
    let ascii: Bool

    var workers: [WorkerBox] { model.workers.map { WorkerBox(worker: $0, ascii: ascii) } }

    func layout() -> DiagramLayout {
        sideBySideFits ? sideBySide() : stacked()
    }

    /// Labels measured as they will be drawn ("⇄" is two characters in ASCII).
    func drawn(_ text: String) -> String { ascii ? Grid.asciiOnly(text) : text }

    // MARK: sizes

    /// Side by side, the gap between the nodes holds the links' labels, so it is as wide as the longest of them.
    var gapWidth: Int {
        model.workers.flatMap { worker in
            [worker.link.addresses, "pod routes: none", "\(worker.link.firstPodRange) ⇄ \(worker.link.workerPodRange)"]
        }.map { drawn($0).count }.max()! + 4
    }

    var firstNodeMinimumWidth: Int {
        let rowA = Engine.rowAIDs.compactMap { model.box($0) }, rowB = Engine.rowBIDs.compactMap { model.box($0) }
        return max(Engine.minimumRowWidth(rowA, ascii: ascii), Engine.minimumRowWidth(rowB, ascii: ascii), 40) + 4
    }

    /// Two fifths of what the links leave (the first node has more to show), between 48 and 66 columns: enough for
    /// a worker's agents, a pod line and the API line. It depends on the terminal only, so workers stay put.
    var workerWidth: Int { max(48, min(66, (width - gapWidth) * 2 / 5)) }

    var sideBySideFits: Bool { firstNodeMinimumWidth + gapWidth + workerWidth <= width }

    func podLineCount(_ groups: [DiagramModel.PodGroup], width: Int) -> Int {
        Engine.podRows(groups, width: width, capacity: Int.max, ascii: ascii).count
    }

    /// Pod lines for each worker: one each, then the spare rows one at a time to whoever still has pods to show,
    /// the first node (`first`, when it shares the rows) included.
    func share(_ spare: Int, wanted: [Int], first: (have: Int, wants: Int)? = nil) -> (workers: [Int], first: Int) {
        var lines = wanted.map { _ in 1 }
        var firstLines = first?.have ?? 0
        var spare = spare
        while spare > 0 {
            let hungry = lines.indices.filter { lines[$0] < wanted[$0] }
            let firstHungry = first.map { firstLines < $0.wants } ?? false
            if firstHungry && hungry.allSatisfy({ firstLines <= lines[$0] }) {
                firstLines += 1
            } else if let index = hungry.min(by: { lines[$0] < lines[$1] }) {
                lines[index] += 1
            } else {
                break
            }
            spare -= 1
        }
        return (lines, firstLines)
    }

    // MARK: the first node

    struct Placed {
        var node: PlacedBox
        var boxes: [PlacedBox]
        var arrows: [PlacedArrow]
    }

    /// `reaching`: the row its border must reach at least (the last link beside it).
    func firstNode(width: Int, agents: DiagramLayoutEngine.AgentRows, pods: Int, reaching: Int = 0) -> Placed {
        var boxes = agents.boxes
        var y = agents.nextY
        if let containerd = model.box(.containerd) {
            let box = Engine.containerdBox(containerd, pods: model.podGroups, id: containerd.id.rawValue, x: 2, y: y, width: width - 4,
                                           capacity: max(1, pods), ascii: ascii)
            boxes.append(box)
            y = box.rect.maxY + 1
        }
        let node = PlacedBox(id: "node", rect: Rect(x: 0, y: 0, width: width, height: max(3, y + 1, reaching + 1)),
                             title: model.nodeTitle, titleStyle: .title, lines: [])
        var arrows = Engine.placeArrows(model.arrows, boxes: boxes, id: { $0.rawValue }, rows: agents.rows, busY: agents.busY)
        Engine.labelCalls(&arrows, boxes: boxes + [node], ascii: ascii)
        return Placed(node: node, boxes: boxes, arrows: arrows)
    }

    /// The first node's bottom border row with `pods` pod lines.
    func firstNodeBottom(_ agents: DiagramLayoutEngine.AgentRows, pods: Int) -> Int {
        model.box(.containerd) == nil ? max(2, agents.nextY) : agents.nextY + pods + 2
    }

    // MARK: side by side

    /// The first node on the left; the workers in a column on the right, top to bottom, each with its link across
    /// the gap. The first worker's agents stand level with the first node's; the others stack below it.
    func sideBySide() -> DiagramLayout {
        let gap = gapWidth, width2 = workerWidth
        let width1 = width - gap - width2
        let x2 = width1 + gap
        let agents1 = Engine.placeAgentRows(model, x: 2, y: 1, width: width1 - 4, ascii: ascii)
        let linkY = agents1.busY ?? 2
        let below = Engine.belowTexts(model, ascii: ascii, width: width)
        let boxes = workers

        // Full forms, one pod line each: the first at the channel row, the next below each other.
        func fullTops(pods: [Int]) -> [(top: Int, apiRow: Int, bottom: Int)] {
            var placed: [(Int, Int, Int)] = []
            var top = 0
            for (index, box) in boxes.enumerated() {
                let apiRow = index == 0 ? linkY : top + 3
                let agentsY = index == 0 ? linkY + 2 : apiRow + 1
                placed.append((top, apiRow, box.fullBottom(agentsY: agentsY, apiRow: apiRow, pods: pods[index])))
                top = placed.last!.2 + 1
            }
            return placed
        }
        let minimal = fullTops(pods: boxes.map { _ in 1 })
        let legendFits = height - (max(firstNodeBottom(agents1, pods: 1), minimal.last!.bottom) + 1 + below.count) >= 1
        let bottomLimit = height - 1 - below.count - (legendFits ? 1 : 0)

        var placedWorkers: [Placed] = []
        if minimal.last!.bottom <= bottomLimit {
            let wanted = boxes.map { podLineCount($0.worker.podGroups, width: width2 - 8) }
            let spare = bottomLimit - minimal.last!.bottom
            var pods = share(spare, wanted: wanted).workers
            // What no worker needs goes to the last one, so the column ends level with the first node.
            pods[pods.count - 1] += spare - (pods.reduce(0, +) - pods.count)
            for (index, place) in fullTops(pods: pods).enumerated() {
                let agentsY = index == 0 ? linkY + 2 : place.apiRow + 1
                placedWorkers.append(boxes[index].full(x: x2, top: place.top, width: width2, apiRow: place.apiRow, agentsY: agentsY,
                                                       pods: pods[index], id: boxes[index].boxID))
            }
        } else {
            var top = 0
            let each = max(3, (bottomLimit + 1) / boxes.count)
            for box in boxes {
                let rows = min(each, box.compactWanted(width: width) + 2, max(3, bottomLimit + 1 - top))
                placedWorkers.append(box.compact(x: x2, top: top, width: width2, rows: rows))
                top = placedWorkers.last!.node.rect.maxY + 1
            }
        }
        // Each link meets its worker one row below the worker's title, or at the first node's channel row for the
        // first; its labels take the rows around it that no other link needs. The first node reaches down to the last.
        let rows = placedWorkers.enumerated().map { index, placed in
            max(1, min(index == 0 ? linkY : placed.node.rect.y + 1, placed.node.rect.maxY - 1))
        }
        let first = firstNode(width: width1, agents: agents1, pods: bottomLimit - agents1.nextY - 2,
                              reaching: boxes.count > 1 ? rows.last! + 1 : 0)
        let textsFrom = ([first.node.rect.maxY] + placedWorkers.map(\.node.rect.maxY)).max()! + 1
        var links: [PlacedLink] = []
        for (index, box) in boxes.enumerated() {
            let rowY = rows[index], link = box.worker.link
            let above = index == 0 ? -1 : rows[index - 1] + 2, belowLimit = index + 1 < rows.count ? rows[index + 1] - 2 : textsFrom - 1
            var labels: [(Int, String)] = [(rowY - 2, "link (veth pair)"), (rowY - 1, link.addresses)]
            labels += link.podRoutes ? [(rowY + 1, "pod routes:"), (rowY + 2, link.routes)] : [(rowY + 1, "pod routes: none")]
            let placedLabels = labels.filter { $0.0 >= max(0, above) && $0.0 <= belowLimit && $0.0 < height }.map { row, label in
                let text = drawn(label)
                let x = width1 + max(1, (gap - text.count) / 2)
                return PlacedText(at: Point(x, row), text: StyledText(text, link.style), limit: x2 - 1 - x)
            }
            links.append(PlacedLink(path: (width1..<x2).map { Point($0, rowY) }, vertical: false, labels: placedLabels, style: link.style))
        }

        let texts = Engine.placeBelow(below, from: textsFrom, width: width, height: height, legend: legendFits ? Engine.legend(ascii: ascii) : nil)
        return DiagramLayout(width: width, height: height, node: first.node, boxes: first.boxes + placedWorkers.flatMap(\.boxes),
                             arrows: first.arrows + placedWorkers.flatMap(\.arrows), texts: texts,
                             workers: placedWorkers.map(\.node), links: links)
    }

    // MARK: stacked

    /// The first node, then each worker below the one before, each link a short vertical line down the right edge.
    /// Several workers that do not fit one below the other (80×24) stand side by side in one row of compact boxes.
    func stacked() -> DiagramLayout {
        let agents1 = Engine.placeAgentRows(model, x: 2, y: 1, width: width - 4, ascii: ascii)
        var below = Engine.belowTexts(model, ascii: ascii, width: width)
        let boxes = workers
        let top1 = firstNodeBottom(agents1, pods: 1)
        // Rows left for the workers (their borders included) below the first node, less one link row each.
        func rowsForWorkers(legend: Bool, links: Int) -> Int { height - 1 - below.count - (legend ? 1 : 0) - (top1 + 1) - (links - 1) }
        if boxes.count > 1, rowsForWorkers(legend: false, links: boxes.count) < 3 * boxes.count {
            return inOneRow(agents1, below: below, top1: top1)
        }
        // The legend only when every worker keeps a line of components and one of pods; then the lines below go, last first.
        let legendFits = rowsForWorkers(legend: true, links: boxes.count) >= 4 * boxes.count
        while rowsForWorkers(legend: legendFits, links: boxes.count) < 3 * boxes.count && !below.isEmpty { below.removeLast() }
        let rows2 = rowsForWorkers(legend: legendFits, links: boxes.count)

        let need1 = podLineCount(model.podGroups, width: width - 8)
        var pods1 = 1
        var placeWorker: [(Int) -> Placed] = []
        let fullEach = boxes.map { $0.fullHeight(pods: 1) }.reduce(0, +)
        if rows2 >= fullEach {
            let wanted = boxes.map { podLineCount($0.worker.podGroups, width: width - 8) }
            let shared = share(rows2 - fullEach, wanted: wanted, first: (1, need1))
            pods1 = shared.first
            for (index, box) in boxes.enumerated() {
                placeWorker.append { top in
                    box.full(x: 0, top: top, width: width, apiRow: top + 1, agentsY: top + 2, pods: shared.workers[index], id: box.boxID)
                }
            }
        } else {
            let wanted = boxes.map { $0.compactWanted(width: width) + 2 }
            let spare = rows2 - wanted.reduce(0, +)
            if spare > 0 { pods1 += min(spare, max(0, need1 - 1)) }
            // What is left after the first node's extra pod lines, shared fairly, 3 rows at least each.
            var left = rows2 - (pods1 - 1)
            for (index, box) in boxes.enumerated() {
                let rows = max(3, min(wanted[index], left / (boxes.count - index)))
                left -= rows
                placeWorker.append { top in box.compact(x: 0, top: top, width: width, rows: rows) }
            }
        }
        let first = firstNode(width: width, agents: agents1, pods: pods1)
        var placedWorkers: [Placed] = []
        var links: [PlacedLink] = []
        var above = first.node.rect.maxY
        for (index, box) in boxes.enumerated() {
            let linkY = above + 1
            placedWorkers.append(placeWorker[index](linkY + 1))
            above = placedWorkers.last!.node.rect.maxY
            links.append(verticalLink(box, x: width - 6, y: linkY, from: 1, named: boxes.count > 1))
        }
        let texts = Engine.placeBelow(below, from: above + 1, width: width, height: height,
                                      legend: legendFits ? Engine.legend(ascii: ascii) : nil)
        return DiagramLayout(width: width, height: height, node: first.node, boxes: first.boxes + placedWorkers.flatMap(\.boxes),
                             arrows: first.arrows + placedWorkers.flatMap(\.arrows), texts: texts,
                             workers: placedWorkers.map(\.node), links: links)
    }

    /// The workers side by side under the first node, each a compact box of an equal share of the width, each with
    /// its own link coming down to it.
    func inOneRow(_ agents1: DiagramLayoutEngine.AgentRows, below allBelow: [StyledText], top1: Int) -> DiagramLayout {
        let boxes = workers
        var below = allBelow
        func rows(legend: Bool) -> Int { height - 1 - below.count - (legend ? 1 : 0) - (top1 + 1) }
        let legendFits = rows(legend: true) >= 4
        while rows(legend: legendFits) < 3 && !below.isEmpty { below.removeLast() }
        let first = firstNode(width: width, agents: agents1, pods: 1)
        let columnWidth = (width - (boxes.count - 1)) / boxes.count
        let linkY = first.node.rect.maxY + 1
        let wanted = boxes.map { $0.compactWanted(width: columnWidth) + 2 }.max()!
        var placedWorkers: [Placed] = []
        var links: [PlacedLink] = []
        for (index, box) in boxes.enumerated() {
            let x = index * (columnWidth + 1)
            placedWorkers.append(box.compact(x: x, top: linkY + 1, width: columnWidth, rows: max(3, min(wanted, rows(legend: legendFits)))))
            links.append(verticalLink(box, x: x + columnWidth - 4, y: linkY, from: x + 1, named: false))
        }
        let texts = Engine.placeBelow(below, from: placedWorkers.map(\.node.rect.maxY).max()! + 1, width: width, height: height,
                                      legend: legendFits ? Engine.legend(ascii: ascii) : nil)
        return DiagramLayout(width: width, height: height, node: first.node, boxes: first.boxes, arrows: first.arrows, texts: texts,
                             workers: placedWorkers.map(\.node), links: links)
    }

    /// A link coming down at column `x` on row `y`, its label to its left from column `from` on.
    func verticalLink(_ box: WorkerBox, x: Int, y: Int, from: Int, named: Bool) -> PlacedLink {
        let label = drawn(box.worker.link.label + (named ? "  (\(box.worker.name))" : ""))
        let labelX = max(from, x - 1 - label.count)
        return PlacedLink(path: [Point(x, y)], vertical: true,
                          labels: [PlacedText(at: Point(labelX, y), text: StyledText(label, box.worker.link.style), limit: x - 1 - labelX)],
                          style: box.worker.link.style)
    }
}

/// One worker's box: its lines and its two forms.
struct WorkerBox {
    typealias BoxID = DiagramModel.BoxID
    typealias Engine = DiagramLayoutEngine

    let worker: DiagramModel.Worker
    let ascii: Bool

    func boxID(_ id: BoxID) -> String { DiagramLayout.workerBoxID(node: worker.name, id) }
    var agents: [DiagramModel.ComponentBox] { [BoxID.kubelet, .kubeProxy].compactMap { worker.box($0) } }

    /// Rows the full form takes with `pods` pod lines when its API line is the first: borders, the API line, the
    /// agents and their CRI row, containerd.
    func fullHeight(pods: Int) -> Int {
        2 + 1 + (agents.isEmpty ? 0 : (worker.box(.containerd) == nil ? 4 : 5)) + (worker.box(.containerd) == nil ? 0 : pods + 2)
    }

    /// The bottom border row of the full form, as `full` places it.
    func fullBottom(agentsY: Int, apiRow: Int, pods: Int) -> Int {
        var bottom = agents.isEmpty ? apiRow + 1 : agentsY + 4
        if worker.box(.containerd) != nil { bottom = (agents.isEmpty ? apiRow + 1 : agentsY + 5) + pods + 2 }
        return bottom
    }

    /// The worker's kubelet and kube-proxy reach the first node's API server over the link: a labelled line, since
    /// an arrow would have to cross both node borders.
    var apiLine: StyledText {
        guard !worker.apiClients.isEmpty else { return StyledText("no connection to kube-apiserver", .dim) }
        // Each with its recent calls, as the first node's arrows carry theirs.
        let clients = worker.apiClients.map { client in client.from.longTitle + (client.calls.map { " (\($0))" } ?? "") }
            .joined(separator: ", ")
        let arrow = ascii ? "<--" : "◄──"
        let style: CellStyle = worker.apiClients.contains { $0.failing } ? .unhealthy
            : worker.apiClients.contains { $0.isNew || $0.writing } ? .new : .arrow
        return StyledText("kube-apiserver \(worker.apiServerAddress) \(arrow) \(clients)", style)
    }

    /// The Node object and the pod range, for the rows above the worker's agents when it stands beside the first node.
    var infoLines: [StyledText] {
        var lines: [StyledText] = []
        switch worker.ready {
        case nil: lines.append(StyledText("no Node object yet", .starting))
        case false?: lines.append(StyledText("Node object: NotReady", .unhealthy))
        case true?: lines.append(StyledText("Node object: Ready", .healthy))
        }
        lines += worker.taints.map { StyledText("taint \($0)", .unhealthy) }
        lines.append(StyledText("pods in \(worker.podRange)", .dim))
        return lines
    }

    /// The compact form's one line of components: "● containerd  ● kubelet :10250  ● kube-proxy :10256", without
    /// the ports where the box is narrow.
    func componentsLine(width: Int) -> StyledText {
        let boxes = [BoxID.containerd, .kubelet, .kubeProxy].compactMap { worker.box($0) }
        guard !boxes.isEmpty else { return StyledText("no components yet", .dim) }
        let parts = boxes.map { box in
            let symbol = ascii ? box.health.asciiSymbol : box.health.symbol
            return "\(symbol) \(box.id.shortTitle)\(box.isNew ? (ascii ? " +" : " ✚") : "")\(width >= 56 ? box.port.map { " :\($0)" } ?? "" : "")"
        }
        let worst = boxes.first { $0.health != .healthy }
        let style: CellStyle = boxes.contains { $0.isNew } ? .new : worst.map { CellStyle.of($0.health) } ?? .healthy
        return StyledText(parts.joined(separator: width >= 56 ? "  " : " "), style)
    }

    func nodeTitle(width: Int) -> String {
        let full = worker.title(fullTaints: true)
        // Room to spare: stacked, the link joins the worker's top border near its right end.
        return full.count + 12 <= width ? full : worker.title(fullTaints: false)
    }

    func podLineCount(width: Int) -> Int { Engine.podRows(worker.podGroups, width: width, capacity: Int.max, ascii: ascii).count }

    /// Lines the compact form would like: components, API, its pods.
    func compactWanted(width: Int) -> Int { 2 + podLineCount(width: width - 4) }

    /// The full form: `info` lines, the API line on row `apiRow`, the agents on `agentsY`, containerd with `pods` lines.
    func full(x: Int, top: Int, width: Int, apiRow: Int, agentsY: Int, pods: Int, id: (BoxID) -> String) -> WorkerLayout.Placed {
        let info = Array(infoLines.prefix(max(0, apiRow - top - 1)))
        let lines = info + Array(repeating: StyledText(""), count: max(0, apiRow - top - 1 - info.count)) + [apiLine]
        let row = Engine.placeRow(agents, y: agentsY, x: x + 2, width: width - 4, ascii: ascii, id: id)
        var boxes = row
        var bottom = row.isEmpty ? apiRow + 1 : agentsY + 4
        if let containerd = worker.box(.containerd) {
            let y = row.isEmpty ? apiRow + 1 : agentsY + 5
            let box = Engine.containerdBox(containerd, pods: worker.podGroups, id: id(.containerd), x: x + 2, y: y, width: width - 4,
                                           capacity: max(1, pods), ascii: ascii)
            boxes.append(box)
            bottom = box.rect.maxY + 1
        }
        let node = PlacedBox(id: worker.name, rect: Rect(x: x, y: top, width: width, height: bottom - top + 1),
                             title: nodeTitle(width: width), titleStyle: worker.titleStyle, lines: lines)
        let arrows = Engine.placeArrows(worker.arrows, boxes: boxes, id: id, rows: [row], busY: nil)
        return WorkerLayout.Placed(node: node, boxes: boxes, arrows: arrows)
    }

    /// The compact form in `rows` rows (3 at least): the components line, then the API line and pods as room allows.
    func compact(x: Int, top: Int, width: Int, rows: Int) -> WorkerLayout.Placed {
        let room = max(1, rows - 2)
        var lines = [componentsLine(width: width)]
        if room >= 3 { lines.append(apiLine) }
        if room > lines.count {
            lines += Engine.podRows(worker.podGroups, width: width - 4, capacity: room - lines.count, ascii: ascii)
        }
        let node = PlacedBox(id: worker.name, rect: Rect(x: x, y: top, width: width, height: lines.count + 2),
                             title: nodeTitle(width: width), titleStyle: worker.titleStyle, lines: lines)
        return WorkerLayout.Placed(node: node, boxes: [], arrows: [])
    }
}
