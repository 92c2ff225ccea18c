import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

/// `kubescratch env`: the exports that point another terminal's kubectl, ctr, crictl and etcdctl at this node,
/// as `minikube docker-env` does for docker.
struct EnvCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "env",
        abstract: "Print the exports that point another terminal's kubectl, ctr, crictl and etcdctl at this node.",
        discussion: """
            Run it in your shell's own syntax:
              bash, zsh:  eval "$(kubescratch env)"
              fish:       kubescratch env --shell fish | source
            KUBECONFIG is the admin kubeconfig (readable by root only), PATH starts with the folder of the binaries the \
            node runs, so kubectl matches the cluster's version. --unset prints the lines that undo it. The tutorial's \
            command line (:) already has this environment. KUBECACHEDIR keeps a current kubectl's cache in the state folder; \
            an older kubectl (v1.20's) ignores it and writes ~/.kube/cache, which is yours to remove.
            """
    )

    @OptionGroup var state: StateOptions

    @Option(name: .long, help: ArgumentHelp("The shell to print for: bash, zsh or fish (default: from $SHELL).", valueName: "SHELL"))
    var shell: ToolEnvironment.Shell?

    @Option(name: .long, help: ArgumentHelp("The folder of the Kubernetes binaries to put first on PATH (default: the one the node runs, or the one setup installed).", valueName: "DIR"))
    var binDir: String?

    @Flag(name: .long, help: "Print the lines that remove these variables again.")
    var unset = false

    func run() throws {
        let layout = state.layout
        let binDir = Setup.binDir(binDir, previous: Setup.loadProgress(layout))
        let chosen = shell ?? ToolEnvironment.Shell.detect(ProcessInfo.processInfo.environment["SHELL"])
        print(ToolEnvironment(layout: layout, binDir: binDir).exports(for: chosen, unset: unset), terminator: "")
    }
}

extension ToolEnvironment.Shell: ExpressibleByArgument {}
