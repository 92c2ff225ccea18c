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
}
