import CNcurses
import Foundation
import KubescratchCore
import KubescratchEngine

/// The command line inside the tutorial: `:` opens it, `t` fills it with the step's next suggestion, `!` opens a
/// shell. A command's output streams into the output pane; one that needs the terminal (a shell, a pager,
/// `exec -it`) gets it while the screen waits, then the screen comes back, redrawn at the terminal's size.
extension TerminalApp {
    /// What runs in the real terminal next, taken by the main loop (which can wait; a key handler cannot).
    enum TerminalWork: Equatable { case line(String), shell }

    var historyFile: String { driver.tutorial.engine.context.layout.root + "/command-history" }

    func openPrompt(with text: String = "") {
        let history = (try? String(contentsOfFile: historyFile, encoding: .utf8))?
            .split(separator: "\n").map(String.init) ?? []
        prompt = PromptLine(history: history, text: text)
    }

    /// A key while the prompt is open. Returns without touching the tutorial: the prompt owns the keyboard.
    func handlePrompt(_ code: Int32, isKey: Bool) {
        guard var line = prompt, let key = promptKey(code, isKey: isKey) else { return }
        let command = line.completingCommand
        let outcome = line.apply(key) { [weak self] word in self?.completions(for: word, command: command) ?? [] }
        switch outcome {
        case .editing:
            prompt = line
        case .close:
            prompt = nil
        case .submit(let command):
            prompt = nil
            let history = line.history.joined(separator: "\n") + "\n"
            try? history.write(toFile: historyFile, atomically: true, encoding: .utf8)
            submit(command)
        }
    }

    func promptKey(_ code: Int32, isKey: Bool) -> PromptLine.Key? {
        if isKey {
            switch code {
            case ks_key_left(): return .left
            case ks_key_right(): return .right
            case ks_key_home(): return .home
            case ks_key_end(): return .end
            case ks_key_backspace(): return .backspace
            case ks_key_dc(): return .delete
            case ks_key_up(): return .up
            case ks_key_down(): return .down
            case ks_key_enter(): return .enter
            default: return nil
            }
        }
        switch code {
        case 1: return .home            // Ctrl-A
        case 5: return .end             // Ctrl-E
        case 21: return .killToStart    // Ctrl-U
        case 23: return .killWordBack   // Ctrl-W
        case 8, 127: return .backspace
        case 9: return .tab
        case 10, 13: return .enter
        case 27: return .escape
        default:
            guard code >= 32, let scalar = UnicodeScalar(UInt32(code)) else { return nil }
            return .character(Character(scalar))
        }
    }

    func submit(_ command: String) {
        if command == "!" { terminalWork = .shell; return }
        if ToolEnvironment.mode(of: command) == .interactive { terminalWork = .line(command); return }
        if let running = commandRun, running.ended == nil {
            notice = "`\(running.line)` is still running: Ctrl-C stops it"
            return
        }
        do {
            let run = try LearnerCommand.start(command, context: driver.tutorial.engine.context)
            commandRun = run
            outputScroll = 0
            inspector = ("$ " + command, { Self.lines(of: run) })
        } catch {
            inspector = ("$ " + command, { ["\(error)"] })
        }
    }

    /// The run's output so far and a last line with how it stands; reading it also reaps the command when it ended.
    static func lines(of run: CommandRun) -> [String] {
        run.poll()
        let lines = run.lines
        guard let ended = run.ended else {
            return lines + [String(format: "── running %.1f s · Ctrl-C stops it", Date().timeIntervalSince(run.started))]
        }
        return lines + [String(format: "── exit %d · %.1f s", ended.status, ended.seconds)]
    }

    /// The screen steps aside for a command that needs the terminal, then comes back whole.
    func runInTerminal(_ work: TerminalWork) async {
        let context = driver.tutorial.engine.context
        ks_suspend()
        let banner: String
        switch work {
        case .line(let line): banner = "── kubescratch: $ \(line) · when it ends you are back in the tutorial"
        case .shell: banner = "── kubescratch: your shell, with KUBECONFIG, ctr, crictl and etcdctl set for this node · exit to return to kubescratch"
        }
        FileHandle.standardOutput.write(Data((banner + "\n").utf8))
        terminalBusy = true
        let started = Date()
        let status: Int32
        switch work {
        case .line(let line): status = await LearnerCommand.runLineInTerminal(line, context: context)
        case .shell: status = await LearnerCommand.runShell(context: context)
        }
        let seconds = Date().timeIntervalSince(started)
        // A Ctrl-C typed for the command also reached kubescratch's handler, queued behind this: let it pass first.
        DispatchQueue.main.async { [weak self] in MainActor.assumeIsolated { self?.terminalBusy = false } }
        ks_resume()
        shown = nil
        let title: String
        switch work {
        case .line(let line): title = "$ " + line
        case .shell: title = "! (your shell)"
        }
        inspector = (title, { ["(ran in the terminal)", String(format: "── exit %d · %.1f s", status, seconds)] })
    }

    /// Tab: command names for the first word, file names for a path, else this node's object names and files here.
    func completions(for word: String, command: Bool) -> [String] {
        let environment = LearnerCommand.environment(driver.tutorial.engine.context)
        if command {
            var names: Set<String> = ["kubescratch"]
            for folder in (environment["PATH"] ?? "").split(separator: ":") {
                for name in (try? FileManager.default.contentsOfDirectory(atPath: String(folder))) ?? [] where name.hasPrefix(word) {
                    names.insert(name)
                }
            }
            return Array(names)
        }
        var names = files(matching: word)
        guard !word.contains("/") else { return names }
        let model = diagram
        let pods = (model?.allPodGroups ?? []).flatMap(\.pods).map(\.name)
        let facts = driver.tutorial.engine.context.facts
        names += pods + [facts.nodeName, "node-2", "web"] + Self.resourceNames
        return names
    }

    static let resourceNames = ["pods", "nodes", "services", "deployments", "replicasets", "endpoints", "endpointslices",
                                "events", "leases", "namespaces", "secrets", "configmaps", "serviceaccounts"]

    func files(matching word: String) -> [String] {
        let expanded = word.hasPrefix("~/") ? (ProcessInfo.processInfo.environment["HOME"] ?? "") + word.dropFirst() : word
        let folder = expanded.contains("/") ? String(expanded[...expanded.lastIndex(of: "/")!]) : ""
        let shownFolder = word.contains("/") ? String(word[...word.lastIndex(of: "/")!]) : ""
        let prefix = String(expanded.dropFirst(folder.count))
        let path = folder.isEmpty ? FileManager.default.currentDirectoryPath : folder
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []
        return entries.filter { $0.hasPrefix(prefix) && (prefix.hasPrefix(".") || !$0.hasPrefix(".")) }.map { name in
            var isFolder: ObjCBool = false
            FileManager.default.fileExists(atPath: (path.hasSuffix("/") ? path : path + "/") + name, isDirectory: &isFolder)
            return shownFolder + name + (isFolder.boolValue ? "/" : "")
        }
    }

    /// The step just run offers its `try:` commands: at a stage's end its last step's, and before a stage's first
    /// step the previous stage's last (what the learner just finished).
    var suggestions: [String] {
        let session = driver.session
        let book = driver.tutorial.book
        if session.position.step == 0 {
            return book.stage(session.position.stage - 1)?.steps.last?.suggestions ?? []
        }
        guard let stage = book.stage(session.position.stage) else { return [] }
        return stage.steps[min(session.position.step, stage.steps.count) - 1].suggestions
    }

    /// `t`: the next suggestion onto the prompt, for the learner to run (Enter) or edit.
    func takeSuggestion() {
        let all = suggestions
        guard !all.isEmpty else {
            notice = "this step suggests no command: type your own after :"
            return
        }
        let key = "\(driver.session.position.stage).\(driver.session.position.step)"
        if suggestionKey != key { suggestionKey = key; suggestionIndex = 0 }
        openPrompt(with: all[suggestionIndex % all.count])
        suggestionIndex += 1
    }

    var nextSuggestion: (command: String, index: Int, count: Int)? {
        let all = suggestions
        guard !all.isEmpty else { return nil }
        let key = "\(driver.session.position.stage).\(driver.session.position.step)"
        let index = suggestionKey == key ? suggestionIndex % all.count : 0
        return (all[index], index, all.count)
    }
}
