import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

/// Gathers the facts `doctor` judges, from /proc, /sys and the programs' own `--version`.
public enum HostInspector {
    public static func report(binaries: BinaryPaths, stateRoot: String, shell: Shell, ignoringPIDs: Set<Int32> = []) async -> HostReport {
        var name = utsname()
        uname(&name)
        let os = withUnsafeBytes(of: name.sysname) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        let machine = withUnsafeBytes(of: name.machine) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
        var programs = binaries.programs
        for tool in ["conntrack"] where programs[tool] == nil { programs[tool] = shell.which(tool) }
        var versions: [String: KubernetesVersion] = [:]
        for program in ["kubelet", "kube-apiserver", "kube-proxy", "kube-scheduler", "kube-controller-manager", "containerd", "etcd"] {
            if let path = programs[program], let version = try? await HostFacts.version(of: path, shell: shell) { versions[program] = version }
        }
        var kubectl: KubernetesVersion?
        if let path = programs["kubectl"], let result = try? await shell.run(path, ["version", "--client", "-o", "json"], timeout: 20),
           let data = result.stdout.data(using: .utf8),
           let json = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
           let client = json["clientVersion"] as? [String: Any], let git = client["gitVersion"] as? String {
            kubectl = KubernetesVersion(parsing: git)
        }
        return HostReport(
            os: os, architecture: machine, isRoot: geteuid() == 0, cgroupVersion: HostFacts.cgroupVersion(),
            cgroupControllers: cgroupControllers(), swapDevices: swapDevices(),
            ipForward: (try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_forward", encoding: .utf8)).map { $0.hasPrefix("1") },
            bridgeNetfilterLoaded: FileManager.default.fileExists(atPath: "/proc/sys/net/bridge/bridge-nf-call-iptables"),
            programsFound: programs, portHolders: listeners(ports: Doctor.ports, ignoring: ignoringPIDs),
            systemContainerd: HTTPProbe.unixSocketAccepts("/run/containerd/containerd.sock"),
            freeDiskBytes: freeBytes(near: stateRoot), versions: versions, kubectlVersion: kubectl,
            cniBinDir: binaries.cniBinDir,
            cniPluginsFound: Set(BinaryPaths.requiredCNIPlugins.filter { FileManager.default.isExecutableFile(atPath: "\(binaries.cniBinDir)/\($0)") }),
            busyboxStatic: programs["busybox"].flatMap(isStatic),
            hostNRISocket: FileManager.default.fileExists(atPath: "/var/run/nri/nri.sock"))
    }

    /// The same rule ImageBuilder applies before it copies busybox into the images; nil when unreadable.
    static func isStatic(_ path: String) -> Bool? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let head = try? handle.read(upToCount: StaticExecutable.headLength), !head.isEmpty else { return nil }
        return StaticExecutable.isStatic(head: Array(head))
    }

    static func cgroupControllers() -> [String] {
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/cgroup.controllers", encoding: .utf8) {
            return text.split(whereSeparator: { $0 == " " || $0 == "\n" }).map(String.init)
        }
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/fs/cgroup")) ?? []
        return Array(Set(entries.flatMap { $0.split(separator: ",").map(String.init) }))
    }

    static func swapDevices() -> Int {
        let text = (try? String(contentsOfFile: "/proc/swaps", encoding: .utf8)) ?? ""
        return max(0, text.split(separator: "\n").count - 1)
    }

    static func freeBytes(near path: String) -> Int64? {
        var folder = path
        while !FileManager.default.fileExists(atPath: folder), folder != "/" { folder = (folder as NSString).deletingLastPathComponent }
        var info = statvfs()
        guard statvfs(folder, &info) == 0 else { return nil }
        return Int64(info.f_bavail) * Int64(info.f_frsize)
    }

    /// Which process listens on each of these TCP ports (IPv4 and IPv6), read from /proc/net and /proc/*/fd.
    public static func listeners(ports: [Int], ignoring: Set<Int32> = []) -> [Int: String] {
        var inodes: [String: Int] = [:]
        for file in ["/proc/net/tcp", "/proc/net/tcp6"] {
            let text = ProcFile.text(file) ?? ""
            for line in text.split(separator: "\n").dropFirst() {
                let fields = line.split(separator: " ", omittingEmptySubsequences: true)
                guard fields.count > 9, fields[3] == "0A", let colon = fields[1].lastIndex(of: ":"),
                      let port = Int(fields[1][fields[1].index(after: colon)...], radix: 16), ports.contains(port) else { continue }
                inodes[String(fields[9])] = port
            }
        }
        guard !inodes.isEmpty else { return [:] }
        var holders: [Int: String] = [:]
        for pid in ProcessTable.allPIDs() {
            let fdFolder = "/proc/\(pid)/fd"
            for fd in (try? FileManager.default.contentsOfDirectory(atPath: fdFolder)) ?? [] {
                guard let target = try? FileManager.default.destinationOfSymbolicLink(atPath: "\(fdFolder)/\(fd)"),
                      target.hasPrefix("socket:["), let port = inodes[String(target.dropFirst(8).dropLast())] else { continue }
                if ignoring.contains(pid) { inodes = inodes.filter { $0.value != port }; continue }
                let command = (ProcessTable.commandLine(pid).first ?? "?").split(separator: "/").last.map(String.init) ?? "?"
                holders[port] = "\(command) (pid \(pid))"
            }
        }
        // A listening socket whose owner we cannot see is still in use.
        for (_, port) in inodes where holders[port] == nil { holders[port] = "another process" }
        return holders
    }
}
