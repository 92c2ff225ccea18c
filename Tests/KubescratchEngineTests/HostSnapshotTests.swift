import Foundation
@testable import KubescratchEngine
import Testing

/// reset removes a host path only when the snapshot saw it absent before the first component started.
@Suite struct HostSnapshotTests {
    @Test func theNRIFolderIsOursOnlyWhenTheSnapshotLookedAndDidNotFindIt() throws {
        let taken = HostSnapshot(existingPaths: ["/var/lib/cni"], sysctls: [:], chains: [], checkedPaths: HostSnapshot.hostPaths)
        #expect(HostSnapshot.hostPaths.contains("/var/run/nri"))
        #expect(taken.knewAbsent("/var/run/nri"))
        #expect(!taken.knewAbsent("/var/lib/cni"), "it was there before")
        let withNRI = HostSnapshot(existingPaths: ["/var/run/nri"], sysctls: [:], chains: [], checkedPaths: HostSnapshot.hostPaths)
        #expect(!withNRI.knewAbsent("/var/run/nri"), "a system runtime's folder")
        // A snapshot written before /var/run/nri was checked does not know: the folder is left alone.
        let old = try JSONDecoder().decode(HostSnapshot.self, from: Data(#"{"existingPaths":[],"sysctls":{},"chains":[]}"#.utf8))
        #expect(old.checkedPaths == nil)
        #expect(!old.knewAbsent("/var/run/nri"))
        #expect(old.knewAbsent("/var/lib/cni"))
    }

    /// /run/netns: undone only where the snapshot knew it was absent, or not a mount point; an older snapshot knows neither.
    @Test func ipNetnsLeftoversAreOursOnlyWhenTheSnapshotKnew() throws {
        let before = HostSnapshot(existingPaths: [], sysctls: [:], chains: [], checkedPaths: HostSnapshot.hostPaths, mountedPaths: [])
        #expect(before.knewAbsent("/run/netns") && before.wasMountPoint("/run/netns") == false)
        let docker = HostSnapshot(existingPaths: ["/run/netns"], sysctls: [:], chains: [], checkedPaths: HostSnapshot.hostPaths,
                                  mountedPaths: ["/run/netns"])
        #expect(!docker.knewAbsent("/run/netns") && docker.wasMountPoint("/run/netns") == true)
        let old = try JSONDecoder().decode(HostSnapshot.self, from: Data(#"{"existingPaths":[],"sysctls":{},"chains":[]}"#.utf8))
        #expect(!old.knewAbsent("/run/netns") && old.wasMountPoint("/run/netns") == nil)
    }

    /// Shim sockets are found from our containerd's own task folders, never by a pattern in /run/containerd/s.
    @Test func shimSocketsAreReadFromOurTaskBundles() throws {
        let state = FileManager.default.temporaryDirectory.appendingPathComponent("shims-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: state) }
        let bundles = [("k8s.io", "sandbox-a", "unix:///run/containerd/s/7f3a\n"), ("k8s.io", "web-a", "unix:///run/containerd/s/7f3a"),
                       ("k8s.io", "sandbox-b", "unix:///run/containerd/s/91bc"), ("other", "x", "unix:///somewhere/else.sock")]
        for (namespace, id, address) in bundles {
            let folder = "\(state)/io.containerd.runtime.v2.task/\(namespace)/\(id)"
            try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
            try address.write(toFile: folder + "/address", atomically: true, encoding: .utf8)
        }
        try FileManager.default.createDirectory(atPath: "\(state)/io.containerd.runtime.v2.task/k8s.io/no-address", withIntermediateDirectories: true)
        #expect(HostCleanup.shimSockets(containerdState: state) == ["/run/containerd/s/7f3a", "/run/containerd/s/91bc"])
        #expect(HostCleanup.shimSockets(containerdState: state + "/missing").isEmpty)
    }
}
