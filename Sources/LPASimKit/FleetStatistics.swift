import NIOConcurrencyHelpers

/// Live counters of a simulated fleet, updated from every terminal's event loop and read by the
/// progress display. Thread-safe.
public final class FleetStatistics: Sendable {
    public struct Snapshot: Sendable, Equatable {
        public var connecting = 0
        public var handshakes = 0
        public var resumedHandshakes = 0
        public var online = 0
        public var welcomed = 0
        public var rejected: [String: Int] = [:]
        public var goodbyes: [String: Int] = [:]
        public var connectFailures: [String: Int] = [:]
        public var heartbeatsSent = 0
        public var heartbeatAcks = 0
        public var settingsReceived = 0
        public var intervalChanges = 0
        public var batchesExecuted = 0
        public var apdusExecuted = 0
        public var reconnects = 0
        /// Connections ended by the card's refresh after a profile switch (the device comes back on the new profile).
        public var refreshes = 0
        /// Connections a lossy link profile dropped during an exchange.
        public var linkDrops = 0
    }

    private let state = NIOLockedValueBox(Snapshot())
    private let latencies = NIOLockedValueBox(LatencyRecorder())

    public init() {}

    public var snapshot: Snapshot { state.withLockedValue { $0 } }

    func update(_ body: (inout Snapshot) -> Void) {
        state.withLockedValue(body)
    }

    func recordAckLatency(nanoseconds: Int64) {
        latencies.withLockedValue { $0.record(nanoseconds) }
    }

    /// Heartbeat-ack latency percentiles in milliseconds, over everything recorded so far.
    public func ackLatencyMilliseconds(percentiles: [Double]) -> [Double] {
        latencies.withLockedValue { r in percentiles.map { r.percentile($0) / 1e6 } }
    }
}

/// Log-bucketed latency histogram: constant memory, about 2% relative precision.
struct LatencyRecorder: Sendable {
    private var buckets = [Int](repeating: 0, count: 2048)
    private(set) var count = 0

    private static func bucket(_ ns: Int64) -> Int {
        guard ns > 1000 else { return 0 }
        // 50 buckets per factor of ten above 1 µs.
        let b = Int((log10(Double(ns) / 1000) * 50).rounded(.down)) + 1
        return min(b, 2047)
    }

    private static func value(_ bucket: Int) -> Double {
        bucket == 0 ? 1000 : 1000 * pow(10, (Double(bucket) - 0.5) / 50)
    }

    mutating func record(_ ns: Int64) {
        buckets[Self.bucket(ns)] += 1
        count += 1
    }

    /// The latency at `p` (0–100) in nanoseconds; 0 when nothing was recorded.
    func percentile(_ p: Double) -> Double {
        guard count > 0 else { return 0 }
        let target = max(1, Int((Double(count) * p / 100).rounded(.up)))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= target { return Self.value(i) }
        }
        return Self.value(buckets.count - 1)
    }
}

#if canImport(Glibc)
import Glibc
#endif
