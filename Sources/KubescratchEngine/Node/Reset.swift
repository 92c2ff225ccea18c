import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// Removes every trace of kubescratch: processes, containers and their shims, mounts, cgroups, the bridge and
/// veths, iptables chains, sysctl changes, host paths the components created, and the state folder.
/// Works from any state, including after a crash of the kubelet or containerd (docs/v1.20.md, P16).
public struct Reset: Sendable {
    public let layout: StateLayout
    public let bridge: String
    let say: @Sendable (String) -> Void

    public init(layout: StateLayout, bridge: String = ClusterNetwork().bridge, say: @escaping @Sendable (String) -> Void) {
        self.layout = layout
        self.bridge = bridge
        self.say = say
    }

    /// Removes everything; returns how long each phase took (`reset --verbose` prints them).
    @discardableResult
    public func run() async -> [(phase: String, seconds: Double)] {
        var phases: [(phase: String, seconds: Double)] = []
        var mark = Date()
        func lap(_ phase: String) {
            phases.append((phase, Date().timeIntervalSince(mark)))
            mark = Date()
        }
        let supervisor = Supervisor(layout: layout)
        let snapshot = HostSnapshot.load(layout: layout)

        // Stage 6's workers first: a namespace must lose its processes before it can go.
        let workers = WorkerHost.present(layout: layout)
        for worker in workers {
            let host = WorkerHost.removal(worker, layout: layout, say: say)
            if host.anythingLeft { await host.remove(kubectl: nil) }
        }
        if !workers.isEmpty { lap("\(workers.map(\.name).joined(separator: ", ")) (components, routes, links, namespaces)") }

        // Control plane and node agents at once (none waits for another to stop), containerd last: it holds the
        // containers.
        await withTaskGroup(of: Void.self) { group in
            for component in supervisor.recordedComponents().reversed() where component != .containerd {
                guard let record = supervisor.record(component) else { continue }
                say("stop \(component.name) (pid \(record.pid))")
                // Everything it wrote is about to be deleted: no shutdown worth waiting for.
                group.addTask { await supervisor.stop(component, grace: 0.3) }
            }
        }
        lap("stop the control plane and node agents, together")
        if let record = supervisor.record(.containerd) {
            say("stop containerd (pid \(record.pid))")
            await supervisor.stop(.containerd, grace: 5)
        }
        lap("stop containerd")

        let shimSockets = HostCleanup.shimSockets(containerdState: layout.containerdState)
        // Shims keep containers alive without containerd; ours name our socket on their command line.
        let shims = ProcessTable.allPIDs().filter { pid in
            let words = ProcessTable.commandLine(pid)
            return (words.first ?? "").contains("containerd-shim") && words.contains(layout.containerdSocket)
        }
        var killed = shims
        if !shims.isEmpty {
            say("kill \(shims.count) containerd shim(s) of our containerd")
            for pid in shims { kill(pid, SIGKILL) }
        }
        let sockets = HostCleanup.removeShimSockets(shimSockets)
        if sockets > 0 { say("remove \(sockets) socket(s) our shims left in /run/containerd/s") }
        let podProcesses = HostCleanup.killProcesses(inCgroupsUnder: cgroupRoots())
        killed += Array(podProcesses)
        if !podProcesses.isEmpty { say("kill \(podProcesses.count) leftover container process(es) in the kubepods cgroups") }
        // Anything still running from our state folder (a component whose record was lost).
        for pid in ProcessTable.allPIDs() {
            let words = ProcessTable.commandLine(pid)
            if words.contains(where: { $0.contains(layout.root + "/") }) && pid != getpid() {
                say("kill pid \(pid): \(words.first ?? "?") uses \(layout.root)")
                kill(pid, SIGKILL)
                killed.append(pid)
            }
        }
        // Until they are gone (or zombies: this machine's init may not reap orphans), at most a second: what they
        // held open must be closed before the unmounts.
        let deadline = Date().addingTimeInterval(1)
        while Date() < deadline, killed.contains(where: { kill($0, 0) == 0 && ProcessTable.state($0) != "Z" }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        lap("kill shims and leftover container processes")

        let unmounted = HostCleanup.unmountEverything(under: layout.root)
        if unmounted > 0 { say("unmount \(unmounted) mount(s) under \(layout.root) (container root filesystems, pod network namespaces, volumes)") }
        let cgroups = HostCleanup.removeCgroups(under: cgroupRoots())
        if cgroups > 0 { say("remove \(cgroups) kubepods cgroup folder(s)") }

        lap("unmount and remove cgroups")

        removeBridge()
        let chains = IPTables.removeOurChains(keep: Set(snapshot?.chains ?? []))
        if !chains.isEmpty { say("remove \(chains.count) iptables chain(s) (KUBE-*, CNI-*) and the rules that jump to them") }
        // The table an interrupted `kubescratch trace --method nftrace` left (only ever ours: NFTTracePlan.table).
        if let nft = SystemProgram.path("nft"),
           (try? await Shell().run(nft, ["list", "table", "ip", NFTTracePlan.table], timeout: 5))?.succeeded == true {
            _ = try? await Shell().run(nft, ["-f", "-"], timeout: 5, stdin: NFTTracePlan(host: "", port: 0).teardown)
            say("remove the nftables table \(NFTTracePlan.table) a trace left")
        }
        lap("the bridge, veths and iptables chains")

        if let snapshot {
            for (name, value) in snapshot.sysctls.sorted(by: { $0.key < $1.key }) {
                let path = "/proc/sys/\(name)"
                let now = (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines)
                if let now, now != value {
                    say("restore sysctl \(name.replacingOccurrences(of: "/", with: ".")) = \(value) (was \(now))")
                    try? value.write(toFile: path, atomically: false, encoding: .utf8)
                }
            }
            HostCleanup.restoreNetnsFolder(snapshot: snapshot, say: say)
            for path in HostSnapshot.hostPaths where snapshot.knewAbsent(path) && FileManager.default.fileExists(atPath: path) {
                if path == "/run/containerd", otherContainerdUses(path) { continue }
                // Only ever emptied and removed by restoreNetnsFolder: other namespaces' files may be in it.
                if path == "/run/netns" { continue }
                // Made after our snapshot but served by someone else (a system runtime started since): theirs.
                if path == "/var/run/nri", otherContainerdUses(path) || HTTPProbe.unixSocketAccepts("/var/run/nri/nri.sock") { continue }
                say("remove \(path) (created by the components)")
                try? FileManager.default.removeItem(atPath: path)
            }
        }
        if FileManager.default.fileExists(atPath: layout.root) {
            say("remove \(layout.root)")
            do {
                try FileManager.default.removeItem(atPath: layout.root)
            } catch {
                say("could not remove \(layout.root) entirely: \(error). Something may still be mounted there: check `grep \(layout.root) /proc/self/mountinfo`.")
            }
        }
        lap("sysctls, host paths and the state folder")
        return phases
    }

    /// A system containerd keeps its own things in /run/containerd: never remove it from under it.
    func otherContainerdUses(_ path: String) -> Bool {
        ProcessTable.allPIDs().contains { pid in
            let words = ProcessTable.commandLine(pid)
            return (words.first ?? "").hasSuffix("containerd") && !words.contains(layout.containerdConfig)
        }
    }

    func cgroupRoots() -> [String] {
        let base = "/sys/fs/cgroup"
        if FileManager.default.fileExists(atPath: "\(base)/cgroup.controllers") { return ["\(base)/kubepods"] }
        let controllers = (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? []
        return controllers.map { "\(base)/\($0)/kubepods" }
    }

    /// Mount points under a folder, read from /proc/self/mountinfo (octal escapes decoded).
    public static func mountPoints(under root: String) -> [String] {
        guard let text = ProcFile.text("/proc/self/mountinfo") else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let fields = line.split(separator: " ")
            guard fields.count > 4 else { return nil }
            let point = decodeOctal(String(fields[4]))
            return point == root || point.hasPrefix(root + "/") ? point : nil
        }
    }

    static func decodeOctal(_ text: String) -> String {
        guard text.contains("\\") else { return text }
        var bytes: [UInt8] = []
        var chars = Array(text.utf8)[...]
        while let c = chars.first {
            if c == UInt8(ascii: "\\"), chars.count >= 4, let value = UInt8(String(decoding: chars.dropFirst().prefix(3), as: UTF8.self), radix: 8) {
                bytes.append(value)
                chars = chars.dropFirst(4)
            } else {
                bytes.append(c)
                chars = chars.dropFirst()
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    func removeBridge() {
        guard FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)") else { return }
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif")) ?? []
        for port in ports {
            say("delete veth \(port)")
            _ = IPTables.run("ip", ["link", "delete", port])
        }
        say("delete bridge \(bridge)")
        _ = IPTables.run("ip", ["link", "delete", bridge])
    }
}
