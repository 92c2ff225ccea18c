import Crypto
import Foundation
import SwiftASN1
import X509

/// A worker's credentials (node-2's in the examples), signed by the cluster CA that already exists: what a second machine would be given.
///
/// The certificates are the first node's kubelet and kube-proxy specs with node-2's facts (`ClusterPKI.specs`):
/// `kubelet-client` is `CN=system:node:node-2, O=system:nodes` (the Node authorizer and NodeRestriction need
/// exactly that), `kubelet-serving` has SANs `node-2`, `localhost`, `127.0.0.1` and node-2's address (the API server
/// dials the kubelet by its InternalIP and checks it against the CA). docs/second-node.md's trial used one certificate
/// for both; two keep node-2 identical to node-1 and each certificate to one usage.
/// Only the CA's certificate is copied into node-2's folder, never its key.
extension WorkerPlanner {
    public static let certificateNames = ["kubelet-client", "kubelet-serving", "kube-proxy"]

    public func certificateSpecs() -> [CertificateSpec] {
        ClusterPKI.specs(facts: facts, network: clusterNetwork).filter { Self.certificateNames.contains($0.name) }
    }

    /// node-2's `pki/` (CA certificate, three certificates and keys) and `kubeconfigs/` (kubelet, kube-proxy).
    /// Pure: the engine reads node-1's `pki/ca.crt` and `pki/ca.key` and writes what this returns.
    public func credentials(caCertificatePEM: String, caKeyPEM: String, now: Date = Date()) throws -> [PlannedFile] {
        let caCertificate = try Certificate(pemEncoded: caCertificatePEM)
        let caKey = Certificate.PrivateKey(try P256.Signing.PrivateKey(pemRepresentation: caKeyPEM))
        guard caKey.publicKey == caCertificate.publicKey else { throw WorkerPKIError.keyDoesNotMatchCertificate }
        let files = PKIFiles(layout: layout)
        var out = [PlannedFile(path: files.cert("ca"), contents: caCertificatePEM)]
        for spec in certificateSpecs() {
            // ClusterPKI.generate makes new CAs; node-2's leaves must come from the existing one, so they are signed
            // here, with the same profile (validity, key usages, key identifiers) as generate's leaves.
            let key = P256.Signing.PrivateKey()
            let certificateKey = Certificate.PrivateKey(key)
            let subject = try DistinguishedName {
                for organization in spec.organizations { OrganizationName(organization) }
                CommonName(spec.commonName)
            }
            let ips = try spec.ipAddresses.map { GeneralName.ipAddress(ASN1OctetString(contentBytes: try ClusterPKI.ipv4Bytes($0)[...])) }
            let sans = spec.dnsNames.map { GeneralName.dnsName($0) } + ips
            let certificate = try Certificate(
                version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: certificateKey.publicKey,
                notValidBefore: now.addingTimeInterval(-300), notValidAfter: now.addingTimeInterval(365 * 86400),
                issuer: caCertificate.subject, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
                extensions: try Certificate.Extensions {
                    Critical(BasicConstraints.notCertificateAuthority)
                    Critical(KeyUsage(digitalSignature: true, keyEncipherment: true))
                    try ExtendedKeyUsage([spec.usage == .server ? .serverAuth : .clientAuth])
                    AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: caKey.publicKey).keyIdentifier)
                    if !sans.isEmpty { SubjectAlternativeNames(sans) }
                },
                issuerPrivateKey: caKey)
            let certificatePEM = try certificate.serializeAsPEM().pemString + "\n"
            let keyPEM = key.pemRepresentation + "\n"
            out.append(PlannedFile(path: files.cert(spec.name), contents: certificatePEM))
            out.append(PlannedFile(path: files.key(spec.name), contents: keyPEM, mode: 0o600))
            if let kubeconfig = spec.kubeconfig {
                let text = Kubeconfig(server: apiServerURL, caPEM: caCertificatePEM, user: spec.commonName,
                                      certPEM: certificatePEM, keyPEM: keyPEM).yaml
                out.append(PlannedFile(path: layout.kubeconfig(kubeconfig), contents: text, mode: 0o600))
            }
        }
        return out
    }
}

public enum WorkerPKIError: Error, CustomStringConvertible {
    case keyDoesNotMatchCertificate
    public var description: String { "the CA key does not belong to the CA certificate" }
}
