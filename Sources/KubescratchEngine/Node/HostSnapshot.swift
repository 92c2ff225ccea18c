import Foundation
import KubescratchCore

/// How the host looked before kubescratch started its first component: which host paths the components
/// write to already existed, the sysctls they change, and the iptables chains already there.
/// `reset` puts back exactly this (docs/v1.20.md, P12 and P13).
public struct HostSnapshot: Codable, Sendable, Equatable {
    public var existingPaths: [String]
    public var sysctls: [String: String]
    public var chains: [String]
    /// The host paths this snapshot looked at; nil in a snapshot taken before the list had `addedLater`.
    public var checkedPaths: [String]? = nil

    /// Which of `mountPointsWatched` were mount points; nil in a snapshot taken before it was recorded.
    public var mountedPaths: [String]? = nil

    /// Paths added to `hostPaths` after snapshots were first written: an older snapshot does not know whether they were there.
    static let addedLater = ["/var/run/nri", "/run/netns"]

    /// `ip netns add` (stage 6) makes /run/netns and binds it over itself, shared, when it is not a mount point yet
    /// (iproute2 ip/ipnetns.c netns_add); `ip netns del` leaves that mount.
    public static let mountPointsWatched = ["/run/netns"]

    /// Whether `path` was a mount point before the first component started; an older snapshot does not know (nil).
    public func wasMountPoint(_ path: String) -> Bool? { mountedPaths.map { $0.contains(path) } }

    /// Whether a path missing from `existingPaths` really was absent before the first component started.
    public func knewAbsent(_ path: String) -> Bool {
        !existingPaths.contains(path) && (checkedPaths?.contains(path) ?? !Self.addedLater.contains(path))
    }

    /// Paths outside our state folder that the components create themselves, whatever they are told.
    /// /var/run/nri: a containerd 2.x run with NRI on (someone's own config through --bin-dir) creates it; ours has
    /// NRI off. /run/containerd holds the shims' sockets (/run/containerd/s), which no config moves.
    public static let hostPaths = [
        "/var/lib/kubelet", "/var/log/pods", "/var/log/containers", "/var/lib/cni", "/run/containerd",
        "/usr/libexec/kubernetes", "/run/mount", "/etc/kubernetes", "/var/run/nri", "/run/netns",
    ]
    public static let sysctlNames = [
        "kernel/panic", "kernel/panic_on_oops", "vm/overcommit_memory", "net/ipv4/ip_forward",
        "net/ipv4/conf/all/route_localnet", "net/bridge/bridge-nf-call-iptables", "net/bridge/bridge-nf-call-ip6tables",
    ]

    public static func capture() -> HostSnapshot {
        var sysctls: [String: String] = [:]
        for name in sysctlNames {
            if let value = try? String(contentsOfFile: "/proc/sys/\(name)", encoding: .utf8) {
                sysctls[name] = value.trimmingCharacters(in: .whitespacesAndNewlines)
            }
        }
        return HostSnapshot(existingPaths: hostPaths.filter { FileManager.default.fileExists(atPath: $0) },
                            sysctls: sysctls, chains: IPTables.ourChainsPresent(), checkedPaths: hostPaths,
                            mountedPaths: mountPointsWatched.filter { Reset.mountPoints(under: $0).contains($0) })
    }

    public static func recordIfAbsent(layout: StateLayout) throws {
        guard !FileManager.default.fileExists(atPath: layout.hostSnapshot) else { return }
        try FileManager.default.createDirectory(atPath: layout.root, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(capture()).write(to: URL(fileURLWithPath: layout.hostSnapshot))
    }

    public static func load(layout: StateLayout) -> HostSnapshot? {
        guard let data = FileManager.default.contents(atPath: layout.hostSnapshot) else { return nil }
        return try? JSONDecoder().decode(HostSnapshot.self, from: data)
    }
}

/// The iptables chains kube-proxy, the kubelet and the CNI plugins create, in both address families.
public enum IPTables {
    public static let programs = ["iptables", "ip6tables"]
    public static let tables = ["filter", "nat", "mangle"]

    public static func isOurs(_ chain: String) -> Bool { chain.hasPrefix("KUBE-") || chain.hasPrefix("CNI-") }

    /// The chains only kube-proxy writes; the kubelet keeps its own (KUBE-FIREWALL, KUBE-MARK-*, KUBE-KUBELET-CANARY).
    public static func isKubeProxys(_ chain: String) -> Bool {
        let kubelets: Set = ["KUBE-FIREWALL", "KUBE-MARK-DROP", "KUBE-MARK-MASQ", "KUBE-KUBELET-CANARY"]
        return chain.hasPrefix("KUBE-") && !kubelets.contains(chain)
    }

    /// "iptables/nat/KUBE-SERVICES"-style names of every KUBE-*/CNI-* chain present now.
    public static func ourChainsPresent() -> [String] {
        var found: [String] = []
        for program in programs {
            for table in tables {
                for line in run(program, ["-w", "-t", table, "-S"]).split(separator: "\n") where line.hasPrefix("-N ") {
                    let chain = String(line.dropFirst(3))
                    if isOurs(chain) { found.append("\(program)/\(table)/\(chain)") }
                }
            }
        }
        return found
    }

    /// `iptables-restore --noflush -w` with that input; true when the transaction was applied.
    static func restore(_ program: String, _ input: String) -> Bool {
        guard let path = SystemProgram.path(program + "-restore") else { return false }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["--noflush", "-w"]
        let pipe = Pipe()
        process.standardInput = pipe
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        do { try process.run() } catch { return false }
        pipe.fileHandleForWriting.write(Data(input.utf8))
        try? pipe.fileHandleForWriting.close()
        process.waitUntilExit()
        return process.terminationStatus == 0
    }

    /// Synchronous and quiet: used while tearing down, when nothing else may run.
    static func run(_ program: String, _ arguments: [String]) -> String {
        let process = Process()
        guard let path = SystemProgram.path(program) else { return "" }
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch { return "" }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }

    /// Deletes every rule that jumps to one of our chains, then the chains. Chains in `keep` were there before us.
    /// One `iptables-restore --noflush` transaction per table (IPTablesRemoval); where that is refused, one command
    /// per rule and chain as before.
    @discardableResult
    public static func removeOurChains(keep: Set<String>, matching isTarget: (String) -> Bool = isOurs) -> [String] {
        var removed: [String] = []
        for program in programs {
            for table in tables {
                let removal = IPTablesRemoval(save: run(program + "-save", ["-t", table]), table: table) { chain in
                    isTarget(chain) && !keep.contains("\(program)/\(table)/\(chain)")
                }
                if removal.chains.isEmpty { continue }
                if restore(program, removal.restoreInput) {
                    removed += removal.chains.map { "\(program)/\(table)/\($0)" }
                    continue
                }
                let listing = run(program, ["-w", "-t", table, "-S"]).split(separator: "\n")
                let chains = listing.filter { $0.hasPrefix("-N ") || $0.hasPrefix("-P ") }
                    .map { String($0.split(separator: " ")[1]) }
                let ours = chains.filter { isTarget($0) && !keep.contains("\(program)/\(table)/\($0)") }
                guard !ours.isEmpty else { continue }
                let oursSet = Set(ours)
                // Rules elsewhere that jump into our chains, deleted by number from the bottom up.
                for chain in chains where !oursSet.contains(chain) {
                    let rules = run(program, ["-w", "-t", table, "-L", chain, "--line-numbers", "-n"]).split(separator: "\n").dropFirst(2)
                    let numbers = rules.compactMap { line -> Int? in
                        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                        guard fields.count > 1, oursSet.contains(String(fields[1])) else { return nil }
                        return Int(fields[0])
                    }
                    for number in numbers.sorted(by: >) {
                        _ = run(program, ["-w", "-t", table, "-D", chain, String(number)])
                    }
                }
                for chain in ours { _ = run(program, ["-w", "-t", table, "-F", chain]) }
                for chain in ours {
                    _ = run(program, ["-w", "-t", table, "-X", chain])
                    removed.append("\(program)/\(table)/\(chain)")
                }
            }
        }
        return removed
    }
}
