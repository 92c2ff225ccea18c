import Foundation
import KubescratchCore
import KubescratchCore
import Testing

/// The composed screen as text, compared with files under Snapshots/ (KUBESCRATCH_RECORD_SNAPSHOTS=1 re-records).
@Suite struct ScreenComposerTests {
    static let stages: [TutorialSession.StageOutline] = [
        .init(number: 1, title: "The kubelet alone", steps: [.init(id: "a", title: "Start containerd"), .init(id: "b", title: "Start the kubelet")],
              components: [.containerd, .kubelet]),
        .init(number: 2, title: "The API server", steps: [.init(id: "c", title: "Start etcd")], components: [.containerd, .kubelet, .etcd, .kubeAPIServer]),
    ]

    static let lesson = """
        # Stage 1 — the kubelet alone

        A node is, at heart, one program: the **kubelet**. It reads pod descriptions and asks a container
        runtime to make them true.

        - containerd runs the containers
        - the kubelet talks to it over CRI

        ```
        ctr -n k8s.io containers ls
        ```
        """

    static func diagram() -> DiagramModel {
        let state = NodeState(nodeName: "vm", nodeIP: "192.0.2.2",
                              components: [ComponentStatus(id: .containerd, health: .healthy, pid: 4100),
                                           ComponentStatus(id: .kubelet, health: .starting, pid: 4200, port: 10250)],
                              pods: [PodStatus(name: "web-static-vm", phase: "Running", ready: true, ip: "10.200.0.2", nodeName: "vm", isStatic: true)],
                              kubeletMode: .standalone)
        return DiagramModel(state: state)
    }

    func screen(width: Int, height: Int, running: Bool = true, mode: ScreenMode = .tutorial) -> String {
        var session = TutorialSession(stages: Self.stages, completedStage: 0)
        let at = Date(timeIntervalSinceReferenceDate: 1000)
        if running {
            _ = session.handle(.next, now: at)
            _ = session.handle(.command("/usr/bin/containerd --config /var/lib/kubescratch/containerd/config.toml"))
            _ = session.handle(.waiting("containerd: connect to /var/lib/kubescratch/run/containerd.sock"))
        }
        let input = ScreenInput(session: session, lessonText: Self.lesson, stageTitle: "Stage 1 — The kubelet alone", diagram: Self.diagram(),
                                width: width, height: height, mode: mode, now: at.addingTimeInterval(4.1))
        return ScreenComposer.compose(input).text
    }

    func assertSnapshot(_ text: String, _ name: String) throws {
        let folder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Snapshots")
        let file = folder.appendingPathComponent("\(name).txt")
        if ProcessInfo.processInfo.environment["KUBESCRATCH_RECORD_SNAPSHOTS"] == "1" {
            try (text + "\n").write(to: file, atomically: true, encoding: .utf8)
            return
        }
        #expect(text + "\n" == (try String(contentsOf: file, encoding: .utf8)), "screen \(name) differs")
    }

    @Test func stackedAt80x24() throws {
        let text = screen(width: 80, height: 24)
        #expect(text.contains("▶ Step 1/2: Start containerd"))
        #expect(text.contains("waiting") || text.contains("containerd: connect to"))
        #expect(text.contains("— 4.1 s"))
        #expect(text.contains("stage 1/2 · step 1/2"))
        try assertSnapshot(text, "screen-80x24")
    }

    @Test func sideBySideWithTheDiagram() throws {
        let text = screen(width: 120, height: 40)
        #expect(text.contains("containerd + runc"))
        #expect(text.contains("kubelet"))
        try assertSnapshot(text, "screen-120x40")
        try assertSnapshot(screen(width: 200, height: 60), "screen-200x60")
    }

    @Test func diagramFullScreenAndHelp() {
        #expect(screen(width: 80, height: 24, mode: .diagram).contains("web-static-vm (static)"))
        #expect(screen(width: 80, height: 24, mode: .help).contains("break it: stop the selected component"))
    }

    @Test func tooSmallSaysWhatToDo() {
        let text = screen(width: 60, height: 20)
        #expect(text.contains("needs a terminal of at least 80×24"))
        #expect(text.contains("This one is 60×20"))
    }

    /// A question is a dialog that is never cut, at any size: every answer is named, with its key.
    @Test(arguments: [(80, 24), (120, 40), (200, 60)])
    func questionsAreDialogsWithEveryAnswer(size: (Int, Int)) throws {
        var session = TutorialSession(stages: Self.stages, completedStage: 1)
        _ = session.handle(.goToStage(1))
        let input = ScreenInput(session: session, lessonText: Self.lesson, stageTitle: "Stage 2", diagram: Self.diagram(),
                                width: size.0, height: size.1)
        let text = ScreenComposer.compose(input).text
        let rows = text.split(separator: "\n").map { Array($0) }
        let top = try #require(rows.firstIndex { String($0).contains("┌ Go to stage 1? ") })
        let column = try #require(String(rows[top]).components(separatedBy: "┌ Go to stage 1? ").first?.count)
        let bottom = try #require(rows[top...].firstIndex { $0.count > column && $0[column] == "└" })
        let inside = rows[(top + 1)..<bottom].map { String($0[(column + 2)..<(column + 62)]).trimmingCharacters(in: .whitespaces) }
        #expect(inside == ["The node is moved to the start of stage 1: later stages are", "undone, earlier ones are run first.", "",
                           "y         go to stage 1", "n or Esc  stay where you are"])
        if size == (80, 24) { try assertSnapshot(text, "dialog-80x24") }
    }
}

/// Tab reaches node-2's components too (stage 6): the selected box's title is drawn highlighted on its own node.
@Suite struct SecondNodeSelectionTests {
    func titleStyles(of component: ComponentID) throws -> (grid: Grid, row: Int, columns: ClosedRange<Int>) {
        let state = try FixtureStates.state(stage: 6)
        let session = TutorialSession(stages: ScreenComposerTests.stages, completedStage: 0)
        let input = ScreenInput(session: session, lessonText: "", stageTitle: "Stage 6", diagram: DiagramModel(state: state),
                                width: 200, height: 60, mode: .diagram, selected: component)
        let grid = ScreenComposer.compose(input)
        let layout = DiagramLayoutEngine.layout(DiagramModel(state: state), width: 200, height: 59)
        let box = try #require(layout.boxes.first { $0.id == DiagramLayout.boxID(of: component) })
        return (grid, box.rect.y, (box.rect.x + 1)...(box.rect.x + box.title.count + 2))
    }

    @Test func aWorkerComponentIsHighlightedInNodeTwosBox() throws {
        let (grid, row, columns) = try titleStyles(of: ComponentID(.kubelet, on: .second))
        #expect(columns.allSatisfy { grid[$0, row].style == .new }, "node-2's kubelet title is highlighted")
        let (other, otherRow, otherColumns) = try titleStyles(of: .kubelet)
        #expect(otherColumns.allSatisfy { other[$0, otherRow].style == .new })
        #expect(row == otherRow && columns != otherColumns, "two different boxes, side by side at 200x60")
        #expect(!columns.allSatisfy { other[$0, row].style == .new }, "selecting node-1's kubelet leaves node-2's alone")
    }

    @Test func boxIDsTellTheNodesApart() {
        #expect(DiagramLayout.boxID(of: .kubelet) == "kubelet")
        #expect(DiagramLayout.boxID(of: ComponentID(.kubelet, on: .second)) == "node-2/kubelet")
        #expect(DiagramLayout.boxID(of: ComponentID(.containerd, on: .second)) == "node-2/containerd")
    }
}

@Suite struct BoxOfComponentTests {
    /// `h` on a selected component reads its box: node-2's kubelet is node-2's box, not node-1's.
    @Test func eachComponentFindsItsOwnNodesBox() throws {
        var state = try FixtureStates.state(stage: 6)
        var second = try #require(state.workers.first)
        second.components = second.components.map { var c = $0; if c.id == ComponentID(.kubelet, on: .second) { c.health = .stopped; c.pid = nil }; return c }
        state.workers = [second]
        let model = DiagramModel(state: state)
        #expect(model.box(of: .kubelet)?.health == .healthy)
        #expect(model.box(of: ComponentID(.kubelet, on: .second))?.health == .stopped)
        #expect(model.box(of: ComponentID(.kubelet, on: .second))?.pid == nil && model.box(of: .kubelet)?.pid != nil)
        #expect(DiagramModel(state: try FixtureStates.state(stage: 5)).box(of: ComponentID(.kubelet, on: .second)) == nil)
    }
}

/// The keys are written once (ScreenKey): the README's table must list the same keys, in the same order, saying the
/// same, and every typed character reaches exactly one key.
@Suite struct ScreenKeyTests {
    @Test func theReadmeListsTheSameKeys() throws {
        let readme = try String(contentsOfFile: Repo.root + "/README.md", encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `") }.map { row -> (String, String) in
            let cells = row.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            return (cells[1].trimmingCharacters(in: CharacterSet(charactersIn: "`")), cells[2])
        }
        #expect(rows.map(\.0) == ScreenKey.allCases.map(\.label))
        #expect(rows.map(\.1) == ScreenKey.allCases.map(\.help))
    }

    @Test func everyCharacterHasOneKey() {
        let characters = ScreenKey.allCases.flatMap(\.characters)
        #expect(Set(characters).count == characters.count, "a character does two things")
        for key in ScreenKey.allCases { for character in key.characters { #expect(ScreenKey(character) == key) } }
        #expect(ScreenKey("z") == nil)
        #expect(ScreenComposer.keyHints == "Enter run · p back · 1-6 stage · r replay · : command · d diagram · Tab select · ? help · q quit")
        #expect(ScreenKey.allCases.filter { $0.hint != nil }.count == ScreenComposer.keyHints.components(separatedBy: " · ").count)
    }
}
