import KubescratchCore
import Testing

/// The exact command lines and configs, pinned for v1.20 (the end-to-end lane, flags as in
/// docs/v1.20.md) and for a current release (docs/components.md).
@Suite struct ComponentPlannerTests {
    let v120 = Sample.planner(KubernetesVersion(1, 20, 2))
    let v134 = Sample.planner(KubernetesVersion(1, 34, 1), containerd: KubernetesVersion(2, 1, 4))

    @Test func kubeletV120UsesRemoteRuntimeFlags() {
        let plan = v120.kubelet(mode: .cluster)
        #expect(plan.executable == "/opt/k8s/kubelet")
        #expect(plan.arguments == [
            "--config=/var/lib/kubescratch/config/kubelet.yaml",
            "--kubeconfig=/var/lib/kubescratch/kubeconfigs/kubelet.kubeconfig",
            "--root-dir=/var/lib/kubescratch/kubelet",
            "--container-runtime=remote",
            "--container-runtime-endpoint=unix:///var/lib/kubescratch/run/containerd.sock",
            "--runtime-request-timeout=5m",
            "--node-ip=192.0.2.2",
            "--hostname-override=vm",
            "--oom-score-adj=0",
            "--v=2",
        ])
        #expect(plan.talksTo == [.containerd, .kubeAPIServer])
        #expect(plan.health == .http(url: "http://127.0.0.1:10248/healthz"))
    }

    @Test func standaloneKubeletHasNoKubeconfigAndNoWebhook() {
        let plan = v120.kubelet(mode: .standalone)
        #expect(!plan.arguments.contains { $0.hasPrefix("--kubeconfig") })
        let config = v120.kubeletConfig(mode: .standalone)
        #expect(config.contains("  mode: AlwaysAllow"))
        #expect(config.contains("  webhook:\n    enabled: false"))
        #expect(config.contains("podCIDR: 10.200.0.0/24"))
        #expect(plan.talksTo == [.containerd])
    }

    @Test func clusterKubeletAsksTheAPIServer() {
        let config = v120.kubeletConfig(mode: .cluster)
        #expect(config.contains("  mode: Webhook"))
        #expect(config.contains("  webhook:\n    enabled: true"))
        #expect(config.contains("clientCAFile: /var/lib/kubescratch/pki/ca.crt"))
        #expect(!config.contains("containerRuntimeEndpoint"))
    }

    @Test func currentKubeletMovesRuntimeSettingsIntoConfig() {
        let plan = v134.kubelet(mode: .cluster)
        #expect(!plan.arguments.contains { $0.hasPrefix("--container-runtime") })
        #expect(!plan.arguments.contains { $0.hasPrefix("--oom-score-adj") })
        let config = v134.kubeletConfig(mode: .cluster)
        #expect(config.contains("containerRuntimeEndpoint: unix:///var/lib/kubescratch/run/containerd.sock"))
        #expect(config.contains("oomScoreAdj: 0"))
        #expect(config.contains("failCgroupV1: false"))
        let onV2 = Sample.planner(KubernetesVersion(1, 34, 1), cgroup: 2).kubeletConfig(mode: .cluster)
        #expect(!onV2.contains("failCgroupV1"))
    }

    @Test func apiServerIsSecureByDefault() {
        let arguments = v120.apiServer().arguments
        #expect(arguments.contains("--authorization-mode=Node,RBAC"))
        #expect(arguments.contains("--enable-admission-plugins=NodeRestriction"))
        #expect(arguments.contains("--client-ca-file=/var/lib/kubescratch/pki/ca.crt"))
        #expect(arguments.contains("--service-account-signing-key-file=/var/lib/kubescratch/pki/sa.key"))
        #expect(arguments.contains("--service-account-key-file=/var/lib/kubescratch/pki/sa.pub"))
        #expect(arguments.contains("--etcd-servers=http://127.0.0.1:2379"))
        #expect(!arguments.contains { $0.hasPrefix("--insecure") })
        #expect(v120.apiServer().arguments == v134.apiServer().arguments)
    }

    @Test func etcdListensOnLoopbackOnly() {
        let arguments = v120.etcd().arguments
        #expect(arguments.contains("--listen-client-urls=http://127.0.0.1:2379"))
        #expect(arguments.contains("--listen-peer-urls=http://127.0.0.1:2380"))
        #expect(arguments.contains("--initial-cluster=vm=http://127.0.0.1:2380"))
    }

    @Test func schedulerV120TurnsOffTheInsecurePort() {
        let plan = v120.scheduler()
        #expect(plan.arguments == [
            "--kubeconfig=/var/lib/kubescratch/kubeconfigs/kube-scheduler.kubeconfig",
            "--authentication-kubeconfig=/var/lib/kubescratch/kubeconfigs/kube-scheduler.kubeconfig",
            "--authorization-kubeconfig=/var/lib/kubescratch/kubeconfigs/kube-scheduler.kubeconfig",
            "--bind-address=127.0.0.1",
            "--secure-port=10259",
            "--port=0",
            "--leader-elect=false",
            "--v=2",
        ])
        #expect(plan.files.isEmpty)
    }

    @Test func currentSchedulerUsesConfigV1() {
        let plan = v134.scheduler()
        #expect(plan.arguments.first == "--config=/var/lib/kubescratch/config/kube-scheduler.yaml")
        #expect(!plan.arguments.contains("--port=0"))
        #expect(!plan.arguments.contains { $0.hasPrefix("--kubeconfig") })
        #expect(plan.files.first?.contents.contains("apiVersion: kubescheduler.config.k8s.io/v1\n") == true)
        #expect(plan.files.first?.contents.contains("leaderElect: false") == true)
    }

    @Test func controllerManagerPortFlagOnlyBefore124() {
        #expect(v120.controllerManager().arguments.contains("--port=0"))
        #expect(!v134.controllerManager().arguments.contains("--port=0"))
        let arguments = v134.controllerManager().arguments
        #expect(arguments.contains("--use-service-account-credentials=true"))
        #expect(arguments.contains("--flex-volume-plugin-dir=/var/lib/kubescratch/kubelet/volume-plugins"))
        #expect(arguments.contains("--cluster-signing-key-file=/var/lib/kubescratch/pki/ca.key"))
    }

    @Test func kubeProxyIptablesModeKeepsHostConntrackSettings() {
        let config = v120.kubeProxyConfig()
        #expect(config.contains("mode: iptables"))
        #expect(config.contains("hostnameOverride: vm"))
        #expect(config.contains("oomScoreAdj: 0"))
        #expect(config.contains("  maxPerCore: 0"))
        #expect(v120.kubeProxy().arguments == ["--config=/var/lib/kubescratch/config/kube-proxy.yaml", "--v=2"])
    }

    @Test func containerdConfigFollowsItsMajorVersion() {
        let v2 = v120.containerd().files[0].contents
        #expect(v2.hasPrefix("version = 2\n"))
        #expect(v2.contains("restrict_oom_score_adj = true"))
        #expect(v2.contains("netns_mounts_under_state_dir = true"))
        #expect(v2.contains("sandbox_image = \"localhost/kubescratch-pause:1.0\""))
        #expect(v2.contains("bin_dir = \"/usr/lib/cni\""))
        #expect(v2.contains("address = \"/var/lib/kubescratch/run/containerd.sock\""))
        let v3 = v134.containerd().files[0].contents
        #expect(v3.hasPrefix("version = 3\n"))
        #expect(v3.contains("[plugins.'io.containerd.cri.v1.images'.pinned_images]"))
        #expect(v3.contains("bin_dirs = [\"/usr/lib/cni\"]"))
        let v20 = Sample.planner(KubernetesVersion(1, 34, 1), containerd: KubernetesVersion(2, 0, 5)).containerd().files[0].contents
        #expect(v20.contains("bin_dir = \"/usr/lib/cni\""))
    }

    /// containerd 2.x defaults that would reach the host, turned off in the v3 file (containerd 1.x has them off).
    @Test func containerd2LeavesTheHostsNRIAppArmorAndCDIAlone() {
        let v3 = v134.containerdConfigV3()
        #expect(v3.contains("  [plugins.'io.containerd.nri.v1.nri']\n    disable = true\n"))
        #expect(v3.contains("    disable_apparmor = true\n"))
        #expect(v3.contains("    enable_cdi = false\n"))
        #expect(v3.contains("    enable_unprivileged_ports = false\n") && v3.contains("    enable_unprivileged_icmp = false\n"))
        #expect(v3.contains("  [plugins.'io.containerd.image-verifier.v1.bindir']\n    bin_dir = \"/var/lib/kubescratch/containerd/opt/image-verifier/bin\"\n"))
        // The runtime keys sit in the CRI runtime table, before the next table starts.
        let runtime = v3.components(separatedBy: "[plugins.'io.containerd.cri.v1.runtime']\n")[1].components(separatedBy: "[plugins.")[0]
        #expect(runtime.contains("disable_apparmor = true") && runtime.contains("enable_cdi = false"))
        let v2 = v120.containerdConfigV2()
        #expect(!v2.contains("nri") && !v2.contains("apparmor"), "the v2 file (containerd 1.x) is unchanged")
    }

    @Test func everyDaemonGetsTheMetadataSafetyVariable() {
        for component in ComponentID.all(workers: [.second, WorkerNode(index: 3)!]) {
            #expect(v120.plan(component).environment["AWS_EC2_METADATA_DISABLED"] == "true", "\(component.name)")
        }
        #expect(v120.containerd().environment["PATH"]?.hasPrefix("/usr/sbin:/usr/bin") == true)
    }

    @Test func commandLineIsCopyable() {
        #expect(shellQuoted("--flag=a,b") == "--flag=a,b")
        #expect(shellQuoted("it's") == "'it'\\''s'")
        #expect(v120.etcd().commandLine.hasPrefix("/usr/bin/etcd \\\n    --name=vm"))
    }

    @Test func versionsParseFromToolOutput() {
        #expect(KubernetesVersion(parsing: "Kubernetes v1.20.2") == KubernetesVersion(1, 20, 2))
        #expect(KubernetesVersion(parsing: "containerd github.com/containerd/containerd 1.6.20~ds1 1.6.20~ds1-1+deb12u3") == KubernetesVersion(1, 6, 20))
        #expect(KubernetesVersion(parsing: "etcd Version: 3.4.23\nGit SHA: x") == KubernetesVersion(3, 4, 23))
        #expect(KubernetesVersion(parsing: "no version here") == nil)
        #expect(KubernetesVersion(1, 27, 0).isAtLeast(1, 27))
        #expect(!KubernetesVersion(1, 26, 9).isAtLeast(1, 27))
    }
}
