import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct Break: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "break",
        abstract: "Stop a running component on purpose, to see what no longer happens; --undo starts it again.",
        discussion: """
            For example, stop kube-scheduler after stage 3 and create a pod: it stays Pending. \
            Stop kube-controller-manager after stage 4 and delete a pod of the Deployment: nothing replaces it. \
            `kubescratch run` also starts again whatever should be running.
            """
    )

    @OptionGroup var node: NodeOptions

    @Argument(help: ArgumentHelp("The component: \(ComponentID.allNames).", valueName: "COMPONENT"))
    var component: String

    @Flag(name: .long, help: "Start the component again.")
    var undo = false

    func validate() throws {
        guard ComponentID(name: component) != nil else {
            throw ValidationError("unknown component '\(component)'; expected one of \(ComponentID.allNames)")
        }
    }

    func run() async throws {
        try Setup.requireRoot("break")
        let id = ComponentID(name: component)!
        try await Session.run(node: node, yes: true, showProse: false, diagram: false) { driver, _ in
            let running = driver.tutorial.engine.context.supervisor.runningRecord(id) != nil
            if running != !undo {
                say("· \(id.name) is \(running ? "already running" : "not running")")
                return
            }
            await driver.send(.toggleComponent(id))
            if let message = driver.session.message { say("· \(message)") }
            if case .changingComponent = driver.session.activity { return }
            let nowRunning = driver.tutorial.engine.context.supervisor.runningRecord(id) != nil
            guard nowRunning == undo else { throw UserFacingError(driver.session.message ?? "\(id.name) did not change") }
        }
    }
}
