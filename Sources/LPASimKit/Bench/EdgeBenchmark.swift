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

/// Runs the edge benchmark's phases against one server started as a child process:
///
/// 0. start it, wait until it accepts, read its RSS;
/// 1. open every connection (full mutual-TLS handshake with the device's own certificate, then
///    the greeting) with bounded concurrency: handshakes per second;
/// 2. settle, read RSS again: bytes per connection;
/// 3. closed loop, one heartbeat in flight per connection: heartbeats per second and server CPU;
/// 4. paced at a fixed aggregate rate: ack latency percentiles;
/// 5. SIGTERM with every connection open, wait for exit.
///
/// The server is stopped on every path out, including errors and cancellation.
public enum EdgeBenchmark {
    public static func run<Format: BenchWireFormat>(
        server: BenchServer, format: Format, devices: [SimulatedDevice], plan: EdgeBenchPlan, progress: BenchProgress
    ) async throws -> EdgeBenchFigures {
        var figures = EdgeBenchFigures(server: server.name, version: server.version)
        var phase = "start"
        func failure(_ reason: String) -> BenchFailure {
            BenchFailure(server: server.name, phase: phase, reason: reason, partial: figures)
        }

        var clientTLS = TLSConfiguration.client(trustRoots: plan.trustRoots)
        clientTLS.sessionResumption = false
        clientTLS.handshakeTimeout = .seconds(30)
        let target = LoadTarget(
            address: try SocketAddress(ipAddress: plan.host, port: server.port),
            serverName: plan.serverName,
            sourceAddresses: try plan.sourceAddresses.map { try SocketAddress(ipAddress: $0, port: 0) },
            connectTimeout: .seconds(15),
            tls: try TLSContext(configuration: clientTLS))

        progress.phase("\(server.name): starting \(server.executable)")
        let process = try await ServerProcess.launch(
            name: server.name, executable: server.executable, arguments: server.arguments, logPath: server.logPath)
        var driver: EdgeLoadDriver<Format>?
        do {
            try await process.waitUntilAccepting(host: plan.host, port: server.port, timeout: .seconds(30))
            let probe = ProcessProbe(pid: process.pid)
            figures.rssBaselineBytes = try probe.residentBytes()

            phase = "handshakes"
            let load = try await EdgeLoadDriver(
                format: format, devices: devices, target: target, maximumLaunching: plan.handshakeConcurrency)
            driver = load
            progress.phase("\(server.name): opening \(devices.count) mutual-TLS connections (\(plan.handshakeConcurrency) at a time)")
            let launched = try await load.launchAll(timeout: plan.launchTimeout) { c in
                progress.status(String(format: "%@ up %d/%d  failed %d", server.name, c.welcomed, devices.count, c.launchFailureCount))
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
            guard launched.welcomed == devices.count else {
                var reason = "\(launched.welcomed) of \(devices.count) connections came up"
                if launched.launchFailureCount > 0 { reason += "; failures: \(LoadCounters.describe(launched.launchFailures))" }
                if launched.launchesOutstanding > 0 { reason += "; \(launched.launchesOutstanding) still pending after \(plan.launchTimeout.nanoseconds / 1_000_000_000) s" }
                if launched.lostCount > 0 { reason += "; dropped after welcome: \(LoadCounters.describe(launched.lost))" }
                throw failure(reason)
            }
            progress.phase(String(format: "%@: %d connections in %.2f s (%.0f handshakes/s)", server.name, launched.welcomed, figures.handshakeSeconds, figures.handshakesPerS))

            phase = "memory"
            try await Task.sleep(for: .nanoseconds(plan.settle.nanoseconds))
            figures.rssLoadedBytes = try probe.residentBytes()
            figures.rssBytesPerConnection = Double(figures.rssLoadedBytes - figures.rssBaselineBytes) / Double(devices.count)
            try await requireNoLoss(load, failure: failure)

            phase = "closed-loop heartbeats"
            progress.phase("\(server.name): closed loop, one heartbeat in flight per connection, \(seconds(plan.warmup)) s warm-up + \(seconds(plan.duration)) s")
            try await load.startClosedLoop()
            try await Task.sleep(for: .nanoseconds(plan.warmup.nanoseconds))
            let before = try await load.counters()
            let cpuBefore = try probe.cpuSeconds()
            let start = NIODeadline.now()
            let end = start + plan.duration
            var last = before
            while NIODeadline.now() < end {
                try await Task.sleep(for: .milliseconds(min(500, max(1, (end - NIODeadline.now()).nanoseconds / 1_000_000))))
                let now = try await load.counters()
                progress.status(String(format: "%@ closed loop  %.0f acks/s", server.name, Double(now.acks - last.acks) * 2))
                last = now
            }
            let after = try await load.counters()
            let elapsed = Double((NIODeadline.now() - start).nanoseconds) / 1e9
            let cpu = try probe.cpuSeconds() - cpuBefore
            let acks = after.acks - before.acks
            figures.heartbeatsPerS = Double(acks) / elapsed
            figures.serverCpuPercent = cpu / elapsed * 100
            figures.serverCpuMicrosecondsPerHeartbeat = acks > 0 ? cpu / Double(acks) * 1e6 : 0
            let drainedClosed = try await load.stopHeartbeats(drainTimeout: plan.drainTimeout)
            guard acks > 0 else { throw failure("no heartbeat was acknowledged") }
            guard drainedClosed.inFlight <= 0 else {
                throw failure("\(drainedClosed.inFlight) heartbeats still unanswered \(seconds(plan.drainTimeout)) s after sending stopped")
            }
            try await requireNoLoss(load, failure: failure)
            progress.phase(String(format: "%@: %.0f heartbeats/s, server CPU %.0f%%", server.name, figures.heartbeatsPerS, figures.serverCpuPercent))

            phase = "paced heartbeats"
            figures.pacedTargetPerS = plan.pacedRatePerSecond
            progress.phase(String(format: "%@: paced at %.0f heartbeats/s, %@ s warm-up + %@ s", server.name, plan.pacedRatePerSecond, seconds(plan.pacedWarmup), seconds(plan.pacedDuration)))
            try await load.startPaced(ratePerSecond: plan.pacedRatePerSecond)
            try await Task.sleep(for: .nanoseconds(plan.pacedWarmup.nanoseconds))
            try await load.recordLatencies(true)
            let pacedBefore = try await load.counters()
            let pacedStart = NIODeadline.now()
            try await Task.sleep(for: .nanoseconds(plan.pacedDuration.nanoseconds))
            try await load.recordLatencies(false)
            let pacedAfter = try await load.counters()
            figures.pacedSentPerS = Double(pacedAfter.heartbeatsSent - pacedBefore.heartbeatsSent)
                / (Double((NIODeadline.now() - pacedStart).nanoseconds) / 1e9)
            let drainedPaced = try await load.stopHeartbeats(drainTimeout: plan.drainTimeout)
            var samples = try await load.latencies()
            samples.sort()
            figures.latencySamples = samples.count
            guard !samples.isEmpty else { throw failure("no ack latency was recorded") }
            figures.ackP50Ms = percentile(samples, 50)
            figures.ackP99Ms = percentile(samples, 99)
            figures.ackP999Ms = percentile(samples, 99.9)
            figures.ackMaxMs = Double(samples[samples.count - 1]) / 1e6
            guard drainedPaced.inFlight <= 0 else {
                throw failure("\(drainedPaced.inFlight) heartbeats still unanswered \(seconds(plan.drainTimeout)) s after sending stopped")
            }
            try await requireNoLoss(load, failure: failure)
            progress.phase(String(format: "%@: ack p50 %.3f ms, p99 %.3f ms (%d samples)", server.name, figures.ackP50Ms, figures.ackP99Ms, samples.count))

            phase = "shutdown"
            progress.phase("\(server.name): SIGTERM with \(devices.count) connections open")
            let exit = await process.stop(grace: plan.shutdownGrace)
            figures.shutdownSeconds = exit.seconds
            await load.closeAll()
            driver = nil
            guard exit.clean else {
                throw failure("\(exit); its log ends:\n\(process.logTail())")
            }
            return figures
        } catch {
            process.killNow()
            await driver?.closeAll()
            if var failed = error as? BenchFailure {
                failed.partial = figures
                throw failed
            }
            let detail = process.isRunning ? "" : "; \(server.name) is not running, its log ends:\n\(process.logTail())"
            throw failure("\(error)\(detail)")
        }
    }

    /// Fails the phase if connections were dropped since they came up.
    private static func requireNoLoss<Format>(
        _ driver: EdgeLoadDriver<Format>, failure: (String) -> BenchFailure
    ) async throws {
        let c = try await driver.counters()
        if c.lostCount > 0 {
            throw failure("\(c.lostCount) connections dropped: \(LoadCounters.describe(c.lost))")
        }
    }

    /// The `p`th percentile (nearest rank) of sorted nanosecond samples, in milliseconds.
    static func percentile(_ sorted: [UInt64], _ p: Double) -> Double {
        let rank = Int((Double(sorted.count) * p / 100).rounded(.up))
        return Double(sorted[min(sorted.count - 1, max(0, rank - 1))]) / 1e6
    }

    private static func seconds(_ t: TimeAmount) -> String {
        let s = Double(t.nanoseconds) / 1e9
        return s == s.rounded() ? String(Int(s)) : String(format: "%.1f", s)
    }
}
