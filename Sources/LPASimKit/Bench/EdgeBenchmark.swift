import Foundation
import LPATLS
import NIOCore

/// How one run of the edge benchmark is shaped; the same plan is applied to every server.
public struct EdgeBenchPlan: Sendable {
    /// Connections between connect and welcome at once.
    public var handshakeConcurrency = 256
    /// Time allowed for all connections to come up.
    public var launchTimeout: TimeAmount = .seconds(120)
    /// Pause after the last welcome before memory is read.
    public var settle: TimeAmount = .seconds(2)
    /// Closed loop: unmeasured warm-up, then the measured steady phase.
    public var warmup: TimeAmount = .seconds(1)
    public var duration: TimeAmount = .seconds(10)
    /// Comparisons: the closed loop alternates between the servers in windows this long, each
    /// after its own unmeasured warm-up.
    public var window: TimeAmount = .seconds(2)
    public var windowWarmup: TimeAmount = .milliseconds(500)
    /// Paced phase: aggregate rate (heartbeats per second over all connections), warm-up, measured time.
    public var pacedRatePerSecond: Double = 10_000
    public var pacedWarmup: TimeAmount = .seconds(1)
    public var pacedDuration: TimeAmount = .seconds(5)
    /// Time for unanswered heartbeats to be answered once sending stops.
    public var drainTimeout: TimeAmount = .seconds(10)
    /// SIGTERM to exit, before SIGKILL.
    public var shutdownGrace: TimeAmount = .seconds(20)
    /// Host and server name the clients connect to.
    public var host = "127.0.0.1"
    public var serverName = "localhost"
    /// CA the clients verify the server with.
    public var trustRoots: TLSConfiguration.PEMSource
    /// Local addresses to spread client sockets over; empty lets the OS choose.
    public var sourceAddresses: [String] = []

    public init(trustRoots: TLSConfiguration.PEMSource) {
        self.trustRoots = trustRoots
    }
}

/// A server to benchmark: how to start it and where it will listen.
public struct BenchServer: Sendable {
    /// `lpa-edge` or `mosquitto`.
    public var name: String
    public var version: String?
    public var executable: String
    public var arguments: [String]
    public var port: Int
    /// Where its output goes.
    public var logPath: String

    public init(name: String, version: String?, executable: String, arguments: [String], port: Int, logPath: String) {
        self.name = name
        self.version = version
        self.executable = executable
        self.arguments = arguments
        self.port = port
        self.logPath = logPath
    }
}

/// Receives what the benchmark is doing: `phase` once per step, `status` several times a second.
public struct BenchProgress: Sendable {
    public var phase: @Sendable (String) -> Void
    public var status: @Sendable (String) -> Void

    public init(phase: @escaping @Sendable (String) -> Void, status: @escaping @Sendable (String) -> Void) {
        self.phase = phase
        self.status = status
    }

    public static let silent = BenchProgress(phase: { _ in }, status: { _ in })
}

/// A phase of the benchmark failed; the run's figures cannot be trusted.
public struct BenchFailure: Error, CustomStringConvertible {
    public var server: String
    public var phase: String
    public var reason: String
    /// Figures measured before the failure.
    public var partial: EdgeBenchFigures

    public var description: String { "\(server), \(phase): \(reason)" }
}

/// Figures of a comparison run; each server's ``EdgeBenchFigures/closedLoopWindows`` holds its
/// heartbeats per second in each round of the interleaved closed loop.
public struct EdgeBenchComparison: Sendable {
    public var ours: EdgeBenchFigures
    public var peer: EdgeBenchFigures
}

/// Runs the edge benchmark's phases against servers started as child processes:
///
/// 0. start it, wait until it accepts, read its RSS;
/// 1. open every connection (full mutual-TLS handshake with the device's own certificate, then
///    the greeting) with bounded concurrency: handshakes per second;
/// 2. settle, read RSS again: bytes per connection;
/// 3. closed loop, one heartbeat in flight per connection: heartbeats per second and the CPU
///    time of server and load generator;
/// 4. paced at a fixed aggregate rate: ack latency percentiles;
/// 5. SIGTERM with every connection open, wait for exit.
///
/// Against one server the phases run in order. A comparison brings both servers up with all
/// their connections (phases 0–2, one after the other) and then runs the closed loop in short
/// windows that alternate between them, A B B A …, so that drift in the shared machine's speed
/// falls on both alike; then phases 4 and 5 for each.
///
/// Servers are stopped on every path out, including errors and cancellation.
public enum EdgeBenchmark {
    /// Client TLS and target address for connections to `port`.
    public static func target(plan: EdgeBenchPlan, port: Int, resumption: Bool = false) throws -> LoadTarget {
        var clientTLS = TLSConfiguration.client(trustRoots: plan.trustRoots)
        clientTLS.sessionResumption = resumption
        clientTLS.handshakeTimeout = .seconds(30)
        return LoadTarget(
            address: try SocketAddress(ipAddress: plan.host, port: port),
            serverName: plan.serverName,
            sourceAddresses: try plan.sourceAddresses.map { try SocketAddress(ipAddress: $0, port: 0) },
            connectTimeout: .seconds(15),
            tls: try TLSContext(configuration: clientTLS))
    }

    /// All phases against one server, the connections held in this process.
    public static func run<Format: BenchWireFormat>(
        server: BenchServer, format: Format, devices: [SimulatedDevice], plan: EdgeBenchPlan, progress: BenchProgress
    ) async throws -> EdgeBenchFigures {
        let target = try target(plan: plan, port: server.port)
        let sut = try await ServerUnderTest.start(server: server, connections: devices.count, plan: plan, progress: progress) {
            try await EdgeLoadDriver(format: format, devices: devices, target: target, maximumLaunching: plan.handshakeConcurrency)
        }
        try await sut.closedLoop(warmup: plan.warmup, duration: plan.duration)
        try await sut.paced()
        try await sut.stop()
        return sut.figures
    }

    /// Both servers with their connections up at once, the closed loop in `rounds` pairs of
    /// windows of `plan.window` (after `plan.windowWarmup` each), alternating which server goes first.
    /// `makeLoad` gives the connections to a server (its port) once it accepts.
    public static func compare(
        ours: BenchServer, peer: BenchServer, connections: Int, rounds: Int, plan: EdgeBenchPlan, progress: BenchProgress,
        makeLoad: @escaping (BenchServer) async throws -> any LoadControl
    ) async throws -> EdgeBenchComparison {
        var started: [ServerUnderTest] = []
        do {
            let a = try await ServerUnderTest.start(server: ours, connections: connections, plan: plan, progress: progress) {
                try await makeLoad(ours)
            }
            started.append(a)
            let b = try await ServerUnderTest.start(server: peer, connections: connections, plan: plan, progress: progress) {
                try await makeLoad(peer)
            }
            started.append(b)
            progress.phase("closed loop, one heartbeat in flight per connection: \(rounds) rounds of \(seconds(plan.window)) s per server (after \(seconds(plan.windowWarmup)) s warm-up each), order alternating")
            for round in 0..<max(1, rounds) {
                let order = round % 2 == 0 ? [a, b] : [b, a]
                for sut in order {
                    try await sut.closedLoop(warmup: plan.windowWarmup, duration: plan.window, quiet: true)
                }
                let ra = a.figures.closedLoopWindows.last ?? 0, rb = b.figures.closedLoopWindows.last ?? 0
                progress.phase(String(format: "round %d/%d: %@ %.0f/s, %@ %.0f/s, ratio %.2f",
                                      round + 1, rounds, a.server.name, ra, b.server.name, rb, rb > 0 ? ra / rb : 0))
            }
            for sut in [a, b] {
                progress.phase(String(format: "%@: %.0f heartbeats/s over %d windows, server CPU %.0f%%",
                                      sut.server.name, sut.figures.heartbeatsPerS, sut.figures.closedLoopWindows.count, sut.figures.serverCpuPercent))
            }
            try await a.paced()
            try await b.paced()
            try await a.stop()
            try await b.stop()
            return EdgeBenchComparison(ours: a.figures, peer: b.figures)
        } catch {
            for sut in started { await sut.abort() }
            throw error
        }
    }

    /// The `p`th percentile (nearest rank) of sorted nanosecond samples, in milliseconds.
    static func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
        let rank = Int((Double(sorted.count) * p / 100).rounded(.up))
        return Double(sorted[min(sorted.count - 1, max(0, rank - 1))]) / 1e6
    }

    static func seconds(_ t: TimeAmount) -> String {
        let s = Double(t.nanoseconds) / 1e9
        return s == s.rounded() ? String(Int(s)) : String(format: "%.1f", s)
    }
}

/// One server under test and the connections to it, taken through the benchmark's phases one
/// call at a time. A failing phase stops the server and the connections and throws a
/// ``BenchFailure`` carrying the figures measured so far.
///
/// Used from one task at a time.
final class ServerUnderTest: @unchecked Sendable {
    let server: BenchServer
    private(set) var figures: EdgeBenchFigures
    private let plan: EdgeBenchPlan
    private let progress: BenchProgress
    private let process: ServerProcess
    private let probe: ProcessProbe
    private var load: (any LoadControl)?
    private var phase = "start"
    /// Sums over the closed-loop windows so far.
    private var closedAcks = 0
    private var closedSeconds = 0.0
    private var closedServerCPU = 0.0
    private var closedClientCPU = 0.0

    private init(server: BenchServer, plan: EdgeBenchPlan, progress: BenchProgress, process: ServerProcess) {
        self.server = server
        self.figures = EdgeBenchFigures(server: server.name, version: server.version)
        self.plan = plan
        self.progress = progress
        self.process = process
        self.probe = ProcessProbe(pid: process.pid)
    }

    /// Phases 0–2: starts the server, opens `connections` connections made by `makeLoad`, measures
    /// handshakes and memory.
    static func start(
        server: BenchServer, connections: Int, plan: EdgeBenchPlan, progress: BenchProgress,
        makeLoad: () async throws -> any LoadControl
    ) async throws -> ServerUnderTest {
        progress.phase("\(server.name): starting \(server.executable)")
        let process: ServerProcess
        do {
            process = try await ServerProcess.launch(
                name: server.name, executable: server.executable, arguments: server.arguments, logPath: server.logPath)
        } catch {
            throw BenchFailure(
                server: server.name, phase: "start", reason: "\(error)", partial: EdgeBenchFigures(server: server.name, version: server.version))
        }
        let sut = ServerUnderTest(server: server, plan: plan, progress: progress, process: process)
        try await sut.step("start") {
            try await process.waitUntilAccepting(host: plan.host, port: server.port, timeout: .seconds(30))
            sut.figures.rssBaselineBytes = try sut.probe.residentBytes()
            sut.load = try await makeLoad()
        }
        try await sut.step("handshakes") { try await sut.launch(connections) }
        try await sut.step("memory") {
            try await Task.sleep(for: .nanoseconds(plan.settle.nanoseconds))
            sut.figures.rssLoadedBytes = try sut.probe.residentBytes()
            sut.figures.rssBytesPerConnection = Double(sut.figures.rssLoadedBytes - sut.figures.rssBaselineBytes) / Double(connections)
            try await sut.requireNoLoss()
        }
        return sut
    }

    private func launch(_ connections: Int) async throws {
        guard let load else { throw failure("no connections") }
        let name = server.name
        let progress = self.progress
        progress.phase("\(name): opening \(connections) mutual-TLS connections (\(plan.handshakeConcurrency) at a time)")
        let launched = try await load.launchAll(timeout: plan.launchTimeout) { c in
            progress.status(String(format: "%@ up %d/%d  failed %d", name, c.welcomed, connections, c.launchFailureCount))
        }
        figures.connections = launched.welcomed
        if let tls = launched.tls {
            figures.tlsVersion = tls.protocolVersion
            figures.tlsCipher = tls.cipherSuite
            figures.tlsGroup = tls.group
        }
        if let first = launched.firstConnectNanos, let last = launched.lastWelcomeNanos, last > first {
            figures.handshakeSeconds = Double(last - first) / 1e9
            figures.handshakesPerS = Double(launched.welcomed) / figures.handshakeSeconds
        }
        guard launched.welcomed == connections else {
            var reason = "\(launched.welcomed) of \(connections) connections came up"
            if launched.launchFailureCount > 0 { reason += "; failures: \(LoadCounters.describe(launched.launchFailures))" }
            if launched.launchesOutstanding > 0 { reason += "; \(launched.launchesOutstanding) still pending after \(plan.launchTimeout.nanoseconds / 1_000_000_000) s" }
            if launched.lostCount > 0 { reason += "; dropped after welcome: \(LoadCounters.describe(launched.lost))" }
            throw failure(reason)
        }
        progress.phase(String(format: "%@: %d connections in %.2f s (%.0f handshakes/s)", name, launched.welcomed, figures.handshakeSeconds, figures.handshakesPerS))
    }

    /// Phase 3, one window: closed loop for `warmup` unmeasured, then `duration` measured. The
    /// figures hold the sums over all windows so far.
    func closedLoop(warmup: TimeAmount, duration: TimeAmount, quiet: Bool = false) async throws {
        try await step("closed-loop heartbeats") {
            guard let load else { throw failure("no connections") }
            if !quiet {
                progress.phase("\(server.name): closed loop, one heartbeat in flight per connection, \(EdgeBenchmark.seconds(warmup)) s warm-up + \(EdgeBenchmark.seconds(duration)) s")
            }
            try await load.startClosedLoop()
            try await Task.sleep(for: .nanoseconds(warmup.nanoseconds))
            let before = try await load.counters()
            let cpuBefore = try probe.cpuSeconds()
            let clientBefore = try load.cpuSeconds()
            let start = NIODeadline.now()
            let end = start + duration
            var last = before, lastTime = start
            while NIODeadline.now() < end {
                try await Task.sleep(for: .milliseconds(min(500, max(1, (end - NIODeadline.now()).nanoseconds / 1_000_000))))
                let now = try await load.counters(), nowTime = NIODeadline.now()
                let seconds = Double((nowTime - lastTime).nanoseconds) / 1e9
                progress.status(String(format: "%@ closed loop  %.0f acks/s", server.name, Double(now.acks - last.acks) / seconds))
                last = now
                lastTime = nowTime
            }
            let after = try await load.counters()
            let elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
            let cpu = try probe.cpuSeconds() - cpuBefore
            let client = try load.cpuSeconds() - clientBefore
            let acks = after.acks - before.acks
            let drained = try await load.stopHeartbeats(drainTimeout: plan.drainTimeout)
            guard acks > 0 else { throw failure("no heartbeat was acknowledged") }
            try requireDrained(drained)
            try await requireNoLoss()
            closedAcks += acks
            closedSeconds += elapsed
            closedServerCPU += cpu
            closedClientCPU += client
            figures.closedLoopWindows.append(Double(acks) / elapsed)
            figures.heartbeatsPerS = Double(closedAcks) / closedSeconds
            figures.serverCpuPercent = closedServerCPU / closedSeconds * 100
            figures.serverCpuMicrosecondsPerHeartbeat = closedServerCPU / Double(closedAcks) * 1e6
            figures.clientCpuPercent = closedClientCPU / closedSeconds * 100
            figures.clientCpuMicrosecondsPerHeartbeat = closedClientCPU / Double(closedAcks) * 1e6
            if !quiet {
                progress.phase(String(format: "%@: %.0f heartbeats/s, server CPU %.0f%%", server.name, figures.heartbeatsPerS, figures.serverCpuPercent))
            }
        }
    }

    /// Phase 4: paced heartbeats, ack latency.
    func paced() async throws {
        try await step("paced heartbeats") {
            guard let load else { throw failure("no connections") }
            figures.pacedTargetPerS = plan.pacedRatePerSecond
            progress.phase(String(format: "%@: paced at %.0f heartbeats/s, %@ s warm-up + %@ s", server.name, plan.pacedRatePerSecond,
                                  EdgeBenchmark.seconds(plan.pacedWarmup), EdgeBenchmark.seconds(plan.pacedDuration)))
            try await load.startPaced(ratePerSecond: plan.pacedRatePerSecond)
            try await Task.sleep(for: .nanoseconds(plan.pacedWarmup.nanoseconds))
            try await load.recordLatencies(true)
            let before = try await load.counters()
            let start = NIODeadline.now()
            try await Task.sleep(for: .nanoseconds(plan.pacedDuration.nanoseconds))
            try await load.recordLatencies(false)
            let after = try await load.counters()
            figures.pacedSentPerS = Double(after.heartbeatsSent - before.heartbeatsSent) / (Double((NIODeadline.now() - start).nanoseconds) / 1e9)
            let drained = try await load.stopHeartbeats(drainTimeout: plan.drainTimeout)
            var samples = try await load.latencies()
            samples.sort()
            figures.latencySamples = samples.count
            guard !samples.isEmpty else { throw failure("no ack latency was recorded") }
            figures.ackP50Ms = EdgeBenchmark.percentile(samples, 50)
            figures.ackP99Ms = EdgeBenchmark.percentile(samples, 99)
            figures.ackP999Ms = EdgeBenchmark.percentile(samples, 99.9)
            figures.ackMaxMs = Double(samples[samples.count - 1]) / 1e6
            try requireDrained(drained)
            try await requireNoLoss()
            progress.phase(String(format: "%@: ack p50 %.3f ms, p99 %.3f ms (%d samples)", server.name, figures.ackP50Ms, figures.ackP99Ms, samples.count))
        }
    }

    /// Phase 5: SIGTERM with every connection open; the server must exit cleanly.
    func stop() async throws {
        try await step("shutdown") {
            progress.phase("\(server.name): SIGTERM with \(figures.connections) connections open")
            let exit = await process.stop(grace: plan.shutdownGrace)
            figures.shutdownSeconds = exit.seconds
            await load?.closeAll()
            load = nil
            guard exit.clean else { throw failure("\(exit); its log ends:\n\(process.logTail())") }
        }
    }

    /// Kills the server and closes the connections (error paths; safe to repeat).
    func abort() async {
        process.killNow()
        await load?.closeAll()
        load = nil
    }

    /// Runs one phase; on error stops everything and throws a ``BenchFailure`` for the phase.
    private func step(_ name: String, _ body: () async throws -> Void) async throws {
        phase = name
        do {
            try await body()
        } catch var failed as BenchFailure {
            await abort()
            failed.partial = figures
            throw failed
        } catch {
            let running = process.isRunning
            await abort()
            let detail = running ? "" : "; \(server.name) is not running, its log ends:\n\(process.logTail())"
            throw failure("\(error)\(detail)")
        }
    }

    private func failure(_ reason: String) -> BenchFailure {
        BenchFailure(server: server.name, phase: phase, reason: reason, partial: figures)
    }

    /// Fails the phase if heartbeats were still unanswered when the drain timed out.
    private func requireDrained(_ drained: LoadCounters) throws {
        guard drained.inFlight <= 0 else {
            throw failure("\(drained.inFlight) heartbeats still unanswered \(EdgeBenchmark.seconds(plan.drainTimeout)) s after sending stopped")
        }
    }

    /// Fails the phase if connections were dropped since they came up.
    private func requireNoLoss() async throws {
        guard let load else { return }
        let c = try await load.counters()
        if c.lostCount > 0 {
            throw failure("\(c.lostCount) connections dropped: \(LoadCounters.describe(c.lost))")
        }
    }
}
