import Foundation
import KubescratchCore

/// Stage-boundary snapshots (StageSnapshot): kept when a stage ends, restored to move a node forward in seconds.
/// They live beside the binaries' cache and, like it, outlive `reset` (`reset --snapshots` removes them).
extension Tutorial {
    /// XDG_CACHE_HOME/kubescratch/snapshots, else ~/.cache/kubescratch/snapshots.
    static var snapshotRoot: String { StateLayout.defaultCache(environment: ProcessInfo.processInfo.environment) + "/snapshots" }

    /// The key is in the name: a folder found is a snapshot of these lessons, binaries and node.
    static func snapshotFolder(stage: Int, key: String) -> String { "\(snapshotRoot)/stage-\(stage)-\(key)" }

    /// The texts of the lessons up to that stage and of every asset, with the node's facts: see StageSnapshot.key.
    func snapshotKey(endOf stage: Int) -> String? {
        var lessons: [String] = []
        for number in 1...stage {
            guard let file = book.stage(number)?.file, let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
            lessons.append(text)
        }
        let assetNames = ((try? FileManager.default.contentsOfDirectory(atPath: context.assetsDir)) ?? []).sorted()
        let assets = assetNames.compactMap { name in (try? String(contentsOfFile: "\(context.assetsDir)/\(name)", encoding: .utf8)).map { name + "\n" + $0 } }
        // This kubescratch itself: another build may make a stage's objects differently.
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
        let program = (try? FileManager.default.attributesOfItem(atPath: executable)).map { attributes in
            "\(attributes[.size] ?? 0) \((attributes[.modificationDate] as? Date)?.timeIntervalSince1970 ?? 0)"
        } ?? ""
        return StageSnapshot.key(facts: context.facts, images: context.imageSource, stage: stage, lessons: lessons,
                                 assets: assets + [program])
    }

    /// etcdctl: from the binaries' folder (a release brings it), else the system's (Debian: etcd-client).
    var etcdctl: String? {
        [context.binDir.map { $0 + "/etcdctl" }, SystemProgram.path("etcdctl")].compactMap { $0 }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// etcd 3.6 removed `etcdctl snapshot restore`; etcdutl (3.5+) does it. Before 3.5 only etcdctl can.
    var snapshotRestorer: (program: String, arguments: [String])? {
        let etcdutl = [context.binDir.map { $0 + "/etcdutl" }, SystemProgram.path("etcdutl")].compactMap { $0 }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
        if let etcdutl { return (etcdutl, []) }
        if let etcdctl, context.facts.etcd < KubernetesVersion(3, 6, 0) { return (etcdctl, []) }
        return nil
    }

    var etcdctlShell: Shell { Shell(extraEnvironment: ComponentPlanner.safetyEnvironment.merging(["ETCDCTL_API": "3"]) { $1 }) }

    /// After a stage's last step: keep its end. Costs about half a second (an etcd snapshot, a few MB of files);
    /// a failure only means the next replay runs the steps again.
    func keepSnapshot(of stage: Int) async {
        guard StageSnapshot.stages.contains(stage), let key = snapshotKey(endOf: stage), let etcdctl, snapshotRestorer != nil else { return }
        let folder = Self.snapshotFolder(stage: stage, key: key)
        let started = Date()
        let fm = FileManager.default
        let building = folder + ".new"
        try? fm.removeItem(atPath: building)
        do {
            try fm.createDirectory(atPath: building + "/files", withIntermediateDirectories: true)
            let saved = try await etcdctlShell.run(etcdctl, ["--endpoints=http://127.0.0.1:2379", "snapshot", "save", building + "/etcd.db"], timeout: 30)
            guard saved.succeeded else { throw ShellError.cannotStart("etcdctl snapshot save", saved.combinedOutput) }
            for name in StageSnapshot.folders where fm.fileExists(atPath: "\(layout.root)/\(name)") {
                let target = "\(building)/files/\(name)"
                try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
                try fm.copyItem(atPath: "\(layout.root)/\(name)", toPath: target)
            }
            let observer = NodeObserver(context: context, expected: [])
            let pods: [Pod] = (await observer.get("/api/v1/namespaces/default/pods") as KubeList<Pod>?)?.items ?? []
            let services: [Service] = (await observer.get("/api/v1/namespaces/default/services") as KubeList<Service>?)?.items ?? []
            let proxied = book.stage(stage)?.components.contains(.kubeProxy) == true
            let snapshot = StageSnapshot(
                stage: stage, key: key, taken: Date(),
                readyPods: pods.filter { $0.isReady && $0.metadata.deletionTimestamp == nil }.map(\.metadata.name).sorted(),
                services: proxied ? services.filter { $0.nodePort != nil }.map(\.metadata.name).sorted() : [])
            let encoder = JSONEncoder()
            encoder.dateEncodingStrategy = .iso8601
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try encoder.encode(snapshot).write(to: URL(fileURLWithPath: building + "/snapshot.json"))
            // Private keys are in it: root's alone, as the state folder.
            try fm.setAttributes([.posixPermissions: 0o700], ofItemAtPath: building)
            // One snapshot per stage: an older one (other lessons, binaries or node) is of no use any more.
            for old in (try? fm.contentsOfDirectory(atPath: Self.snapshotRoot)) ?? [] where old.hasPrefix("stage-\(stage)-") && !old.hasSuffix(".new") {
                try? fm.removeItem(atPath: "\(Self.snapshotRoot)/\(old)")
            }
            try fm.moveItem(atPath: building, toPath: folder)
            say(.note(String(format: "kept the end of stage %d for fast replays in %@ (%.1f s)", stage, folder, Date().timeIntervalSince(started))))
        } catch {
            try? fm.removeItem(atPath: building)
            say(.note("could not keep the end of stage \(stage) for fast replays (\(error)): a replay runs its steps instead"))
        }
    }

    func snapshot(endOf stage: Int) -> StageSnapshot? {
        guard StageSnapshot.stages.contains(stage), snapshotRestorer != nil, let key = snapshotKey(endOf: stage) else { return nil }
        let folder = Self.snapshotFolder(stage: stage, key: key)
        guard let data = FileManager.default.contents(atPath: folder + "/snapshot.json"),
              FileManager.default.fileExists(atPath: folder + "/etcd.db") else { return nil }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        guard let snapshot = try? decoder.decode(StageSnapshot.self, from: data), snapshot.key == key else { return nil }
        return snapshot
    }

    /// Brings an EMPTY node to the end of `snapshot.stage`: its files and etcd's keyspace back, each component
    /// started once what it needs is healthy, then the same pods Ready and the same Services' rules in
    /// place as when it was kept. Throws when any of it fails; the caller resets and runs the steps instead.
    func restore(_ snapshot: StageSnapshot) async throws {
        let stage = snapshot.stage
        let folder = Self.snapshotFolder(stage: stage, key: snapshot.key)
        guard let restorer = snapshotRestorer, etcdctl != nil,
              let lesson = book.stage(stage) else { throw TutorialError.stuck("no snapshot of stage \(stage)") }
        let fm = FileManager.default
        let started = Date()
        say(.note("restoring the end of stage \(stage), kept \(snapshot.taken.formatted(date: .abbreviated, time: .shortened)): "
                  + "etcd's keyspace and the generated files; the earlier stages' steps are not run again"))
        try fm.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
        // Cut short (Ctrl-C, a crash), the node is half way into this stage's end: the next start takes the stage
        // back with its rewind steps, as after any interrupted stage.
        try saveProgress(stage - 1, unfinished: stage)
        for name in StageSnapshot.folders where fm.fileExists(atPath: "\(folder)/files/\(name)") {
            let target = "\(layout.root)/\(name)"
            try? fm.removeItem(atPath: target)
            try fm.createDirectory(atPath: (target as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try fm.copyItem(atPath: "\(folder)/files/\(name)", toPath: target)
        }
        try? fm.removeItem(atPath: layout.etcdData)
        try fm.createDirectory(atPath: (layout.etcdData as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        let name = context.facts.nodeName
        let restoreArguments = restorer.arguments + ["snapshot", "restore", folder + "/etcd.db", "--data-dir=\(layout.etcdData)", "--name=\(name)",
                                                     "--initial-cluster=\(name)=http://127.0.0.1:2380",
                                                     "--initial-advertise-peer-urls=http://127.0.0.1:2380", "--initial-cluster-token=kubescratch"]
        say(.command(([(restorer.program as NSString).lastPathComponent] + restoreArguments).joined(separator: " ")))
        let restored = try await etcdctlShell.run(restorer.program, restoreArguments, timeout: 30)
        guard restored.succeeded else { throw TutorialError.stuck("etcd snapshot restore failed: \(restored.combinedOutput)") }

        let mode: KubeletMode = stage >= 2 ? .cluster : .standalone
        let components = lesson.components.filter { !$0.isOnWorker }
        // Each component starts once what it needs is healthy (StageSnapshot.startsAfter); the rest at once.
        let engine = self.engine
        let restoreStarted = Date()
        try await withThrowingTaskGroup(of: Void.self) { tasks in
            var started: [ComponentID: Task<Void, Error>] = [:]
            func start(_ component: ComponentID) -> Task<Void, Error> {
                if let task = started[component] { return task }
                let needs = StageSnapshot.startsAfter(component).filter(components.contains).map(start)
                let imagesFirst = component == .kubelet ? start(.containerd) : nil
                let task = Task {
                    for need in needs { try await need.value }
                    if imagesFirst != nil {
                        // The kubelet starts pods at once: the images must be in containerd by then.
                        if case .commandFailed(let why) = try await engine.prepareImages(timeout: 60) {
                            throw TutorialError.stuck("images: \(why)")
                        }
                    }
                    if case .commandFailed(let why) = try await engine.start(component, mode: mode) {
                        throw TutorialError.stuck("\(component.name): \(why)")
                    }
                    self.say(.note(String(format: "%@ healthy %.1f s into the restore", component.name, Date().timeIntervalSince(restoreStarted))))
                }
                started[component] = task
                return task
            }
            for component in components {
                let task = start(component)
                tasks.addTask { try await task.value }
            }
            do {
                try await tasks.waitForAll()
            } catch {
                for task in started.values { task.cancel() }
                throw error
            }
        }
        let waited = Date()
        try await awaitRestored(snapshot, since: restoreStarted)
        say(.note(String(format: "the node Ready, %d pods Ready again%@ in %.1f s", snapshot.readyPods.count,
                         snapshot.services.isEmpty ? "" : ", the Services' rules in place", Date().timeIntervalSince(waited))))
        try saveProgress(stage)
        say(.note(String(format: "the node is at the end of stage %d (restored in %.1f s)", stage, Date().timeIntervalSince(started))))
    }

    /// The node Ready, the same pods Ready, the Services' rules in place: what the next stage starts from.
    func awaitRestored(_ snapshot: StageSnapshot, since began: Date) async throws {
        let since = Date(timeIntervalSince1970: began.timeIntervalSince1970.rounded(.down))
        let observer = NodeObserver(context: context, expected: [])
        let deadline = Date().addingTimeInterval(120)
        var missing = "the node"
        var lastSaid = Date.distantPast
        while Date() < deadline {
            try Task.checkCancellation()
            var waiting: [String] = []
            // etcd still says what was true when the snapshot was taken: only what the kubelet reported since the
            // restore began counts (the API keeps conditions' times in whole seconds).
            let node: Node? = await observer.get("/api/v1/nodes/\(context.facts.nodeName)")
            if node?.isReady(since: since) != true { waiting.append("node \(context.facts.nodeName) Ready") }
            let pods: [Pod] = (await observer.get("/api/v1/namespaces/default/pods") as KubeList<Pod>?)?.items ?? []
            let notReady = snapshot.readyPods.filter { name in
                pods.first { $0.metadata.name == name }?.isReady(since: since) != true
            }
            if !notReady.isEmpty { waiting.append("pods Ready: \(notReady.joined(separator: ", "))") }
            if !snapshot.services.isEmpty {
                let nat = (try? await context.shell.run(SystemProgram.path("iptables-save") ?? "iptables-save", ["-t", "nat"], timeout: 10))?.stdout ?? ""
                let ruleless = snapshot.services.filter { !nat.contains("\"default/\($0):") }
                if !ruleless.isEmpty { waiting.append("kube-proxy's rules for \(ruleless.joined(separator: ", "))") }
            }
            if waiting.isEmpty { return }
            missing = waiting.joined(separator: "; ")
            if Date().timeIntervalSince(lastSaid) >= 1 {
                say(.waiting("restored node: waiting for \(missing)", elapsed: 120 - deadline.timeIntervalSinceNow))
                lastSaid = Date()
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw TutorialError.stuck("the restored node did not come back in 120 s: still waiting for \(missing)")
    }
}
