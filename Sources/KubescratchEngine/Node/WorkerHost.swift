import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// Makes and removes a worker's "machine" on this host, for any worker: its folder and credentials, cgroup parent,
/// network namespace, link and routes (WorkerNetwork), and the teardown in the order that leaves the host clean
/// (WorkerPlanner.TeardownPhase). The engine's steps and `reset` both remove a worker through `remove`.
public struct WorkerHost: Sendable {
    public let planner: WorkerPlanner
    let supervisor: Supervisor
    let shell: Shell
    let say: @Sendable (String) -> Void

    public init(planner: WorkerPlanner, supervisor: Supervisor, shell: Shell = Shell(), say: @escaping @Sendable (String) -> Void) {
        self.planner = planner
        self.supervisor = supervisor
        self.shell = shell
        self.say = say
    }

    /// For `reset`, which knows only the state folder: the removal needs only paths under it and the network plan,
    /// which follows from the worker's number, nothing of the versions or the node's facts.
    public static func removal(_ worker: WorkerNode, layout: StateLayout, say: @escaping @Sendable (String) -> Void) -> WorkerHost {
        let unknown = KubernetesVersion(0, 0, 0)
        let facts = NodeFacts(nodeName: "", nodeIP: "", cgroupVersion: 0, kubernetes: unknown, containerd: unknown, etcd: unknown)
        let first = ComponentPlanner(facts: facts, layout: layout, binaries: BinaryPaths(programs: [:], cniBinDir: ""), sandboxImage: "")
        return WorkerHost(planner: WorkerPlanner(worker, first: first), supervisor: Supervisor(layout: layout), say: say)
    }

    /// The workers with anything on this host: a folder `<state>/node-N` (made before anything else of it) or a
    /// namespace `ks-node-N`. Nothing else records them, so a crash or a reboot cannot lose one.
    public static func present(layout: StateLayout) -> [WorkerNode] {
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: layout.root)) ?? []
        let namespaces = ((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
            .filter { $0.hasPrefix("ks-") }.map { String($0.dropFirst(3)) }
        return Set((folders + namespaces).compactMap { WorkerNode(name: $0) }).sorted()
    }

    /// Something of the worker is on this host: its namespace, or its folder.
    public var anythingLeft: Bool { exists || FileManager.default.fileExists(atPath: layout.root) }

    var worker: WorkerNode { planner.worker }
    var name: String { planner.worker.name }

    /// The other workers' networks: their routes to this worker's pods come and go with its own.
    func others() -> [WorkerNetwork] {
        Self.present(layout: planner.first.layout).filter { $0 != worker }.map { WorkerNetwork($0, cluster: planner.first.network) }
    }

    var network: WorkerNetwork { planner.network }
    var layout: StateLayout { planner.layout }

    public var exists: Bool { FileManager.default.fileExists(atPath: network.namespacePath) }

    /// `ip` and `nsenter` by absolute path.
    func resolved(_ program: String) -> String {
        program.hasPrefix("/") ? program : SystemProgram.path(program) ?? program
    }

    /// Runs one planned command; a failure is an error unless its message says there was nothing to remove.
    @discardableResult
    func run(_ command: PlannedCommand, alreadyGone: [String] = []) async throws -> String {
        let line = ([command.program] + command.arguments).map(shellQuoted).joined(separator: " ")
        say("$ " + line)
        let result = try await shell.run(resolved(command.program), command.arguments.enumerated().map { index, word in
            // nsenter's program (the word after --net=…) also by absolute path.
            index == 1 && command.program.hasSuffix("nsenter") ? resolved(word) : word
        }, timeout: 30)
        if result.succeeded { return result.stdout }
        if !alreadyGone.isEmpty, alreadyGone.contains(where: { result.stderr.contains($0) }) { return "" }
        throw WorkerError.commandFailed(line, result.combinedOutput)
    }

    // MARK: the machine

    /// Folder, credentials, cgroup parent, namespace, link, default route, forwarding and the guard routes.
    /// Anything of an earlier node-2 is removed first, so this can run again after a failure.
    public func make(caCertificatePEM: String, caKeyPEM: String, cgroupVersion: Int) async throws {
        if anythingLeft {
            say("an earlier \(name) is still here: removing it first")
            await remove(kubectl: nil)
        }
        let fm = FileManager.default
        for folder in [layout.root, layout.staticPods, layout.kubeletRoot, layout.volumePlugins, layout.run, layout.cniIPAMDir] {
            try fm.createDirectory(atPath: folder, withIntermediateDirectories: true)
        }
        let credentials = try planner.credentials(caCertificatePEM: caCertificatePEM, caKeyPEM: caKeyPEM)
        for file in credentials { try file.write() }
        say("wrote \(name)'s certificates and kubeconfigs (\(credentials.count) files, signed by the cluster CA) under \(layout.root)")
        for folder in planner.cgroupFolders(cgroupVersion: cgroupVersion, v1Hierarchies: Self.cgroupV1Hierarchies()) {
            try makeCgroup(folder)
        }
        say("made the cgroup parent \(planner.cgroupParent) in every hierarchy: \(name)'s pods go under \(planner.kubepodsCgroup)")
        for step in network.setup {
            try await run(step.command)
        }
        if planner.usesMountNamespace { try await makeMountNamespace() }
    }

    /// Before 1.29: the worker's own /var/log/pods and /var/log/containers, inside a mount namespace its containerd and
    /// kubelet enter (WorkerPlanner.usesMountNamespace says why).
    func makeMountNamespace() async throws {
        let fm = FileManager.default
        try fm.createDirectory(atPath: planner.mountNamespaceFolder, withIntermediateDirectories: true)
        for folder in planner.ownHostFolders {
            try fm.createDirectory(atPath: folder.own, withIntermediateDirectories: true)
            // The host's folder is the mount point; node-1's kubelet made them all long before stage 6, and reset
            // removes them when they were not here before the first component started.
            try fm.createDirectory(atPath: folder.host, withIntermediateDirectories: true)
        }
        guard fm.createFile(atPath: planner.mountNamespaceFile, contents: nil) else {
            throw WorkerError.commandFailed("create \(planner.mountNamespaceFile)", "could not create the file")
        }
        for command in planner.mountNamespaceSetup { try await run(command) }
        say("\(name)'s containerd and kubelet share a mount namespace (\(planner.mountNamespaceFile)) in which "
            + planner.ownHostFolders.map { "\($0.host) is \($0.own)" }.joined(separator: " and ")
            + ": each kubelet cleans up only its own pods' logs and device-plugin sockets")
    }

    /// A cgroup v1 cpuset folder starts with no CPUs and memory nodes: its children could run nowhere, so it gets
    /// its parent's, as runc does for the folders it makes.
    func makeCgroup(_ folder: String) throws {
        if !FileManager.default.fileExists(atPath: folder) {
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: false)
        }
        let parent = (folder as NSString).deletingLastPathComponent
        for file in ["cpuset.cpus", "cpuset.mems"] where FileManager.default.fileExists(atPath: "\(folder)/\(file)") {
            let current = (try? String(contentsOfFile: "\(folder)/\(file)", encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
            if current?.isEmpty ?? true, let value = try? String(contentsOfFile: "\(parent)/\(file)", encoding: .utf8) {
                try value.write(toFile: "\(folder)/\(file)", atomically: false, encoding: .utf8)
            }
        }
    }

    /// Mount points of the cgroup v1 hierarchies (each controller's own folder, not the cpu → cpu,cpuacct links).
    public static func cgroupV1Hierarchies() -> [String] { cgroupMounts(types: ["cgroup"]) }

    /// Every cgroup mount, v1 and v2: on a hybrid host runc also makes each container's folder in the v2 "unified"
    /// mount, so node-2's parent appears there too, though only the v1 folders are made by hand.
    static func cgroupMounts(types: Set<String> = ["cgroup", "cgroup2"]) -> [String] {
        guard let text = ProcFile.text("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            // "… <mount point> <options> … - <fstype> <source> <super options>"
            let halves = line.components(separatedBy: " - ")
            guard halves.count == 2, let type = halves[1].split(separator: " ").first, types.contains(String(type)),
                  let point = halves[0].split(separator: " ").dropFirst(4).first else { return nil }
            return Reset.decodeOctal(String(point))
        }
    }

    public func addPodRoutes() async throws {
        for step in network.podRoutes(others: others()) { try await run(step.command) }
    }

    public func removePodRoutes() async throws {
        for command in network.removePodRoutes(others: others()) { try await run(command.command, alreadyGone: command.alreadyGone) }
    }

    /// Whether its pod routes exist: the host's to the worker's pods, the worker's to node-1's.
    public func podRoutesExist() async -> Bool {
        guard exists else { return false }
        let host = (try? await shell.run(resolved("ip"), ["route", "show", network.podSubnet], timeout: 5))?.stdout ?? ""
        let node2 = (try? await shell.run(resolved("ip"), ["-n", network.namespace, "route", "show", network.cluster.podSubnet], timeout: 5))?.stdout ?? ""
        return host.contains("via \(network.nodeAddress)") && node2.contains("via \(network.hostAddress)")
    }

    // MARK: removing it

    /// Every phase, each tolerant of its object being gone already; `kubectl` (when the API server runs) deletes
    /// node-2's pods first and its Node object after its kubelet stopped.
    public func remove(kubectl: (@Sendable ([String]) async -> Void)?) async {
        for phase in WorkerPlanner.TeardownPhase.allCases {
            switch phase {
            case .deletePods:
                guard let kubectl else { continue }
                say("delete \(name)'s pods")
                await kubectl(["delete", "pods", "--all-namespaces", "--field-selector", "spec.nodeName=\(name)",
                               "--grace-period=0", "--force", "--ignore-not-found"])
            case .stopKubeProxy: await stop(ComponentID(.kubeProxy, on: worker))
            case .stopKubelet: await stop(ComponentID(.kubelet, on: worker))
            case .killShims:
                let sockets = HostCleanup.shimSockets(containerdState: layout.containerdState)
                let killed = killShimsAndContainers()
                if killed > 0 { say("kill \(killed) shim(s) and container process(es) of \(name)'s containerd") }
                let removed = HostCleanup.removeShimSockets(sockets)
                if removed > 0 { say("remove \(removed) socket(s) \(name)'s shims left in /run/containerd/s") }
            case .stopContainerd: await stop(ComponentID(.containerd, on: worker))
            case .unmount:
                let count = HostCleanup.unmountEverything(under: layout.root)
                if count > 0 { say("unmount \(count) mount(s) under \(layout.root)") }
            case .deleteNode:
                guard let kubectl else { continue }
                say("delete the Node object \(name)")
                await kubectl(planner.deleteNodeArguments)
            case .network:
                let others = others()
                for command in network.teardown(others: others) + (others.isEmpty ? [network.hostGuardRemoval] : []) {
                    do { try await run(command.command, alreadyGone: command.alreadyGone) } catch { say("\(error)") }
                }
                HostCleanup.restoreNetnsFolder(snapshot: HostSnapshot.load(layout: planner.first.layout), say: say)
            case .cgroups:
                let removed = HostCleanup.removeCgroups(under: cgroupRoots())
                if removed > 0 { say("remove \(removed) cgroup folder(s) under \(planner.cgroupParent)") }
            }
        }
        removeCNIResults()
        if FileManager.default.fileExists(atPath: layout.root) {
            do {
                try FileManager.default.removeItem(atPath: layout.root)
                say("remove \(layout.root)")
            } catch {
                say("could not remove \(layout.root): \(error)")
            }
        }
    }

    func stop(_ component: ComponentID) async {
        guard let record = supervisor.record(component) else { return }
        say("stop \(component.name) (pid \(record.pid))")
        await supervisor.stop(component, grace: 5)
    }

    /// The worker's shims name its socket; its containers live in its own kubepods cgroups.
    func killShimsAndContainers() -> Int {
        var killed = Set<Int32>()
        for pid in ProcessTable.allPIDs() where ProcessTable.commandLine(pid).contains(where: { $0.contains(layout.containerdSocket) }) {
            if ProcessTable.commandLine(pid).first?.contains("containerd-shim") == true {
                kill(pid, SIGKILL)
                killed.insert(pid)
            }
        }
        killed.formUnion(HostCleanup.killProcesses(inCgroupsUnder: cgroupRoots()))
        return killed.count
    }

    /// The worker's cgroup parent in every hierarchy.
    func cgroupRoots() -> [String] { Self.cgroupMounts().map { $0 + planner.cgroupParent } }

    /// containerd 1.x keeps CNI results in the host's /var/lib/cni/results, named by network: each worker's have its own.
    func removeCNIResults() {
        let folder = "/var/lib/cni/results"
        let prefix = planner.clusterNetwork.cniNetworkName + "-"
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] where entry.hasPrefix(prefix) {
            try? FileManager.default.removeItem(atPath: "\(folder)/\(entry)")
        }
    }
}

public enum WorkerError: Error, CustomStringConvertible {
    case commandFailed(String, String)
    public var description: String {
        switch self {
        case .commandFailed(let command, let output): "\(command) failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))"
        }
    }
}
