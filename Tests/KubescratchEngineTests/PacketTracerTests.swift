import Foundation
@testable import KubescratchEngine
import KubescratchCore
import Testing

/// What a trace may be sent to, and how conntrack's answer is read. (The trace itself runs in the e2e lane.)
struct PacketTracerTests {
    @Test func onlyThisMachinesPodsAndServicesAddressesMayBeTraced() {
        let network = ClusterNetwork()
        let workers = [WorkerNetwork(.second, cluster: network), WorkerNetwork(WorkerNode(index: 3)!, cluster: network)]
        for host in ["192.0.2.2", "127.0.0.1", "10.200.0.5", "10.200.1.4", "10.201.0.2", "10.32.0.10", "10.200.2.7", "10.201.0.6"] {
            #expect(PacketTracer.allowed(host, network: network, nodeIP: "192.0.2.2", workers: workers), "\(host)")
        }
        for host in ["192.0.2.3", "169.254.169.254", "8.8.8.8", "10.0.0.1", "10.200.3.1", "10.201.0.10"] {
            #expect(!PacketTracer.allowed(host, network: network, nodeIP: "192.0.2.2", workers: workers), "\(host)")
        }
        // Without workers their ranges have no route here: refused.
        for host in ["10.200.1.4", "10.201.0.2"] {
            #expect(!PacketTracer.allowed(host, network: network, nodeIP: "192.0.2.2", workers: []), "\(host)")
        }
    }

    /// A real entry (v1.20.2 node, stage 5, a request to the NodePort from this machine).
    @Test func theReplysSourceIsThePod() {
        let entry = "tcp      6 9 CLOSE src=192.0.2.2 dst=192.0.2.2 sport=55632 dport=30080 src=10.200.0.6 dst=10.200.0.1 sport=80 dport=1581 [ASSURED] mark=0 use=1"
        #expect(PacketTracer.replySource(entry) == "10.200.0.6")
        #expect(PacketTracer.replySource("tcp 6 9 CLOSE src=192.0.2.2 dst=192.0.2.2") == nil)
    }
}
