import Foundation
import KubescratchCore
import Testing
import X509

/// Stage 6's plan: node-2 in network namespace ks-node-2, pinned for v1.20.2 (containerd 1.6) and for a current
/// release (1.37, containerd 2.3), plus the properties that keep the two nodes apart (docs/second-node.md).
@Suite struct SecondNodeTests {
    let v120 = WorkerPlanner(.second, first: Sample.planner(KubernetesVersion(1, 20, 2)))
    let v137 = WorkerPlanner(.second, first: Sample.planner(KubernetesVersion(1, 37, 0), containerd: KubernetesVersion(2, 3, 4)))
    var network: WorkerNetwork { v120.network }

    func words(_ commands: [PlannedCommand]) -> [String] {
        commands.map { ([$0.program] + $0.arguments).joined(separator: " ") }
    }

    // MARK: the network, exactly

    @Test func setupCommandsInOrder() {
        #expect(words(network.setup.map(\.command)) == [
            "ip netns add ks-node-2",
            "ip link add ks-to-node-2 type veth peer name ks-to-host",
            "ip link set ks-to-host netns ks-node-2",
            "ip addr add 10.201.0.1/30 dev ks-to-node-2",
            "ip link set ks-to-node-2 up",
            "ip -n ks-node-2 addr add 10.201.0.2/30 dev ks-to-host",
            "ip -n ks-node-2 link set ks-to-host up",
            "ip -n ks-node-2 link set lo up",
            "ip -n ks-node-2 route add default via 10.201.0.1",
            "nsenter --net=/run/netns/ks-node-2 sysctl -w net.ipv4.ip_forward=1",
            "ip route replace blackhole 10.200.0.0/16",
            "ip -n ks-node-2 route add blackhole 10.200.0.0/16",
        ])
    }

    /// node-3 is node-2's plan with another number: nothing of it is written out anywhere else.
    @Test func node3FollowsFromItsNumber() {
        let node3 = WorkerNetwork(WorkerNode(index: 3)!)
        #expect(node3.namespace == "ks-node-3" && node3.hostLink == "ks-to-node-3" && node3.nodeLink == "ks-to-host")
        #expect(node3.link.description == "10.201.0.4/30" && node3.hostAddress == "10.201.0.5" && node3.nodeAddress == "10.201.0.6")
        #expect(node3.podSubnet == "10.200.2.0/24" && node3.bridge == "cni2")
        let planner = WorkerPlanner(WorkerNode(index: 3)!, first: Sample.planner(KubernetesVersion(1, 20, 2)))
        #expect(planner.cgroupParent == "/ks-node-3" && planner.layout.root == "/var/lib/kubescratch/node-3")
        #expect(planner.kubelet().plan.component.name == "node-3-kubelet" && planner.facts.nodeIP == "10.201.0.6")
        // Every worker's link, pod range and names are its own.
        let all = WorkerNode.indices.map { WorkerNetwork(WorkerNode(index: $0)!) }
        for (index, one) in all.enumerated() {
            for other in all[(index + 1)...] {
                #expect(!one.link.overlaps(other.link) && !IPv4Range(one.podSubnet)!.overlaps(IPv4Range(other.podSubnet)!))
                #expect(Set(one.names).intersection(other.names) == [one.nodeLink])
            }
            #expect(WorkerNetwork.linkRange.contains(one.link) && one.names.allSatisfy { $0.count <= 15 })
        }
        #expect(WorkerNode(name: "node-1") == nil && WorkerNode(name: "node-10") == nil && WorkerNode(name: "node-02") == nil)
        #expect(ComponentID(name: "node-3-kube-proxy") == ComponentID(.kubeProxy, on: WorkerNode(index: 3)!))
        #expect(ComponentID(name: "node-3-etcd") == nil && ComponentID(name: "kube-proxy") == .kubeProxy)
    }

    /// With a second worker, each learns the other's pods through the host, and each removal takes its own routes
    /// out of the other's namespace too.
    @Test func podRoutesBetweenWorkers() {
        let node3 = WorkerNetwork(WorkerNode(index: 3)!)
        #expect(words(node3.podRoutes(others: [network]).map(\.command)) == [
            "ip route replace 10.200.2.0/24 via 10.201.0.6",
            "ip -n ks-node-3 route replace 10.200.0.0/24 via 10.201.0.5",
            "ip -n ks-node-3 route replace 10.200.1.0/24 via 10.201.0.5",
            "ip -n ks-node-2 route replace 10.200.2.0/24 via 10.201.0.1",
        ])
        #expect(words(node3.teardown(others: [network]).map(\.command)) == [
            "ip -n ks-node-2 route del 10.200.2.0/24 via 10.201.0.1",
            "ip route del 10.200.2.0/24 via 10.201.0.6",
            "ip link del ks-to-node-3",
            "ip netns del ks-node-3",
        ])
        #expect(words(node3.removePodRoutes(others: [network]).map(\.command)) == [
            "ip -n ks-node-3 route del 10.200.0.0/24 via 10.201.0.5",
            "ip -n ks-node-3 route del 10.200.1.0/24 via 10.201.0.5",
            "ip -n ks-node-2 route del 10.200.2.0/24 via 10.201.0.1",
            "ip route del 10.200.2.0/24 via 10.201.0.6",
        ])
    }

    @Test func podRoutesAreKubernetesTheHardWays() {
        #expect(words(network.podRoutes().map(\.command)) == [
            "ip route replace 10.200.1.0/24 via 10.201.0.2",
            "ip -n ks-node-2 route replace 10.200.0.0/24 via 10.201.0.1",
        ])
        #expect(words(network.removePodRoutes().map(\.command)) == [
            "ip -n ks-node-2 route del 10.200.0.0/24 via 10.201.0.1",
            "ip route del 10.200.1.0/24 via 10.201.0.2",
        ])
        #expect(network.removePodRoutes().allSatisfy { $0.mayFail })
    }

    @Test func teardownIsNewestFirstAndIdempotent() {
        #expect(words(network.teardown().map(\.command)) == [
            "ip route del 10.200.1.0/24 via 10.201.0.2",
            "ip link del ks-to-node-2",
            "ip netns del ks-node-2",
        ])
        // The host's guard goes with the last worker only.
        #expect(words([network.hostGuardRemoval.command]) == ["ip route del blackhole 10.200.0.0/16"] && network.hostGuardRemoval.mayFail)
        #expect(network.teardown().allSatisfy { $0.mayFail })
        #expect(network.setup.allSatisfy { !$0.command.arguments.contains("del") })
        // The exact messages iproute2 6.1 prints when there is nothing left to remove.
        let gone = [
            "RTNETLINK answers: No such process",
            "Cannot find device \"ks-to-node-2\"",
            "Cannot remove namespace file \"/run/netns/ks-node-2\": No such file or directory",
        ]
        for (command, stderr) in zip(network.teardown(), gone) {
            #expect(command.failureMeansAlreadyGone(stderr: stderr), "\(command.command.shellText)")
            #expect(!command.failureMeansAlreadyGone(stderr: "RTNETLINK answers: Operation not permitted"))
        }
        #expect(!network.teardown()[2].failureMeansAlreadyGone(stderr: "Cannot remove namespace file \"/run/netns/ks-node-2\": Device or resource busy"))
    }

    // MARK: the network, as properties

    @Test func teardownReversesSetup() throws {
        let steps = network.setup + network.podRoutes()
        #expect(network.teardown() == steps.reversed().compactMap(\.undoCommand))
        // Each undo removes what its own step added: same object, `del` for `add`.
        for step in steps {
            guard let undo = step.undoCommand?.command else { continue }
            let added = step.command.arguments
            let removed = undo.arguments
            // Pod routes are `replace`d (adding them twice is no error); everything else is `add`ed.
            let verb = try #require(added.firstIndex(of: "add") ?? added.firstIndex(of: "replace"))
            #expect(removed[verb] == "del", "\(undo.shellText)")
            #expect(Array(removed.prefix(verb)) == Array(added.prefix(verb)))
            #expect(removed[(verb + 1)...].first == added[(verb + 1)...].first, "\(undo.shellText) undoes \(step.command.shellText)")
        }
        // What has no command of its own goes with the namespace or the link, both made before it.
        for (index, step) in steps.enumerated() {
            guard case .removedWith(let owner) = step.undo, owner != "the last worker" else { continue }
            let ownerIndex = steps.firstIndex { $0.undoCommand != nil && owner.hasSuffix(" " + ($0.undoCommand!.command.arguments.last ?? "")) }
            #expect(ownerIndex.map { $0 < index } == true, "\(step.purpose): removed with \(owner)")
        }
    }

    @Test func namesFitTheKernelsLimit() {
        for name in network.names {
            #expect(!name.isEmpty && name.count <= 15, "\(name)")
            #expect(name.allSatisfy { $0.isLetter || $0.isNumber || $0 == "-" }, "\(name)")
        }
        #expect(Set(network.names).count == network.names.count)
        #expect(!network.names.contains(ClusterNetwork().bridge))
    }

    @Test func rangesAreApartFromEachOther() {
        let link = network.link
        let cluster = ClusterNetwork()
        let others = [cluster.podSubnet, network.podSubnet, cluster.serviceRange, cluster.clusterCIDR].map { IPv4Range($0)! }
        for range in others { #expect(!link.overlaps(range), "\(link) overlaps \(range)") }
        #expect(!IPv4Range(cluster.podSubnet)!.overlaps(IPv4Range(network.podSubnet)!))
        #expect(IPv4Range(cluster.clusterCIDR)!.contains(IPv4Range(network.podSubnet)!))
        #expect(link.size == 4 && network.hostAddress == "10.201.0.1" && network.nodeAddress == "10.201.0.2")
        #expect(!link.contains(Sample.facts(kubernetes: KubernetesVersion(1, 20, 2)).nodeIP))
    }

    /// Every address the network plan names is one kubescratch assigned: the link, the pod ranges, the cluster CIDR.
    @Test func networkCommandsNameOnlyAssignedAddresses() {
        let commands = network.setup.map(\.command) + network.podRoutes().map(\.command) + network.teardown().map(\.command)
            + network.removePodRoutes().map(\.command)
        let found = commands.flatMap { addresses(in: $0.shellText) }
        #expect(!found.isEmpty)
        for address in found {
            #expect(network.assignedRanges.contains { $0.contains(IPv4Range(address)!) }, "\(address) is not ours")
        }
    }

    /// The components name no other address either, save loopback, "any", and node-1's (the API server).
    @Test func componentsNameOnlyAssignedAddresses() {
        for planner in [v120, v137] {
            let allowed = planner.network.assignedRanges + ["127.0.0.1", "0.0.0.0/0", planner.first.facts.nodeIP].map { IPv4Range($0)! }
            for component in planner.components {
                let text = component.plan.arguments.joined(separator: " ") + component.plan.files.map(\.contents).joined()
                for address in addresses(in: text) where address != "0.0.0.0" {
                    #expect(allowed.contains { $0.contains(IPv4Range(address)!) }, "\(component.plan.component.name): \(address)")
                }
            }
        }
    }

    // MARK: components, exactly (v1.20.2)

    @Test func everyComponentRunsInTheNamespace() {
        for planner in [v120, v137] {
            for component in planner.components {
                #expect(component.plan.executable == "nsenter")
                // Before 1.29 containerd and the kubelet also enter node-2's mount namespace (pod logs of its own).
                let mount = planner.usesMountNamespace && component.program != "/opt/k8s/kube-proxy" ? ["--mount=/var/lib/kubescratch/node-2/mount-ns/mnt"] : []
                #expect(Array(component.plan.arguments.prefix(2 + mount.count)) == ["--net=/run/netns/ks-node-2"] + mount + [component.program])
                #expect(component.plan.environment["AWS_EC2_METADATA_DISABLED"] == "true", "\(component.plan.component.name)")
                #expect(component.log.hasPrefix("/var/lib/kubescratch/logs/node-2-"), "\(component.log)")
                #expect(component.record.hasPrefix("/var/lib/kubescratch/run/components/node-2-"), "\(component.record)")
                #expect(component.plan.component.isOnWorker && component.plan.component.worker == .second)
            }
        }
        #expect(v120.components.map(\.program) == ["/usr/bin/containerd", "/opt/k8s/kubelet", "/opt/k8s/kube-proxy"])
    }

    @Test func kubeletV120() {
        let kubelet = v120.kubelet()
        #expect(kubelet.plan.arguments == [
            "--net=/run/netns/ks-node-2",
            "--mount=/var/lib/kubescratch/node-2/mount-ns/mnt",
            "/opt/k8s/kubelet",
            "--config=/var/lib/kubescratch/node-2/config/kubelet.yaml",
            "--kubeconfig=/var/lib/kubescratch/node-2/kubeconfigs/kubelet.kubeconfig",
            "--root-dir=/var/lib/kubescratch/node-2/kubelet",
            "--container-runtime=remote",
            "--container-runtime-endpoint=unix:///var/lib/kubescratch/node-2/run/containerd.sock",
            "--runtime-request-timeout=5m",
            "--node-ip=10.201.0.2",
            "--hostname-override=node-2",
            "--oom-score-adj=0",
            "--v=2",
        ])
        #expect(kubelet.plan.health == .http(url: "http://10.201.0.2:10248/healthz"))
        #expect(kubelet.plan.files == [PlannedFile(path: "/var/lib/kubescratch/node-2/config/kubelet.yaml", contents: v120.kubeletConfig())])
        #expect(v120.kubeletConfig() == """
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            address: 0.0.0.0
            port: 10250
            readOnlyPort: 0
            healthzBindAddress: 10.201.0.2
            healthzPort: 10248
            cgroupDriver: cgroupfs
            cgroupRoot: /ks-node-2
            staticPodPath: /var/lib/kubescratch/node-2/manifests
            volumePluginDir: /var/lib/kubescratch/node-2/kubelet/volume-plugins
            tlsCertFile: /var/lib/kubescratch/node-2/pki/kubelet-serving.crt
            tlsPrivateKeyFile: /var/lib/kubescratch/node-2/pki/kubelet-serving.key
            clusterDomain: cluster.local
            resolvConf: /etc/resolv.conf
            failSwapOn: false
            syncFrequency: 10s
            kubeAPIQPS: 50
            kubeAPIBurst: 100
            eventRecordQPS: 50
            eventBurst: 100
            authentication:
              anonymous:
                enabled: false
              webhook:
                enabled: true
              x509:
                clientCAFile: /var/lib/kubescratch/node-2/pki/ca.crt
            authorization:
              mode: Webhook

            """)
        #expect(kubelet.listens.map(\.description) == ["[ks-node-2] 0.0.0.0:10250", "[ks-node-2] 10.201.0.2:10248"])
    }

    @Test func containerdV120() throws {
        let containerd = v120.containerd()
        #expect(containerd.plan.arguments == ["--net=/run/netns/ks-node-2", "--mount=/var/lib/kubescratch/node-2/mount-ns/mnt", "/usr/bin/containerd",
                                              "--config", "/var/lib/kubescratch/node-2/containerd/config.toml"])
        #expect(containerd.plan.health == .unixSocket(path: "/var/lib/kubescratch/node-2/run/containerd.sock"))
        let config = try #require(containerd.plan.files.first { $0.path == "/var/lib/kubescratch/node-2/containerd/config.toml" }).contents
        #expect(config.hasPrefix("""
            version = 2
            root = "/var/lib/kubescratch/node-2/containerd/root"
            state = "/var/lib/kubescratch/node-2/containerd/state"

            [grpc]
              address = "/var/lib/kubescratch/node-2/run/containerd.sock"

            """))
        #expect(config.contains("sandbox_image = \"localhost/kubescratch-pause:1.0\""))
        #expect(config.contains("Root = \"/var/lib/kubescratch/node-2/run/runc\""))
        #expect(config.contains("conf_dir = \"/var/lib/kubescratch/node-2/cni/net.d\""))
        #expect(config.contains("bin_dir = \"/usr/lib/cni\""))
        #expect(config.contains("path = \"/var/lib/kubescratch/node-2/containerd/opt\""))
        let cni = try #require(containerd.plan.files.first { $0.path == "/var/lib/kubescratch/node-2/cni/net.d/10-kubescratch.conflist" }).contents
        #expect(cni == """
            {
              "cniVersion": "0.4.0",
              "name": "kubescratch-node-2",
              "plugins": [
                {
                  "type": "bridge",
                  "bridge": "cni1",
                  "isGateway": true,
                  "ipMasq": true,
                  "hairpinMode": true,
                  "ipam": {
                    "type": "host-local",
                    "dataDir": "/var/lib/kubescratch/node-2/cni/ipam",
                    "ranges": [[{"subnet": "10.200.1.0/24"}]],
                    "routes": [{"dst": "0.0.0.0/0"}]
                  }
                },
                {
                  "type": "portmap",
                  "capabilities": {"portMappings": true}
                }
              ]
            }

            """)
    }

    @Test func kubeProxyV120() {
        let proxy = v120.kubeProxy()
        #expect(proxy.plan.arguments == ["--net=/run/netns/ks-node-2", "/opt/k8s/kube-proxy",
                                         "--config=/var/lib/kubescratch/node-2/config/kube-proxy.yaml", "--v=2"])
        #expect(proxy.plan.health == .http(url: "http://10.201.0.2:10256/healthz"))
        #expect(v120.kubeProxyConfig().hasPrefix("""
            apiVersion: kubeproxy.config.k8s.io/v1alpha1
            kind: KubeProxyConfiguration
            clientConnection:
              kubeconfig: /var/lib/kubescratch/node-2/kubeconfigs/kube-proxy.kubeconfig
            hostnameOverride: node-2
            mode: iptables
            clusterCIDR: 10.200.0.0/16
            bindAddress: 0.0.0.0
            healthzBindAddress: 10.201.0.2:10256
            metricsBindAddress: 127.0.0.1:10249
            oomScoreAdj: 0

            """))
        #expect(proxy.plan.files.map(\.contents) == [v120.kubeProxyConfig()])
        #expect(proxy.listens.map(\.description) == ["[ks-node-2] 10.201.0.2:10256", "[ks-node-2] 127.0.0.1:10249"])
    }

    // MARK: components, exactly (1.37, containerd 2.3)

    @Test func kubeletCurrentRelease() {
        #expect(v137.kubelet().plan.arguments == [
            "--net=/run/netns/ks-node-2",
            "/opt/k8s/kubelet",
            "--config=/var/lib/kubescratch/node-2/config/kubelet.yaml",
            "--kubeconfig=/var/lib/kubescratch/node-2/kubeconfigs/kubelet.kubeconfig",
            "--root-dir=/var/lib/kubescratch/node-2/kubelet",
            "--node-ip=10.201.0.2",
            "--hostname-override=node-2",
            "--v=2",
        ])
        #expect(v137.kubeletConfig() == """
            apiVersion: kubelet.config.k8s.io/v1beta1
            kind: KubeletConfiguration
            containerRuntimeEndpoint: unix:///var/lib/kubescratch/node-2/run/containerd.sock
            runtimeRequestTimeout: 5m
            oomScoreAdj: 0
            failCgroupV1: false
            address: 0.0.0.0
            port: 10250
            readOnlyPort: 0
            healthzBindAddress: 10.201.0.2
            healthzPort: 10248
            cgroupDriver: cgroupfs
            cgroupRoot: /ks-node-2
            staticPodPath: /var/lib/kubescratch/node-2/manifests
            volumePluginDir: /var/lib/kubescratch/node-2/kubelet/volume-plugins
            podLogsDir: /var/lib/kubescratch/node-2/pod-logs
            tlsCertFile: /var/lib/kubescratch/node-2/pki/kubelet-serving.crt
            tlsPrivateKeyFile: /var/lib/kubescratch/node-2/pki/kubelet-serving.key
            clusterDomain: cluster.local
            resolvConf: /etc/resolv.conf
            failSwapOn: false
            syncFrequency: 10s
            authentication:
              anonymous:
                enabled: false
              webhook:
                enabled: true
              x509:
                clientCAFile: /var/lib/kubescratch/node-2/pki/ca.crt
            authorization:
              mode: Webhook

            """)
        // podLogsDir only where the field exists (1.29+); v1.20 shares /var/log/pods (docs/second-node.md).
        #expect(!v120.kubeletConfig().contains("podLogsDir"))
        #expect(WorkerPlanner(.second, first: Sample.planner(KubernetesVersion(1, 29, 0))).kubeletConfig().contains("podLogsDir: "))
        #expect(!WorkerPlanner(.second, first: Sample.planner(KubernetesVersion(1, 28, 9))).kubeletConfig().contains("podLogsDir"))
    }

    /// Each kubelet garbage-collects the pod log folders of pods it does not know (kuberuntime_gc.go): node-2's
    /// logs must be in a folder node-1's kubelet never reads, on every version.
    @Test func podLogsOfItsOwnOnEveryVersion() {
        #expect(v120.usesMountNamespace && !v137.usesMountNamespace)
        #expect(!WorkerPlanner(.second, first: Sample.planner(KubernetesVersion(1, 29, 0))).usesMountNamespace)
        #expect(WorkerPlanner(.second, first: Sample.planner(KubernetesVersion(1, 28, 9))).usesMountNamespace)
        #expect(words(v120.mountNamespaceSetup) == [
            "mount --bind /var/lib/kubescratch/node-2/mount-ns /var/lib/kubescratch/node-2/mount-ns",
            "mount --make-private /var/lib/kubescratch/node-2/mount-ns",
            "unshare --mount=/var/lib/kubescratch/node-2/mount-ns/mnt --propagation slave true",
            "nsenter --mount=/var/lib/kubescratch/node-2/mount-ns/mnt mount --bind /var/lib/kubescratch/node-2/pod-logs /var/log/pods",
            "nsenter --mount=/var/lib/kubescratch/node-2/mount-ns/mnt mount --bind /var/lib/kubescratch/node-2/container-logs /var/log/containers",
            "nsenter --mount=/var/lib/kubescratch/node-2/mount-ns/mnt mount --bind /var/lib/kubescratch/node-2/device-plugins /var/lib/kubelet/device-plugins",
        ])
        // containerd and the kubelet in the SAME mount namespace: the kubelet's volume mounts must reach the containers.
        let entered = v120.components.map { $0.plan.arguments.first { $0.hasPrefix("--mount=") } }
        #expect(entered == ["--mount=" + v120.mountNamespaceFile, "--mount=" + v120.mountNamespaceFile, nil])
        #expect(v137.components.allSatisfy { !$0.plan.arguments.contains { $0.hasPrefix("--mount=") } })
        // Everything the namespace needs lies under node-2's folder: teardown's unmount phase and the folder's
        // removal end it.
        for path in [v120.mountNamespaceFolder, v120.mountNamespaceFile] + v120.ownHostFolders.map(\.own) {
            #expect(path.hasPrefix(v120.layout.root + "/"), "\(path)")
        }
    }

    @Test func containerdCurrentRelease() throws {
        let config = try #require(v137.containerd().plan.files.first).contents
        #expect(config.hasPrefix("""
            version = 3
            root = "/var/lib/kubescratch/node-2/containerd/root"
            state = "/var/lib/kubescratch/node-2/containerd/state"

            [grpc]
              address = "/var/lib/kubescratch/node-2/run/containerd.sock"

            """))
        #expect(config.contains("bin_dirs = [\"/usr/lib/cni\"]"))
        #expect(config.contains("conf_dir = \"/var/lib/kubescratch/node-2/cni/net.d\""))
        #expect(config.contains("Root = \"/var/lib/kubescratch/node-2/run/runc\""))
        // A second containerd 2.x must not take the NRI socket of the first (docs/components.md §14).
        #expect(config.contains("[plugins.'io.containerd.nri.v1.nri']\n    disable = true"))
        #expect(v137.containerd().plan.files.last?.contents == v120.containerd().plan.files.last?.contents)
    }

    @Test func kubeProxyCurrentReleaseIsTheSameFile() {
        #expect(v137.kubeProxyConfig() == v120.kubeProxyConfig())
        #expect(v137.kubeProxy().plan.arguments == v120.kubeProxy().plan.arguments)
    }

    // MARK: the two nodes never meet

    @Test func theTwoNodesShareNoListeningSocket() {
        for planner in [v120, v137] {
            let first = planner.first
            let node1 = ListenAddress.kubelet(config: first.kubeletConfig(mode: .cluster), namespace: nil)
                + ListenAddress.kubeProxy(config: first.kubeProxyConfig(), namespace: nil)
            let node2 = planner.kubelet().listens + planner.kubeProxy().listens
            #expect(node1.count == 4 && node2.count == 4)
            for a in node1 { for b in node2 { #expect(!a.conflicts(with: b), "\(a) and \(b)") } }
            // The same ports: only the namespace keeps them apart.
            #expect(Set(node1.map(\.port)) == Set(node2.map(\.port)))
            let onHost = node2.map { ListenAddress(namespace: nil, address: $0.address, port: $0.port) }
            #expect(onHost.contains { a in node1.contains { a.conflicts(with: $0) } })
        }
    }

    @Test func theTwoKubeletsNeverShareACgroup() {
        for planner in [v120, v137] {
            let node1 = WorkerPlanner.kubepodsCgroup(kubeletConfig: planner.first.kubeletConfig(mode: .cluster))
            #expect(node1 == "/kubepods")
            #expect(planner.kubepodsCgroup == "/ks-node-2/kubepods")
            #expect(!(planner.kubepodsCgroup + "/").hasPrefix(node1 + "/") && !(node1 + "/").hasPrefix(planner.kubepodsCgroup + "/"))
        }
        #expect(v120.cgroupFolders(cgroupVersion: 1, v1Hierarchies: ["/sys/fs/cgroup/memory", "/sys/fs/cgroup/cpu,cpuacct"])
                == ["/sys/fs/cgroup/memory/ks-node-2", "/sys/fs/cgroup/cpu,cpuacct/ks-node-2"])
        #expect(v120.cgroupFolders(cgroupVersion: 2) == ["/sys/fs/cgroup/ks-node-2"])
    }

    /// Besides the programs, the CNI plugin folder and /etc/resolv.conf (all only read), no path of node-2's
    /// containerd, kubelet or kube-proxy is, contains or lies inside one of node-1's.
    @Test func theTwoNodesNeverShareAPath() {
        for planner in [v120, v137] {
            let first = planner.first
            let node1Plans = [first.containerd(), first.kubelet(mode: .cluster), first.kubeProxy()]
            let node1 = Set(node1Plans.flatMap(paths(in:)) + [first.layout.log(.kubelet), first.layout.record(.kubelet)])
            let node2 = Set(planner.components.flatMap { paths(in: $0.plan) + [$0.log, $0.record] })
            let sharedReadOnly: Set = ["/usr/bin/containerd", "/opt/k8s/kubelet", "/opt/k8s/kube-proxy", "/usr/lib/cni", "/etc/resolv.conf"]
            #expect(node1.intersection(node2) == sharedReadOnly)
            for a in node2.subtracting(sharedReadOnly) {
                // Files under node-2's folder, its namespace, and its cgroup parent (a cgroup path, not a file).
                // Its log and supervisor record sit beside node-1's, under node-2's own names.
                let besideNode1 = a.hasPrefix("/var/lib/kubescratch/logs/node-2-") || a.hasPrefix("/var/lib/kubescratch/run/components/node-2-")
                #expect(a.hasPrefix("/var/lib/kubescratch/node-2/") || besideNode1 || a == "/run/netns/ks-node-2" || a == planner.cgroupParent, "\(a)")
                for b in node1.subtracting(sharedReadOnly) {
                    #expect(a != b && !a.hasPrefix(b + "/") && !b.hasPrefix(a + "/"), "\(a) and \(b)")
                }
            }
        }
        // Killing one node's shims by its marker never matches the other's.
        let node1Marker = "-address " + v120.first.layout.containerdSocket
        #expect(!node1Marker.contains(v120.shimMarker) && !v120.shimMarker.contains(node1Marker))
    }

    // MARK: node-2's identity

    @Test func credentialsComeFromTheClusterCA() throws {
        let layout = Sample.layout
        let cluster = try ClusterPKI.generate(facts: Sample.facts(kubernetes: KubernetesVersion(1, 20, 2)), network: ClusterNetwork(), layout: layout)
        let pki = PKIFiles(layout: layout)
        let caPEM = try #require(cluster.files.first { $0.path == pki.cert("ca") }).contents
        let caKey = try #require(cluster.files.first { $0.path == pki.key("ca") }).contents
        let files = try v120.credentials(caCertificatePEM: caPEM, caKeyPEM: caKey)
        let node2 = PKIFiles(layout: v120.layout)
        #expect(Set(files.map(\.path)) == Set([
            node2.cert("ca"), node2.cert("kubelet-client"), node2.key("kubelet-client"), node2.cert("kubelet-serving"),
            node2.key("kubelet-serving"), node2.cert("kube-proxy"), node2.key("kube-proxy"),
            "/var/lib/kubescratch/node-2/kubeconfigs/kubelet.kubeconfig", "/var/lib/kubescratch/node-2/kubeconfigs/kube-proxy.kubeconfig",
        ]))
        #expect(!files.contains { $0.path.hasSuffix("/ca.key") || $0.contents == caKey })
        for file in files {
            let secret = file.path.hasSuffix(".key") || file.path.hasSuffix(".kubeconfig")
            #expect(file.mode == (secret ? 0o600 : 0o644), "\(file.path)")
        }
        func certificate(_ name: String) throws -> Certificate {
            try Certificate(pemEncoded: try #require(files.first { $0.path == node2.cert(name) }).contents)
        }
        let ca = try Certificate(pemEncoded: caPEM)
        let client = try certificate("kubelet-client")
        #expect(Set(client.subject.description.split(separator: ",").map(String.init)) == ["CN=system:node:node-2", "O=system:nodes"])
        #expect(client.issuer == ca.subject)
        #expect(try client.extensions.extendedKeyUsage?.contains(.clientAuth) == true)
        let serving = try certificate("kubelet-serving")
        let sans = try #require(try serving.extensions.subjectAlternativeNames).map { name -> String in
            if case .dnsName(let dns) = name { return dns }
            if case .ipAddress(let octets) = name { return octets.bytes.map(String.init).joined(separator: ".") }
            return "?"
        }
        #expect(sans == ["node-2", "localhost", "127.0.0.1", "10.201.0.2"])
        #expect(try serving.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
        let kubeconfig = try #require(files.first { $0.path.hasSuffix("/kubelet.kubeconfig") }).contents
        #expect(kubeconfig.contains("server: https://192.0.2.2:6443"))
        #expect(kubeconfig.contains("- name: system:node:node-2"))

        // OpenSSL, an independent implementation, accepts each against node-1's CA.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-node2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        try caPEM.write(to: folder.appendingPathComponent("ca.crt"), atomically: true, encoding: .utf8)
        for spec in v120.certificateSpecs() {
            let path = folder.appendingPathComponent("\(spec.name).crt").path
            try #require(files.first { $0.path == node2.cert(spec.name) }).contents.write(toFile: path, atomically: true, encoding: .utf8)
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["verify", "-CAfile", folder.appendingPathComponent("ca.crt").path,
                                 "-purpose", spec.usage == .server ? "sslserver" : "sslclient", path]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            process.waitUntilExit()
            #expect(process.terminationStatus == 0, "\(spec.name): \(String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))")
        }

        let other = try ClusterPKI.generate(facts: Sample.facts(kubernetes: KubernetesVersion(1, 20, 2)), network: ClusterNetwork(), layout: layout)
        let otherKey = try #require(other.files.first { $0.path == pki.key("ca") }).contents
        #expect(throws: WorkerPKIError.self) { try v120.credentials(caCertificatePEM: caPEM, caKeyPEM: otherKey) }
    }

    @Test func otherCommandsOfTheStage() {
        #expect(v120.ctrGlobalOptions == ["-a", "/var/lib/kubescratch/node-2/run/containerd.sock", "--connect-timeout", "3s", "-n", "k8s.io"])
        #expect(v120.deleteNodeArguments == ["delete", "node", "node-2", "--ignore-not-found"])
        #expect(WorkerPlanner.TeardownPhase.allCases.first == .deletePods && WorkerPlanner.TeardownPhase.allCases.last == .cgroups)
        #expect(v120.apiServerURL == "https://192.0.2.2:6443")
    }

    @Test func rangesParse() {
        #expect(IPv4Range("10.201.0.1/30")?.description == "10.201.0.0/30")
        #expect(IPv4Range("10.200.0.0/16")!.contains("10.200.255.1"))
        #expect(!IPv4Range("10.200.0.0/16")!.contains("10.201.0.1"))
        #expect(IPv4Range("0.0.0.0/0")!.contains("8.8.8.8"))
        #expect(IPv4Range("10.1.2") == nil && IPv4Range("10.1.2.3/33") == nil && IPv4Range("256.0.0.1") == nil)
    }

    // MARK: helpers

    /// Dotted quads, with a prefix length when one follows.
    func addresses(in text: String) -> [String] {
        var found: [String] = []
        var current = ""
        for character in text + " " {
            if character.isNumber || character == "." || (character == "/" && !current.isEmpty) {
                current.append(character)
            } else {
                if current.split(separator: "/").first.map({ $0.split(separator: ".").count == 4 && !$0.hasSuffix(".") }) == true,
                   IPv4Range(current) != nil {
                    found.append(current)
                }
                current = ""
            }
        }
        return found
    }

    /// Absolute paths in a plan: its program, arguments, files and the files' contents (not comments).
    func paths(in plan: ComponentPlan) -> [String] {
        let text = ([plan.executable] + plan.arguments + plan.files.map(\.path) + plan.files.map(\.contents)).joined(separator: "\n")
            .split(separator: "\n").filter { !$0.trimmingCharacters(in: .whitespaces).hasPrefix("#") }.joined(separator: "\n")
        return text.replacingOccurrences(of: "unix://", with: " ")
            .split(whereSeparator: { " \n\t=\"',[]{}".contains($0) })
            .map(String.init)
            .filter { $0.hasPrefix("/") && $0.count > 1 }
    }
}
