import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check this machine for the tutorial: each check PASS, WARN or FAIL, with what it found and the fix.",
        discussion: "Exit status 1 when any check fails. `run` and `stage` run the same checks first."
    )

    @Option(name: .long, help: ArgumentHelp("Folder with the Kubernetes binaries (also KUBESCRATCH_BIN_DIR).", valueName: "DIR"))
    var binDir: String?

    @OptionGroup var state: StateOptions

    @Flag(name: .long, help: "Print JSON, for scripts.")
    var json = false

    func run() async throws {
        let layout = state.layout
        let binDir = Setup.binDir(binDir, previous: Setup.loadProgress(layout))
        let results = await Self.check(layout: layout, binDir: binDir)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            print(Self.format(results))
        }
        if results.contains(where: { $0.status == .fail }) { throw ExitCode(1) }
    }

    /// The checks, with the ports of our own running components not counted as taken.
    static func check(layout: StateLayout, binDir: String?) async -> [DoctorResult] {
        let shell = Shell()
        let binaries = BinaryResolver.resolve(binDir: binDir, shell: shell)
        let supervisor = Supervisor(layout: layout)
        let ours = Set(supervisor.recordedComponents().compactMap { supervisor.runningRecord($0)?.pid })
        let report = await HostInspector.report(binaries: binaries, stateRoot: layout.root, shell: shell, ignoringPIDs: ours)
        return Doctor.evaluate(report)
    }

    static func format(_ results: [DoctorResult]) -> String {
        let width = (results.map(\.check.count).max() ?? 10) + 2
        return results.map { result in
            var line = "\(result.status.rawValue)  \(result.check.padding(toLength: width, withPad: " ", startingAt: 0))\(result.found)"
            if let fix = result.fix { line += "\n      → \(fix)" }
            return line
        }.joined(separator: "\n")
    }
}
