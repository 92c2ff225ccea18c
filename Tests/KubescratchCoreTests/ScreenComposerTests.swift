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

    @Test func questionsAreAsked() {
        var session = TutorialSession(stages: Self.stages, completedStage: 1)
        _ = session.handle(.goToStage(1))
        let input = ScreenInput(session: session, lessonText: "", stageTitle: "Stage 2", diagram: nil, width: 80, height: 24)
        #expect(ScreenComposer.compose(input).text.contains("Go to stage 1? The node is moved to its start"))
    }
}
