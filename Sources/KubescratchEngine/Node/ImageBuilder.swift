import Crypto
import Foundation
import KubescratchCore

/// Builds the pause and web images from a static busybox, as OCI image archives that `ctr images import` takes.
/// No registry, no Docker: a layer tarball, a config and a manifest, each addressed by its SHA-256.
public struct ImageBuilder: Sendable {
    public var busybox: String
    public var tar: String
    public var shell: Shell

    public init(busybox: String, tar: String, shell: Shell) {
        self.busybox = busybox
        self.tar = tar
        self.shell = shell
    }

    public struct BuiltImage: Sendable {
        public var name: String
        public var archive: String
    }

    public enum BuildError: Error, CustomStringConvertible {
        case notStatic(String)
        case tarFailed(String)
        public var description: String {
            switch self {
            case .notStatic(let path):
                "\(path) is not a static busybox; the images need one (Debian: apt-get install busybox-static)"
            case .tarFailed(let output): "tar failed: \(output)"
            }
        }
    }

    static var architecture: String {
        #if arch(arm64)
        "arm64"
        #else
        "amd64"
        #endif
    }

    /// The pause image only has to hold the pod's namespaces open; sleeping forever does that.
    public func buildPause(name: String, into folder: String) async throws -> BuiltImage {
        try await build(name: name, into: folder, entrypoint: ["/bin/sleep", "infinity"], files: [:])
    }

    /// A web server that answers GET / with a small page. `-v` logs each request on stderr ("10.200.0.1:41234:
    /// response:200"), so `kubectl logs` shows the kubelet's readiness probes and the lessons' requests arriving.
    public func buildWeb(name: String, into folder: String) async throws -> BuiltImage {
        let page = """
        <!doctype html>
        <title>kubescratch</title>
        <h1>Hello from a pod on a node built from scratch</h1>

        """
        return try await build(name: name, into: folder, entrypoint: ["/bin/httpd", "-f", "-p", "80", "-h", "/www", "-v"],
                               files: ["www/index.html": page])
    }

    func build(name: String, into folder: String, entrypoint: [String], files: [String: String]) async throws -> BuiltImage {
        let fm = FileManager.default
        let safeName = name.replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: ":", with: "_")
        let work = "\(folder)/\(safeName).build"
        try? fm.removeItem(atPath: work)
        let rootfs = "\(work)/rootfs"
        let layout = "\(work)/layout"
        try fm.createDirectory(atPath: "\(rootfs)/bin", withIntermediateDirectories: true)
        try fm.createDirectory(atPath: "\(layout)/blobs/sha256", withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }

        // A dynamic busybox would need the host's libc inside the image. doctor checks the same rule.
        guard let binary = fm.contents(atPath: busybox), StaticExecutable.isStatic(head: Array(binary.prefix(StaticExecutable.headLength))) else {
            throw BuildError.notStatic(busybox)
        }
        fm.createFile(atPath: "\(rootfs)/bin/busybox", contents: binary, attributes: [.posixPermissions: 0o755])
        for applet in ["sh", "sleep", "httpd", "ls", "cat", "wget", "ip", "hostname"] {
            try fm.createSymbolicLink(atPath: "\(rootfs)/bin/\(applet)", withDestinationPath: "busybox")
        }
        for (path, contents) in files {
            let full = "\(rootfs)/\(path)"
            try fm.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try contents.write(toFile: full, atomically: true, encoding: .utf8)
        }
        for dir in ["tmp", "etc", "proc", "sys", "dev"] {
            try fm.createDirectory(atPath: "\(rootfs)/\(dir)", withIntermediateDirectories: true)
        }

        let layerPath = "\(work)/layer.tar"
        // Fixed owner and times: the same input gives the same layer digest.
        let tarLayer = try await shell.run(tar, ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0",
                                                 "-C", rootfs, "-cf", layerPath, "."])
        guard tarLayer.succeeded else { throw BuildError.tarFailed(tarLayer.combinedOutput) }
        let layer = try Data(contentsOf: URL(fileURLWithPath: layerPath))
        let layerDigest = try writeBlob(layer, layout: layout)

        let config: [String: Any] = [
            "architecture": Self.architecture,
            "os": "linux",
            "config": ["Env": ["PATH=/bin"], "Entrypoint": entrypoint, "WorkingDir": "/"],
            "rootfs": ["type": "layers", "diff_ids": [layerDigest]],
        ]
        let configData = try JSONSerialization.data(withJSONObject: config, options: [.sortedKeys])
        let configDigest = try writeBlob(configData, layout: layout)
        let manifest: [String: Any] = [
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": ["mediaType": "application/vnd.oci.image.config.v1+json", "digest": configDigest, "size": configData.count],
            "layers": [["mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layerDigest, "size": layer.count]],
        ]
        let manifestData = try JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys])
        let manifestDigest = try writeBlob(manifestData, layout: layout)
        let tag = name.split(separator: ":").last.map(String.init) ?? "latest"
        let index: [String: Any] = [
            "schemaVersion": 2,
            "manifests": [[
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifestDigest,
                "size": manifestData.count,
                "annotations": ["org.opencontainers.image.ref.name": tag],
            ]],
        ]
        try JSONSerialization.data(withJSONObject: index, options: [.sortedKeys]).write(to: URL(fileURLWithPath: "\(layout)/index.json"))
        try #"{"imageLayoutVersion":"1.0.0"}"#.write(toFile: "\(layout)/oci-layout", atomically: true, encoding: .utf8)

        let archive = "\(folder)/\(safeName).tar"
        let tarArchive = try await shell.run(tar, ["--sort=name", "--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-C", layout, "-cf", archive, "."])
        guard tarArchive.succeeded else { throw BuildError.tarFailed(tarArchive.combinedOutput) }
        return BuiltImage(name: name, archive: archive)
    }

    func writeBlob(_ data: Data, layout: String) throws -> String {
        let hex = SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
        try data.write(to: URL(fileURLWithPath: "\(layout)/blobs/sha256/\(hex)"))
        return "sha256:\(hex)"
    }
}
