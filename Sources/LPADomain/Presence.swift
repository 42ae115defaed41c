/// Heartbeats of one terminal in one counting window (claim 3).
public struct HeartbeatWindow: Codable, Sendable, Hashable {
    public var terminalID: String
    /// Window start, Unix seconds.
    public var windowStart: Int64
    public var windowSeconds: Int
    public var count: Int

    public init(terminalID: String, windowStart: Int64, windowSeconds: Int, count: Int) {
        self.terminalID = terminalID
        self.windowStart = windowStart
        self.windowSeconds = windowSeconds
        self.count = count
    }
}

/// A terminal's entry in the online dictionary (claim 5).
public struct PresenceRecord: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, CaseIterable {
        case online
        case offline
    }

    public var terminalID: String
    public var state: State
    /// Unix seconds of the last heartbeat (or registration).
    public var lastSeen: Int64
    /// Heartbeats missed in a row.
    public var consecutiveMisses: Int

    public init(terminalID: String, state: State, lastSeen: Int64, consecutiveMisses: Int) {
        self.terminalID = terminalID
        self.state = state
        self.lastSeen = lastSeen
        self.consecutiveMisses = consecutiveMisses
    }
}

/// One recorded online/offline transition.
public struct PresenceChange: Codable, Sendable, Hashable {
    public var terminalID: String
    public var at: Int64
    public var from: PresenceRecord.State?
    public var to: PresenceRecord.State
    public var reason: String

    public init(terminalID: String, at: Int64, from: PresenceRecord.State?, to: PresenceRecord.State, reason: String) {
        self.terminalID = terminalID
        self.at = at
        self.from = from
        self.to = to
        self.reason = reason
    }
}
