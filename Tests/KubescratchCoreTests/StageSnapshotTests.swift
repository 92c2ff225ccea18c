import Foundation
@testable import KubescratchCore
import Testing

/// Removing our chains in one transaction, planned from a real v1.20.2 nat table (Fixtures/v1.20.2).
struct IPTablesRemovalTests {
    @Test func oneTransactionDeletesTheJumpsThenFlushesThenDeletes() throws {
        let save = try String(contentsOf: URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Fixtures/v1.20.2/trace-nodeport-before.txt"), encoding: .utf8)
        let removal = IPTablesRemoval(save: save, table: "nat") { $0.hasPrefix("KUBE-") || $0.hasPrefix("CNI-") }
        let lines = removal.restoreInput.split(separator: "\n").map(String.init)
        #expect(lines.first == "*nat" && lines.last == "COMMIT")
        // The built-in chains' jumps into ours, exactly as saved (counters dropped), e.g. OUTPUT's portal rule.
        #expect(lines.contains("-D OUTPUT -m comment --comment \"kubernetes service portals\" -j KUBE-SERVICES"), "\(lines.prefix(6))")
        #expect(!lines.contains { $0.hasPrefix("-D KUBE-") }, "rules inside our own chains go with -F")
        #expect(!lines.contains { $0.contains("[") }, "no counters in the restore input")
        let flushes = lines.filter { $0.hasPrefix("-F ") }.map { String($0.dropFirst(3)) }
        let deletes = lines.filter { $0.hasPrefix("-X ") }.map { String($0.dropFirst(3)) }
        #expect(flushes == removal.chains && deletes == removal.chains && removal.chains.contains("KUBE-NODEPORTS"))
        #expect(!removal.chains.contains("OUTPUT") && !removal.chains.contains("POSTROUTING"))
        // Every flush before any delete: a chain still jumped to from another of ours cannot be deleted.
        let lastFlush = try #require(lines.lastIndex { $0.hasPrefix("-F ") })
        let firstDelete = try #require(lines.firstIndex { $0.hasPrefix("-X ") })
        #expect(lastFlush < firstDelete)
        #expect(IPTablesRemoval(save: save, table: "filter") { $0.hasPrefix("KUBE-") }.restoreInput.isEmpty, "no filter table in the capture")
        #expect(IPTablesRemoval(save: save, table: "nat") { $0.hasPrefix("NOTHING-") }.restoreInput.isEmpty)
    }
}

struct StageSnapshotTests {
    static let facts = NodeFacts(nodeName: "vm", nodeIP: "192.0.2.2", cgroupVersion: 1, kubernetes: KubernetesVersion(1, 20, 2),
                                 containerd: KubernetesVersion(1, 6, 20), etcd: KubernetesVersion(3, 4, 23))

    @Test func anyChangeThatShapesTheStageChangesTheKey() {
        let key = StageSnapshot.key(facts: Self.facts, images: .local, stage: 3, lessons: ["a", "b", "c"], assets: ["x"])
        #expect(key.count == 16)
        #expect(key == StageSnapshot.key(facts: Self.facts, images: .local, stage: 3, lessons: ["a", "b", "c"], assets: ["x"]))
        var other = Self.facts
        other.nodeIP = "192.0.2.3"
        #expect(key != StageSnapshot.key(facts: other, images: .local, stage: 3, lessons: ["a", "b", "c"], assets: ["x"]), "the address is in the certificates")
        other = Self.facts
        other.kubernetes = KubernetesVersion(1, 37, 0)
        #expect(key != StageSnapshot.key(facts: other, images: .local, stage: 3, lessons: ["a", "b", "c"], assets: ["x"]))
        #expect(key != StageSnapshot.key(facts: Self.facts, images: .registry, stage: 3, lessons: ["a", "b", "c"], assets: ["x"]))
        #expect(key != StageSnapshot.key(facts: Self.facts, images: .local, stage: 3, lessons: ["a", "b", "c2"], assets: ["x"]))
        #expect(key != StageSnapshot.key(facts: Self.facts, images: .local, stage: 3, lessons: ["a", "b", "c"], assets: ["y"]))
        // Parts are separated: moving text from one lesson to the next is another book.
        #expect(key != StageSnapshot.key(facts: Self.facts, images: .local, stage: 3, lessons: ["a", "bc", ""], assets: ["x"]))
    }

    @Test func eachComponentWaitsOnlyForWhatItNeeds() {
        #expect(StageSnapshot.startsAfter(.containerd).isEmpty && StageSnapshot.startsAfter(.etcd).isEmpty)
        #expect(StageSnapshot.startsAfter(.kubeAPIServer) == [.etcd])
        #expect(StageSnapshot.startsAfter(.kubelet) == [.containerd], "the kubelet starts beside the API server, not after it")
        for controller in [ComponentID.kubeScheduler, .kubeControllerManager, .kubeProxy] {
            #expect(StageSnapshot.startsAfter(controller) == [.kubeAPIServer])
        }
        // No cycles: following what each waits for always ends.
        for component in ComponentID.firstNode {
            var seen: Set<ComponentID> = []
            var frontier = [component]
            while let next = frontier.popLast() {
                #expect(!seen.contains(next) || next == component, "cycle at \(next)")
                seen.insert(next)
                frontier += StageSnapshot.startsAfter(next)
            }
        }
        // node-2's components are never part of a kept end (stage 6 is not kept).
        #expect(!StageSnapshot.stages.contains(6) && !StageSnapshot.stages.contains(1))
    }
}
