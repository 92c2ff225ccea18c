import Foundation

/// Files under /proc whole: they report size 0, and `String(contentsOfFile:)` then returns only the first page
/// (4 KB). /proc/self/mountinfo with two nodes' pods is ~16 KB: reset and node-2's teardown missed every mount past
/// the first page until this read to the end.
public enum ProcFile {
    public static func text(_ path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        return String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
    }
}
