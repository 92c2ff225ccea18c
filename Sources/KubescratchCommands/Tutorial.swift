import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine
import KubescratchScreen

struct TutorialCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tutorial",
        abstract: "The full-screen tutorial (the default): lessons, the live node diagram and each step's output.",
        discussion: """
            Starts where the node is (resume). When the output is not a terminal, or with --plain, the plain runner \
            (`kubescratch run`) is used instead. Keys: \(ScreenKey.summary).
            """
    )

    @OptionGroup var node: NodeOptions

    @Flag(name: .long, help: "Use the plain text runner instead of the full screen.")
    var plain = false

    func run() async throws {
        try Setup.requireRoot("tutorial")
        guard !plain, isatty(0) == 1, isatty(1) == 1, ProcessInfo.processInfo.environment["TERM"] != "dumb" else {
            let runner = try Run.parse(node.arguments)
            try await runner.run()
            return
        }
        let driver = try await Setup.driver(node)
        say("kubescratch: getting the node ready…")
        try await driver.resume()
        await TerminalApp(driver: driver, ascii: !Terminal.localeIsUTF8).run()
        say("The node keeps running: `kubescratch` resumes where you were, `kubescratch reset` removes everything.")
    }
}
