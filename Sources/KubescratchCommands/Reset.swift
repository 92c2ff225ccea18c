import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct ResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset",
        abstract: "Stop every component and remove everything kubescratch created.",
        discussion: """
            Processes, containers and their shims, mounts under the state folder, kubepods cgroups, the cni0 bridge and \
            its veths, the KUBE-* and CNI-* iptables chains, the sysctls the components changed, the host folders they \
            created, and the state folder itself. Safe to run at any time, also after a crash. The cache (binaries, and \
            the kept ends of stages that make replays fast) stays unless --snapshots is given.
            """
    )

    @OptionGroup var state: StateOptions

    @Flag(name: [.short, .long], help: "Print how long each phase took.")
    var verbose = false

    @Flag(name: .long, help: "Also remove the kept ends of stages (the cache's snapshots folder) that make replays fast.")
    var snapshots = false

    func run() async throws {
        try Setup.requireRoot("reset")
        let layout = state.layout
        guard layout.root != "/" && layout.root.count > 1 else { throw ValidationError("refusing to remove /") }
        // Held to the end: the state folder (and the lock file in it) goes last, so a command started meanwhile
        // still finds the held lock until everything else is gone.
        try NodeLock.acquire(root: layout.root)
        let started = Date()
        print("reset: removing everything kubescratch created (state in \(layout.root))")
        let phases = await KubescratchEngine.Reset(layout: layout, say: { print("  · \($0)") }).run()
        if verbose {
            for (phase, seconds) in phases { print("  " + String(format: "%5.2f s", seconds) + "  " + phase) }
        }
        if snapshots {
            let folder = StateLayout.defaultCache(environment: ProcessInfo.processInfo.environment) + "/snapshots"
            if FileManager.default.fileExists(atPath: folder) {
                try FileManager.default.removeItem(atPath: folder)
                print("  · remove \(folder) (the kept ends of stages)")
            }
        }
        print(String(format: "reset: done in %.1f s", Date().timeIntervalSince(started)))
    }
}
