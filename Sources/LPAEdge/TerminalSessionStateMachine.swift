import LPATLS
import NIOCore
import TerminalProtocol

/// The protocol rules of one terminal session as a plain value: events in, actions out.
/// ``TerminalSessionHandler`` feeds it channel events and carries out its actions; every decision
/// about what a frame means in each phase is made here and only here.
///
/// Phases: the TLS handshake authenticates the device; the first frame must be a Hello whose
/// identity matches the certificate; the core then admits or refuses the terminal; while active,
/// heartbeats are acknowledged and counted and requests from the core are answered; silence for
/// too many heartbeat intervals ends the session.
struct TerminalSessionStateMachine {
    struct Policy: Sendable {
        var bindingRules: [IdentityBindingRule]
        /// When false (mutual TLS off) the identity is taken from Hello unchecked.
        var requireCertificateBinding: Bool
        var missedIntervalsBeforeDrop: Int
        /// Heartbeats a terminal may send: `heartbeatsPerSecond` sustained (0: no limit),
        /// `heartbeatBurst` at once.
        var heartbeatsPerSecond: Double = 1
        var heartbeatBurst: Double = 20
        /// Heartbeats beyond that rate that end the session (each is dropped: not acknowledged,
        /// not counted).
        var excessHeartbeatsBeforeClose: Int = 20
    }

    struct ActiveSession: Equatable {
        var terminalID: String
        var intervalSeconds: Int
    }

    enum State: Equatable {
        case awaitingHandshake
        case awaitingHello(TLSHandshakeCompleted)
        case registering(terminalID: String)
        case active(ActiveSession)
        case closed
    }

    enum Action: Equatable {
        case none
        /// Ask the core to admit this terminal.
        case register(terminalID: String, hello: Hello, tlsResumed: Bool)
        /// Send Welcome and enter the session table.
        case welcome(terminalID: String, Welcome)
        /// Acknowledge and count a heartbeat.
        case acknowledgeHeartbeat(HeartbeatAck)
        /// A heartbeat beyond the allowed rate: count it as excess, neither acknowledge nor record it.
        case dropExcessHeartbeat
        /// A terminal answer to a pending request from the core.
        case completeRequest(TerminalFrame)
        /// Send Reject, then close.
        case rejectAndClose(Reject)
        /// Send Goodbye, then close.
        case goodbyeAndClose(Goodbye)
        /// The terminal said Goodbye; close without answering.
        case closeSilently(ReasonCode)
        /// Send a frame and stay in the current phase.
        case send(TerminalFrame)
    }

    private(set) var state: State = .awaitingHandshake
    /// When the active terminal was last heard from (kept outside ``state`` so that a heartbeat
    /// does not rewrite the session value).
    private(set) var lastHeard: NIODeadline = .uptimeNanoseconds(0)
    /// Heartbeats the terminal may still send now (a token bucket refilled at the policy's rate).
    private var heartbeatTokens: Double = 0
    private var heartbeatTokensAt: NIODeadline = .uptimeNanoseconds(0)
    /// Heartbeats dropped for exceeding the rate in this session.
    private(set) var excessHeartbeats = 0
    let policy: Policy

    init(policy: Policy) {
        self.policy = policy
    }

    var terminalID: String? {
        switch state {
        case .registering(let id): return id
        case .active(let s): return s.terminalID
        default: return nil
        }
    }

    var isActive: Bool {
        if case .active = state { return true }
        return false
    }

    var isClosed: Bool {
        if case .closed = state { return true }
        return false
    }

    mutating func handshakeCompleted(_ details: TLSHandshakeCompleted) -> Action {
        guard case .awaitingHandshake = state else { return .none }
        state = .awaitingHello(details)
        return .none
    }

    mutating func frameReceived(_ frame: TerminalFrame, now: NIODeadline) -> Action {
        switch state {
        case .awaitingHandshake:
            return violation("frame before the TLS handshake completed")
        case .awaitingHello(let tls):
            guard case .hello(let hello) = frame else {
                return violation("expected Hello, got \(frame.kind)")
            }
            return helloReceived(hello, tls: tls)
        case .registering:
            if case .goodbye(let bye) = frame {
                state = .closed
                return .closeSilently(bye.reason)
            }
            return violation("\(frame.kind) before Welcome")
        case .active:
            lastHeard = now
            switch frame {
            case .heartbeat(let hb):
                return heartbeatReceived(hb, now: now)
            case .apduBatchResult, .channelOpenResult, .channelCloseResult:
                return .completeRequest(frame)
            case .goodbye(let bye):
                state = .closed
                return .closeSilently(bye.reason)
            default:
                state = .closed
                return .goodbyeAndClose(Goodbye(reason: .protocolViolation, text: "\(frame.kind) is not sent by terminals"))
            }
        case .closed:
            return .none
        }
    }

    private mutating func helloReceived(_ hello: Hello, tls: TLSHandshakeCompleted) -> Action {
        guard hello.protocolVersion == TerminalProtocolVersion.current else {
            state = .closed
            return .rejectAndClose(Reject(
                code: .unsupportedVersion,
                text: "protocol version \(hello.protocolVersion) is not served; this edge speaks \(TerminalProtocolVersion.current)",
                retryAfterSeconds: 0))
        }
        let id = hello.identity.terminalID
        guard !id.isEmpty else {
            state = .closed
            return .rejectAndClose(Reject(code: .missingField, text: "Hello carries neither eid nor imei", retryAfterSeconds: 0))
        }
        if policy.requireCertificateBinding {
            if let mismatch = IdentityBindingRule.check(hello.identity, subject: tls.peerSubject, rules: policy.bindingRules) {
                state = .closed
                return .rejectAndClose(Reject(code: .identityMismatch, text: mismatch, retryAfterSeconds: 0))
            }
        }
        state = .registering(terminalID: id)
        return .register(terminalID: id, hello: hello, tlsResumed: tls.resumed)
    }

    mutating func registrationDecided(_ decision: RegistrationDecision, sessionID: String, now: NIODeadline) -> Action {
        guard case .registering(let id) = state else { return .none }
        switch decision {
        case .accept(let settings, let model, let required, _):
            state = .active(ActiveSession(terminalID: id, intervalSeconds: Int(settings.heartbeatIntervalSeconds)))
            lastHeard = now
            heartbeatTokens = policy.heartbeatBurst
            heartbeatTokensAt = now
            return .welcome(terminalID: id, Welcome(
                protocolVersion: TerminalProtocolVersion.current, sessionID: sessionID, settings: settings,
                requiredFields: required, model: model))
        case .reject(let code, let text, let retry):
            state = .closed
            return .rejectAndClose(Reject(code: code, text: text, retryAfterSeconds: retry))
        }
    }

    mutating func registrationFailed(_ error: Error) -> Action {
        guard case .registering = state else { return .none }
        state = .closed
        return .rejectAndClose(Reject(code: .coreUnavailable, text: "registration failed: \(error)", retryAfterSeconds: 30))
    }

    /// Admits a heartbeat within the rate, drops one beyond it, and ends the session once
    /// `excessHeartbeatsBeforeClose` were dropped.
    private mutating func heartbeatReceived(_ heartbeat: Heartbeat, now: NIODeadline) -> Action {
        guard policy.heartbeatsPerSecond > 0 else { return .acknowledgeHeartbeat(HeartbeatAck(seq: heartbeat.seq)) }
        let elapsed = Double((now - heartbeatTokensAt).nanoseconds) / 1e9
        if elapsed > 0 {
            heartbeatTokens = min(policy.heartbeatBurst, heartbeatTokens + elapsed * policy.heartbeatsPerSecond)
            heartbeatTokensAt = now
        }
        if heartbeatTokens >= 1 {
            heartbeatTokens -= 1
            return .acknowledgeHeartbeat(HeartbeatAck(seq: heartbeat.seq))
        }
        excessHeartbeats += 1
        guard excessHeartbeats >= policy.excessHeartbeatsBeforeClose else { return .dropExcessHeartbeat }
        state = .closed
        return .goodbyeAndClose(Goodbye(
            reason: .protocolViolation,
            text: "\(excessHeartbeats) heartbeats beyond \(Self.rate(policy.heartbeatsPerSecond))/s (burst \(Int(policy.heartbeatBurst)))"))
    }

    private static func rate(_ value: Double) -> String {
        value == value.rounded() ? "\(Int(value))" : "\(value)"
    }

    /// The Hello timer fired: a protocol violation before Welcome, answered with Reject.
    mutating func helloTimedOut() -> Action {
        switch state {
        case .awaitingHandshake, .awaitingHello:
            return violation("no Hello within the allowed time")
        default:
            return .none
        }
    }

    /// The terminal sent a frame that cannot be decoded: Reject before Welcome, Goodbye after
    /// (the stream cannot be resynchronised either way).
    mutating func frameMalformed(_ text: String) -> Action {
        switch state {
        case .closed:
            return .none
        case .active:
            state = .closed
            return .goodbyeAndClose(Goodbye(reason: .protocolViolation, text: text))
        case .awaitingHandshake, .awaitingHello, .registering:
            return violation(text)
        }
    }

    /// Periodic check: drops a terminal silent for too many intervals.
    mutating func livenessCheck(now: NIODeadline) -> Action {
        guard case .active(let session) = state else { return .none }
        let allowed = TimeAmount.seconds(Int64(session.intervalSeconds * policy.missedIntervalsBeforeDrop))
        if now - lastHeard > allowed {
            state = .closed
            return .goodbyeAndClose(Goodbye(
                reason: .heartbeatTimeout,
                text: "no frame for \(policy.missedIntervalsBeforeDrop) heartbeat intervals of \(session.intervalSeconds)s"))
        }
        return .none
    }

    /// New settings from the core; the new interval applies to liveness from now on.
    mutating func settingsPushed(_ settings: TerminalSettings, now: NIODeadline) -> Action {
        guard case .active(var session) = state else { return .none }
        session.intervalSeconds = Int(settings.heartbeatIntervalSeconds)
        // The terminal needs one old interval to hear the change; count silence from now.
        lastHeard = max(lastHeard, now)
        state = .active(session)
        return .send(.settings(settings))
    }

    /// The server ends the session (drain, duplicate session, operator).
    mutating func serverClose(reason: ReasonCode, text: String) -> Action {
        switch state {
        case .closed:
            return .none
        default:
            state = .closed
            return .goodbyeAndClose(Goodbye(reason: reason, text: text))
        }
    }

    /// The connection failed (malformed frame, TLS error) or closed.
    mutating func connectionClosed() {
        state = .closed
    }

    private mutating func violation(_ text: String) -> Action {
        state = .closed
        return .rejectAndClose(Reject(code: .protocolViolation, text: text, retryAfterSeconds: 0))
    }
}
