import Foundation

/// The node's recent API calls, newest first, a repeated call folded into one line with a count: what the "API calls"
/// pane lists and what the diagram's arrows into the API server are labelled with.
public struct TrafficLog: Sendable, Equatable {
    public private(set) var calls: [APICall] = []
    /// Every call seen, folded or not (the pane's header, the tests).
    public private(set) var total = 0
    public static let kept = 300

    public init() {}

    public func client(of call: APICall) -> APIClient {
        call.client ?? APIClient(user: call.user, sourceIP: call.sourceIP, workerAddresses: WorkerNetwork.addresses)
    }

    /// Adds a call: folded into an earlier identical one when that is among the last few of its client (so the
    /// kubelet's Lease renewal every 10 s stays one line however long the pane is watched), else on top.
    public mutating func add(_ added: APICall) {
        total += 1
        var call = added
        let client = client(of: call)
        call.client = client
        if let index = calls.prefix(40).firstIndex(where: { $0.repeats(call) && $0.client == client }) {
            var folded = calls.remove(at: index)
            folded.count += 1
            folded.time = max(folded.time, call.time)
            calls.insert(folded, at: 0)
            return
        }
        calls.insert(call, at: 0)
        if calls.count > Self.kept { calls.removeLast(calls.count - Self.kept) }
    }

    public mutating func add(_ calls: [APICall]) { for call in calls { add(call) } }

    /// The newest calls that `wanted` keeps.
    public func recent(_ limit: Int, where wanted: (APICall) -> Bool) -> [APICall] {
        Array(calls.filter(wanted).prefix(limit))
    }

    /// What an arrow from `client` says: its distinct actions of the last `window` seconds, newest first, writes
    /// before reads, with counts (`create pods/binding ×3 · watch pods`). Nil when it said nothing lately.
    public func label(of wanted: APIClient, now: Date, window: Double = 30, limit: Int = 2) -> String? {
        label(where: { $0 == wanted }, now: now, window: window, limit: limit)
    }

    public func label(where wanted: (APIClient) -> Bool, now: Date, window: Double = 30, limit: Int = 2) -> String? {
        var seen: [String: Int] = [:]
        var order: [(action: String, write: Bool)] = []
        for call in calls where wanted(client(of: call)) && now.timeIntervalSince(call.time) <= window {
            if seen[call.action] == nil { order.append((call.action, call.isWrite)) }
            seen[call.action, default: 0] += call.count
        }
        guard !order.isEmpty else { return nil }
        let ranked = order.enumerated().sorted { ($0.element.write ? 0 : 1, $0.offset) < ($1.element.write ? 0 : 1, $1.offset) }
        return ranked.prefix(limit).map { item in
            let count = seen[item.element.action] ?? 1
            return item.element.action + (count > 1 ? " ×\(count)" : "")
        }.joined(separator: " · ")
    }

    /// A write by `client` within the last second and a half: its arrow is drawn bright.
    public func wroteRecently(where wanted: (APIClient) -> Bool, now: Date, within: Double = 1.5) -> Bool {
        calls.contains { wanted(client(of: $0)) && $0.isWrite && now.timeIntervalSince($0.time) <= within }
    }

    /// A failed call (4xx, 5xx) of `client` in the label's window: its arrow is marked.
    public func failedRecently(where wanted: (APIClient) -> Bool, now: Date, window: Double = 30) -> Bool {
        calls.contains { wanted(client(of: $0)) && $0.failed && now.timeIntervalSince($0.time) <= window }
    }

    /// One pane line: time, who, what, on which object, the answer, and how many times.
    public func line(_ call: APICall, width: Int) -> String {
        let time = Self.clock(call.time)
        let who = client(of: call).name
        var text = "\(time) \(who.padding(toLength: max(who.count, 14), withPad: " ", startingAt: 0)) \(call.action)"
        if !call.object.isEmpty { text += " \(call.object)" }
        text += " \(call.code)"
        if call.count > 1 { text += " ×\(call.count)" }
        return String(text.prefix(width))
    }

    /// HH:MM:SS in local time, by arithmetic: the pane formats dozens of these a second, and a DateFormatter costs
    /// far more than the rest of a line.
    static func clock(_ time: Date) -> String {
        let local = Int(time.timeIntervalSince1970.rounded(.down)) + TimeZone.current.secondsFromGMT(for: time)
        let seconds = ((local % 86_400) + 86_400) % 86_400
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(two(seconds / 3600)):\(two(seconds / 60 % 60)):\(two(seconds % 60))"
    }
}
