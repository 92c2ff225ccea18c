/// Turns (component, Kubernetes version, node facts, paths) into the exact command line and config files.
///
/// Two families of releases are handled: v1.20 (what the end-to-end lane builds from Debian's source package)
/// and current releases (1.27+), where runtime settings moved from flags into the kubelet's config file and
/// the insecure ports are gone. Facts behind each choice: docs/components.md and docs/v1.20.md.
public struct ComponentPlanner: Sendable {
    public var facts: NodeFacts
    public var layout: StateLayout
    public var network: ClusterNetwork
    public var binaries: BinaryPaths
    /// The pause image containerd uses for every pod sandbox; it must exist under exactly this name.
    public var sandboxImage: String

    public init(facts: NodeFacts, layout: StateLayout, network: ClusterNetwork = ClusterNetwork(),
                binaries: BinaryPaths, sandboxImage: String) {
        self.facts = facts
        self.layout = layout
        self.network = network
        self.binaries = binaries
        self.sandboxImage = sandboxImage
    }

    var version: KubernetesVersion { facts.kubernetes }
    var pki: PKIFiles { PKIFiles(layout: layout) }

    /// Every daemon gets this, always: the v1.20 kubelet's in-tree AWS credential provider otherwise asks the
    /// cloud metadata address 169.254.169.254 on every start (docs/v1.20.md, P2).
    public static let safetyEnvironment = ["AWS_EC2_METADATA_DISABLED": "true"]

    func environment() -> [String: String] {
        var env = Self.safetyEnvironment
        // containerd and its shim find runc and themselves through PATH.
        let runcDir = directory(of: binaries.runc)
        let shimDir = directory(of: binaries.path("containerd-shim-runc-v2"))
        env["PATH"] = [runcDir, shimDir, "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
            .filter { !$0.isEmpty }.uniqued().joined(separator: ":")
        return env
    }

    public func plan(_ component: ComponentID, kubeletMode: KubeletMode = .cluster) -> ComponentPlan {
        if let worker = component.worker { return WorkerPlanner(worker, first: self).plan(component.program) }
        return switch component.program {
        case .containerd: containerd()
        case .kubelet: kubelet(mode: kubeletMode)
        case .etcd: etcd()
        case .kubeAPIServer: apiServer()
        case .kubeScheduler: scheduler()
        case .kubeControllerManager: controllerManager()
        case .kubeProxy: kubeProxy()
        }
    }

    // MARK: containerd

    public func containerd() -> ComponentPlan {
        ComponentPlan(
            component: .containerd,
            executable: binaries.path(.containerd),
            arguments: ["--config", layout.containerdConfig],
            environment: environment(),
            files: [
                PlannedFile(path: layout.containerdConfig, contents: facts.containerd.major >= 2 ? containerdConfigV3() : containerdConfigV2()),
                PlannedFile(path: layout.cniConfDir + "/10-kubescratch.conflist", contents: cniConfig()),
            ],
            health: .unixSocket(path: layout.containerdSocket),
            startTimeoutSeconds: 20,
            talksTo: [],
            ports: []
        )
    }

    /// containerd 1.x, config version 2. Everything under our state folder so a system containerd is never touched.
    public func containerdConfigV2() -> String {
        """
        version = 2
        root = "\(layout.containerdRoot)"
        state = "\(layout.containerdState)"

        [grpc]
          address = "\(layout.containerdSocket)"

        [plugins]
          [plugins."io.containerd.grpc.v1.cri"]
            sandbox_image = "\(sandboxImage)"
            # pod network namespaces under our state folder, not /var/run/netns
            netns_mounts_under_state_dir = true
            # clamp oom_score_adj to containerd's own: where root lacks CAP_SYS_RESOURCE,
            # runc cannot set the negative values the kubelet asks for
            restrict_oom_score_adj = true
            [plugins."io.containerd.grpc.v1.cri".containerd]
              snapshotter = "overlayfs"
              default_runtime_name = "runc"
              [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
                runtime_type = "io.containerd.runc.v2"
                [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
                  # must match the kubelet's cgroupDriver (cgroupfs)
                  SystemdCgroup = false
                  Root = "\(layout.runcRoot)"
            [plugins."io.containerd.grpc.v1.cri".cni]
              bin_dir = "\(binaries.cniBinDir)"
              conf_dir = "\(layout.cniConfDir)"
          [plugins."io.containerd.internal.v1.opt"]
            path = "\(layout.containerdOpt)"

        """
    }

    /// containerd 2.x, config version 3: the CRI plugin is split into images and runtime
    /// (containerd/containerd docs/cri/config.md). 2.1 replaced the CNI `bin_dir` with `bin_dirs` (PR #11311).
    /// containerd 2.x defaults that reach outside our folders are decided in the file, each with its reason.
    /// Left as they are: the registry `config_path` (empty: no host certs.d is read), the stream server
    /// (127.0.0.1, a free port), the ttrpc socket (beside ours). Not configurable in released 2.x: the shims'
    /// sockets in /run/containerd/s (pkg/shim/util_unix.go); reset removes /run/containerd only if it made it.
    public func containerdConfigV3() -> String {
        """
        version = 3
        root = "\(layout.containerdRoot)"
        state = "\(layout.containerdState)"

        [grpc]
          address = "\(layout.containerdSocket)"

        [plugins]
          [plugins.'io.containerd.cri.v1.images']
            snapshotter = "overlayfs"
            [plugins.'io.containerd.cri.v1.images'.pinned_images]
              sandbox = "\(sandboxImage)"
          [plugins.'io.containerd.cri.v1.runtime']
            netns_mounts_under_state_dir = true
            restrict_oom_score_adj = true
            # off: containerd would load its AppArmor profile into the host kernel, where it outlives reset
            # and is shared with a system containerd; no pod here asks for a profile
            disable_apparmor = true
            # off: CDI reads device specs from the host's /etc/cdi and /var/run/cdi; no pod here uses devices
            enable_cdi = false
            # off, as in containerd 1.x: no per-pod sysctl writes, which fail on kernels before 4.11 and where
            # /proc/sys is read-only; our pods run as root and need neither
            enable_unprivileged_ports = false
            enable_unprivileged_icmp = false
            [plugins.'io.containerd.cri.v1.runtime'.containerd]
              default_runtime_name = "runc"
              [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
                runtime_type = "io.containerd.runc.v2"
                [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
                  SystemdCgroup = false
                  Root = "\(layout.runcRoot)"
            [plugins.'io.containerd.cri.v1.runtime'.cni]
              \(facts.containerd.isAtLeast(2, 1) ? "bin_dirs = [\"\(binaries.cniBinDir)\"]" : "bin_dir = \"\(binaries.cniBinDir)\"")
              conf_dir = "\(layout.cniConfDir)"
          [plugins.'io.containerd.internal.v1.opt']
            path = "\(layout.containerdOpt)"
          # off: 2.x enables NRI by default on /var/run/nri/nri.sock, removing a socket already there, and runs the
          # host's /opt/nri/plugins; that would take over the NRI of Docker or a system containerd (containerd
          # docs/NRI.md: two NRI-enabled runtimes cannot share the default socket)
          [plugins.'io.containerd.nri.v1.nri']
            disable = true
          # image verifiers run on every pull; the default folder is the host's /opt/containerd/image-verifier/bin
          [plugins.'io.containerd.image-verifier.v1.bindir']
            bin_dir = "\(layout.containerdOpt)/image-verifier/bin"

        """
    }

    /// One bridge network for the node's pods. containerd runs the plugins; the kubelet only asks it to.
    public func cniConfig() -> String {
        """
        {
          "cniVersion": "0.4.0",
          "name": "\(network.cniNetworkName)",
          "plugins": [
            {
              "type": "bridge",
              "bridge": "\(network.bridge)",
              "isGateway": true,
              "ipMasq": true,
              "hairpinMode": true,
              "ipam": {
                "type": "host-local",
                "dataDir": "\(layout.cniIPAMDir)",
                "ranges": [[{"subnet": "\(network.podSubnet)"}]],
                "routes": [{"dst": "0.0.0.0/0"}]
              }
            },
            {
              "type": "portmap",
              "capabilities": {"portMappings": true}
            }
          ]
        }

        """
    }

    // MARK: kubelet

    public func kubeletConfigPath(_ mode: KubeletMode) -> String {
        layout.config + (mode == .standalone ? "/kubelet-standalone.yaml" : "/kubelet.yaml")
    }

    public func kubelet(mode: KubeletMode) -> ComponentPlan {
        var args = ["--config=\(kubeletConfigPath(mode))"]
        if mode == .cluster { args.append("--kubeconfig=\(layout.kubeconfig("kubelet"))") }
        args.append("--root-dir=\(layout.kubeletRoot)")
        if !version.isAtLeast(1, 24) {
            // Until 1.24 the default runtime was the built-in dockershim (k/k cmd/kubelet/app/options/container_runtime.go).
            args.append("--container-runtime=remote")
        }
        if !version.isAtLeast(1, 27) {
            // From 1.27 the endpoint is the config field containerRuntimeEndpoint.
            args.append("--container-runtime-endpoint=unix://\(layout.containerdSocket)")
            args.append("--runtime-request-timeout=5m")
        }
        args.append("--node-ip=\(facts.nodeIP)")
        args.append("--hostname-override=\(facts.nodeName)")
        if !version.isAtLeast(1, 27) {
            // Negative scores need CAP_SYS_RESOURCE, which root may lack in containers and VMs.
            args.append("--oom-score-adj=0")
        }
        args.append("--v=2")
        return ComponentPlan(
            component: .kubelet,
            executable: binaries.path(.kubelet),
            arguments: args,
            environment: environment(),
            files: [PlannedFile(path: kubeletConfigPath(mode), contents: kubeletConfig(mode: mode))],
            health: .http(url: "http://127.0.0.1:10248/healthz"),
            startTimeoutSeconds: 60,
            talksTo: mode == .cluster ? [.containerd, .kubeAPIServer] : [.containerd],
            ports: [10250, 10248]
        )
    }

    /// cgroup v1 is in maintenance from 1.31 (the field appears), and from 1.35 the kubelet refuses it unless told
    /// otherwise (failCgroupV1 defaults to true, KEP-5573): on a v1 host the kubelet config says so. doctor reads this.
    public static func setsFailCgroupV1False(kubernetes: KubernetesVersion, cgroupVersion: Int) -> Bool {
        kubernetes.isAtLeast(1, 31) && cgroupVersion == 1
    }

    public func kubeletConfig(mode: KubeletMode) -> String {
        var lines = [
            "apiVersion: kubelet.config.k8s.io/v1beta1",
            "kind: KubeletConfiguration",
        ]
        if version.isAtLeast(1, 27) {
            lines += [
                "containerRuntimeEndpoint: unix://\(layout.containerdSocket)",
                "runtimeRequestTimeout: 5m",
                "oomScoreAdj: 0",
            ]
        }
        if Self.setsFailCgroupV1False(kubernetes: version, cgroupVersion: facts.cgroupVersion) {
            lines.append("failCgroupV1: false")
        }
        lines += [
            "address: 0.0.0.0",
            "port: 10250",
            "readOnlyPort: 0",
            "healthzBindAddress: 127.0.0.1",
            "healthzPort: 10248",
            "cgroupDriver: cgroupfs",
            "staticPodPath: \(layout.staticPods)",
            "volumePluginDir: \(layout.volumePlugins)",
            "tlsCertFile: \(pki.cert("kubelet-serving"))",
            "tlsPrivateKeyFile: \(pki.key("kubelet-serving"))",
            "clusterDomain: \(network.clusterDomain)",
            "resolvConf: /etc/resolv.conf",
            "failSwapOn: false",
            // Re-sync every pod every 10 s (default 1 m): a mirror pod missed at registration appears quickly.
            "syncFrequency: 10s",
        ]
        if !version.isAtLeast(1, 27) {
            // How fast the kubelet may call the API server and record events: current releases' defaults (50 and
            // 100 since 1.27, kubernetes PR #116121; 5 and 10 before). At 5 a second, a restarted kubelet's pod
            // statuses queue for seconds behind its registration, lease and events.
            lines += ["kubeAPIQPS: 50", "kubeAPIBurst: 100", "eventRecordQPS: 50", "eventBurst: 100"]
        }
        switch mode {
        case .standalone:
            // Without an API server the kubelet cannot ask anyone who may do what (webhook needs a client):
            // accept only client certificates from our CA, and allow those everything.
            lines += [
                "podCIDR: \(network.podSubnet)",
                "authentication:",
                "  anonymous:",
                "    enabled: false",
                "  webhook:",
                "    enabled: false",
                "  x509:",
                "    clientCAFile: \(pki.cert("ca"))",
                "authorization:",
                "  mode: AlwaysAllow",
            ]
        case .cluster:
            lines += [
                "authentication:",
                "  anonymous:",
                "    enabled: false",
                "  webhook:",
                "    enabled: true",
                "  x509:",
                "    clientCAFile: \(pki.cert("ca"))",
                "authorization:",
                "  mode: Webhook",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }

    // MARK: etcd

    public func etcd() -> ComponentPlan {
        let name = facts.nodeName
        return ComponentPlan(
            component: .etcd,
            executable: binaries.path(.etcd),
            arguments: [
                "--name=\(name)",
                "--data-dir=\(layout.etcdData)",
                // Loopback only: nothing but the API server on this machine may read the cluster's state.
                "--listen-client-urls=http://127.0.0.1:2379",
                "--advertise-client-urls=http://127.0.0.1:2379",
                "--listen-peer-urls=http://127.0.0.1:2380",
                "--initial-advertise-peer-urls=http://127.0.0.1:2380",
                "--initial-cluster=\(name)=http://127.0.0.1:2380",
                "--initial-cluster-state=new",
                "--initial-cluster-token=kubescratch",
            ],
            environment: environment(),
            files: [],
            health: .http(url: "http://127.0.0.1:2379/health"),
            startTimeoutSeconds: 30,
            talksTo: [],
            ports: [2379, 2380]
        )
    }

    // MARK: kube-apiserver

    public func apiServer() -> ComponentPlan {
        let args = [
            "--advertise-address=\(facts.nodeIP)",
            "--secure-port=\(network.apiServerPort)",
            "--etcd-servers=http://127.0.0.1:2379",
            "--allow-privileged=true",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
            "--client-ca-file=\(pki.cert("ca"))",
            "--tls-cert-file=\(pki.cert("kube-apiserver"))",
            "--tls-private-key-file=\(pki.key("kube-apiserver"))",
            "--kubelet-certificate-authority=\(pki.cert("ca"))",
            "--kubelet-client-certificate=\(pki.cert("apiserver-kubelet-client"))",
            "--kubelet-client-key=\(pki.key("apiserver-kubelet-client"))",
            "--kubelet-preferred-address-types=InternalIP,Hostname",
            "--service-account-issuer=https://kubernetes.default.svc.\(network.clusterDomain)",
            "--service-account-key-file=\(pki.publicKey("sa"))",
            "--service-account-signing-key-file=\(pki.key("sa"))",
            "--service-cluster-ip-range=\(network.serviceRange)",
            "--service-node-port-range=\(network.nodePortRange)",
            // The front-proxy CA keeps the scheduler and controller manager from complaining every few
            // seconds about a missing request-header CA (docs/v1.20.md, P14); kubeadm sets the same.
            "--requestheader-client-ca-file=\(pki.cert("front-proxy-ca"))",
            "--requestheader-allowed-names=front-proxy-client",
            "--requestheader-extra-headers-prefix=X-Remote-Extra-",
            "--requestheader-group-headers=X-Remote-Group",
            "--requestheader-username-headers=X-Remote-User",
            "--proxy-client-cert-file=\(pki.cert("front-proxy-client"))",
            "--proxy-client-key-file=\(pki.key("front-proxy-client"))",
            // Every call, as it happens, for the traffic view: the log backend, in the state folder. A file, not
            // standard output, which would mix with klog's lines in the component's log. Its mode defaults to
            // blocking (each event written before the answer: no delay), unlike a webhook backend's batches of up to
            // 30 s. Bounded: 20 MB, then one rotated file. The flags are the same in v1.20 and current releases
            // (staging/src/k8s.io/apiserver/pkg/server/options/audit.go).
            "--audit-policy-file=\(layout.auditPolicy)",
            "--audit-log-path=\(layout.auditLog)",
            "--audit-log-format=json",
            "--audit-log-maxsize=20",
            "--audit-log-maxbackup=1",
            "--v=2",
        ]
        return ComponentPlan(
            component: .kubeAPIServer,
            executable: binaries.path(.kubeAPIServer),
            arguments: args,
            environment: environment(),
            files: [PlannedFile(path: layout.auditPolicy, contents: auditPolicy())],
            health: .https(url: "https://127.0.0.1:\(network.apiServerPort)/readyz", caFile: pki.cert("ca")),
            startTimeoutSeconds: 90,
            talksTo: [.etcd, .kubelet],
            ports: [network.apiServerPort]
        )
    }

    /// Metadata of every call (who, verb, object, answer), never bodies; a watch logged when it opens and when it
    /// ends, the rest when answered (RequestReceived omitted). Left out: health probes, and kubescratch's own
    /// diagram, which watches the node as `kubescratch:observer` and is not part of what the lesson shows.
    /// audit.k8s.io/v1 Policy, the same in v1.20 and current releases (staging/src/k8s.io/apiserver/pkg/apis/audit/v1).
    public func auditPolicy() -> String {
        """
        apiVersion: audit.k8s.io/v1
        kind: Policy
        omitStages: ["RequestReceived"]
        rules:
          - level: None
            users: ["\(ClusterPKI.observerUser)"]
          - level: None
            nonResourceURLs: ["/healthz*", "/livez*", "/readyz*"]
          - level: Metadata

        """
    }

    // MARK: kube-scheduler

    public var schedulerConfigPath: String { layout.config + "/kube-scheduler.yaml" }

    public func scheduler() -> ComponentPlan {
        let kubeconfig = layout.kubeconfig("kube-scheduler")
        var args: [String] = []
        var files: [PlannedFile] = []
        if version.isAtLeast(1, 25) {
            // kubescheduler.config.k8s.io/v1 is GA from 1.25; --kubeconfig is then only honoured without --config.
            args.append("--config=\(schedulerConfigPath)")
            files.append(PlannedFile(path: schedulerConfigPath, contents: schedulerConfig()))
        } else {
            args.append("--kubeconfig=\(kubeconfig)")
        }
        args += [
            "--authentication-kubeconfig=\(kubeconfig)",
            "--authorization-kubeconfig=\(kubeconfig)",
            "--bind-address=127.0.0.1",
            "--secure-port=10259",
        ]
        if !version.isAtLeast(1, 24) {
            // Until 1.23 the scheduler also served plain HTTP on 10251 (all interfaces); 0 turns it off.
            args.append("--port=0")
        }
        if !version.isAtLeast(1, 25) { args.append("--leader-elect=false") }
        args.append("--v=2")
        return ComponentPlan(
            component: .kubeScheduler,
            executable: binaries.path(.kubeScheduler),
            arguments: args,
            environment: environment(),
            files: files,
            health: .httpsSelfSigned(url: "https://127.0.0.1:10259/healthz"),
            startTimeoutSeconds: 30,
            talksTo: [.kubeAPIServer],
            ports: [10259]
        )
    }

    public func schedulerConfig() -> String {
        """
        apiVersion: kubescheduler.config.k8s.io/v1
        kind: KubeSchedulerConfiguration
        clientConnection:
          kubeconfig: \(layout.kubeconfig("kube-scheduler"))
        leaderElection:
          leaderElect: false

        """
    }

    // MARK: kube-controller-manager

    public func controllerManager() -> ComponentPlan {
        let kubeconfig = layout.kubeconfig("kube-controller-manager")
        var args = [
            "--kubeconfig=\(kubeconfig)",
            "--authentication-kubeconfig=\(kubeconfig)",
            "--authorization-kubeconfig=\(kubeconfig)",
            "--bind-address=127.0.0.1",
            "--secure-port=10257",
        ]
        if !version.isAtLeast(1, 24) { args.append("--port=0") }
        args += [
            "--leader-elect=false",
            "--client-ca-file=\(pki.cert("ca"))",
            "--requestheader-client-ca-file=\(pki.cert("front-proxy-ca"))",
            "--cluster-name=kubernetes",
            "--cluster-signing-cert-file=\(pki.cert("ca"))",
            "--cluster-signing-key-file=\(pki.key("ca"))",
            "--root-ca-file=\(pki.cert("ca"))",
            "--service-account-private-key-file=\(pki.key("sa"))",
            // Each controller acts under its own service account, so RBAC shows who did what.
            "--use-service-account-credentials=true",
            "--service-cluster-ip-range=\(network.serviceRange)",
            "--allocate-node-cidrs=true",
            "--cluster-cidr=\(network.clusterCIDR)",
            "--node-cidr-mask-size=24",
            // Stage 6 stops node-2's kubelet and waits for the Node to turn NotReady: 20 s instead of the default
            // (40 s on v1.20, 50 s on current releases, k/k#121793). The kubelet renews its Lease every 10 s, so
            // one late renewal is still forgiven. The flag exists in every release here.
            "--node-monitor-grace-period=20s",
            // Otherwise it creates /usr/libexec/kubernetes/kubelet-plugins/volume/exec on the host.
            "--flex-volume-plugin-dir=\(layout.volumePlugins)",
            "--v=2",
        ]
        return ComponentPlan(
            component: .kubeControllerManager,
            executable: binaries.path(.kubeControllerManager),
            arguments: args,
            environment: environment(),
            files: [],
            health: .httpsSelfSigned(url: "https://127.0.0.1:10257/healthz"),
            startTimeoutSeconds: 30,
            talksTo: [.kubeAPIServer],
            ports: [10257]
        )
    }

    // MARK: kube-proxy

    public var kubeProxyConfigPath: String { layout.config + "/kube-proxy.yaml" }

    public func kubeProxy() -> ComponentPlan {
        ComponentPlan(
            component: .kubeProxy,
            executable: binaries.path(.kubeProxy),
            arguments: ["--config=\(kubeProxyConfigPath)", "--v=2"],
            environment: environment(),
            files: [PlannedFile(path: kubeProxyConfigPath, contents: kubeProxyConfig())],
            health: .http(url: "http://127.0.0.1:10256/healthz"),
            startTimeoutSeconds: 30,
            talksTo: [.kubeAPIServer],
            ports: [10256, 10249]
        )
    }

    public func kubeProxyConfig() -> String {
        """
        apiVersion: kubeproxy.config.k8s.io/v1alpha1
        kind: KubeProxyConfiguration
        clientConnection:
          kubeconfig: \(layout.kubeconfig("kube-proxy"))
        hostnameOverride: \(facts.nodeName)
        mode: iptables
        clusterCIDR: \(network.clusterCIDR)
        bindAddress: 0.0.0.0
        healthzBindAddress: 127.0.0.1:10256
        metricsBindAddress: 127.0.0.1:10249
        oomScoreAdj: 0
        # leave the host's conntrack sysctls alone
        conntrack:
          maxPerCore: 0
          min: 0
          tcpEstablishedTimeout: 0s
          tcpCloseWaitTimeout: 0s
        iptables:
          masqueradeAll: false
          masqueradeBit: 14
          syncPeriod: 30s
          minSyncPeriod: 1s

        """
    }
}

func directory(of path: String) -> String {
    guard let slash = path.lastIndex(of: "/") else { return "" }
    return String(path[..<slash])
}

extension Array where Element: Hashable {
    public func uniqued() -> [Element] {
        var seen = Set<Element>()
        return filter { seen.insert($0).inserted }
    }
}
