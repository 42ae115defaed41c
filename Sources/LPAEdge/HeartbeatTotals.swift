import NIOConcurrencyHelpers

/// Running totals of reported heartbeat windows, kept by the standalone link for its printed counts.
public final class HeartbeatTotals: Sendable {
    private let state = NIOLockedValueBox((windows: 0, heartbeats: 0))

    public init() {}

    public func add(_ counts: [HeartbeatCount]) {
        let total = counts.reduce(0) { $0 + Int($1.count) }
        state.withLockedValue {
            $0.windows += counts.count
            $0.heartbeats += total
        }
    }

    /// Number of (terminal, window) records and the heartbeats they held.
    public var snapshot: (windows: Int, heartbeats: Int) {
        state.withLockedValue { $0 }
    }
}
