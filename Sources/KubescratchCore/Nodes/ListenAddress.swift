/// A TCP socket a component listens on, and in which network namespace: two kubelets can both use 10250 as long as
/// they live in different namespaces, since sockets belong to a namespace.
public struct ListenAddress: Sendable, Hashable, CustomStringConvertible {
    /// nil: the host's own namespace.
    public var namespace: String?
    public var address: String
    public var port: Int

    public init(namespace: String?, address: String, port: Int) {
        self.namespace = namespace
        self.address = address
        self.port = port
    }

    /// Two sockets clash when they share a namespace and a port and either takes every address of it.
    public func conflicts(with other: ListenAddress) -> Bool {
        namespace == other.namespace && port == other.port
            && (address == other.address || address == "0.0.0.0" || other.address == "0.0.0.0")
    }

    public var description: String { "\(namespace.map { "[\($0)] " } ?? "")\(address):\(port)" }

    /// The kubelet's sockets as its config file sets them: the API (`address`/`port`) and `/healthz`
    /// (`healthzBindAddress`/`healthzPort`). kubescratch turns the read-only port off.
    public static func kubelet(config: String, namespace: String?) -> [ListenAddress] {
        let value = { (key: String) in ConfigLines.value(key, in: config) }
        var sockets: [ListenAddress] = []
        if let address = value("address"), let port = value("port").flatMap(Int.init) {
            sockets.append(ListenAddress(namespace: namespace, address: address, port: port))
        }
        if let address = value("healthzBindAddress"), let port = value("healthzPort").flatMap(Int.init) {
            sockets.append(ListenAddress(namespace: namespace, address: address, port: port))
        }
        return sockets
    }

    /// kube-proxy's sockets: `healthzBindAddress` and `metricsBindAddress`, each `address:port`.
    public static func kubeProxy(config: String, namespace: String?) -> [ListenAddress] {
        ["healthzBindAddress", "metricsBindAddress"].compactMap { key in
            guard let text = ConfigLines.value(key, in: config), let colon = text.lastIndex(of: ":"),
                  let port = Int(text[text.index(after: colon)...]) else { return nil }
            return ListenAddress(namespace: namespace, address: String(text[..<colon]), port: port)
        }
    }
}

/// Reads and edits top-level `key: value` lines of the YAML configs ComponentPlanner writes (flat keys, no quoting).
public enum ConfigLines {
    public static func value(_ key: String, in text: String) -> String? {
        for line in text.split(separator: "\n") where line.hasPrefix("\(key): ") {
            return String(line.dropFirst(key.count + 2))
        }
        return nil
    }

    /// Sets a top-level key: replaces its line where it is, or adds it after the line of `after` (else at the end).
    public static func setting(_ key: String, to value: String, in text: String, after: String? = nil) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        let line = "\(key): \(value)"
        if let index = lines.firstIndex(where: { $0.hasPrefix("\(key): ") }) {
            lines[index] = line
        } else if let after, let index = lines.firstIndex(where: { $0.hasPrefix("\(after): ") }) {
            lines.insert(line, at: index + 1)
        } else {
            // Before the trailing empty line the file ends with.
            let end = lines.last == "" ? lines.count - 1 : lines.count
            lines.insert(line, at: end)
        }
        return lines.joined(separator: "\n")
    }
}
