import Foundation
@testable import KubescratchEngine
import KubescratchCore
import Testing

/// Our own process handling for long work and the source build's resume rules, with stand-ins (/bin/sh, sleep,
/// empty files): the real build is proved by the end-to-end and newcomer lanes.
@Suite(.serialized) struct LongWorkTests {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-long-\(UUID().uuidString)").path

    @Test func cancellingStopsTheWholeProcessGroupWithinASecond() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let pidFile = folder + "/child.pid"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        // Like make: a parent that waits for a child, both ignoring nothing.
        let command = PlannedCommand("/bin/sh", ["-c", "sleep 60 & echo $! > \(pidFile); wait"])
        let task = Task { try await LoggedCommand.run(command, log: folder + "/log") }
        var child: Int32?
        for _ in 0..<50 where child == nil {
            try await Task.sleep(for: .milliseconds(50))
            child = (try? String(contentsOfFile: pidFile, encoding: .utf8)).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        }
        let grandchild = try #require(child)
        let started = Date()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
        #expect(Date().timeIntervalSince(started) < 1.0, "Ctrl-C ends long work within a second")
        try await Task.sleep(for: .milliseconds(100))
        let state = ProcessTable.state(grandchild)
        #expect(state == nil || state == "Z", "the child of the command was stopped too, not left running")
    }

    @Test func aFailureNamesTheCommandAndItsLog() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let log = folder + "/build.log"
        await #expect(throws: LoggedCommandError.failed("/bin/sh -c echo compiling; exit 3", status: 3, log: log)) {
            try await LoggedCommand.run(PlannedCommand("/bin/sh", ["-c", "echo compiling; exit 3"]), log: log)
        }
        let text = try String(contentsOfFile: log, encoding: .utf8)
        #expect(text.contains("==== ") && text.contains("compiling"), "the output is kept in the log, after a header naming the command")
    }

    @Test func runsInTheGivenFolderWithTheGivenEnvironment() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        try FileManager.default.createDirectory(atPath: folder + "/tree", withIntermediateDirectories: true)
        try "#!/bin/sh\necho \"in $(pwd) with GOPATH=$GOPATH\"\n".write(toFile: folder + "/tree/build.sh", atomically: true, encoding: .utf8)
        chmod(folder + "/tree/build.sh", 0o755)
        try await LoggedCommand.run(PlannedCommand("./build.sh", [], in: folder + "/tree", environment: ["GOPATH": "/go"]), log: folder + "/log")
        let text = try String(contentsOfFile: folder + "/log", encoding: .utf8)
        #expect(text.contains("in \(folder)/tree with GOPATH=/go"))
    }

    @Test func aClosedPortIsUnreachableAtOnce() async throws {
        // A port nothing listens on, on loopback only: refused immediately, no retry loop.
        let socket = try ClosedPort()
        let started = Date()
        let answer = await Reachability.check(host: "127.0.0.1", port: socket.port, timeout: 4)
        guard case .unreachable(let why) = answer else { Issue.record("a closed port counted as reachable"); return }
        #expect(why.contains("refused"))
        #expect(Date().timeIntervalSince(started) < 1)
    }

    @Test func anOpenPortIsReachable() async throws {
        let listener = try ClosedPort(listening: true)
        #expect(await Reachability.check(host: "127.0.0.1", port: listener.port, timeout: 2) == .reachable)
    }

    @Test func aCutBuildGoesOnFromTheLastFinishedPhase() throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plan = SourceBuildPlan(source: .debianBookworm, cache: folder)
        let builder = SourceBuilder(plan: plan) { _ in }
        let fm = FileManager.default
        #expect(plan.phases.allSatisfy { builder.alreadyDone($0) == nil }, "nothing is skipped on a fresh cache")
        // Cut after the tarball came, during the unpack: the unpack starts over, the fetch is not repeated.
        try fm.createDirectory(atPath: plan.downloads, withIntermediateDirectories: true)
        fm.createFile(atPath: plan.tarball, contents: Data())
        try fm.createDirectory(atPath: plan.unpacking + "/" + plan.source.treeFolder, withIntermediateDirectories: true)
        #expect(builder.alreadyDone(.fetch) != nil)
        #expect(builder.alreadyDone(.unpack) == nil, "a half-unpacked tree is not taken for a whole one")
        // Cut while building kubelet: the API server and controller manager are kept, kubelet is built again.
        try fm.createDirectory(atPath: plan.tree, withIntermediateDirectories: true)
        fm.createFile(atPath: plan.generatedMarker, contents: nil)
        try fm.createDirectory(atPath: plan.output, withIntermediateDirectories: true)
        for binary in ["kube-apiserver", "kube-controller-manager"] {
            fm.createFile(atPath: plan.result(binary), contents: Data("#!/bin/sh\n".utf8), attributes: [.posixPermissions: 0o755])
        }
        fm.createFile(atPath: plan.result("kubelet") + ".copying", contents: Data())
        #expect(builder.alreadyDone(.unpack) != nil && builder.alreadyDone(.generate) != nil)
        #expect(builder.alreadyDone(.build("kube-apiserver")) != nil && builder.alreadyDone(.build("kube-controller-manager")) != nil)
        #expect(builder.alreadyDone(.build("kubelet")) == nil, "a binary cut while it was copied is built again")
        #expect(builder.alreadyDone(.verify) == nil, "the binaries are always checked")
    }

    @Test func aResultThatSaysAnotherVersionIsNotTrusted() async throws {
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let plan = SourceBuildPlan(source: .debianBookworm, cache: folder)
        let builder = SourceBuilder(plan: plan) { _ in }
        try FileManager.default.createDirectory(atPath: plan.output, withIntermediateDirectories: true)
        for binary in plan.binaries {
            let says = binary == "kubelet" ? "Kubernetes v1.19.0" : (binary == "kubectl" ? "Client Version: v1.20.2" : "Kubernetes v1.20.2")
            FileManager.default.createFile(atPath: plan.result(binary), contents: Data("#!/bin/sh\necho '\(says)'\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
        }
        #expect(try await builder.verifiedResult() == false)
        #expect(!FileManager.default.fileExists(atPath: plan.result("kubelet")), "the wrong binary is removed, so it is built again")
        await #expect(throws: SourceBuildError.self) {
            FileManager.default.createFile(atPath: plan.result("kubelet"), contents: Data("#!/bin/sh\necho 'Kubernetes v1.19.0'\n".utf8),
                                           attributes: [.posixPermissions: 0o755])
            _ = try await builder.verifiedResult(strict: true)
        }
    }
}

/// A TCP port on 127.0.0.1: bound and closed again (nothing listens), or left listening.
struct ClosedPort {
    let port: Int
    let fd: Int32

    init(listening: Bool = false) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) } }
        _ = withUnsafeMutablePointer(to: &address) { $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) } }
        self.fd = fd
        port = Int(UInt16(bigEndian: address.sin_port))
        if listening { listen(fd, 1) } else { close(fd) }
    }
}
