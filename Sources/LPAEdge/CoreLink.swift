import TerminalProtocol

/// A terminal that passed the TLS and identity checks and asks to be admitted.
public struct TerminalRegistration: Sendable, Equatable {
    public var terminalID: String
    public var identity: Identity
    public var agent: String
    /// Remote address as seen by the edge, for the core's records.
    public var remoteAddress: String
    /// Node id of the edge holding the connection.
    public var edgeNodeID: String
    public var tlsResumed: Bool
    /// nil for a new session; the epoch the core gave the session when the edge registers it again.
    public var sessionEpoch: Int64?

    public init(terminalID: String, identity: Identity, agent: String, remoteAddress: String, edgeNodeID: String, tlsResumed: Bool,
                sessionEpoch: Int64? = nil) {
        self.terminalID = terminalID
        self.identity = identity
        self.agent = agent
        self.remoteAddress = remoteAddress
        self.edgeNodeID = edgeNodeID
        self.tlsResumed = tlsResumed
        self.sessionEpoch = sessionEpoch
    }
}

/// The core's answer to a registration.
public enum RegistrationDecision: Sendable, Equatable {
    /// Admit the terminal with these settings and the matched model. `sessionEpoch` (from lpa-core) is the
    /// session's epoch, carried when the edge registers the session again.
    case accept(settings: TerminalSettings, model: String, requiredFields: [String], sessionEpoch: Int64? = nil)
    /// Refuse it; the edge sends Reject and closes.
    case reject(code: ReasonCode, text: String, retryAfterSeconds: UInt32)
}

/// Heartbeats one terminal sent in one counting window.
public struct HeartbeatCount: Sendable, Equatable {
    public var terminalID: String
    /// Window start, seconds since the Unix epoch.
    public var windowStart: Int64
    public var windowSeconds: Int32
    public var count: Int32
    /// Unix time of the last heartbeat in the window (0 when none).
    public var lastSeen: Int64

    public init(terminalID: String, windowStart: Int64, windowSeconds: Int32, count: Int32, lastSeen: Int64) {
        self.terminalID = terminalID
        self.windowStart = windowStart
        self.windowSeconds = windowSeconds
        self.count = count
        self.lastSeen = lastSeen
    }
}

/// What the edge tells lpa-core. The edge holds only live connections; every decision about a
/// terminal and every durable record belongs to the core, which reaches back through
/// ``SessionTable`` (push settings, transmit APDU batches, disconnect).
public protocol CoreLink: Sendable {
    /// Asks whether `registration` may start a session.
    func register(_ registration: TerminalRegistration) async throws -> RegistrationDecision
    /// Delivers a batch of closed counting windows.
    func report(heartbeats: [HeartbeatCount]) async
    /// Announces that a terminal's session ended; `sessionEpoch` is the session's (nil when the core gave none).
    func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64?) async
}

/// The link used when no core is configured: admits every terminal that passed the certificate
/// and identity checks, with the edge's default settings, and keeps the latest counts in memory.
public final class StandaloneCoreLink: CoreLink {
    private let settings: TerminalSettings
    private let counts: HeartbeatTotals

    public init(defaultSettings: TerminalSettings, totals: HeartbeatTotals = HeartbeatTotals()) {
        self.settings = defaultSettings
        self.counts = totals
    }

    public func register(_ registration: TerminalRegistration) async throws -> RegistrationDecision {
        .accept(settings: settings, model: registration.identity.model, requiredFields: ["eid"])
    }

    public func report(heartbeats: [HeartbeatCount]) async {
        counts.add(heartbeats)
    }

    public func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64?) async {}
}
