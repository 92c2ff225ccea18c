/// The diagram with stage 6's node-2: the first node as always (it keeps the control plane), node-2 to its right when
/// the width allows and below it otherwise, joined by the link. node-2 gets its three components as boxes, the
/// kubelet's CRI arrow and its pods when there is room (its full form), or one line of components and a few pod
/// lines when there is not (its compact form).
struct TwoNodeLayout {
    typealias BoxID = DiagramModel.BoxID
    typealias Engine = DiagramLayoutEngine

    let model: DiagramModel
    let second: DiagramModel.SecondNode
    let width: Int
    let height: Int
    let ascii: Bool

    func layout() -> DiagramLayout {
        sideBySideFits ? sideBySide() : stacked()
    }

    // MARK: sizes

    func boxID(_ id: BoxID) -> String { DiagramLayout.secondNodeBoxID(node: second.name, id) }
    var agents: [DiagramModel.ComponentBox] { [BoxID.kubelet, .kubeProxy].compactMap { second.box($0) } }
    var link: DiagramModel.NodeLink { second.link }
    /// Labels measured as they will be drawn ("⇄" is two characters in ASCII).
    func drawn(_ text: String) -> String { ascii ? Grid.asciiOnly(text) : text }

    /// Side by side, the gap between the nodes holds the link's labels, so it is as wide as the longest of them.
    var gapWidth: Int {
        [link.addresses, "pod routes: none", "\(link.firstPodRange) ⇄ \(link.secondPodRange)"].map { drawn($0).count }.max()! + 4
    }

    var firstNodeMinimumWidth: Int {
        let rowA = Engine.rowAIDs.compactMap { model.box($0) }, rowB = Engine.rowBIDs.compactMap { model.box($0) }
        return max(Engine.minimumRowWidth(rowA, ascii: ascii), Engine.minimumRowWidth(rowB, ascii: ascii), 40) + 4
    }

    /// Two fifths of what the link leaves (the first node has more to show), between 48 and 66 columns: enough for
    /// its agents, a pod line and the API line. It depends on the terminal only, so node-2 stays put from step to step.
    var secondNodeWidth: Int { max(48, min(66, (width - gapWidth) * 2 / 5)) }

    var sideBySideFits: Bool { firstNodeMinimumWidth + gapWidth + secondNodeWidth <= width }

    /// Rows node-2's full form takes with `pods` pod lines: borders, the API line, the agents and their CRI row, containerd.
    func fullHeight(pods: Int) -> Int {
        2 + 1 + (agents.isEmpty ? 0 : (second.box(.containerd) == nil ? 4 : 5)) + (second.box(.containerd) == nil ? 0 : pods + 2)
    }

    func podLineCount(_ groups: [DiagramModel.PodGroup], width: Int) -> Int {
        Engine.podRows(groups, width: width, capacity: Int.max, ascii: ascii).count
    }

    // MARK: node-2's lines

    /// node-2's kubelet and kube-proxy reach the first node's API server over the link: a labelled line, since
    /// an arrow would have to cross both node borders.
    var apiLine: StyledText {
        guard !second.apiClients.isEmpty else { return StyledText("no connection to kube-apiserver", .dim) }
        // Each with its recent calls, as the first node's arrows carry theirs.
        let clients = second.apiClients.map { client in client.from.longTitle + (client.calls.map { " (\($0))" } ?? "") }
            .joined(separator: ", ")
        let arrow = ascii ? "<--" : "◄──"
        let style: CellStyle = second.apiClients.contains { $0.failing } ? .unhealthy
            : second.apiClients.contains { $0.isNew || $0.writing } ? .new : .arrow
        return StyledText("kube-apiserver \(second.apiServerAddress) \(arrow) \(clients)", style)
    }

    /// The Node object and the pod range, for the rows above node-2's agents when it stands beside the first node.
    var infoLines: [StyledText] {
        var lines: [StyledText] = []
        switch second.ready {
        case nil: lines.append(StyledText("no Node object yet", .starting))
        case false?: lines.append(StyledText("Node object: NotReady", .unhealthy))
        case true?: lines.append(StyledText("Node object: Ready", .healthy))
        }
        lines += second.taints.map { StyledText("taint \($0)", .unhealthy) }
        lines.append(StyledText("pods in \(second.podRange)", .dim))
        return lines
    }

    /// The compact form's one line of components: "● containerd  ● kubelet :10250  ● kube-proxy :10256".
    var componentsLine: StyledText {
        let boxes = [BoxID.containerd, .kubelet, .kubeProxy].compactMap { second.box($0) }
        guard !boxes.isEmpty else { return StyledText("no components yet", .dim) }
        let parts = boxes.map { box in
            let symbol = ascii ? box.health.asciiSymbol : box.health.symbol
            return "\(symbol) \(box.id.shortTitle)\(box.isNew ? (ascii ? " +" : " ✚") : "")\(box.port.map { " :\($0)" } ?? "")"
        }
        let worst = boxes.first { $0.health != .healthy }
        let style: CellStyle = boxes.contains { $0.isNew } ? .new : worst.map { CellStyle.of($0.health) } ?? .healthy
        return StyledText(parts.joined(separator: "  "), style)
    }

    func nodeTitle(width: Int) -> String {
        let full = second.title(fullTaints: true)
        // Room to spare: stacked, the link joins node-2's top border near its right end.
        return full.count + 12 <= width ? full : second.title(fullTaints: false)
    }

    // MARK: placing node-2

    struct PlacedSecondNode {
        var node: PlacedBox
        var boxes: [PlacedBox]
        var arrows: [PlacedArrow]
    }

    /// The full form: `info` lines, the API line on row `apiRow`, the agents on `agentsY`, containerd with `pods` lines.
    func full(x: Int, top: Int, width: Int, apiRow: Int, agentsY: Int, pods: Int) -> PlacedSecondNode {
        let info = Array(infoLines.prefix(max(0, apiRow - top - 1)))
        let lines = info + Array(repeating: StyledText(""), count: max(0, apiRow - top - 1 - info.count)) + [apiLine]
        let row = Engine.placeRow(agents, y: agentsY, x: x + 2, width: width - 4, ascii: ascii, id: boxID)
        var boxes = row
        var bottom = row.isEmpty ? apiRow + 1 : agentsY + 4
        if let containerd = second.box(.containerd) {
            let y = row.isEmpty ? apiRow + 1 : agentsY + 5
            let box = Engine.containerdBox(containerd, pods: second.podGroups, id: boxID(.containerd), x: x + 2, y: y, width: width - 4,
                                           capacity: max(1, pods), ascii: ascii)
            boxes.append(box)
            bottom = box.rect.maxY + 1
        }
        let node = PlacedBox(id: second.name, rect: Rect(x: x, y: top, width: width, height: bottom - top + 1),
                             title: nodeTitle(width: width), titleStyle: second.titleStyle, lines: lines)
        let arrows = Engine.placeArrows(second.arrows, boxes: boxes, id: boxID, rows: [row], busY: nil)
        return PlacedSecondNode(node: node, boxes: boxes, arrows: arrows)
    }

    /// The compact form in `rows` rows (3 at least): the components line, then the API line and pods as room allows.
    func compact(x: Int, top: Int, width: Int, rows: Int) -> PlacedSecondNode {
        let room = max(1, rows - 2)
        var lines = [componentsLine]
        if room >= 3 { lines.append(apiLine) }
        if room > lines.count {
            lines += Engine.podRows(second.podGroups, width: width - 4, capacity: room - lines.count, ascii: ascii)
        }
        let node = PlacedBox(id: second.name, rect: Rect(x: x, y: top, width: width, height: lines.count + 2),
                             title: nodeTitle(width: width), titleStyle: second.titleStyle, lines: lines)
        return PlacedSecondNode(node: node, boxes: [], arrows: [])
    }

    /// Lines a compact node-2 would like: components, API, its pods.
    var compactWanted: Int { 2 + podLineCount(second.podGroups, width: width - 4) }

    // MARK: the first node

    struct PlacedFirstNode {
        var node: PlacedBox
        var boxes: [PlacedBox]
        var arrows: [PlacedArrow]
    }

    func firstNode(width: Int, agents: DiagramLayoutEngine.AgentRows, pods: Int) -> PlacedFirstNode {
        var boxes = agents.boxes
        var y = agents.nextY
        if let containerd = model.box(.containerd) {
            let box = Engine.containerdBox(containerd, pods: model.podGroups, id: containerd.id.rawValue, x: 2, y: y, width: width - 4,
                                           capacity: max(1, pods), ascii: ascii)
            boxes.append(box)
            y = box.rect.maxY + 1
        }
        let node = PlacedBox(id: "node", rect: Rect(x: 0, y: 0, width: width, height: max(3, y + 1)),
                             title: model.nodeTitle, titleStyle: .title, lines: [])
        var arrows = Engine.placeArrows(model.arrows, boxes: boxes, id: { $0.rawValue }, rows: agents.rows, busY: agents.busY)
        Engine.labelCalls(&arrows, boxes: boxes + [node], ascii: ascii)
        return PlacedFirstNode(node: node, boxes: boxes, arrows: arrows)
    }

    /// The first node's bottom border row with `pods` pod lines.
    func firstNodeBottom(_ agents: DiagramLayoutEngine.AgentRows, pods: Int) -> Int {
        model.box(.containerd) == nil ? max(2, agents.nextY) : agents.nextY + pods + 2
    }

    // MARK: side by side

    func sideBySide() -> DiagramLayout {
        let gap = gapWidth, width2 = secondNodeWidth
        let width1 = width - gap - width2
        let x2 = width1 + gap
        let agents1 = Engine.placeAgentRows(model, x: 2, y: 1, width: width1 - 4, ascii: ascii)
        // The link runs along the first node's channel row; node-2's agents stand level with the first node's.
        let linkY = agents1.busY ?? 2
        let agentsY = linkY + 2
        let below = Engine.belowTexts(model, ascii: ascii, width: width)
        let fullBottom = agentsY - 2 + fullHeight(pods: 1) - 1
        let legendFits = height - (max(firstNodeBottom(agents1, pods: 1), fullBottom) + 1 + below.count) >= 1
        let bottomLimit = height - 1 - below.count - (legendFits ? 1 : 0)

        let first = firstNode(width: width1, agents: agents1, pods: bottomLimit - agents1.nextY - 2)
        let secondPlaced: PlacedSecondNode
        if fullBottom <= bottomLimit {
            let pods = bottomLimit - (fullBottom - 1)
            secondPlaced = full(x: x2, top: 0, width: width2, apiRow: linkY, agentsY: agentsY, pods: pods)
        } else {
            secondPlaced = compact(x: x2, top: 0, width: width2, rows: min(bottomLimit + 1, compactWanted + 2))
        }
        let rowY = max(1, min(linkY, first.node.rect.maxY - 1, secondPlaced.node.rect.maxY - 1))
        let textsFrom = max(first.node.rect.maxY, secondPlaced.node.rect.maxY) + 1

        var labels: [(Int, String)] = [(rowY - 2, "link (veth pair)"), (rowY - 1, link.addresses)]
        labels += link.podRoutes ? [(rowY + 1, "pod routes:"), (rowY + 2, link.routes)] : [(rowY + 1, "pod routes: none")]
        let placedLabels = labels.filter { $0.0 >= 0 && $0.0 < textsFrom && $0.0 < height }.map { row, label in
            let text = drawn(label)
            let x = width1 + max(1, (gap - text.count) / 2)
            return PlacedText(at: Point(x, row), text: StyledText(text, link.style), limit: x2 - 1 - x)
        }
        let placedLink = PlacedLink(path: (width1..<x2).map { Point($0, rowY) }, vertical: false, labels: placedLabels, style: link.style)

        let texts = Engine.placeBelow(below, from: textsFrom, width: width, height: height, legend: legendFits ? Engine.legend(ascii: ascii) : nil)
        return DiagramLayout(width: width, height: height, node: first.node, boxes: first.boxes + secondPlaced.boxes,
                             arrows: first.arrows + secondPlaced.arrows, texts: texts, secondNode: secondPlaced.node, link: placedLink)
    }

    // MARK: stacked

    func stacked() -> DiagramLayout {
        let agents1 = Engine.placeAgentRows(model, x: 2, y: 1, width: width - 4, ascii: ascii)
        var below = Engine.belowTexts(model, ascii: ascii, width: width)
        let top1 = firstNodeBottom(agents1, pods: 1)
        // Rows left for node-2 (its borders included), below the first node and the link's row.
        func rowsForSecond(legend: Bool) -> Int { height - 1 - below.count - (legend ? 1 : 0) - (top1 + 1) }
        // The legend only when node-2 keeps a line of components and one of pods; then the lines below go, last first.
        let legendFits = rowsForSecond(legend: true) >= 4
        while rowsForSecond(legend: legendFits) < 3 && !below.isEmpty { below.removeLast() }
        let rows2 = rowsForSecond(legend: legendFits)

        let need1 = podLineCount(model.podGroups, width: width - 8)
        var pods1 = 1
        let secondPlacedAt: (Int) -> PlacedSecondNode
        if rows2 >= fullHeight(pods: 1) {
            var pods2 = 1
            let need2 = podLineCount(second.podGroups, width: width - 8)
            var spare = rows2 - fullHeight(pods: 1)
            // Share the spare rows, one at a time, while either node has pods to show.
            while spare > 0 && (pods1 < need1 || pods2 < need2) {
                if pods1 < need1 && (pods1 <= pods2 || pods2 >= need2) { pods1 += 1 } else { pods2 += 1 }
                spare -= 1
            }
            secondPlacedAt = { top in full(x: 0, top: top, width: width, apiRow: top + 1, agentsY: top + 2, pods: pods2) }
        } else {
            let spare = rows2 - (compactWanted + 2)
            if spare > 0 { pods1 += min(spare, max(0, need1 - 1)) }
            let rows = rows2 - (pods1 - 1)
            secondPlacedAt = { top in compact(x: 0, top: top, width: width, rows: rows) }
        }
        let first = firstNode(width: width, agents: agents1, pods: pods1)
        let linkY = first.node.rect.maxY + 1
        let secondPlaced = secondPlacedAt(linkY + 1)

        // The link comes down near the right edge, clear of node-2's title; its label to its left.
        let linkX = width - 6
        let label = drawn(link.label)
        let labelX = max(1, linkX - 1 - label.count)
        let placedLink = PlacedLink(path: [Point(linkX, linkY)], vertical: true,
                                    labels: [PlacedText(at: Point(labelX, linkY), text: StyledText(label, link.style), limit: linkX - 1 - labelX)],
                                    style: link.style)
        let texts = Engine.placeBelow(below, from: secondPlaced.node.rect.maxY + 1, width: width, height: height,
                                      legend: legendFits ? Engine.legend(ascii: ascii) : nil)
        return DiagramLayout(width: width, height: height, node: first.node, boxes: first.boxes + secondPlaced.boxes,
                             arrows: first.arrows + secondPlaced.arrows, texts: texts, secondNode: secondPlaced.node, link: placedLink)
    }
}
