import Foundation
import KubescratchCore

/// Files under /proc whole: they report size 0, and `String(contentsOfFile:)` then returns only the first page
/// (4 KB). /proc/self/mountinfo with two nodes' pods is ~16 KB: reset and node-2's teardown missed every mount past
/// the first page until this read to the end.
public enum ProcFile {
    /// nil when the file cannot be read, also when it vanishes while being read: a cgroup's `cgroup.procs` answers
    /// ENODEV once the cgroup is being removed (readDataToEndOfFile would trap on that; readToEnd throws).
    public static func text(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        do {
            return String(decoding: try handle.readToEnd() ?? Data(), as: UTF8.self)
        } catch {
            return nil
        }
    }
}

/// Programs of the base system by absolute path: sbin is not in every root shell's PATH (`ip`, `iptables`, `nsenter`).
public enum SystemProgram {
    public static func path(_ name: String) -> String? {
        ["/usr/sbin/\(name)", "/sbin/\(name)", "/usr/bin/\(name)", "/bin/\(name)"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }
}

extension PlannedFile {
    /// Writes the file with its mode, making its folder first.
    func write() throws {
        try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: NSNumber(value: mode)], ofItemAtPath: path)
    }
}
