import Foundation
import X509

/// What `show: etcd-keys` prints: the API server's keys in etcd, grouped by resource. The values are never read:
/// Secrets are stored there, unencrypted in this lab.
public enum EtcdKeyListing {
    /// Where the API server keeps every object (its `--etcd-prefix`, default /registry).
    public static let prefix = "/registry/"

    /// `/registry/pods/default/web` → `pods`; an API group's resources keep the group:
    /// `/registry/apiregistration.k8s.io/apiservices/v1.apps` → `apiregistration.k8s.io/apiservices`.
    public static func resource(of key: String) -> String {
        let parts = key.dropFirst(prefix.count).split(separator: "/").map(String.init)
        guard let first = parts.first else { return key }
        return first.contains(".") && parts.count > 1 ? first + "/" + parts[1] : first
    }

    /// One line per resource, in key order: the keys themselves when there are few, else their number.
    public static func summary(_ keys: [String], listUpTo: Int = 3) -> [String] {
        let ours = keys.filter { $0.hasPrefix(prefix) }.sorted()
        var order: [String] = []
        var byResource: [String: [String]] = [:]
        for key in ours {
            let resource = resource(of: key)
            if byResource[resource] == nil { order.append(resource) }
            byResource[resource, default: []].append(key)
        }
        var lines = ["\(ours.count) keys under \(prefix), \(order.count) kinds of object:"]
        for resource in order {
            let keys = byResource[resource]!
            lines.append(keys.count <= listUpTo ? "  \(keys.joined(separator: "  "))" : "  \(prefix)\(resource)/…  (\(keys.count) keys)")
        }
        return lines
    }
}

/// What `show: kubelet-certificate` prints: the fields of a certificate the API server's authorizers read.
public enum CertificateSummary {
    public static func lines(pem: String) throws -> [String] {
        let certificate = try Certificate(pemEncoded: pem)
        var lines = [
            "Subject: \(certificate.subject)",
            "Issuer:  \(certificate.issuer)",
            "Valid:   \(certificate.notValidBefore.formatted(.iso8601)) to \(certificate.notValidAfter.formatted(.iso8601))",
        ]
        if let names = try? certificate.extensions.subjectAlternativeNames, !names.isEmpty {
            lines.append("Names:   \(names.map { "\($0)" }.joined(separator: ", "))")
        }
        if let usage = try? certificate.extensions.extendedKeyUsage {
            lines.append("Usage:   \(usage.map { "\($0)" }.joined(separator: ", "))")
        }
        return lines
    }
}

/// A value stored in etcd, read as `strings` would: the runs of printable characters, 4 or more long.
public enum EtcdValue {
    public static func printableRuns(_ bytes: Data, minimum: Int = 4) -> [String] {
        var runs: [String] = []
        var current: [UInt8] = []
        for byte in bytes + [0] {
            if byte >= 0x20 && byte < 0x7F {
                current.append(byte)
            } else {
                if current.count >= minimum { runs.append(String(decoding: current, as: UTF8.self)) }
                current = []
            }
        }
        return runs
    }
}
