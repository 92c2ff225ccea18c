import Foundation
import KubescratchCore
import SwiftASN1
import Testing
import X509

@Suite struct PKITests {
    static let layout = StateLayout(root: FileManager.default.temporaryDirectory.appendingPathComponent("ks-pki-\(UUID().uuidString)").path)
    static let facts = Sample.facts(kubernetes: KubernetesVersion(1, 20, 2))
    static let output: ClusterPKI.Output = try! ClusterPKI.generate(facts: facts, network: ClusterNetwork(), layout: layout)

    func file(_ path: String) throws -> PlannedFile {
        try #require(Self.output.files.first { $0.path == path })
    }

    func certificate(_ name: String) throws -> Certificate {
        try Certificate(pemEncoded: try file(PKIFiles(layout: Self.layout).cert(name)).contents)
    }

    @Test func kubeletIdentityMatchesTheNodeAuthorizer() throws {
        let cert = try certificate("kubelet-client")
        #expect(cert.subject.description.contains("CN=system:node:vm"))
        #expect(cert.subject.description.contains("O=system:nodes"))
        let usage = try #require(try cert.extensions.extendedKeyUsage)
        #expect(usage.contains(.clientAuth))
        #expect(!usage.contains(.serverAuth))
    }

    @Test func apiServerCertificateHasEverySAN() throws {
        let cert = try certificate("kube-apiserver")
        let sans = try #require(try cert.extensions.subjectAlternativeNames)
        let names = sans.compactMap { name -> String? in
            if case .dnsName(let dns) = name { return dns }
            if case .ipAddress(let octets) = name { return octets.bytes.map(String.init).joined(separator: ".") }
            return nil
        }
        for expected in ["kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local",
                         "vm", "localhost", "127.0.0.1", "192.0.2.2", "10.32.0.1"] {
            #expect(names.contains(expected), "missing SAN \(expected)")
        }
        #expect(try cert.extensions.extendedKeyUsage?.contains(.serverAuth) == true)
        #expect(try cert.extensions.basicConstraints == .notCertificateAuthority)
    }

    @Test func everyIdentityHasItsSubject() throws {
        let expected = [
            "admin": ["CN=admin", "O=system:masters"],
            "kube-scheduler": ["CN=system:kube-scheduler"],
            "kube-controller-manager": ["CN=system:kube-controller-manager"],
            "kube-proxy": ["CN=system:kube-proxy", "O=system:node-proxier"],
            "apiserver-kubelet-client": ["CN=kube-apiserver-kubelet-client", "O=system:masters"],
        ]
        for (name, parts) in expected {
            let subject = try certificate(name).subject.description
            #expect(Set(subject.split(separator: ",").map(String.init)) == Set(parts), "\(name): \(subject)")
        }
        let ca = try certificate("ca")
        #expect(try ca.extensions.basicConstraints == .isCertificateAuthority(maxPathLength: nil))
        #expect(try certificate("front-proxy-client").issuer.description == "CN=kubescratch-front-proxy-ca")
    }

    @Test func secretsAreOwnerOnly() throws {
        for file in Self.output.files {
            let secret = file.path.hasSuffix(".key") || file.path.hasSuffix(".kubeconfig")
            #expect(file.mode == (secret ? 0o600 : 0o644), "\(file.path)")
        }
        #expect(Self.output.files.contains { $0.path.hasSuffix("/sa.pub") && $0.contents.hasPrefix("-----BEGIN PUBLIC KEY-----") })
    }

    @Test func kubeconfigsPointAtTheRightAddress() throws {
        let kubelet = try file(Self.layout.kubeconfig("kubelet")).contents
        #expect(kubelet.contains("server: https://192.0.2.2:6443"))
        let admin = try file(Self.layout.adminKubeconfig).contents
        #expect(admin.contains("server: https://127.0.0.1:6443"))
        #expect(admin.contains("client-certificate-data: "))
        #expect(admin.contains("current-context: kubescratch"))
    }

    /// OpenSSL, an independent implementation, must accept each leaf against its CA.
    @Test func opensslVerifiesTheChains() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-verify-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        for file in Self.output.files where file.path.hasSuffix(".crt") {
            try file.contents.write(to: folder.appendingPathComponent((file.path as NSString).lastPathComponent), atomically: true, encoding: .utf8)
        }
        for spec in ClusterPKI.specs(facts: Self.facts, network: ClusterNetwork()) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
            process.arguments = ["verify", "-CAfile", folder.appendingPathComponent("\(spec.signer).crt").path,
                                 "-purpose", spec.usage == .server ? "sslserver" : "sslclient",
                                 folder.appendingPathComponent("\(spec.name).crt").path]
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            try process.run()
            process.waitUntilExit()
            let text = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
            #expect(process.terminationStatus == 0, "\(spec.name): \(text)")
        }
    }
}
