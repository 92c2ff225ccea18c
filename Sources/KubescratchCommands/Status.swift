import ArgumentParser
import Foundation
import KubescratchCore
import KubescratchEngine

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Show each component: running or not, its PID, health, ports and memory; and how far the tutorial is."
    )

    @OptionGroup var state: StateOptions

    @Flag(name: .long, help: "Print JSON, for scripts.")
    var json = false

    struct ComponentStatus: Codable {
        var component: String
        var state: String
        var pid: Int32?
        var healthy: Bool?
        var health: String?
        var ports: [Int]
        var memoryMiB: Int?
        var log: String
    }

    struct Report: Codable {
        var stateDir: String
        var completedStage: Int
        var unfinishedStage: Int?
        var kubeconfig: String?
        var components: [ComponentStatus]
        /// Every node as data (the first, then each worker): scripts read the network plan here.
        var nodes: [ClusterNode]
        var clusterCIDR: String?
        /// The API server's --service-cluster-ip-range: ClusterIPs come from it.
        var serviceRange: String?
    }

    func run() async throws {
        let layout = state.layout
        let supervisor = Supervisor(layout: layout)
        let progress = Setup.loadProgress(layout)
        // The same look the diagram takes (NodeObserver), for every component that ran since the last reset: a
        // worker's only once stage 6 started it.
        let observer = progress.flatMap { _ in try? Setup.existingNode(layout) }.map { NodeObserver(context: $0.context, expected: ComponentID.firstNode) }
        var components: [ComponentStatus] = []
        for component in (ComponentID.firstNode + supervisor.recordedComponents()).uniqued() {
            let record = supervisor.record(component)
            let state = supervisor.state(component)
            var healthy: Bool?
            var health: String?
            var ports: [Int] = []
            if state == .running, let check = await observer?.check(component) {
                healthy = check.problem == nil
                health = check.problem ?? "ok (\(check.plan.health))"
                ports = check.plan.ports
            }
            components.append(ComponentStatus(
                component: component.name, state: state.rawValue, pid: state == .running ? record?.pid : nil,
                healthy: healthy, health: health, ports: ports,
                memoryMiB: state == .running ? record.flatMap { ProcessTable.residentMemoryKiB($0.pid) }.map { $0 / 1024 } : nil,
                log: layout.log(component)))
        }
        let report = Report(stateDir: layout.root, completedStage: progress?.completedStage ?? 0,
                            unfinishedStage: progress?.unfinishedStage,
                            kubeconfig: FileManager.default.fileExists(atPath: layout.adminKubeconfig) ? layout.adminKubeconfig : nil,
                            components: components, nodes: observer?.nodes() ?? [],
                            clusterCIDR: observer?.context.network.clusterCIDR, serviceRange: observer?.context.network.serviceRange)
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(report), as: UTF8.self))
            return
        }
        print("stage: \(report.completedStage)/\(Lesson.stages.upperBound) done\(report.unfinishedStage.map { ", stage \($0) unfinished" } ?? "")   state: \(layout.root)")
        if let kubeconfig = report.kubeconfig { print("KUBECONFIG=\(kubeconfig)") }
        print("")
        let header = ["COMPONENT", "STATE", "PID", "MEMORY", "PORTS", "HEALTH"]
        var rows = [header]
        for status in components {
            let state = status.state == "exited" ? "exited (see log)" : status.state
            rows.append([status.component, state, status.pid.map(String.init) ?? "-",
                         status.memoryMiB.map { "\($0) MiB" } ?? "-",
                         status.ports.isEmpty ? "-" : status.ports.map(String.init).joined(separator: ","),
                         status.health ?? "-"])
        }
        let widths = (0..<header.count - 1).map { column in rows.map { $0[column].count }.max() ?? 0 }
        for row in rows {
            let padded = row.enumerated().map { index, cell in index < widths.count ? cell.padding(toLength: widths[index] + 2, withPad: " ", startingAt: 0) : cell }
            print(padded.joined())
        }
    }
}
