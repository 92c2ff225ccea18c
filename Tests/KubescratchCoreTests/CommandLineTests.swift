import Foundation
@testable import KubescratchCore
import Testing

/// The screen's command line as values: the editor, the environment each tool gets, `env`'s output per shell, which
/// commands need the real terminal, and the lessons' `try:` suggestions.
struct CommandLineTests {
    func typed(_ text: String, into line: inout PromptLine) {
        for character in text { _ = line.apply(.character(character)) }
    }

    @Test func editsLikeAShellLine() {
        var line = PromptLine()
        typed("kubectl get pods", into: &line)
        _ = line.apply(.killWordBack)
        #expect(line.line == "kubectl get " && line.cursor == 12)
        typed("nodes", into: &line)
        _ = line.apply(.home)
        _ = line.apply(.delete)
        #expect(line.line == "ubectl get nodes" && line.cursor == 0)
        typed("k", into: &line)
        _ = line.apply(.end)
        _ = line.apply(.left)
        _ = line.apply(.left)
        _ = line.apply(.backspace)
        #expect(line.line == "kubectl get noes" && line.cursor == 14)
        _ = line.apply(.right)
        _ = line.apply(.killToStart)
        #expect(line.line == "s" && line.cursor == 0)
    }

    @Test func enterSubmitsAndRemembersEmptyEnterAndEscapeClose() {
        var line = PromptLine(history: ["kubectl get nodes"])
        #expect(line.apply(.enter) == .close, "Enter on an empty prompt closes it")
        typed("  ctr tasks ls ", into: &line)
        #expect(line.apply(.enter) == .submit("ctr tasks ls"))
        #expect(line.history == ["kubectl get nodes", "ctr tasks ls"] && line.line.isEmpty)
        typed("x", into: &line)
        #expect(line.apply(.escape) == .close)
    }

    @Test func upAndDownWalkTheHistoryAndKeepTheDraft() {
        var line = PromptLine(history: ["one", "two"])
        typed("dra", into: &line)
        _ = line.apply(.up)
        #expect(line.line == "two")
        _ = line.apply(.up)
        _ = line.apply(.up)
        #expect(line.line == "one", "stops at the oldest")
        _ = line.apply(.down)
        #expect(line.line == "two")
        _ = line.apply(.down)
        #expect(line.line == "dra" && line.cursor == 3, "back to what was being typed")
        typed("ft", into: &line)
        #expect(line.apply(.enter) == .submit("draft"))
        _ = line.apply(.up)
        #expect(line.line == "draft")
    }

    @Test func historyIsBounded() {
        let long = (0..<(PromptLine.historyLimit + 20)).map { "command \($0)" }
        #expect(PromptLine(history: long).history.count == PromptLine.historyLimit)
    }

    @Test func tabCompletesTheCommonPrefixAndAddsASpaceWhenOneIsLeft() {
        var line = PromptLine(text: "kubectl get dep")
        let kinds = ["deployments", "daemonsets", "pods"]
        _ = line.apply(.tab) { _ in kinds }
        #expect(line.line == "kubectl get deployments ")
        var ambiguous = PromptLine(text: "kube")
        #expect(ambiguous.completingCommand)
        _ = ambiguous.apply(.tab) { _ in ["kubectl", "kubelet", "kube-proxy", "ls"] }
        #expect(ambiguous.line == "kube" && ambiguous.candidates == ["kube-proxy", "kubectl", "kubelet"])
        _ = ambiguous.apply(.character("c"))
        #expect(ambiguous.candidates.isEmpty, "typing clears the offered candidates")
        var folder = PromptLine(text: "cat /var/li")
        _ = folder.apply(.tab) { _ in ["/var/lib/"] }
        #expect(folder.line == "cat /var/lib/", "no space after a folder, so its files can follow")
    }

    @Test func theEnvironmentPointsEveryToolAtThisNode() {
        let layout = StateLayout(root: "/var/lib/kubescratch")
        let environment = ToolEnvironment(layout: layout, binDir: "/opt/k8s/v1.20.2").applied(to: ["PATH": "/usr/bin:/bin", "TERM": "xterm"])
        #expect(environment["KUBECONFIG"] == "/var/lib/kubescratch/kubeconfigs/admin.kubeconfig")
        #expect(environment["CONTAINERD_ADDRESS"] == "/var/lib/kubescratch/run/containerd.sock" && environment["CONTAINERD_NAMESPACE"] == "k8s.io")
        #expect(environment["CONTAINER_RUNTIME_ENDPOINT"] == "unix:///var/lib/kubescratch/run/containerd.sock")
        #expect(environment["ETCDCTL_ENDPOINTS"] == "http://127.0.0.1:2379")
        #expect(environment["PATH"] == "/opt/k8s/v1.20.2:/usr/bin:/bin", "the cluster's own kubectl first")
        #expect(environment["TERM"] == "xterm")
        let again = ToolEnvironment(layout: layout, binDir: "/opt/k8s/v1.20.2").applied(to: environment)
        #expect(again["PATH"] == environment["PATH"], "not added twice")
    }

    @Test func envPrintsEachShellsSyntaxAndQuotesValues() {
        let environment = ToolEnvironment(layout: StateLayout(root: "/tmp/it's here"), binDir: "/opt/bin")
        let bash = environment.exports(for: .bash)
        #expect(bash.contains("export KUBECONFIG='/tmp/it'\\''s here/kubeconfigs/admin.kubeconfig'"))
        #expect(bash.contains("export PATH='/opt/bin':\"$PATH\""))
        #expect(bash.hasSuffix("# To use this in your shell, run: eval \"$(kubescratch env)\"\n"))
        let fish = environment.exports(for: .fish)
        #expect(fish.contains("set -gx CONTAINERD_NAMESPACE 'k8s.io';") && fish.contains("set -gx PATH '/opt/bin' $PATH;"))
        #expect(fish.contains("kubescratch env --shell fish | source"))
        #expect(environment.exports(for: .zsh).contains("eval \"$(kubescratch env --shell zsh)\""))
        let unset = environment.exports(for: .bash, unset: true)
        #expect(unset.contains("unset KUBECONFIG") && !unset.contains("PATH="))
        #expect(environment.exports(for: .fish, unset: true).contains("set -e ETCDCTL_ENDPOINTS;"))
        #expect(ToolEnvironment.Shell.detect("/usr/bin/fish") == .fish && ToolEnvironment.Shell.detect(nil) == .bash)
    }

    /// Exported into a real bash, the lines set what they say.
    @Test func bashEvaluatesTheExports() throws {
        let environment = ToolEnvironment(layout: StateLayout(root: "/tmp/it's here"), binDir: "/opt/bin")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", environment.exports(for: .bash) + "printf '%s|%s|%s' \"$KUBECONFIG\" \"$CONTAINERD_NAMESPACE\" \"${PATH%%:*}\""]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        process.waitUntilExit()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        #expect(output == "/tmp/it's here/kubeconfigs/admin.kubeconfig|k8s.io|/opt/bin")
    }

    @Test func commandsThatNeedTheTerminalAreRecognised() {
        for line in ["kubectl exec -it web -- sh", "kubectl exec -ti web -- sh", "kubectl exec -i -t web -- sh",
                     "kubectl exec --stdin --tty web -- sh", "less /var/lib/kubescratch/logs/kubelet.log", "bash",
                     "nsenter --net=/run/netns/ks-node-2", "kubectl get pods -o yaml | less", "TERM=xterm top", "vi x"] {
            #expect(ToolEnvironment.mode(of: line) == .interactive, "\(line)")
        }
        for line in ["kubectl get pods -w", "kubectl exec web -- hostname", "nsenter --net=/run/netns/ks-node-2 ip addr",
                     "ctr tasks ls", "kubectl logs -f web", "tail -f /var/lib/kubescratch/logs/kubelet.log", "cat /etc/hosts | grep -i local"] {
            #expect(ToolEnvironment.mode(of: line) == .streamed, "\(line)")
        }
    }

    @Test func suggestionsMustRunAsWritten() throws {
        #expect(Suggestion.problem("kubectl get nodes -o wide") == nil)
        #expect(Suggestion.problem("ctr tasks ls | grep web") == nil)
        #expect(Suggestion.problem("sudo kubectl get nodes")?.contains("no sudo") == true)
        #expect(Suggestion.problem("export KUBECONFIG=/x")?.contains("already set") == true)
        #expect(Suggestion.problem("kubctl get nodes")?.contains("'kubctl' is not a program") == true)
        #expect(Suggestion.problem("  ") == "empty")
        let parser = LessonParser()
        let lesson = try parser.parse("---\ntitle: T\nstage: 1\n---\n```step\nid: s\ntitle: S\nstart: kube-proxy\ntry:\n  - kubectl get nodes\n  - \"ip -n ks-node-2 route\"\n```\n", file: "t.md")
        #expect(lesson.steps[0].suggestions == ["kubectl get nodes", "ip -n ks-node-2 route"])
        do {
            _ = try parser.parse("---\ntitle: T\nstage: 1\n---\n```step\nid: s\ntitle: S\nstart: kube-proxy\ntry: [kubectl get nodes, sudo ls]\n```\n", file: "t.md")
            Issue.record("a sudo suggestion was accepted")
        } catch {
            #expect(error.message.contains("try: 'sudo ls'") && error.line == 9)
        }
    }

    @Test func theOpenPromptReplacesTheStatusBarWithItsCursor() {
        let session = TutorialSession(stages: [], completedStage: 0)
        var prompt = PromptLine(text: "kubectl get no")
        _ = prompt.apply(.left)
        let grid = ScreenComposer.compose(ScreenInput(session: session, lessonText: "", stageTitle: "T", diagram: nil, width: 80,
                                                      height: 24, prompt: prompt))
        let bottom = grid.text.split(separator: "\n", omittingEmptySubsequences: false).last.map(String.init)
        #expect(bottom == ":kubectl get no")
        #expect(grid[14, 23] == Cell("o", .new), "the cursor sits on the last o")
        #expect(grid[0, 23].style == .title)
    }

    @Test func theOutputPaneOffersTheNextSuggestionAndScrolls() {
        let session = TutorialSession(stages: [], completedStage: 0)
        let input = ScreenInput(session: session, lessonText: "", stageTitle: "T", diagram: nil, width: 80, height: 24,
                                inspector: (1...40).map { "line \($0)" }, inspectorTitle: "$ seq 40", outputScroll: 5)
        let text = ScreenComposer.compose(input).text
        #expect(text.contains("line 35") && !text.contains("line 36"), "scrolled up five lines from the end")
        let offered = ScreenInput(session: session, lessonText: "", stageTitle: "T", diagram: nil, width: 80, height: 24,
                                  suggestion: ("ctr tasks ls", 0, 3))
        #expect(ScreenComposer.compose(offered).text.contains("try (t): ctr tasks ls  [1/3]"))
    }
}
