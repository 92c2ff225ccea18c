import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The cleanup both `reset` and node-2's teardown do: a tree of cgroup folders (its processes killed, then the
/// folders removed, deepest first) and every mount under a folder.
enum HostCleanup {
    /// Every folder under these roots, deepest first (each root itself last of its tree).
    static func folders(under roots: [String]) -> [String] {
        var folders: [String] = []
        for root in roots where FileManager.default.fileExists(atPath: root) {
            var stack = [root]
            while let folder = stack.popLast() {
                folders.append(folder)
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] {
                    var isDirectory: ObjCBool = false
                    let full = "\(folder)/\(entry)"
                    if FileManager.default.fileExists(atPath: full, isDirectory: &isDirectory), isDirectory.boolValue {
                        stack.append(full)
                    }
                }
            }
        }
        return folders.sorted { $0.count > $1.count }
    }

    /// SIGKILL to every process in the cgroup trees, again until none is left (2 s at most); returns those killed.
    static func killProcesses(inCgroupsUnder roots: [String]) -> Set<Int32> {
        var killed = Set<Int32>()
        for _ in 0..<100 {
            var found = false
            for folder in folders(under: roots) {
                let text = ProcFile.text("\(folder)/cgroup.procs") ?? ""
                for pid in text.split(separator: "\n").compactMap({ Int32($0) }) {
                    kill(pid, SIGKILL)
                    killed.insert(pid)
                    found = true
                }
            }
            if !found { break }
            usleep(20_000)
        }
        return killed
    }

    /// rmdir of every folder of the trees, deepest first, a few rounds (the kernel frees a cgroup a moment after
    /// its last process exits).
    static func removeCgroups(under roots: [String]) -> Int {
        var removed = 0
        for _ in 0..<10 {
            let folders = folders(under: roots)
            if folders.isEmpty { break }
            for folder in folders where rmdir(folder) == 0 { removed += 1 }
            usleep(50_000)
        }
        return removed
    }

    /// The sockets our containerd's shims made. containerd 1.6+ puts every shim's socket in the host's
    /// /run/containerd/s, whatever its own state folder (a fixed path in runtime/v2/shim SocketAddress), and a killed
    /// shim leaves it there. Each shim writes the address into its bundle, under our containerd's state folder
    /// (`<state>/io.containerd.runtime.v2.task/<namespace>/<id>/address`): those files name exactly ours, never a
    /// system containerd's.
    static func shimSockets(containerdState: String) -> Set<String> {
        let tasks = containerdState + "/io.containerd.runtime.v2.task"
        var sockets: Set<String> = []
        for namespace in (try? FileManager.default.contentsOfDirectory(atPath: tasks)) ?? [] {
            for id in (try? FileManager.default.contentsOfDirectory(atPath: "\(tasks)/\(namespace)")) ?? [] {
                guard let address = try? String(contentsOfFile: "\(tasks)/\(namespace)/\(id)/address", encoding: .utf8) else { continue }
                let path = address.trimmingCharacters(in: .whitespacesAndNewlines).replacingOccurrences(of: "unix://", with: "")
                if path.hasPrefix("/run/containerd/s/") || path.hasPrefix("/var/run/containerd/s/") { sockets.insert(path) }
            }
        }
        return sockets
    }

    /// Removes the sockets `shimSockets` names (after the shims are killed); returns how many there were.
    static func removeShimSockets(_ sockets: Set<String>) -> Int {
        sockets.filter { unlink($0) == 0 }.count
    }

    /// Undoes what `ip netns add` did to /run/netns when the snapshot says it was not like that before: the bind
    /// mount over itself, then the folder. Only when no other namespace file is left in it.
    static func restoreNetnsFolder(snapshot: HostSnapshot?, say: (String) -> Void) {
        let folder = "/run/netns"
        guard let snapshot, ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).isEmpty else { return }
        if snapshot.wasMountPoint(folder) == false, Reset.mountPoints(under: folder).contains(folder), umount2(folder, Int32(MNT_DETACH)) == 0 {
            say("unmount \(folder) (ip netns add mounted it; it was not a mount point before)")
        }
        if snapshot.knewAbsent(folder), FileManager.default.fileExists(atPath: folder), rmdir(folder) == 0 {
            say("remove \(folder) (made by ip netns add)")
        }
    }

    /// Lazily unmounts everything under `root`, deepest first, until nothing is left (10 rounds at most).
    static func unmountEverything(under root: String) -> Int {
        var count = 0
        for _ in 0..<10 {
            let points = Reset.mountPoints(under: root).sorted { $0.count > $1.count }
            if points.isEmpty { break }
            for point in points where umount2(point, Int32(MNT_DETACH)) == 0 { count += 1 }
        }
        return count
    }
}
