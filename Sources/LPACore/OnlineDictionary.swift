import LPADomain
import LPAStore

/// The online dictionary (claim 5): per terminal, whether it is online, when it was last heard
/// and how many heartbeats it has missed in a row. A heartbeat heard within the expected time marks
/// the terminal online; each expected heartbeat that does not arrive adds a miss; at the miss limit
/// the terminal goes offline. Every transition is recorded in the store with its reason.
///
/// Heartbeats reach the core in counting windows, so a heartbeat is "expected" one interval after
/// the last one plus the reporting delay (the edge's window length).
///
/// After a core start, silence is counted from the start time plus a grace period at the earliest,
/// so a restart never flips the fleet offline.
///
/// Several cores share the store: a terminal's presence is decided by the core that hears it. A miss count
/// is written only where no core heard the terminal since this one did (``Store/savePresenceMisses(_:changes:)``),
/// so a core never marks offline a terminal that moved to another core, and a restarted core never marks the
/// other cores' terminals offline; their entries here are refreshed from the store instead.
public actor OnlineDictionary {
    public struct Policy: Sendable {
        /// Misses in a row that make a terminal offline.
        public var missLimit: Int
        /// Delay before a heartbeat can be known to the core (the edge's counting window).
        public var reportDelaySeconds: Int64
        /// Extra time after a core start before anyone can be counted as missing.
        public var graceSeconds: Int64
        /// Interval assumed for terminals whose interval the core has not learnt since it started.
        public var defaultIntervalSeconds: Int

        public init(missLimit: Int = 3, reportDelaySeconds: Int64 = 60, graceSeconds: Int64 = 60, defaultIntervalSeconds: Int = 60) {
            self.missLimit = missLimit
            self.reportDelaySeconds = reportDelaySeconds
            self.graceSeconds = graceSeconds
            self.defaultIntervalSeconds = defaultIntervalSeconds
        }
    }

    private struct Entry {
        var record: PresenceRecord
        var intervalSeconds: Int?
    }

    private let store: any Store
    private let policy: Policy
    private let clock: @Sendable () -> Int64
    private var entries: [String: Entry] = [:]
    private var startedAt: Int64

    public init(store: any Store, policy: Policy, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.policy = policy
        self.clock = clock
        self.startedAt = clock()
    }

    /// Loads the stored dictionary and starts the grace period.
    public func load() async throws {
        startedAt = clock()
        entries = [:]
        for record in try await store.allPresence() {
            entries[record.terminalID] = Entry(record: record, intervalSeconds: nil)
        }
    }

    /// Terminals heard at the given times (registration or a window with heartbeats); persisted in
    /// one transaction. Returns the recorded changes.
    @discardableResult
    public func heard(_ events: [(terminalID: String, at: Int64, intervalSeconds: Int?, reason: String)]) async throws -> [PresenceChange] {
        var records: [PresenceRecord] = []
        var changes: [PresenceChange] = []
        for e in events {
            var entry = entries[e.terminalID] ?? Entry(record: PresenceRecord(terminalID: e.terminalID, state: .offline, lastSeen: 0, consecutiveMisses: 0), intervalSeconds: nil)
            let previous = entries[e.terminalID]?.record.state
            if let i = e.intervalSeconds { entry.intervalSeconds = i }
            entry.record.lastSeen = max(entry.record.lastSeen, e.at)
            entry.record.consecutiveMisses = 0
            if entry.record.state != .online || previous == nil {
                changes.append(PresenceChange(terminalID: e.terminalID, at: e.at, from: previous, to: .online, reason: e.reason))
            }
            entry.record.state = .online
            entries[e.terminalID] = entry
            records.append(entry.record)
        }
        if !records.isEmpty { try await store.savePresence(records, changes: changes) }
        return changes
    }

    /// Updates a terminal's interval (new settings pushed) without marking it heard.
    public func setInterval(_ seconds: Int, for terminalID: String) {
        entries[terminalID]?.intervalSeconds = seconds
    }

    /// Counts misses at the current time; marks terminals offline at the miss limit. Returns the
    /// online→offline changes it recorded.
    @discardableResult
    public func sweep() async throws -> [PresenceChange] {
        let now = clock()
        let floor = startedAt + policy.graceSeconds
        var records: [PresenceRecord] = []
        var changes: [PresenceChange] = []
        for (id, entry) in entries where entry.record.state == .online {
            let interval = Int64(max(1, entry.intervalSeconds ?? policy.defaultIntervalSeconds))
            let reference = max(entry.record.lastSeen, floor)
            let late = now - reference - policy.reportDelaySeconds
            let misses = late > interval ? Int(late / interval) : 0
            guard misses > entry.record.consecutiveMisses else { continue }
            var updated = entry
            updated.record.consecutiveMisses = misses
            if misses >= policy.missLimit {
                updated.record.state = .offline
                changes.append(PresenceChange(terminalID: id, at: now, from: .online, to: .offline,
                                              reason: "missed \(misses) heartbeats of \(interval)s"))
            }
            entries[id] = updated
            records.append(updated.record)
        }
        guard !records.isEmpty else { return [] }
        let written = try await store.savePresenceMisses(records, changes: changes)
        if written.count < records.count {
            // Heard by another core since: take the stored record (that core decides from now on).
            let stored = Dictionary(uniqueKeysWithValues: try await store.allPresence().map { ($0.terminalID, $0) })
            for record in records where !written.contains(record.terminalID) {
                if let current = stored[record.terminalID] { entries[record.terminalID]?.record = current }
            }
        }
        return changes.filter { written.contains($0.terminalID) }
    }

    public func record(for terminalID: String) -> PresenceRecord? {
        entries[terminalID]?.record
    }

    public var onlineCount: Int { entries.values.reduce(0) { $0 + ($1.record.state == .online ? 1 : 0) } }
    public var count: Int { entries.count }
}
