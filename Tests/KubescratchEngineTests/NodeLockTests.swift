import Foundation
import Testing
@testable import KubescratchEngine

/// The node's lock, held by this test process; another process (util-linux `flock -n`) is refused while it is held.
@Suite struct NodeLockTests {
    @Test func aSecondHolderIsRefusedAndTheHolderIsNamed() throws {
        let root = FileManager.default.temporaryDirectory.appendingPathComponent("nodelock-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: root) }
        #expect(!NodeLock.isHeld(root: root))
        try NodeLock.acquire(root: root, commandLine: ["/usr/local/bin/kubescratch", "run", "--through", "3"])
        try NodeLock.acquire(root: root)  // the same process again: no-op, not a refusal
        #expect(NodeLock.isHeld(root: root))

        // A real second process cannot take it.
        let flock = Process()
        flock.executableURL = URL(fileURLWithPath: "/usr/bin/flock")
        flock.arguments = ["-n", NodeLock.path(root: root), "true"]
        try flock.run()
        flock.waitUntilExit()
        #expect(flock.terminationStatus == 1, "flock -n must fail while kubescratch holds the lock")

        // What it tells a second command.
        let text = try String(contentsOfFile: NodeLock.path(root: root), encoding: .utf8)
        let holder = try #require(NodeLock.parse(text))
        #expect(holder.pid == getpid() && holder.commandLine == "kubescratch run --through 3")
        let message = NodeLock.Busy(holder: holder, path: NodeLock.path(root: root)).description
        #expect(message.contains("another kubescratch is changing this node (pid \(getpid()), `kubescratch run --through 3`"))
        #expect(message.contains("kill \(getpid())") && message.contains("kubescratch status"))
    }

    @Test func aLockFileWithoutAHolderStillRefusesClearly() {
        #expect(NodeLock.parse("") == nil)
        #expect(NodeLock.Busy(holder: nil, path: "/x/lock").description.contains("its PID is not written yet"))
    }
}
