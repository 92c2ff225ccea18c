/// An IPv4 range in CIDR form (`10.201.0.0/30`; a bare address is a /32). Pure arithmetic, so the second node's
/// plan can check that every address it names is one kubescratch assigned.
public struct IPv4Range: Sendable, Hashable, CustomStringConvertible {
    /// The network address (host bits cleared).
    public let network: UInt32
    public let prefixLength: Int

    public init?(_ text: String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 1 || parts.count == 2, let address = Self.parse(String(parts[0])) else { return nil }
        let length = parts.count == 2 ? Int(parts[1]) : 32
        guard let length, (0...32).contains(length) else { return nil }
        self.prefixLength = length
        self.network = address & Self.mask(length)
    }

    /// `a.b.c.d` as a number, or nil when it is not exactly four octets.
    public static func parse(_ address: String) -> UInt32? {
        let octets = address.split(separator: ".", omittingEmptySubsequences: false)
        guard octets.count == 4 else { return nil }
        var value: UInt32 = 0
        for octet in octets {
            guard !octet.isEmpty, octet.count <= 3, octet.allSatisfy(\.isNumber), let byte = UInt8(octet) else { return nil }
            value = value << 8 | UInt32(byte)
        }
        return value
    }

    public static func format(_ value: UInt32) -> String {
        [24, 16, 8, 0].map { String((value >> UInt32($0)) & 0xff) }.joined(separator: ".")
    }

    static func mask(_ length: Int) -> UInt32 { length == 0 ? 0 : UInt32.max << UInt32(32 - length) }

    public var size: UInt64 { UInt64(1) << UInt64(32 - prefixLength) }
    public var last: UInt32 { network | ~Self.mask(prefixLength) }

    /// The address `offset` places after the network address (1 is the first usable one of a /30).
    public func address(_ offset: UInt32) -> String { Self.format(network &+ offset) }

    public func contains(_ address: String) -> Bool {
        guard let value = Self.parse(address) else { return false }
        return value & Self.mask(prefixLength) == network
    }

    public func contains(_ other: IPv4Range) -> Bool {
        other.prefixLength >= prefixLength && other.network & Self.mask(prefixLength) == network
    }

    public func overlaps(_ other: IPv4Range) -> Bool { contains(other) || other.contains(self) }

    public var description: String { "\(Self.format(network))/\(prefixLength)" }
}
