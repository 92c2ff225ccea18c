/// The environment in which a learner's own commands reach this node: kubectl with the admin kubeconfig and the
/// cluster's own kubectl first on PATH, ctr on our containerd, crictl on its CRI socket, etcdctl on our etcd. One
/// table, used by the screen's command line, its shell (`!`) and `kubescratch env` for another terminal.
public struct ToolEnvironment: Sendable, Equatable {
    public struct Variable: Sendable, Equatable {
        public var name: String
        public var value: String
        /// Why it is set, printed by `kubescratch env` as a comment.
        public var why: String
    }

    public var variables: [Variable]
    /// Put first on PATH: the binaries folder of the running release, so `kubectl` matches the cluster.
    public var binDir: String?

    public init(layout: StateLayout, binDir: String?) {
        self.binDir = binDir
        variables = [
            Variable(name: "KUBECONFIG", value: layout.adminKubeconfig, why: "kubectl as admin (client certificate, system:masters)"),
            // kubectl's discovery cache in our state folder, not ~/.kube/cache (cli-runtime's getDefaultCacheDir reads
            // KUBECACHEDIR; older kubectl such as v1.20's ignore it, and the screen also sets HOME for them).
            Variable(name: "KUBECACHEDIR", value: layout.kubectlCache, why: "kubectl's cache in the state folder, not ~/.kube"),
            // ctr's --address and --namespace flags read these (containerd cmd/ctr/app/main.go, EnvVars).
            Variable(name: "CONTAINERD_ADDRESS", value: layout.containerdSocket, why: "ctr on kubescratch's containerd"),
            Variable(name: "CONTAINERD_NAMESPACE", value: "k8s.io", why: "ctr in the CRI's namespace, where the pods are"),
            // crictl's --runtime-endpoint and --image-endpoint (cri-tools cmd/crictl/main.go, EnvVars).
            Variable(name: "CONTAINER_RUNTIME_ENDPOINT", value: "unix://" + layout.containerdSocket, why: "crictl on the same socket, through the CRI"),
            Variable(name: "IMAGE_SERVICE_ENDPOINT", value: "unix://" + layout.containerdSocket, why: "crictl's image service"),
            // etcdctl maps every flag to ETCDCTL_<FLAG>; our etcd serves clients on loopback only, without TLS.
            Variable(name: "ETCDCTL_API", value: "3", why: "etcdctl's v3 API (the only one the API server uses)"),
            Variable(name: "ETCDCTL_ENDPOINTS", value: "http://127.0.0.1:2379", why: "etcdctl on this node's etcd"),
        ]
    }

    /// The variables with PATH added in front of `path`, as a child process gets them.
    public func applied(to base: [String: String]) -> [String: String] {
        var environment = base
        for variable in variables { environment[variable.name] = variable.value }
        let path = base["PATH"] ?? "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        if let binDir, path.split(separator: ":").first.map(String.init) != binDir {
            environment["PATH"] = binDir + ":" + path
        }
        return environment
    }

    public enum Shell: String, CaseIterable, Sendable {
        case bash, zsh, fish
        /// From $SHELL, as minikube docker-env guesses it; bash when unknown.
        public static func detect(_ shellPath: String?) -> Shell {
            let name = shellPath.map { String($0.split(separator: "/").last ?? "") } ?? ""
            return Shell(rawValue: name) ?? .bash
        }
    }

    /// Lines a shell evaluates to set (or, with `unset`, remove) the environment, ending with how to use them.
    public func exports(for shell: Shell, unset: Bool = false) -> String {
        var lines: [String] = []
        for variable in variables {
            switch (shell, unset) {
            case (.fish, false): lines.append("set -gx \(variable.name) \(Self.quote(variable.value));  # \(variable.why)")
            case (.fish, true): lines.append("set -e \(variable.name);")
            case (_, false): lines.append("export \(variable.name)=\(Self.quote(variable.value))  # \(variable.why)")
            case (_, true): lines.append("unset \(variable.name)")
            }
        }
        if let binDir, !unset {
            lines.append(shell == .fish ? "set -gx PATH \(Self.quote(binDir)) $PATH;  # this release's kubectl first"
                         : "export PATH=\(Self.quote(binDir)):\"$PATH\"  # this release's kubectl first")
        }
        let use = shell == .fish ? "kubescratch env --shell fish\(unset ? " --unset" : "") | source"
            : "eval \"$(kubescratch env\(shell == .bash ? "" : " --shell \(shell.rawValue)")\(unset ? " --unset" : ""))\""
        lines.append("# To \(unset ? "undo this" : "use this") in your shell, run: \(use)")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Single quotes, which every one of these shells reads literally; a quote inside is closed, escaped, reopened.
    static func quote(_ value: String) -> String {
        "'" + value.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    /// How a command from the prompt runs: its output streamed into the output pane, or in the real terminal with
    /// the screen put aside (it needs to read keys or draw: a shell, a pager, an editor, `exec -it`).
    public enum Mode: Sendable, Equatable { case streamed, interactive }

    public static func mode(of line: String) -> Mode {
        let words = line.split(separator: " ").map(String.init)
        // Skip leading VAR=value assignments, as the shell does.
        let command = words.drop { $0.contains("=") && !$0.hasPrefix("-") }
        guard let program = command.first.map({ String($0.split(separator: "/").last ?? "") }) else { return .streamed }
        let screens: Set<String> = ["less", "more", "most", "vi", "vim", "nvim", "nano", "emacs", "top", "htop", "watch", "man",
                                    "sh", "bash", "zsh", "fish", "dash", "ash", "busybox", "python3", "ssh", "tmux", "screen"]
        if screens.contains(program) && (program != "busybox" || command.count == 2 && ["sh", "ash"].contains(command[command.startIndex + 1])) {
            return .interactive
        }
        // nsenter with nothing but options starts a shell in the namespaces.
        if program == "nsenter", command.dropFirst().allSatisfy({ $0.hasPrefix("-") }) { return .interactive }
        let flags = Set(command.dropFirst())
        let stdinAndTTY = !flags.isDisjoint(with: ["-i", "--stdin"]) && !flags.isDisjoint(with: ["-t", "--tty"])
        if !flags.isDisjoint(with: ["-it", "-ti"]) || stdinAndTTY { return .interactive }
        // Output piped into a pager.
        if let last = line.split(separator: "|").last?.trimmingCharacters(in: .whitespaces),
           ["less", "more", "most"].contains(String(last.split(separator: " ").first ?? "")) {
            return .interactive
        }
        return .streamed
    }
}

/// A lesson's suggested command (`try:`), checked by `lessons check`: it must run as written on the screen's command
/// line, where the learner is root and the environment is already set.
public enum Suggestion {
    /// The programs a suggestion may start with: the node's own tools and the host's usual ones.
    public static let programs: Set<String> = [
        "kubectl", "ctr", "crictl", "etcdctl", "kubescratch", "curl", "ip", "iptables", "iptables-save", "ss", "nsenter",
        "cat", "tail", "head", "ls", "grep", "openssl", "sysctl", "conntrack", "ps", "find", "mount", "readlink", "less",
    ]

    public static func problem(_ command: String) -> String? {
        let trimmed = command.trimmingCharacters(in: .whitespaces)
        if trimmed.isEmpty { return "empty" }
        if command.contains("\n") { return "one line only" }
        let program = String(trimmed.split(separator: " ")[0])
        if program == "sudo" { return "no sudo: the command line already runs as root" }
        if program == "export" || trimmed.contains("KUBECONFIG=") { return "the environment is already set (kubescratch env)" }
        if !programs.contains(program) { return "'\(program)' is not a program a learner has here (\(programs.sorted().joined(separator: ", ")))" }
        return nil
    }
}
