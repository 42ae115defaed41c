import NIOConcurrencyHelpers
import Synchronization

/// The heartbeat count of one live terminal in the current window. A session keeps the counter it
/// got from ``HeartbeatLedger/open(_:)`` and counts each heartbeat with two relaxed atomic
/// stores: no lock, no lookup by terminal id.
public final class HeartbeatCounter: Sendable {
    fileprivate let count = Atomic<Int32>(0)
    fileprivate let lastSeen = Atomic<Int64>(0)

    /// Counts one heartbeat at Unix time `now`.
    public func record(now: Int64) {
        count.add(1, ordering: .relaxed)
        lastSeen.store(now, ordering: .relaxed)
    }
}

/// Heartbeat counts of all live sessions for the current counting window.
///
/// Counters are found by terminal id only when a session starts or ends and when a window closes
/// (sharded so that event loops rarely wait for the same lock). Closing a window returns one
/// ``HeartbeatCount`` per live terminal (zero counts included, so the core sees silence) and
/// starts the next window.
public final class HeartbeatLedger: Sendable {
    private let shards: [NIOLockedValueBox<[String: HeartbeatCounter]>]
    private let windowStart: NIOLockedValueBox<Int64>

    public init(shardCount: Int = 16, windowStart: Int64) {
        shards = (0..<max(1, shardCount)).map { _ in NIOLockedValueBox([:]) }
        self.windowStart = NIOLockedValueBox(windowStart)
    }

    private func shard(_ terminalID: String) -> NIOLockedValueBox<[String: HeartbeatCounter]> {
        var h: UInt64 = 1469598103934665603
        for b in terminalID.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        return shards[Int(h % UInt64(shards.count))]
    }

    /// Starts counting for a terminal that just became active; a terminal already counted (a newer
    /// session replacing an older one) keeps its counter.
    @discardableResult
    public func open(_ terminalID: String) -> HeartbeatCounter {
        shard(terminalID).withLockedValue { counters in
            if let existing = counters[terminalID] { return existing }
            let counter = HeartbeatCounter()
            counters[terminalID] = counter
            return counter
        }
    }

    /// Counts one heartbeat at Unix time `now` for a terminal being counted.
    public func record(_ terminalID: String, now: Int64) {
        shard(terminalID).withLockedValue { $0[terminalID] }?.record(now: now)
    }

    /// Stops counting for a terminal; returns its partial count for the current window.
    @discardableResult
    public func close(_ terminalID: String, windowSeconds: Int32) -> HeartbeatCount? {
        let start = windowStart.withLockedValue { $0 }
        guard let counter = shard(terminalID).withLockedValue({ $0.removeValue(forKey: terminalID) }) else { return nil }
        return HeartbeatCount(
            terminalID: terminalID, windowStart: start, windowSeconds: windowSeconds,
            count: counter.count.exchange(0, ordering: .relaxed), lastSeen: counter.lastSeen.load(ordering: .relaxed))
    }

    /// Ends the current window at `newStart` and returns its counts.
    public func closeWindow(newStart: Int64) -> [HeartbeatCount] {
        let start = windowStart.withLockedValue { old -> Int64 in
            let s = old
            old = newStart
            return s
        }
        let seconds = Int32(clamping: newStart - start)
        var result: [HeartbeatCount] = []
        for shard in shards {
            shard.withLockedValue { counters in
                result.reserveCapacity(result.count + counters.count)
                for (id, counter) in counters {
                    result.append(HeartbeatCount(
                        terminalID: id, windowStart: start, windowSeconds: seconds,
                        count: counter.count.exchange(0, ordering: .relaxed), lastSeen: counter.lastSeen.load(ordering: .relaxed)))
                }
            }
        }
        return result
    }

    /// Number of terminals being counted.
    public var terminalCount: Int {
        shards.reduce(0) { sum, s in sum + s.withLockedValue { $0.count } }
    }
}
