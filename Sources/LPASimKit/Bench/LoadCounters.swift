import LPATLS

/// What the benchmark connections of one event loop have done so far, or — merged — of all loops.
/// A plain value: shards keep one each, and the driver adds them up.
public struct LoadCounters: Sendable, Equatable, Codable {
    /// Connections whose launch started.
    public var attempted = 0
    /// Connections let in by the server.
    public var welcomed = 0
    /// Launches that failed, by reason.
    public var launchFailures: [String: Int] = [:]
    /// Welcomed connections that ended afterwards, by reason.
    public var lost: [String: Int] = [:]
    /// Connections not yet launched or still launching.
    public var launchesOutstanding = 0
    public var heartbeatsSent = 0
    public var acks = 0
    /// Heartbeats sent on open connections and not yet acknowledged.
    public var inFlight = 0
    /// Uptime nanoseconds when the first connection attempt started.
    public var firstConnectNanos: UInt64?
    /// Uptime nanoseconds of the latest Welcome.
    public var lastWelcomeNanos: UInt64?
    /// The first TLS handshake's outcome, as a sample of what was negotiated.
    public var tls: TLSHandshakeCompleted?
    /// Handshakes that resumed a session (no certificates exchanged).
    public var resumed = 0

    public init() {}

    public var launchFailureCount: Int { launchFailures.values.reduce(0, +) }
    public var lostCount: Int { lost.values.reduce(0, +) }

    /// The sum of `self` and `other` (earliest first connect, latest welcome).
    public func merged(with other: LoadCounters) -> LoadCounters {
        var m = self
        m.attempted += other.attempted
        m.welcomed += other.welcomed
        m.launchFailures.merge(other.launchFailures, uniquingKeysWith: +)
        m.lost.merge(other.lost, uniquingKeysWith: +)
        m.launchesOutstanding += other.launchesOutstanding
        m.heartbeatsSent += other.heartbeatsSent
        m.acks += other.acks
        m.inFlight += other.inFlight
        m.firstConnectNanos = [firstConnectNanos, other.firstConnectNanos].compactMap { $0 }.min()
        m.lastWelcomeNanos = [lastWelcomeNanos, other.lastWelcomeNanos].compactMap { $0 }.max()
        m.tls = tls ?? other.tls
        m.resumed += other.resumed
        return m
    }

    /// Reasons and counts as one line, most frequent first: `TLS_HANDSHAKE_TIMEOUT ×3, …`.
    public static func describe(_ reasons: [String: Int]) -> String {
        reasons.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
            .map { "\($0.key) ×\($0.value)" }
            .joined(separator: ", ")
    }
}
