import Foundation
import Logging
import NIOCore

/// What every session handler of one edge shares: policy, the core link, the session table, the
/// heartbeat ledger, metrics and the logger. Immutable and thread-safe.
public struct EdgeEnvironment: Sendable {
    public var configuration: EdgeConfiguration
    public var coreLink: any CoreLink
    public var sessions: SessionTable
    public var ledger: HeartbeatLedger
    public var metrics: EdgeMetrics
    public var logger: Logger
    /// Unix time in seconds; replaceable in tests.
    public var unixTime: @Sendable () -> Int64

    public init(
        configuration: EdgeConfiguration, coreLink: any CoreLink, sessions: SessionTable = SessionTable(),
        ledger: HeartbeatLedger? = nil, metrics: EdgeMetrics = EdgeMetrics(), logger: Logger,
        unixTime: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) }
    ) {
        self.configuration = configuration
        self.coreLink = coreLink
        self.sessions = sessions
        self.ledger = ledger ?? HeartbeatLedger(windowStart: unixTime())
        self.metrics = metrics
        self.logger = logger
        self.unixTime = unixTime
    }

    var policy: TerminalSessionStateMachine.Policy {
        .init(
            bindingRules: configuration.identityBinding,
            requireCertificateBinding: configuration.tls.requireClientCertificate,
            missedIntervalsBeforeDrop: configuration.heartbeat.missedIntervalsBeforeDrop,
            heartbeatsPerSecond: configuration.heartbeat.maxPerSecond,
            heartbeatBurst: Double(configuration.heartbeat.burst),
            excessHeartbeatsBeforeClose: configuration.heartbeat.excessBeforeClose)
    }
}
