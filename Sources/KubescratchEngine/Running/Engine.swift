import Foundation
import KubescratchCore

/// What the engine reports while it works; the plain runner prints these, the screen draws them.
public enum EngineEvent: Sendable {
    case stageStarted(Lesson)
    case stepStarted(Step, index: Int, count: Int)
    /// The exact command or request a step performs.
    case command(String)
    case output(String)
    /// Still waiting; said at most about once a second.
    case waiting(String, elapsed: Double)
    case stepFinished(Step, StepResult, seconds: Double)
    case stageFinished(Lesson, seconds: Double)
    case note(String)
    /// A lesson without steps (the introduction, the wrap-up), to be read.
    case reading(Lesson)
    /// A component that should be running exited while a step was waiting (not stopped by us).
    case componentCrashed(ComponentCrash)
}

/// A component that died under a step: what it was, how it ended, how long it ran, what it last said.
public struct ComponentCrash: Sendable, Equatable, CustomStringConvertible {
    public var component: ComponentID
    public var howItEnded: String
    public var uptime: Double
    public var logFile: String
    public var logTail: String

    public var headline: String { "\(component.name) \(howItEnded) after \(Int(uptime.rounded())) s running" }
    public var description: String { "\(headline). Last lines of \(logFile):\n\(logTail)" }
}

public enum StepResult: Sendable, Equatable {
    case passed(String)
    case failed(String)

    public var passed: Bool { if case .passed = self { true } else { false } }
    public var detail: String {
        switch self {
        case .passed(let text), .failed(let text): text
        }
    }
}

public struct StageFailure: Error, CustomStringConvertible {
    public var stage: Int
    public var step: Step
    public var detail: String
    /// The step's number in its stage (1-based), when known.
    public var stepNumber: Int?
    /// Set when the step failed because a component died under it: the message names the component, not the step.
    public var crash: ComponentCrash?

    public init(stage: Int, step: Step, detail: String, stepNumber: Int? = nil, crash: ComponentCrash? = nil) {
        self.stage = stage
        self.step = step
        self.detail = detail
        self.stepNumber = stepNumber
        self.crash = crash
    }

    var place: String { "\(stepNumber.map { "step \($0) of " } ?? "")stage \(stage) ('\(step.title)')" }

    public var description: String {
        guard let crash else { return "stage \(stage), step '\(step.title)' failed: \(detail)" }
        return """
            \(crash.component.name) \(crash.howItEnded) during \(place), after \(Int(crash.uptime.rounded())) s running.
            Last lines of \(crash.logFile):
            \(crash.logTail)
            """
    }
}

/// Runs a lesson's steps against the real node.
public final class Engine: @unchecked Sendable {
    public let context: EngineContext
    public let emit: @Sendable (EngineEvent) -> Void
    /// When moving the node forward to replay a later stage: "stays so for N s" checks only need to hold once.
    public var fastForward = false
    private let crashLock = NSLock()
    /// The attempts `kill-container` killed, for `container-restarted`.
    let killedContainers = KilledContainers()
    private var _lastCrash: ComponentCrash?
    private var _currentStep: String?
    /// The component that died under the last step run, if one did.
    public var lastCrash: ComponentCrash? { crashLock.withLock { _lastCrash } }
    /// The title of the step running or run last, for "interrupted during '…'".
    public var currentStep: String? { crashLock.withLock { _currentStep } }

    /// Records already outliving their process when this command began (after a reboot or a kill -9 of everything):
    /// the recovery starts those again; they are not a step's crash. Keyed by PID, so a component started again and
    /// then killed is one.
    private let deadAtStart: [ComponentID: Int32]

    /// When the stage (or break-it section) being run began, whichever loop runs it: the API calls a check reads
    /// are those made since.
    private let stageClock = StageClock()
    var stageStarted: Date? { stageClock.started }

    public init(context: EngineContext, emit: @escaping @Sendable (EngineEvent) -> Void) {
        self.context = context
        let clock = stageClock
        self.emit = { event in
            if case .stageStarted = event { clock.mark() }
            emit(event)
        }
        var dead: [ComponentID: Int32] = [:]
        for component in context.supervisor.recordedComponents() {
            if let record = context.supervisor.record(component), !context.supervisor.isAlive(record) { dead[component] = record.pid }
        }
        deadAtStart = dead
    }

    var layout: StateLayout { context.layout }

    /// Runs one step while watching the components that were running when it began: if one of them exits (and the
    /// step did not stop it), the step ends within a fraction of a second with what died, instead of waiting out
    /// its timeout on symptoms. After a Ctrl-C (task cancelled), the result does not count: callers check.
    public func run(_ step: Step) async -> StepResult {
        crashLock.withLock { _lastCrash = nil; _currentStep = step.title }
        let watched = componentsToWatch(during: step)
        guard !watched.isEmpty else { return await runUnwatched(step) }
        enum Outcome: Sendable { case finished(StepResult), died(ComponentCrash) }
        return await withTaskGroup(of: Outcome?.self) { group in
            group.addTask { .finished(await self.runUnwatched(step)) }
            group.addTask { await self.firstCrash(among: watched).map(Outcome.died) }
            var result: StepResult = .failed("interrupted")
            for await outcome in group {
                guard let outcome else { continue }
                switch outcome {
                case .finished(let stepResult):
                    result = stepResult
                case .died(let crash):
                    crashLock.withLock { _lastCrash = crash }
                    emit(.componentCrashed(crash))
                    result = .failed(crash.headline)
                }
                break
            }
            group.cancelAll()
            return result
        }
    }

    /// The components we started and did not stop (a record is removed when we stop one), except the one the step
    /// itself stops or (re)starts. A record already dead when this command began is not a step's crash (after a
    /// reboot every record outlives its process, and the recovery starts them one by one); one that died since —
    /// even between two steps — is, and the step fails with it at once.
    func componentsToWatch(during step: Step) -> [ComponentID] {
        var excluded: [ComponentID] = []
        if case .action(let action, _) = step.kind {
            switch action {
            case .start(let component, _), .stop(let component): excluded = [component]
            // Making a worker's machine removes an earlier one first, and removing a worker stops its components.
            case .worker(.machine, let node), .worker(.remove, let node): excluded = ComponentID.on(node)
            default: break
            }
        }
        return context.supervisor.recordedComponents().filter { component in
            guard !excluded.contains(component), let record = context.supervisor.record(component) else { return false }
            return deadAtStart[component] != record.pid
        }
    }

    /// Polls (every 200 ms: a death is noticed well within the 2 s a learner waits) until one of `components`
    /// is gone; nil when cancelled first.
    func firstCrash(among components: [ComponentID]) async -> ComponentCrash? {
        let records = components.compactMap { context.supervisor.record($0) }
        while !Task.isCancelled {
            for record in records where !context.supervisor.isAlive(record) {
                return context.supervisor.crash(of: record)
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
        return nil
    }

    func runUnwatched(_ step: Step) async -> StepResult {
        switch step.kind {
        case .action(let action, let expectFailure):
            do {
                let result = try await perform(action, timeout: step.timeoutSeconds)
                return judge(result, expectFailure: expectFailure)
            } catch {
                return .failed(String(describing: error))
            }
        case .check(let check):
            return await wait(for: check, timeout: step.timeoutSeconds, hold: fastForward ? 0 : step.holdSeconds)
        }
    }

    /// An action's own result, before an expected failure is taken into account.
    enum ActionResult {
        case done(String)
        case commandFailed(String)
    }

    func judge(_ result: ActionResult, expectFailure: String?) -> StepResult {
        switch (result, expectFailure) {
        case (.done(let text), nil): return .passed(text)
        case (.commandFailed(let text), nil): return .failed(text)
        case (.done, .some(let expected)):
            return .failed("expected it to be refused with \"\(expected)\", but it was accepted")
        case (.commandFailed(let text), .some(let expected)):
            return text.contains(expected)
                ? .passed("refused, as expected: \(text.split(separator: "\n").first ?? "")")
                : .failed("refused, but not for the expected reason \"\(expected)\": \(text)")
        }
    }

    // MARK: actions

    func perform(_ action: Action, timeout: Double) async throws -> ActionResult {
        switch action {
        case .prepareCertificates: return try await prepareCertificates()
        case .prepareImages: return try await prepareImages(timeout: timeout)
        case .start(let component, let mode): return try await start(component, mode: mode)
        case .stop(let component): return await stop(component)
        case .installStaticPod(let manifest):
            let target = "\(layout.staticPods)/\(manifest)"
            let contents = try renderAsset(manifest)
            try writeFile(target, contents: contents)
            emit(.command("cp assets/\(manifest) \(target)"))
            emit(.output(Self.manifestShown(contents)))
            return .done("the kubelet watches \(layout.staticPods)")
        case .removeStaticPod(let manifest):
            let target = "\(layout.staticPods)/\(manifest)"
            emit(.command("rm \(target)"))
            try? FileManager.default.removeItem(atPath: target)
            return .done("removed")
        case .apply(let manifest):
            return try await kubectl(["apply", "-f", try renderedAsset(manifest, shown: true)], timeout: timeout)
        case .create(let manifest):
            return try await kubectl(["create", "-f", try renderedAsset(manifest, shown: true)], timeout: timeout)
        case .watch(let arguments, let seconds):
            return try await watch(arguments.map(context.values.argument), seconds: seconds)
        case .delete(let manifest, let force):
            let path = try renderedAsset(manifest)
            let how = force ? ["--grace-period=0", "--force"] : ["--wait=true", "--timeout=\(Int(timeout))s"]
            return try await kubectl(["delete", "-f", path, "--ignore-not-found"] + how, timeout: timeout + 10)
        case .kubectl(let arguments):
            return try await kubectl(arguments.map(context.values.argument), timeout: timeout)
        case .cleanupProxyRules:
            // `kube-proxy --cleanup` also tears down IPVS sets and fails where ipset is not installed.
            emit(.command("iptables -t nat -S | grep -- '-N KUBE-'   # then for each of kube-proxy's chains: -D the rules jumping to it, -F, -X"))
            let keep = Set(HostSnapshot.load(layout: layout)?.chains ?? [])
            let removed = IPTables.removeOurChains(keep: keep, matching: IPTables.isKubeProxys)
            if !removed.isEmpty { emit(.output(removed.joined(separator: "\n"))) }
            return .done("removed \(removed.count) chain(s) kube-proxy had written")
        case .wipeEtcdData:
            guard context.supervisor.runningRecord(.etcd) == nil else { return .commandFailed("etcd is still running") }
            emit(.command("rm -rf \(layout.etcdData)"))
            try? FileManager.default.removeItem(atPath: layout.etcdData)
            return .done("the cluster's stored state is gone")
        case .killContainer(let pod): return try await killContainers(of: pod)
        case .show(let state): return try await show(state)
        case .trace(let target, let expectation): return try await trace(target, expecting: expectation)
        case .worker(let action, let node): return try await worker(action, node, timeout: timeout)
        }
    }

    func kubectl(_ arguments: [String], timeout: Double) async throws -> ActionResult {
        emit(.command((["kubectl"] + arguments).map(shellQuoted).joined(separator: " ")))
        let result = try await context.kubectlShell.run(context.binaries.kubectl, arguments, timeout: timeout)
        let output = result.combinedOutput
        if !output.isEmpty { emit(.output(output)) }
        if result.timedOut { return .commandFailed("kubectl did not finish within \(Int(timeout)) s") }
        return result.succeeded ? .done(result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)) : .commandFailed(output)
    }

    /// A manifest as the learner reads it: without the comment lines that say why it is in assets/.
    static func manifestShown(_ contents: String) -> String {
        contents.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("#") }
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// `kubectl … -w` for a few seconds: what changed meanwhile, as it happened. Stopping it is the plan, not a failure.
    func watch(_ arguments: [String], seconds: Double) async throws -> ActionResult {
        emit(.command((["kubectl"] + arguments).map(shellQuoted).joined(separator: " ") + "   # for \(Int(seconds)) s"))
        let result = try await context.kubectlShell.run(context.binaries.kubectl, arguments, timeout: seconds)
        try Task.checkCancellation()
        let output = result.combinedOutput.trimmingCharacters(in: .whitespacesAndNewlines)
        if !output.isEmpty { emit(.output(output)) }
        if !result.timedOut, !result.succeeded { return .commandFailed(output) }
        let lines = output.split(separator: "\n").count
        return .done("watched for \(Int(seconds)) s: \(max(0, lines - 1)) change(s) after the first listing")
    }

    func renderAsset(_ manifest: String) throws -> String {
        let path = "\(context.assetsDir)/\(manifest)"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw EngineError.missingAsset(path)
        }
        return context.values.render(text)
    }

    /// Writes the manifest with its placeholders filled in, so the printed `kubectl apply -f` names a real file;
    /// `shown`: the learner sees it too.
    func renderedAsset(_ manifest: String, shown: Bool = false) throws -> String {
        let path = "\(layout.config)/manifests/\(manifest)"
        let contents = try renderAsset(manifest)
        try writeFile(path, contents: contents)
        if shown { emit(.output(Self.manifestShown(contents))) }
        return path
    }

    func writeFile(_ path: String, contents: String, mode: UInt16 = 0o644) throws {
        try PlannedFile(path: path, contents: contents, mode: mode).write()
    }

    func prepareCertificates() async throws -> ActionResult {
        let marker = "\(layout.pki)/node.json"
        let expected = "\(context.facts.nodeName) \(context.facts.nodeIP)"
        if FileManager.default.fileExists(atPath: PKIFiles(layout: layout).cert("ca")),
           (try? String(contentsOfFile: marker, encoding: .utf8)) == expected {
            emit(.note("certificates for node \(context.facts.nodeName) (\(context.facts.nodeIP)) already exist in \(layout.pki)"))
            return .done("kept the existing certificates")
        }
        emit(.command("(in Swift) generate CA, certificates and kubeconfigs into \(layout.pki) and \(layout.kubeconfigs)"))
        let output = try ClusterPKI.generate(facts: context.facts, network: context.network, layout: layout)
        for file in output.files { try writeFile(file.path, contents: file.contents, mode: file.mode) }
        try writeFile(marker, contents: expected)
        let certificates = ClusterPKI.specs(facts: context.facts, network: context.network)
            .map { spec in "  \(spec.name).crt  CN=\(spec.commonName)\(spec.organizations.map { ", O=\($0)" }.joined())" }
        emit(.output((["two CAs (ca, front-proxy-ca), a service-account key pair (sa.key, sa.pub) and:"] + certificates).joined(separator: "\n")))
        return .done("\(output.files.count) files written")
    }

    func prepareImages(timeout: Double) async throws -> ActionResult {
        let images = context.images
        let ctr = context.binaries.ctr
        let listed = try await context.shell.run(ctr, context.ctrArguments(["images", "ls", "-q"]), timeout: 20)
        let present = Set(listed.stdout.split(separator: "\n").map(String.init))
        let wanted = [images.pause, images.web]
        if wanted.allSatisfy(present.contains) {
            emit(.note("\(wanted.joined(separator: " and ")) already in containerd"))
            return .done("images present")
        }
        switch context.imageSource {
        case .registry:
            for image in wanted where !present.contains(image) {
                let arguments = context.ctrArguments(["images", "pull", image])
                emit(.command((["ctr"] + arguments).joined(separator: " ")))
                let result = try await context.shell.run(ctr, arguments, timeout: timeout)
                guard result.succeeded else {
                    return .commandFailed("cannot pull \(image): \(result.combinedOutput)\nWithout a registry, run with --offline to build the images here.")
                }
            }
        case .local:
            let builder = ImageBuilder(busybox: context.binaries.path("busybox"), tar: context.binaries.path("tar"), shell: context.shell)
            try FileManager.default.createDirectory(atPath: layout.images, withIntermediateDirectories: true)
            emit(.command("(in Swift) build OCI images \(images.pause) and \(images.web) from \(context.binaries.path("busybox"))"))
            for (name, build) in [(images.pause, builder.buildPause), (images.web, builder.buildWeb)] {
                // Built again once when every import of the archive missed a blob (see importImage).
                var result = CommandResult(status: 1, stdout: "", stderr: "", timedOut: false)
                for _ in 1...2 {
                    let image = try await build(name, layout.images)
                    result = try await importImage(context.ctrArguments([]), name: image.name, archive: image.archive, timeout: timeout)
                    if result.succeeded || !result.combinedOutput.contains("not found") { break }
                }
                guard result.succeeded else { return .commandFailed("ctr images import failed: \(result.combinedOutput)") }
            }
        }
        return .done("\(wanted.joined(separator: ", ")) ready in containerd")
    }

    /// `ctr images import` of an archive, once more when containerd reports one of its blobs "not found": a content
    /// race inside containerd, seen about once in a few dozen imports here (2026-12-06: node-2's copy, and a
    /// restore's import right after containerd started), which a second import of the same archive does not meet.
    func importImage(_ ctrOptions: [String], name: String, archive: String, timeout: Double) async throws -> CommandResult {
        let base = String(name.split(separator: ":").first ?? "")
        let arguments = ctrOptions + ["images", "import", "--base-name", base, "--index-name", name, archive]
        var result = CommandResult(status: 1, stdout: "", stderr: "", timedOut: false)
        for attempt in 1...3 {
            emit(.command((["ctr"] + arguments).map(shellQuoted).joined(separator: " ")))
            result = try await context.shell.run(context.binaries.ctr, arguments, timeout: timeout)
            guard !result.succeeded, attempt < 3, result.combinedOutput.contains("not found") else { break }
            emit(.note("the import missed a blob (\(result.combinedOutput.split(separator: "\n").first ?? "")): importing again"))
            try await Task.sleep(for: .milliseconds(500))
        }
        return result
    }

    func start(_ component: ComponentID, mode: KubeletMode) async throws -> ActionResult {
        if let worker = component.worker, !workerHost(worker).exists {
            return .commandFailed("\(worker.name)'s machine does not exist yet (its network namespace \(workerPlanner(worker).network.namespacePath)): run the step `worker: machine` for it first")
        }
        let plan = context.planner.plan(component, kubeletMode: mode)
        if let record = context.supervisor.runningRecord(component) {
            if record.arguments == plan.arguments && record.executable == plan.executable {
                emit(.note("\(component.name) is already running (pid \(record.pid)) with this command line"))
                return await awaitHealthy(plan) ?? .done("already running, healthy")
            }
            emit(.note("\(component.name) runs with another command line (pid \(record.pid)): stopping it first"))
            await context.supervisor.stop(component)
        }
        try HostSnapshot.recordIfAbsent(layout: layout)
        for file in plan.files { try writeFile(file.path, contents: file.contents, mode: file.mode) }
        for directory in [layout.staticPods, layout.kubeletRoot, layout.volumePlugins, layout.run, layout.cniIPAMDir] {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        }
        emit(.command(plan.commandLine))
        for file in plan.files {
            emit(.output("── \(file.path)\n\(file.contents.trimmingCharacters(in: .newlines))"))
        }
        // A worker's kubelet only ever joins the cluster.
        let kubeletMode: KubeletMode? = component.program != .kubelet ? nil : component.isOnWorker ? .cluster : mode
        let record = try context.supervisor.start(plan, kubeletMode: kubeletMode)
        emit(.note("\(component.name) started, pid \(record.pid), log \(record.logFile)"))
        if let failure = await awaitHealthy(plan) { return failure }
        return .done("\(component.name) is healthy (\(plan.health))")
    }

    /// nil when healthy in time; otherwise a failure with what we waited for and the end of the log.
    func awaitHealthy(_ plan: ComponentPlan) async -> ActionResult? {
        let started = Date()
        var lastSaid = Date.distantPast
        var last = ""
        while Date().timeIntervalSince(started) < plan.startTimeoutSeconds {
            if let record = context.supervisor.record(plan.component), !context.supervisor.isAlive(record) {
                return .commandFailed(context.supervisor.crash(of: record).description)
            }
            let problem = await plan.health.probe()
            // A probe cut short by Ctrl-C says nothing about health: stop here, not after the start timeout.
            if Task.isCancelled { return .commandFailed("interrupted") }
            guard let problem else { return nil }
            last = problem
            if Date().timeIntervalSince(lastSaid) >= 1 {
                emit(.waiting("\(plan.component.name): \(plan.health) (\(problem))", elapsed: Date().timeIntervalSince(started)))
                lastSaid = Date()
            }
            try? await Task.sleep(for: .milliseconds(250))
        }
        return .commandFailed("""
            \(plan.component.name) was not healthy after \(Int(plan.startTimeoutSeconds)) s: \(plan.health) said \(last).
            Last lines of \(layout.log(plan.component)):
            \(context.supervisor.logTail(plan.component))
            """)
    }

    func stop(_ component: ComponentID) async -> ActionResult {
        guard let record = context.supervisor.record(component) else { return .done("\(component.name) was not running") }
        emit(.command("kill -TERM -\(record.pid)   # \(component.name)'s process group; KILL after 10 s"))
        await context.supervisor.stop(component)
        return .done("\(component.name) stopped")
    }
}

public enum EngineError: Error, CustomStringConvertible {
    case missingAsset(String)
    public var description: String {
        switch self {
        case .missingAsset(let path): "missing manifest \(path): is the assets/ folder complete?"
        }
    }
}

final class StageClock: @unchecked Sendable {
    private let lock = NSLock()
    private var date: Date?
    var started: Date? { lock.withLock { date } }
    func mark() { lock.withLock { date = Date() } }
}
