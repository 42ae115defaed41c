/// The figures of one server in one run of the edge benchmark. JSON keys are the snake_case of
/// the property names (`handshakes_per_s`, `rss_bytes_per_connection`, `ack_p99_ms`, …).
public struct EdgeBenchFigures: Sendable, Encodable {
    /// `lpa-edge` or `mosquitto`.
    public var server: String
    /// The server's version line, when known.
    public var version: String?
    /// Connections that came up (all of them, or the run failed).
    public var connections: Int
    /// Full mutual-TLS handshakes plus the greeting round trip, per second, first connect to last welcome.
    public var handshakesPerS: Double
    /// Acknowledged heartbeats per second in the closed loop (one in flight per connection), over
    /// all its measured windows.
    public var heartbeatsPerS: Double
    /// Heartbeats per second in each measured window of the closed loop, in order.
    public var closedLoopWindows: [Double] = []
    /// (RSS with every connection up − RSS before the first) / connections.
    public var rssBytesPerConnection: Double
    /// Ack latency percentiles in the paced phase.
    public var ackP50Ms: Double
    public var ackP99Ms: Double
    public var ackP999Ms: Double
    public var ackMaxMs: Double

    public var handshakeSeconds: Double
    public var rssBaselineBytes: Int
    public var rssLoadedBytes: Int
    /// The server's CPU use during the measured closed loop, in percent of one core.
    public var serverCpuPercent: Double
    /// Server CPU time per heartbeat in the closed loop, in microseconds.
    public var serverCpuMicrosecondsPerHeartbeat: Double
    /// The same for the load generator (the process holding the connections to this server: a
    /// load worker of its own in a comparison, else the benchmark itself): how much of the shared
    /// machine the clients took.
    public var clientCpuPercent: Double
    public var clientCpuMicrosecondsPerHeartbeat: Double
    /// Heartbeats per second the paced phase aimed at, and what it sent.
    public var pacedTargetPerS: Double
    public var pacedSentPerS: Double
    public var latencySamples: Int
    /// What the first handshake negotiated.
    public var tlsVersion: String
    public var tlsCipher: String
    public var tlsGroup: String?
    /// From SIGTERM to exit, with every terminal still connected.
    public var shutdownSeconds: Double

    public init(server: String, version: String?) {
        self.server = server
        self.version = version
        connections = 0
        handshakesPerS = 0
        heartbeatsPerS = 0
        rssBytesPerConnection = 0
        ackP50Ms = 0
        ackP99Ms = 0
        ackP999Ms = 0
        ackMaxMs = 0
        handshakeSeconds = 0
        rssBaselineBytes = 0
        rssLoadedBytes = 0
        serverCpuPercent = 0
        serverCpuMicrosecondsPerHeartbeat = 0
        clientCpuPercent = 0
        clientCpuMicrosecondsPerHeartbeat = 0
        pacedTargetPerS = 0
        pacedSentPerS = 0
        latencySamples = 0
        tlsVersion = "?"
        tlsCipher = "?"
        tlsGroup = nil
        shutdownSeconds = 0
    }
}

/// Under what conditions a benchmark ran: printed with every result, since the figures mean
/// little without them.
public struct EdgeBenchConditions: Sendable, Encodable {
    public var terminals: Int
    public var durationS: Double
    public var warmupS: Double
    public var pacedS: Double
    public var pacedRatePerS: Double
    public var handshakeConcurrency: Int
    public var cores: Int
    public var openssl: String
    public var network: String
    public var sourceAddresses: Int
    public var heartbeatBodyBytes: Int
    /// Distribution and kernel.
    public var system: String
    /// 1, 5 and 15 minute load averages when the run started: how busy the shared machine was.
    public var loadAverage: String
    /// Event-loop threads of lpa-edge (Mosquitto always runs one).
    public var edgeThreads: Int = 0
    /// Comparisons: rounds of the interleaved closed loop (each server one window per round) and
    /// the measured length of a window; zero without a peer (one window of `durationS`).
    public var rounds: Int = 0
    public var windowS: Double = 0

    public init(
        terminals: Int, durationS: Double, warmupS: Double, pacedS: Double, pacedRatePerS: Double, handshakeConcurrency: Int,
        cores: Int, openssl: String, network: String, sourceAddresses: Int, heartbeatBodyBytes: Int, system: String, loadAverage: String
    ) {
        self.terminals = terminals
        self.durationS = durationS
        self.warmupS = warmupS
        self.pacedS = pacedS
        self.pacedRatePerS = pacedRatePerS
        self.handshakeConcurrency = handshakeConcurrency
        self.cores = cores
        self.openssl = openssl
        self.network = network
        self.sourceAddresses = sourceAddresses
        self.heartbeatBodyBytes = heartbeatBodyBytes
        self.system = system
        self.loadAverage = loadAverage
    }
}

/// The whole result of `lpa-sim bench edge`: our figures at the top level, the peer's (if any)
/// under `peer`, the ratios ours/peer, and the conditions.
public struct EdgeBenchReport: Sendable, Encodable {
    public var ours: EdgeBenchFigures
    public var peer: EdgeBenchFigures?
    public var conditions: EdgeBenchConditions
    /// Set when a phase failed: what failed and why.
    public var error: String?

    public init(ours: EdgeBenchFigures, peer: EdgeBenchFigures?, conditions: EdgeBenchConditions, error: String? = nil) {
        self.ours = ours
        self.peer = peer
        self.conditions = conditions
        self.error = error
    }

    /// Ours / peer heartbeats per second (above 1: we answer more).
    public var throughputRatio: Double? {
        guard let peer, peer.heartbeatsPerS > 0 else { return nil }
        return ours.heartbeatsPerS / peer.heartbeatsPerS
    }

    /// Ours / peer heartbeats per second in each round of an interleaved closed loop.
    public var throughputRatioRounds: [Double]? {
        guard let peer, peer.closedLoopWindows.count > 1, peer.closedLoopWindows.count == ours.closedLoopWindows.count else { return nil }
        return zip(ours.closedLoopWindows, peer.closedLoopWindows).map { $1 > 0 ? $0 / $1 : 0 }
    }

    /// The median of ``throughputRatioRounds``.
    public var throughputRatioRoundsMedian: Double? {
        guard let rounds = throughputRatioRounds?.sorted(), !rounds.isEmpty else { return nil }
        let middle = rounds.count / 2
        return rounds.count % 2 == 1 ? rounds[middle] : (rounds[middle - 1] + rounds[middle]) / 2
    }

    /// Ours / peer RSS per connection (below 1: we use less).
    public var memoryRatio: Double? {
        guard let peer, peer.rssBytesPerConnection > 0 else { return nil }
        return ours.rssBytesPerConnection / peer.rssBytesPerConnection
    }

    /// Ours / peer handshakes per second.
    public var handshakeRatio: Double? {
        guard let peer, peer.handshakesPerS > 0 else { return nil }
        return ours.handshakesPerS / peer.handshakesPerS
    }

    private enum CodingKeys: String, CodingKey {
        case peer, conditions, error, throughputRatio, throughputRatioRounds, throughputRatioRoundsMedian, memoryRatio, handshakeRatio
    }

    public func encode(to encoder: Encoder) throws {
        try ours.encode(to: encoder)
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encodeIfPresent(peer, forKey: .peer)
        try c.encodeIfPresent(throughputRatio, forKey: .throughputRatio)
        try c.encodeIfPresent(throughputRatioRounds, forKey: .throughputRatioRounds)
        try c.encodeIfPresent(throughputRatioRoundsMedian, forKey: .throughputRatioRoundsMedian)
        try c.encodeIfPresent(memoryRatio, forKey: .memoryRatio)
        try c.encodeIfPresent(handshakeRatio, forKey: .handshakeRatio)
        try c.encode(conditions, forKey: .conditions)
        try c.encodeIfPresent(error, forKey: .error)
    }
}
