import Foundation
import Yams

typealias YAMLNode = Yams.Node

/// A problem in a lesson file, with where it is and what was expected.
public struct LessonError: Error, Equatable, CustomStringConvertible, Sendable {
    public var file: String
    public var line: Int
    public var message: String

    public init(file: String, line: Int, message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    public var description: String { "\(file):\(line): \(message)" }
}

/// Reads lesson files: YAML front matter between `---` lines, Markdown prose, and ```step blocks.
public struct LessonParser: Sendable {
    /// Manifests a step may name (files under assets/); nil skips that check.
    public var knownManifests: Set<String>?

    public init(knownManifests: Set<String>? = nil) {
        self.knownManifests = knownManifests
    }

    public func parse(_ text: String, file: String) throws(LessonError) -> Lesson {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        guard lines.first?.trimmingTrailingSpace == "---" else {
            throw LessonError(file: file, line: 1, message: "expected front matter: a first line `---`, then `title:` (and `stage:` for a stage), then `---`")
        }
        index = 1
        var front: [String] = []
        while index < lines.count, lines[index].trimmingTrailingSpace != "---" {
            front.append(lines[index])
            index += 1
        }
        guard index < lines.count else {
            throw LessonError(file: file, line: 1, message: "front matter is not closed: expected a line `---`")
        }
        let frontMatter = try mapping(front.joined(separator: "\n"), file: file, firstLine: 2, what: "front matter")
        index += 1

        var steps: [Step] = []
        var breakIt: [Step] = []
        var closing: String?
        var breakItLine: Int?
        var prose: [String] = []
        var asideLines: [Aside: Int] = [:]
        while index < lines.count {
            let line = lines[index]
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if let aside = Aside.opening(line) {
                if let first = asideLines[aside] {
                    throw LessonError(file: file, line: index + 1, message: "a second ```\(aside.rawValue) aside (the first is at line \(first)); a lesson has one of each, so the learner knows where to find it")
                }
                asideLines[aside] = index + 1
                let start = index
                prose.append(line)
                index += 1
                while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != "```" {
                    if lines[index].trimmingCharacters(in: .whitespaces).hasPrefix("```") {
                        throw LessonError(file: file, line: index + 1, message: "a fenced block inside the \(aside.title.lowercased()): close the aside (```) first")
                    }
                    prose.append(lines[index])
                    index += 1
                }
                guard index < lines.count else {
                    throw LessonError(file: file, line: start + 1, message: "the \(aside.title.lowercased()) aside is not closed: expected a line ```")
                }
                prose.append(lines[index])
            } else if Self.isBreakItHeading(trimmed) {
                guard breakItLine == nil else {
                    throw LessonError(file: file, line: index + 1, message: "a second `## Break it` section (the first is at line \(breakItLine!)); a lesson has one")
                }
                breakItLine = index + 1
                closing = prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                prose = [line]
            } else if trimmed == "```step" {
                let start = index + 1
                var body: [String] = []
                index += 1
                while index < lines.count, lines[index].trimmingCharacters(in: .whitespaces) != "```" {
                    body.append(lines[index])
                    index += 1
                }
                guard index < lines.count else {
                    throw LessonError(file: file, line: start, message: "step block is not closed: expected a line ```")
                }
                let node = try mapping(body.joined(separator: "\n"), file: file, firstLine: start + 1, what: "step")
                var step = try self.step(node, file: file, firstLine: start + 1)
                step.prose = prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
                if breakItLine == nil { steps.append(step) } else { breakIt.append(step) }
                prose = []
            } else {
                prose.append(line)
            }
            index += 1
        }

        let fields = Fields(node: frontMatter, file: file, firstLine: 2, allowed: ["title", "stage", "components", "rewind"])
        try fields.checkUnknown()
        let title = try fields.requiredString("title")
        let stage = try fields.optionalInt("stage")
        if let stage, !Lesson.stages.contains(stage) {
            throw LessonError(file: file, line: fields.line(of: "stage"), message: "stage must be \(Lesson.stageRange), not \(stage)")
        }
        let components = try fields.stringList("components").map { name, line throws(LessonError) in
            guard let component = ComponentID(name: name) else {
                throw LessonError(file: file, line: line, message: "unknown component '\(name)'; expected one of \(ComponentID.allNames)")
            }
            return component
        }
        var rewind: [Step] = []
        if let list = fields.value("rewind") {
            guard let sequence = list.sequence else {
                throw LessonError(file: file, line: fields.line(of: "rewind"), message: "rewind must be a list of steps")
            }
            for item in sequence {
                rewind.append(try step(item, file: file, firstLine: 2))
            }
        }
        if stage == nil && !steps.isEmpty {
            throw LessonError(file: file, line: steps[0].line, message: "steps need a stage: add `stage: N` to the front matter")
        }
        if let breakItLine {
            try Self.validateBreakIt(breakIt, stage: stage, headingLine: breakItLine, file: file)
        }
        var seen: [String: Int] = [:]
        for step in steps + rewind + breakIt {
            if let first = seen[step.id] {
                throw LessonError(file: file, line: step.line, message: "duplicate step id '\(step.id)' (first at line \(first))")
            }
            seen[step.id] = step.line
        }
        let rest = prose.joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return Lesson(stage: stage, title: title, file: file, components: components, steps: steps, rewind: rewind,
                      closing: closing ?? rest, breakIt: breakIt, breakItClosing: closing == nil ? "" : rest)
    }

    /// An answer given away: a step that reveals the answer to a **Predict:** prompt lists its words (`answers:`),
    /// and one of them already stands in the lesson before the prompt. Warnings, not errors: the author decides.
    public static func predictLeaks(in text: String, lesson: Lesson) -> [LessonError] {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        // The prose begins after the front matter's closing `---`.
        let body = (lines.dropFirst().firstIndex { $0.trimmingTrailingSpace == "---" } ?? 0) + 1
        var warnings: [LessonError] = []
        for step in lesson.steps + lesson.breakIt where !step.answers.isEmpty {
            let before = min(max(0, step.line - 1), lines.count)
            guard let prompt = lines[..<before].lastIndex(where: { $0.trimmingCharacters(in: .whitespaces).hasPrefix("**Predict:**") }) else {
                warnings.append(LessonError(file: lesson.file, line: step.line, message: "step '\(step.id)' lists answers but no **Predict:** prompt comes before it"))
                continue
            }
            for word in step.answers {
                let pattern = "(?<![A-Za-z0-9])" + NSRegularExpression.escapedPattern(for: word) + "(?![A-Za-z0-9])"
                guard let expression = try? NSRegularExpression(pattern: pattern, options: [.caseInsensitive]) else { continue }
                if let hit = (body..<prompt).first(where: { index in
                    expression.firstMatch(in: lines[index], range: NSRange(lines[index].startIndex..., in: lines[index])) != nil
                }) {
                    warnings.append(LessonError(file: lesson.file, line: hit + 1,
                                                message: "'\(word)', the answer step '\(step.id)' reveals to the Predict prompt at line \(prompt + 1), appears before the prompt"))
                }
            }
        }
        return warnings
    }

    static func isBreakItHeading(_ line: String) -> Bool {
        line.lowercased().hasPrefix("## break it")
    }

    /// A break-it section must leave the node as it found it: everything it stops is started again, every static
    /// pod it removes is put back, and it ends with a check that shows the node healed.
    static func validateBreakIt(_ steps: [Step], stage: Int?, headingLine: Int, file: String) throws(LessonError) {
        guard stage != nil else {
            throw LessonError(file: file, line: headingLine, message: "a `## Break it` section needs a stage: add `stage: N` to the front matter")
        }
        guard let last = steps.last else {
            throw LessonError(file: file, line: headingLine, message: "the `## Break it` section has no steps: expected the break, a check of what no longer works, the undo and a check that the node healed")
        }
        var stopped: [ComponentID: Int] = [:]
        var removed: [String: Int] = [:]
        var deleted: [String: Int] = [:]
        var applied: Set<String> = []
        for step in steps {
            guard case .action(let action, _) = step.kind else { continue }
            switch action {
            case .stop(let component): stopped[component] = step.line
            case .start(let component, _): stopped[component] = nil
            case .removeStaticPod(let manifest): removed[manifest] = step.line
            case .installStaticPod(let manifest): removed[manifest] = nil
            // Deleting what the section applied itself is tidying up; deleting what the stage made is a break.
            case .delete(let manifest, _): if !applied.contains(manifest) { deleted[manifest] = step.line }
            case .apply(let manifest): if deleted.removeValue(forKey: manifest) == nil { applied.insert(manifest) }
            // The pod routes are the one part of node-2 a section may take away, and must put back.
            case .worker(.removePodRoutes, let node): removed[Self.podRoutesKey(node)] = step.line
            case .worker(.podRoutes, let node): removed[Self.podRoutesKey(node)] = nil
            case .wipeEtcdData, .prepareCertificates, .prepareImages, .cleanupProxyRules, .worker:
                throw LessonError(file: file, line: step.line, message: "step '\(step.id)': a break-it section only stops and starts components, removes and puts back static pods, kills containers, applies, deletes, shows or runs kubectl; this action cannot be undone there")
            default: break
            }
        }
        if let (component, line) = stopped.min(by: { $0.value < $1.value }) {
            throw LessonError(file: file, line: line, message: "the break-it section stops \(component.name) and never starts it again: the node must be healed at its end")
        }
        if let (manifest, line) = removed.min(by: { $0.value < $1.value }) {
            let what = manifest.hasPrefix(Self.podRoutesKey(nil)) ? "the " + manifest : "the static pod \(manifest)"
            throw LessonError(file: file, line: line, message: "the break-it section removes \(what) and never puts it back: the node must be healed at its end")
        }
        if let (manifest, line) = deleted.min(by: { $0.value < $1.value }) {
            throw LessonError(file: file, line: line, message: "the break-it section deletes what \(manifest) made and never applies it again: the node must be healed at its end")
        }
        guard case .check = last.kind else {
            throw LessonError(file: file, line: last.line, message: "the break-it section must end with a check that shows the node healed, not with step '\(last.id)'")
        }
    }

    func mapping(_ yaml: String, file: String, firstLine: Int, what: String) throws(LessonError) -> YAMLNode {
        let node: YAMLNode?
        do {
            node = try Yams.compose(yaml: yaml)
        } catch {
            var line = firstLine
            if let yamlError = error as? YamlError, case .scanner(_, _, let mark, _) = yamlError { line = firstLine + mark.line - 1 }
            if let yamlError = error as? YamlError, case .parser(_, _, let mark, _) = yamlError { line = firstLine + mark.line - 1 }
            throw LessonError(file: file, line: line, message: "\(what) is not valid YAML: \(error)")
        }
        guard let node, node.mapping != nil else {
            throw LessonError(file: file, line: firstLine, message: "\(what) must be a YAML mapping of `key: value` lines")
        }
        return node
    }

    static let actionKeys = ["prepare", "start", "stop", "static-pod", "remove-static-pod", "apply", "create", "delete", "kubectl", "watch",
                             "cleanup", "wipe", "kill-container", "show", "worker", "trace"]

    func step(_ node: YAMLNode, file: String, firstLine: Int) throws(LessonError) -> Step {
        let fields = Fields(node: node, file: file, firstLine: firstLine,
                            allowed: ["id", "title", "check", "timeout", "hold", "expect-failure", "mode", "pod", "deployment",
                                      "count", "replicas", "status", "service", "host", "component", "selector", "force", "fast-forward",
                                      "node", "taint", "from", "to", "for", "answers", "try", "client", "verb", "resource", "name", "expect"] + Self.actionKeys)
        try fields.checkUnknown()
        let id = try fields.requiredString("id")
        let title = try fields.requiredString("title")
        let timeout = try fields.optionalDouble("timeout") ?? 60
        let hold = try fields.optionalDouble("hold") ?? 0
        let line = fields.line(of: "id")
        let present = Self.actionKeys.filter { fields.value($0) != nil } + (fields.value("check") != nil ? ["check"] : [])
        guard present.count == 1 else {
            let list = (Self.actionKeys + ["check"]).joined(separator: ", ")
            throw LessonError(file: file, line: line, message: present.isEmpty
                ? "step '\(id)' does nothing: expected one of \(list)"
                : "step '\(id)' has \(present.joined(separator: " and ")): a step does exactly one thing")
        }
        let kind: Step.Kind
        if present[0] == "check" {
            kind = .check(try check(fields, id: id))
        } else {
            kind = .action(try action(present[0], fields, id: id), expectFailure: try fields.optionalString("expect-failure"))
        }
        var step = Step(id: id, title: title, kind: kind, timeoutSeconds: timeout, holdSeconds: hold, line: line)
        step.answers = try fields.stringList("answers").map(\.0)
        step.suggestions = try fields.stringList("try").map { command, line throws(LessonError) in
            if let problem = Suggestion.problem(command) {
                throw LessonError(file: file, line: line, message: "try: '\(command)': \(problem)")
            }
            return command
        }
        if let fastForward = try fields.optionalString("fast-forward") {
            guard fastForward == "skip" || fastForward == "wait" else {
                throw LessonError(file: file, line: fields.line(of: "fast-forward"), message: "fast-forward must be skip or wait, not '\(fastForward)'")
            }
            switch kind {
            // A watch and a show only print; everything else an action does changes the node.
            case .check, .action(.watch, _), .action(.show, _), .action(.trace, _): break
            default:
                throw LessonError(file: file, line: fields.line(of: "fast-forward"),
                                  message: "step '\(id)': only a check, a watch, a show or a trace can be skipped when fast-forwarding (an action changes the node)")
            }
            step.skippedWhenFastForwarding = fastForward == "skip"
        }
        return step
    }

    func component(_ fields: Fields, _ key: String) throws(LessonError) -> ComponentID {
        let name = try fields.requiredString(key)
        guard let component = ComponentID(name: name) else {
            throw LessonError(file: fields.file, line: fields.line(of: key),
                              message: "unknown component '\(name)'; expected one of \(ComponentID.allNames)")
        }
        return component
    }

    /// A field whose value is one of an enum's raw values; the error lists them all.
    func choice<Value: RawRepresentable & CaseIterable>(_ fields: Fields, _ key: String) throws(LessonError) -> Value where Value.RawValue == String {
        let text = try fields.requiredString(key)
        guard let value = Value(rawValue: text) else {
            throw LessonError(file: fields.file, line: fields.line(of: key),
                              message: "unknown \(key) '\(text)'; expected one of \(Value.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return value
    }

    /// How a break-it check keys a worker's pod routes beside static pod manifests.
    static func podRoutesKey(_ node: WorkerNode?) -> String { "pod routes of " + (node?.name ?? "") }

    func manifest(_ fields: Fields, _ key: String) throws(LessonError) -> String {
        let name = try fields.requiredString(key)
        if let knownManifests, !knownManifests.contains(name) {
            throw LessonError(file: fields.file, line: fields.line(of: key),
                              message: "no manifest '\(name)' in assets/; expected one of \(knownManifests.sorted().joined(separator: ", "))")
        }
        return name
    }

    func action(_ key: String, _ fields: Fields, id: String) throws(LessonError) -> Action {
        switch key {
        case "prepare":
            switch try fields.requiredString("prepare") {
            case "certificates": return .prepareCertificates
            case "images": return .prepareImages
            case let other:
                throw LessonError(file: fields.file, line: fields.line(of: "prepare"), message: "unknown prepare '\(other)'; expected certificates or images")
            }
        case "start":
            let component = try component(fields, "start")
            var mode = KubeletMode.cluster
            if let text = try fields.optionalString("mode") {
                guard let parsed = KubeletMode(rawValue: text), component == .kubelet else {
                    throw LessonError(file: fields.file, line: fields.line(of: "mode"), message: "mode is for the kubelet only: standalone or cluster")
                }
                mode = parsed
            }
            return .start(component, mode)
        case "stop": return .stop(try component(fields, "stop"))
        case "static-pod": return .installStaticPod(try manifest(fields, "static-pod"))
        case "remove-static-pod": return .removeStaticPod(try manifest(fields, "remove-static-pod"))
        case "apply": return .apply(try manifest(fields, "apply"))
        case "create": return .create(try manifest(fields, "create"))
        case "watch":
            let words = try fields.stringList("watch").map { $0.0 }
            guard !words.isEmpty, words.contains("-w") || words.contains("--watch") else {
                throw LessonError(file: fields.file, line: fields.line(of: "watch"), message: "watch needs kubectl's arguments with -w, e.g. [get, pods, -w]")
            }
            guard let seconds = try fields.optionalDouble("for"), seconds > 0, seconds <= 60 else {
                throw LessonError(file: fields.file, line: fields.line(of: "watch"), message: "a watch needs `for: N`, how many seconds to watch (at most 60)")
            }
            return .watch(words, seconds: seconds)
        case "delete":
            let force = try fields.optionalString("force")
            guard force == nil || force == "true" || force == "false" else {
                throw LessonError(file: fields.file, line: fields.line(of: "force"), message: "force must be true or false")
            }
            return .delete(try manifest(fields, "delete"), force: force == "true")
        case "kubectl":
            let words = try fields.stringList("kubectl").map { $0.0 }
            guard !words.isEmpty else {
                throw LessonError(file: fields.file, line: fields.line(of: "kubectl"), message: "kubectl needs its arguments as a list, e.g. [get, nodes]")
            }
            return .kubectl(words)
        case "kill-container": return .killContainer(pod: try fields.requiredString("kill-container"))
        case "worker":
            let nodeText = try fields.requiredString("node")
            guard let node = WorkerNode(name: nodeText) else {
                throw LessonError(file: fields.file, line: fields.line(of: "node"), message: "a worker step's node must be node-2 … node-9, not '\(nodeText)'")
            }
            return .worker(try choice(fields, "worker"), node: node)
        case "show": return .show(try choice(fields, "show"))
        case "trace":
            let text = try fields.requiredString("trace")
            // Lessons name their targets; IP:PORT is for the command line.
            guard let target = TraceTarget.parse(text), text.contains(where: \.isLetter) else {
                throw LessonError(file: fields.file, line: fields.line(of: "trace"),
                                  message: "unknown trace target '\(text)'; expected one of \(TraceTarget.names.joined(separator: ", "))")
            }
            return .trace(target, expect: try choice(fields, "expect"))
        case "wipe":
            guard try fields.requiredString("wipe") == "etcd-data" else {
                throw LessonError(file: fields.file, line: fields.line(of: "wipe"), message: "unknown wipe; expected etcd-data")
            }
            return .wipeEtcdData
        default:
            guard try fields.requiredString("cleanup") == "proxy-rules" else {
                throw LessonError(file: fields.file, line: fields.line(of: "cleanup"), message: "unknown cleanup; expected proxy-rules")
            }
            return .cleanupProxyRules
        }
    }

    static let checkNames = ["healthy", "pod-running", "pod-unscheduled", "pod-bound", "pods-gone", "pod-gone", "node-registered", "node-ready",
                             "mirror-pod", "replica-sets", "deployment-ready", "http-answers", "no-answer", "container-restarted",
                             "proxy-rules", "proxy-rules-gone", "node-not-ready", "node-tainted", "node-untainted", "pods-on-node",
                             "pods-spread", "pod-reaches", "pod-cannot-reach", "api-call", "no-api-call"]

    func check(_ fields: Fields, id: String) throws(LessonError) -> Check {
        let name = try fields.requiredString("check")
        switch name {
        case "healthy": return .healthy(try component(fields, "component"))
        case "pod-running": return .podRunning(try fields.requiredString("pod"))
        case "pod-unscheduled": return .podUnscheduled(try fields.requiredString("pod"))
        case "pod-bound": return .podBound(try fields.requiredString("pod"))
        case "pods-gone": return .podsGone(selector: try fields.requiredString("selector"))
        case "pod-gone": return .podGone(try fields.requiredString("pod"))
        case "node-registered": return .nodeRegistered
        // Without a node: this node ({node}), like any other.
        case "node-ready": return .nodeIs(node: try fields.optionalString("node") ?? "{node}", ready: true)
        case "node-not-ready": return .nodeIs(node: try fields.requiredString("node"), ready: false)
        case "node-tainted", "node-untainted":
            return .nodeTaint(node: try fields.requiredString("node"), key: try fields.requiredString("taint"), present: name == "node-tainted")
        case "pods-on-node":
            return .podsOnNode(selector: try fields.requiredString("selector"), node: try fields.requiredString("node"), count: try fields.requiredInt("count"))
        case "pods-spread": return .podsSpread(selector: try fields.requiredString("selector"), count: try fields.requiredInt("count"))
        case "pod-reaches" where fields.value("service") != nil:
            return .podReachesService(selector: try fields.requiredString("selector"), service: try fields.requiredString("service"))
        case "pod-reaches", "pod-cannot-reach":
            return .podReaches(selector: try fields.requiredString("selector"), from: try fields.requiredString("from"),
                               to: try fields.requiredString("to"), reaches: name == "pod-reaches")
        case "api-call", "no-api-call":
            return .apiCall(client: try fields.requiredString("client"), verb: try fields.requiredString("verb"),
                            resource: try fields.requiredString("resource"), name: try fields.optionalString("name"),
                            present: name == "api-call")
        case "mirror-pod": return .mirrorPod(try fields.requiredString("pod"))
        case "replica-sets": return .replicaSets(deployment: try fields.requiredString("deployment"), count: try fields.requiredInt("count"))
        case "deployment-ready":
            return .deploymentReady(deployment: try fields.requiredString("deployment"), replicas: try fields.requiredInt("replicas"))
        case "http-answers": return .httpAnswers(try target(fields), status: try fields.optionalInt("status") ?? 200)
        case "no-answer": return .noAnswer(try target(fields))
        case "container-restarted": return .containerRestarted(pod: try fields.requiredString("pod"))
        case "proxy-rules": return .proxyRules(service: try fields.requiredString("service"), present: true)
        case "proxy-rules-gone": return .proxyRules(service: try fields.requiredString("service"), present: false)
        default:
            throw LessonError(file: fields.file, line: fields.line(of: "check"),
                              message: "unknown check '\(name)'; expected one of \(Self.checkNames.joined(separator: ", "))")
        }
    }

    func target(_ fields: Fields) throws(LessonError) -> HTTPTarget {
        if let pod = try fields.optionalString("pod") { return .pod(pod) }
        if let service = try fields.optionalString("service") {
            let hostText = try fields.optionalString("host") ?? "loopback"
            if hostText == "cluster-ip" { return .clusterIP(service: service) }
            guard let host = HTTPTarget.NodePortHost(hostText) else {
                throw LessonError(file: fields.file, line: fields.line(of: "host"), message: "host must be loopback, node-ip, a worker (node-2 …) or cluster-ip, not '\(hostText)'")
            }
            return .nodePort(service: service, host: host)
        }
        throw LessonError(file: fields.file, line: fields.line(of: "check"), message: "an HTTP check needs `pod:` or `service:`")
    }
}

/// Typed access to a YAML mapping, with the line of each key for errors.
struct Fields {
    let node: YAMLNode
    let file: String
    let firstLine: Int
    let allowed: [String]

    func pair(_ key: String) -> (key: YAMLNode, value: YAMLNode)? {
        node.mapping?.first { $0.key.string == key }
    }

    func value(_ key: String) -> YAMLNode? { pair(key)?.value }

    func line(of key: String) -> Int {
        let mark = pair(key)?.key.mark ?? node.mark
        return firstLine + max(0, (mark?.line ?? 1) - 1)
    }

    func checkUnknown() throws(LessonError) {
        for (key, _) in node.mapping ?? [:] {
            let name = key.string ?? "?"
            if !allowed.contains(name) {
                let line = firstLine + max(0, (key.mark?.line ?? 1) - 1)
                throw LessonError(file: file, line: line, message: "unknown field '\(name)'; expected one of \(allowed.joined(separator: ", "))")
            }
        }
    }

    func optionalString(_ key: String) throws(LessonError) -> String? {
        guard let value = value(key) else { return nil }
        guard let scalar = value.scalar else {
            throw LessonError(file: file, line: line(of: key), message: "\(key) must be a single value")
        }
        return scalar.string
    }

    func requiredString(_ key: String) throws(LessonError) -> String {
        guard let text = try optionalString(key), !text.isEmpty else {
            throw LessonError(file: file, line: line(of: key), message: "missing field '\(key)'")
        }
        return text
    }

    func optionalInt(_ key: String) throws(LessonError) -> Int? {
        guard let text = try optionalString(key) else { return nil }
        guard let number = Int(text) else {
            throw LessonError(file: file, line: line(of: key), message: "\(key) must be a whole number, not '\(text)'")
        }
        return number
    }

    func requiredInt(_ key: String) throws(LessonError) -> Int {
        guard let number = try optionalInt(key) else {
            throw LessonError(file: file, line: line(of: key), message: "missing field '\(key)'")
        }
        return number
    }

    func optionalDouble(_ key: String) throws(LessonError) -> Double? {
        guard let text = try optionalString(key) else { return nil }
        guard let number = Double(text.hasSuffix("s") ? String(text.dropLast()) : text), number >= 0 else {
            throw LessonError(file: file, line: line(of: key), message: "\(key) must be a number of seconds, not '\(text)'")
        }
        return number
    }

    func stringList(_ key: String) throws(LessonError) -> [(String, Int)] {
        guard let value = value(key) else { return [] }
        guard let sequence = value.sequence else {
            throw LessonError(file: file, line: line(of: key), message: "\(key) must be a list, e.g. [a, b]")
        }
        var out: [(String, Int)] = []
        for item in sequence {
            guard let text = item.scalar?.string else {
                throw LessonError(file: file, line: line(of: key), message: "\(key) must be a list of plain values")
            }
            out.append((text, firstLine + max(0, (item.mark?.line ?? 1) - 1)))
        }
        return out
    }
}

extension String {
    var trimmingTrailingSpace: String {
        var s = self
        while s.last == " " || s.last == "\t" || s.last == "\r" { s.removeLast() }
        return s
    }
}
