import Crypto
import Foundation
import SwiftASN1
import X509

/// Names of the files of the cluster's PKI under `<state>/pki`.
public struct PKIFiles: Sendable {
    public let layout: StateLayout
    public init(layout: StateLayout) { self.layout = layout }
    public func cert(_ name: String) -> String { layout.pki + "/\(name).crt" }
    public func key(_ name: String) -> String { layout.pki + "/\(name).key" }
    public func publicKey(_ name: String) -> String { layout.pki + "/\(name).pub" }
}

/// One certificate the cluster needs: who it names, what it may be used for, which CA signs it.
public struct CertificateSpec: Sendable, Equatable {
    public enum Usage: Sendable, Equatable { case client, server }

    public var name: String
    public var commonName: String
    public var organizations: [String]
    public var usage: Usage
    public var dnsNames: [String]
    public var ipAddresses: [String]
    public var signer: String
    /// Which kubeconfig, if any, embeds this certificate, and the API server address it points at.
    public var kubeconfig: String?

    public init(name: String, commonName: String, organizations: [String] = [], usage: Usage,
                dnsNames: [String] = [], ipAddresses: [String] = [], signer: String = "ca", kubeconfig: String? = nil) {
        self.name = name
        self.commonName = commonName
        self.organizations = organizations
        self.usage = usage
        self.dnsNames = dnsNames
        self.ipAddresses = ipAddresses
        self.signer = signer
        self.kubeconfig = kubeconfig
    }
}

/// The cluster's certificates, as kubeadm would make them (docs/components.md §6).
public enum ClusterPKI {
    public static let observerUser = "kubescratch:observer"
    public static let certificateAuthorities = ["ca": "kubescratch-ca", "front-proxy-ca": "kubescratch-front-proxy-ca"]

    public static func specs(facts: NodeFacts, network: ClusterNetwork) -> [CertificateSpec] {
        let node = facts.nodeName
        return [
            CertificateSpec(name: "kube-apiserver", commonName: "kube-apiserver", usage: .server,
                            dnsNames: ["kubernetes", "kubernetes.default", "kubernetes.default.svc",
                                       "kubernetes.default.svc.\(network.clusterDomain)", node, "localhost"],
                            ipAddresses: ["127.0.0.1", facts.nodeIP, network.apiServiceIP]),
            // The API server calls the kubelet (logs, exec) as this user; system:masters lets it.
            CertificateSpec(name: "apiserver-kubelet-client", commonName: "kube-apiserver-kubelet-client",
                            organizations: ["system:masters"], usage: .client),
            CertificateSpec(name: "front-proxy-client", commonName: "front-proxy-client", usage: .client, signer: "front-proxy-ca"),
            CertificateSpec(name: "admin", commonName: "admin", organizations: ["system:masters"], usage: .client, kubeconfig: "admin"),
            // kubescratch's diagram reads the node as its own user, so the traffic view can leave its calls out.
            CertificateSpec(name: "kubescratch-observer", commonName: observerUser, organizations: ["system:masters"], usage: .client),
            // The Node authorizer recognises a kubelet only by this exact name and group.
            CertificateSpec(name: "kubelet-client", commonName: "system:node:\(node)", organizations: ["system:nodes"],
                            usage: .client, kubeconfig: "kubelet"),
            CertificateSpec(name: "kubelet-serving", commonName: node, usage: .server,
                            dnsNames: [node, "localhost"], ipAddresses: ["127.0.0.1", facts.nodeIP]),
            CertificateSpec(name: "kube-scheduler", commonName: "system:kube-scheduler", usage: .client, kubeconfig: "kube-scheduler"),
            CertificateSpec(name: "kube-controller-manager", commonName: "system:kube-controller-manager", usage: .client,
                            kubeconfig: "kube-controller-manager"),
            CertificateSpec(name: "kube-proxy", commonName: "system:kube-proxy", organizations: ["system:node-proxier"],
                            usage: .client, kubeconfig: "kube-proxy"),
        ]
    }

    /// Generated PEM text, by file path. Keys and kubeconfigs are secrets (0600).
    public struct Output: Sendable {
        public var files: [PlannedFile]
    }

    /// Makes the whole PKI: two CAs, every leaf certificate, the service-account key pair and the kubeconfigs.
    /// ECDSA P-256 throughout: the API server accepts it for service-account tokens (Ed25519 it does not).
    public static func generate(facts: NodeFacts, network: ClusterNetwork, layout: StateLayout, now: Date = Date()) throws -> Output {
        let files = PKIFiles(layout: layout)
        var out: [PlannedFile] = []
        var authorities: [String: (cert: Certificate, key: Certificate.PrivateKey, pem: String)] = [:]

        for (name, commonName) in certificateAuthorities.sorted(by: { $0.key < $1.key }) {
            let key = P256.Signing.PrivateKey()
            let certKey = Certificate.PrivateKey(key)
            let subject = try DistinguishedName { CommonName(commonName) }
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certKey.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(10 * 365 * 86400),
                issuer: subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                    Critical(KeyUsage(digitalSignature: true, keyCertSign: true))
                    SubjectKeyIdentifier(hash: certKey.publicKey)
                },
                issuerPrivateKey: certKey)
            let pem = try cert.serializeAsPEM().pemString + "\n"
            authorities[name] = (cert, certKey, pem)
            out.append(PlannedFile(path: files.cert(name), contents: pem))
            out.append(PlannedFile(path: files.key(name), contents: key.pemRepresentation + "\n", mode: 0o600))
        }

        for spec in specs(facts: facts, network: network) {
            guard let issuer = authorities[spec.signer] else { throw PKIError.unknownSigner(spec.signer) }
            let key = P256.Signing.PrivateKey()
            let certKey = Certificate.PrivateKey(key)
            let subject = try DistinguishedName {
                for organization in spec.organizations { OrganizationName(organization) }
                CommonName(spec.commonName)
            }
            let ips = try spec.ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: try ipv4Bytes($0)[...])) }
            let sans = spec.dnsNames.map { GeneralName.dnsName($0) } + ips
            let cert = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certKey.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
                issuer: issuer.cert.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([spec.usage == .server ? .serverAuth : .clientAuth])
                    try AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: issuer.key.publicKey).keyIdentifier)
                    if !sans.isEmpty { SubjectAlternativeNames(sans) }
                },
                issuerPrivateKey: issuer.key)
            let certPEM = try cert.serializeAsPEM().pemString + "\n"
            let keyPEM = key.pemRepresentation + "\n"
            out.append(PlannedFile(path: files.cert(spec.name), contents: certPEM))
            out.append(PlannedFile(path: files.key(spec.name), contents: keyPEM, mode: 0o600))
            if let kubeconfigName = spec.kubeconfig {
                // The kubelet and kube-proxy reach the API server as any other node would, by the node's address.
                let server = ["kubelet", "kube-proxy"].contains(kubeconfigName)
                    ? "https://\(facts.nodeIP):\(network.apiServerPort)"
                    : "https://127.0.0.1:\(network.apiServerPort)"
                let text = Kubeconfig(server: server, caPEM: authorities["ca"]!.pem, user: spec.commonName,
                                      certPEM: certPEM, keyPEM: keyPEM).yaml
                out.append(PlannedFile(path: layout.kubeconfig(kubeconfigName), contents: text, mode: 0o600))
            }
        }

        // Service-account tokens are signed with this key by the API server and checked with its public half.
        let saKey = P256.Signing.PrivateKey()
        out.append(PlannedFile(path: files.key("sa"), contents: saKey.pemRepresentation + "\n", mode: 0o600))
        out.append(PlannedFile(path: files.publicKey("sa"), contents: saKey.publicKey.pemRepresentation + "\n"))
        return Output(files: out)
    }

    static func ipv4Bytes(_ text: String) throws -> [UInt8] {
        let parts = text.split(separator: ".").compactMap { UInt8($0) }
        guard parts.count == 4 else { throw PKIError.badAddress(text) }
        return parts
    }
}

public enum PKIError: Error, CustomStringConvertible {
    case unknownSigner(String)
    case badAddress(String)
    public var description: String {
        switch self {
        case .unknownSigner(let name): "no certificate authority named \(name)"
        case .badAddress(let text): "\(text) is not an IPv4 address"
        }
    }
}

/// A kubeconfig with the CA, client certificate and key embedded, so it works from any folder.
public struct Kubeconfig: Sendable {
    public var server: String
    public var caPEM: String
    public var user: String
    public var certPEM: String
    public var keyPEM: String

    public var yaml: String {
        func b64(_ s: String) -> String { Data(s.utf8).base64EncodedString() }
        return """
        apiVersion: v1
        kind: Config
        clusters:
        - name: kubescratch
          cluster:
            server: \(server)
            certificate-authority-data: \(b64(caPEM))
        users:
        - name: \(user)
          user:
            client-certificate-data: \(b64(certPEM))
            client-key-data: \(b64(keyPEM))
        contexts:
        - name: kubescratch
          context:
            cluster: kubescratch
            user: \(user)
        current-context: kubescratch

        """
    }
}
