import Foundation
import KubescratchCore
#if canImport(Glibc)
import Glibc
#endif

public enum HostFactsError: Error, CustomStringConvertible {
    case noNodeAddress
    case noVersion(String, String)
    public var description: String {
        switch self {
        case .noNodeAddress:
            "cannot find this machine's IPv4 address (no default route). Give it with --node-ip ADDRESS."
        case .noVersion(let program, let output):
            "cannot tell the version of \(program): it printed \(output.isEmpty ? "nothing" : "'\(output.prefix(120))'")"
        }
    }
}

/// Reads what the plans need from this machine: names, addresses, cgroup version, versions of the binaries.
public enum HostFacts {
    public static func hostname() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        gethostname(&buffer, buffer.count)
        return String(cString: buffer).lowercased()
    }

    /// The IPv4 address of the interface that holds the default route (read from /proc, no packet sent).
    public static func defaultRouteAddress() -> String? {
        guard let routes = ProcFile.text("/proc/net/route") else { return nil }
        var interface: String?
        for line in routes.split(separator: "\n").dropFirst() {
            let fields = line.split(whereSeparator: { $0 == "\t" || $0 == " " })
            if fields.count > 2, fields[1] == "00000000" { interface = String(fields[0]); break }
        }
        guard let interface else { return nil }
        return ipv4Addresses()[interface]
    }

    public static func ipv4Addresses() -> [String: String] {
        var result: [String: String] = [:]
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return result }
        defer { freeifaddrs(list) }
        var cursor = list
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let address = entry.pointee.ifa_addr, address.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            if getnameinfo(address, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST) == 0 {
                let name = String(cString: entry.pointee.ifa_name)
                if result[name] == nil { result[name] = String(cString: host) }
            }
        }
        return result
    }

    public static func cgroupVersion() -> Int {
        // The unified hierarchy has cgroup.controllers at its root; v1 (and hybrid) hosts do not.
        FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cgroup.controllers") ? 2 : 1
    }

    public static func version(of program: String, shell: Shell, arguments: [String] = ["--version"]) async throws -> KubernetesVersion {
        let result = try await shell.run(program, arguments, timeout: 20)
        let text = result.stdout + result.stderr
        guard let version = KubernetesVersion(parsing: text) else { throw HostFactsError.noVersion(program, text) }
        return version
    }

    public static func gather(binaries: BinaryPaths, shell: Shell, nodeIP: String?) async throws -> NodeFacts {
        guard let ip = nodeIP ?? defaultRouteAddress() else { throw HostFactsError.noNodeAddress }
        return NodeFacts(
            nodeName: hostname(),
            nodeIP: ip,
            cgroupVersion: cgroupVersion(),
            kubernetes: try await version(of: binaries.path(.kubelet), shell: shell),
            containerd: try await version(of: binaries.path(.containerd), shell: shell),
            etcd: try await version(of: binaries.path(.etcd), shell: shell))
    }
}

/// Finds every program: the bin folder first, then PATH; CNI plugins in the usual folders.
public enum BinaryResolver {
    public static func resolve(binDir: String?, shell: Shell) -> BinaryPaths {
        var programs: [String: String] = [:]
        for program in BinaryPaths.required + ["crictl", "iptables", "ip6tables", "busybox", "tar", "mount", "umount"] + WorkerPlanner.requiredPrograms {
            if let binDir, FileManager.default.isExecutableFile(atPath: "\(binDir)/\(program)") {
                programs[program] = "\(binDir)/\(program)"
            } else if let found = shell.which(program) {
                programs[program] = found
            }
        }
        let candidates = [binDir.map { "\($0)/cni" }, binDir, "/opt/cni/bin", "/usr/lib/cni", "/usr/libexec/cni"].compactMap { $0 }
        let cni = candidates.first { FileManager.default.isExecutableFile(atPath: "\($0)/bridge") } ?? "/opt/cni/bin"
        return BinaryPaths(programs: programs, cniBinDir: cni)
    }

    /// Names of required programs that were not found.
    public static func missing(_ binaries: BinaryPaths) -> [String] {
        BinaryPaths.required.filter { binaries.programs[$0] == nil }
            + BinaryPaths.requiredCNIPlugins.filter { !FileManager.default.isExecutableFile(atPath: "\(binaries.cniBinDir)/\($0)") }
                .map { "CNI plugin \($0) (in \(binaries.cniBinDir))" }
    }
}
