import Crypto
import Foundation
@testable import KubescratchEngine
import Testing

/// Builds the web image from the machine's static busybox and checks the OCI archive's content addressing.
@Suite struct ImageBuilderTests {
    @Test func webImageIsAValidContentAddressedOCIArchive() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-img-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let builder = ImageBuilder(busybox: "/bin/busybox", tar: "/bin/tar", shell: Shell())
        let image = try await builder.buildWeb(name: "localhost/kubescratch-web:1.0", into: folder.path)
        let unpacked = folder.appendingPathComponent("unpacked")
        try FileManager.default.createDirectory(at: unpacked, withIntermediateDirectories: true)
        let untar = try await Shell().run("/bin/tar", ["-xf", image.archive, "-C", unpacked.path])
        #expect(untar.succeeded)

        let index = try JSONSerialization.jsonObject(with: Data(contentsOf: unpacked.appendingPathComponent("index.json"))) as! [String: Any]
        let entry = (index["manifests"] as! [[String: Any]])[0]
        #expect((entry["annotations"] as? [String: String])?["org.opencontainers.image.ref.name"] == "1.0")
        let manifestData = try Data(contentsOf: blob(unpacked, entry["digest"] as! String))
        #expect(digest(manifestData) == entry["digest"] as? String)
        let manifest = try JSONSerialization.jsonObject(with: manifestData) as! [String: Any]
        let layer = (manifest["layers"] as! [[String: Any]])[0]
        let layerData = try Data(contentsOf: blob(unpacked, layer["digest"] as! String))
        #expect(digest(layerData) == layer["digest"] as? String)
        #expect(layerData.count == layer["size"] as? Int)
        let config = try JSONSerialization.jsonObject(with: Data(contentsOf: blob(unpacked, (manifest["config"] as! [String: Any])["digest"] as! String))) as! [String: Any]
        #expect(((config["config"] as! [String: Any])["Entrypoint"] as! [String]).first == "/bin/httpd")

        let listing = try await Shell().run("/bin/tar", ["-tf", blob(unpacked, layer["digest"] as! String).path])
        #expect(listing.stdout.contains("./www/index.html"))
        #expect(listing.stdout.contains("./bin/busybox"))
    }

    @Test func sameInputSameLayer() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("ks-img2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let builder = ImageBuilder(busybox: "/bin/busybox", tar: "/bin/tar", shell: Shell())
        let first = try Data(contentsOf: URL(fileURLWithPath: try await builder.buildPause(name: "a/p:1", into: folder.path).archive))
        let second = try Data(contentsOf: URL(fileURLWithPath: try await builder.buildPause(name: "a/p:1", into: folder.path).archive))
        #expect(digest(first) == digest(second))
    }

    func blob(_ root: URL, _ digest: String) -> URL {
        root.appendingPathComponent("blobs/sha256/\(digest.dropFirst("sha256:".count))")
    }

    func digest(_ data: Data) -> String {
        "sha256:" + SHA256.hash(data: data).map { String(format: "%02x", $0) }.joined()
    }
}
