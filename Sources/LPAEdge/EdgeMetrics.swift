import Metrics
import TerminalProtocol

/// The edge's metrics, created once per process. Names are stable; labels carry the project-wide
/// reason codes so the same failure has the same name in logs, metrics and the terminal protocol.
public struct EdgeMetrics: Sendable {
    public let connectionsOpen = Meter(label: "lpa_edge_connections_open")
    public let handshakes = Counter(label: "lpa_edge_tls_handshakes_total", dimensions: [("result", "ok")])
    public let handshakesResumed = Counter(label: "lpa_edge_tls_handshakes_total", dimensions: [("result", "resumed")])
    public let sessionsActive = Meter(label: "lpa_edge_sessions_active")
    public let heartbeats = Counter(label: "lpa_edge_heartbeats_total")
    /// Heartbeats dropped for exceeding the per-terminal rate (``EdgeConfiguration/Heartbeat/maxPerSecond``).
    public let heartbeatsExcess = Counter(label: "lpa_edge_heartbeats_excess_total")
    public let framesIn = Counter(label: "lpa_edge_frames_in_total")
    /// Established sessions whose connection ended without close_notify (a terminal that lost its link).
    public let uncleanShutdowns = Counter(label: "lpa_edge_tls_unclean_shutdowns_total")
    public let handshakeLatency = Timer(label: "lpa_edge_tls_handshake_seconds")

    public init() {}

    /// Counts a failed handshake under its TLS error code.
    public func handshakeFailed(code: String) {
        Counter(label: "lpa_edge_tls_handshakes_total", dimensions: [("result", code)]).increment()
    }

    /// Counts a refused or ended session under its reason code.
    public func sessionEnded(reason: ReasonCode, rejected: Bool) {
        Counter(label: rejected ? "lpa_edge_rejects_total" : "lpa_edge_goodbyes_total", dimensions: [("code", reason.name)]).increment()
    }

    /// Counts a connection refused before TLS (`limit` = `max_connections` or `handshake_rate`).
    public func refused(limit: String) {
        Counter(label: "lpa_edge_connections_refused_total", dimensions: [("limit", limit)]).increment()
    }

    /// Counts a session closed before its last frame (Reject or Goodbye) could be written.
    public func closeTimedOut() {
        Counter(label: "lpa_edge_close_timeouts_total").increment()
    }

    /// Counts a malformed frame.
    public func protocolError() {
        Counter(label: "lpa_edge_protocol_errors_total").increment()
    }
}
