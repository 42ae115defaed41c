import NIOConcurrencyHelpers

/// Heartbeat counts of all live sessions for the current counting window.
///
/// Sharded by terminal id so that sessions on different event loops rarely touch the same lock;
/// each heartbeat costs one uncontended lock and a dictionary update. Closing a window returns
/// one ``HeartbeatCount`` per live terminal (zero counts included, so the core sees silence) and
/// starts the next window.
public final class HeartbeatLedger: Sendable {
    private struct Entry {
        var count: Int32 = 0
        var lastSeen: Int64 = 0
    }

    private let shards: [NIOLockedValueBox<[String: Entry]>]
    private let windowStart: NIOLockedValueBox<Int64>

    public init(shardCount: Int = 16, windowStart: Int64) {
        shards = (0..<max(1, shardCount)).map { _ in NIOLockedValueBox([:]) }
        self.windowStart = NIOLockedValueBox(windowStart)
    }

    private func shard(_ terminalID: String) -> NIOLockedValueBox<[String: Entry]> {
        var h: UInt64 = 1469598103934665603
        for b in terminalID.utf8 { h = (h ^ UInt64(b)) &* 1099511628211 }
        return shards[Int(h % UInt64(shards.count))]
    }

    /// Starts counting for a terminal that just became active.
    public func open(_ terminalID: String) {
        shard(terminalID).withLockedValue { $0[terminalID] = $0[terminalID] ?? Entry() }
    }

    /// Counts one heartbeat at Unix time `now`.
    public func record(_ terminalID: String, now: Int64) {
        shard(terminalID).withLockedValue {
            $0[terminalID, default: Entry()].count += 1
            $0[terminalID, default: Entry()].lastSeen = now
        }
    }

    /// Stops counting for a terminal; returns its partial count for the current window.
    @discardableResult
    public func close(_ terminalID: String, windowSeconds: Int32) -> HeartbeatCount? {
        let start = windowStart.withLockedValue { $0 }
        guard let e = shard(terminalID).withLockedValue({ $0.removeValue(forKey: terminalID) }) else { return nil }
        return HeartbeatCount(terminalID: terminalID, windowStart: start, windowSeconds: windowSeconds, count: e.count, lastSeen: e.lastSeen)
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
            shard.withLockedValue { entries in
                result.reserveCapacity(result.count + entries.count)
                for (id, e) in entries {
                    result.append(HeartbeatCount(terminalID: id, windowStart: start, windowSeconds: seconds, count: e.count, lastSeen: e.lastSeen))
                }
                for key in entries.keys { entries[key] = Entry() }
            }
        }
        return result
    }

    /// Number of terminals being counted.
    public var terminalCount: Int {
        shards.reduce(0) { sum, s in sum + s.withLockedValue { $0.count } }
    }
}
