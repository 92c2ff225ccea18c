/// A Kubernetes (or other component) release, as `v1.20.2`.
public struct KubernetesVersion: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public var major: Int
    public var minor: Int
    public var patch: Int

    public init(_ major: Int, _ minor: Int, _ patch: Int = 0) {
        self.major = major
        self.minor = minor
        self.patch = patch
    }

    /// Finds the first `vX.Y.Z` or `X.Y.Z` in text such as `Kubernetes v1.20.2` or `containerd github.com/containerd/containerd 1.6.20 ...`.
    public init?(parsing text: String) {
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\n" || $0 == "\t" || $0 == "," }) {
            var token = Substring(word)
            if token.hasPrefix("v") { token = token.dropFirst() }
            // Drop pre-release/build suffixes such as 1.6.20~ds1 or 1.31.0-rc.1.
            let core = token.prefix(while: { $0.isNumber || $0 == "." })
            let parts = core.split(separator: ".").compactMap { Int($0) }
            if parts.count >= 2, core.first?.isNumber == true {
                self.init(parts[0], parts[1], parts.count > 2 ? parts[2] : 0)
                return
            }
        }
        return nil
    }

    public var description: String { "v\(major).\(minor).\(patch)" }
    public var minorRelease: String { "\(major).\(minor)" }

    public static func < (a: Self, b: Self) -> Bool {
        (a.major, a.minor, a.patch) < (b.major, b.minor, b.patch)
    }

    public func isAtLeast(_ major: Int, _ minor: Int) -> Bool { self >= KubernetesVersion(major, minor, 0) }
}
