import ArgumentParser

/// `kubescratch`: build a Kubernetes node from scratch, one real component at a time.
public struct Kubescratch: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "kubescratch",
        abstract: "Learn how Kubernetes works inside by building a single node from the real components, one at a time.",
        discussion: """
            Six stages: the kubelet alone, the API server (with etcd), the scheduler, the controller manager, kube-proxy, a second node.
            Every component is the real upstream binary; everything kubescratch creates lives under its state folder
            (default /var/lib/kubescratch) and `kubescratch reset` removes all of it.
            """,
        subcommands: [TutorialCommand.self, Run.self, StageCommand.self, Status.self, DiagramCommand.self, Break.self, DoctorCommand.self, SetupCommand.self, ResetCommand.self, EnvCommand.self, TrafficCommand.self, TraceCommand.self, Lessons.self],
        defaultSubcommand: TutorialCommand.self
    )

    public init() {}
}

extension Kubescratch {
    /// Parses the command line and runs the chosen (possibly async) subcommand; exits with its status.
    public static func runAsRoot(_ arguments: [String]? = nil) async {
        do {
            var command = try parseAsRoot(arguments)
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withError: error)
        }
    }
}
