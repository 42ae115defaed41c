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

    /// Starts counting for a terminal that just became active. Each session gets its own counter;
    /// a newer session replacing an older one takes over what the older one counted in this window.
    @discardableResult
    public func open(_ terminalID: String) -> HeartbeatCounter {
        let counter = HeartbeatCounter()
        let replaced = shard(terminalID).withLockedValue { counters in
            counters.updateValue(counter, forKey: terminalID)
        }
        if let replaced {
            counter.count.add(replaced.count.exchange(0, ordering: .relaxed), ordering: .relaxed)
            counter.lastSeen.store(replaced.lastSeen.load(ordering: .relaxed), ordering: .relaxed)
        }
        return counter
    }

    /// Stops counting for a session; returns what its counter holds for the current window. The
    /// terminal stays counted when a newer session already replaced this one (`counter` given and
    /// no longer the terminal's); without `counter`, whichever counter the terminal has is closed.
    @discardableResult
    public func close(_ terminalID: String, counter: HeartbeatCounter? = nil, windowSeconds: Int32) -> HeartbeatCount? {
        let start = windowStart.withLockedValue { $0 }
        let closed: HeartbeatCounter? = shard(terminalID).withLockedValue { counters in
            guard let current = counters[terminalID] else { return counter }
            if let counter, counter !== current { return counter }
            counters.removeValue(forKey: terminalID)
            return current
        }
        guard let closed else { return nil }
        return HeartbeatCount(
            terminalID: terminalID, windowStart: start, windowSeconds: windowSeconds,
            count: closed.count.exchange(0, ordering: .relaxed), lastSeen: closed.lastSeen.load(ordering: .relaxed))
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
