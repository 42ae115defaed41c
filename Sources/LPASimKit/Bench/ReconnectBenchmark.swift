import Foundation
import LPATLS
import NIOCore

/// Figures of one reconnect storm against one server (or one deployment of servers).
public struct ReconnectFigures: Sendable, Encodable {
    public var server: String
    public var version: String?
    public var connections = 0
    /// First admission of the whole fleet: full mutual-TLS handshakes plus the greeting.
    public var fullAdmissionSeconds = 0.0
    public var fullAdmissionsPerS = 0.0
    /// Server CPU (every server process of the deployment) per full admission, milliseconds.
    public var serverCPUMsPerFullAdmission = 0.0
    /// Every connection dropped at once, then re-admitted: from the drop until the last greeting.
    public var readmissionSeconds = 0.0
    public var readmissionsPerS = 0.0
    public var serverCPUMsPerReadmission = 0.0
    /// Re-admissions whose TLS handshake resumed a session.
    public var resumed = 0
    public var failures = 0
    /// Where the connections went first and where they came back.
    public var path = ""
}

/// A reconnect storm: the fleet connects (full handshakes), every connection is dropped at once
/// and every terminal connects again straight away — to `servers.last`, which for a deployment of
/// lpa-edges is another edge than the one that issued the tickets (as after an edge restart or a
/// balancer moving terminals), and for a single server is that server again.
///
/// Measured: time and server CPU of the first admission and of the re-admission. The clients
/// keep one TLS session per device, so a server that accepts the tickets resumes them.
public enum ReconnectBenchmark {
    public static func run<Format: BenchWireFormat>(
        name: String, version: String?, servers: [BenchServer], format: Format, devices: [SimulatedDevice],
        plan: EdgeBenchPlan, progress: BenchProgress
    ) async throws -> ReconnectFigures {
        precondition(!servers.isEmpty)
        var figures = ReconnectFigures(server: name, version: version)
        figures.path = servers.count > 1 ? "\(servers.first!.name) → \(servers.last!.name)" : "\(servers[0].name) → \(servers[0].name)"
        var processes: [ServerProcess] = []
        defer { for process in processes { process.killNow() } }
        for server in servers {
            progress.phase("\(server.name): starting \(server.executable)")
            let process = try await ServerProcess.launch(name: server.name, executable: server.executable, arguments: server.arguments, logPath: server.logPath)
            processes.append(process)
            try await process.waitUntilAccepting(host: plan.host, port: server.port, timeout: .seconds(30))
        }
        func cpu() throws -> Double { try processes.reduce(0) { $0 + (try ProcessProbe(pid: $1.pid).cpuSeconds()) } }
        func target(_ server: BenchServer, cache: TLSClientSessionCache) throws -> LoadTarget {
            var t = try EdgeBenchmark.target(plan: plan, port: server.port, resumption: true)
            t.sessionCache = cache
            return t
        }
        let cache = TLSClientSessionCache(capacity: max(1024, devices.count))
        let driver = try await EdgeLoadDriver(
            format: format, devices: devices, target: try target(servers[0], cache: cache), maximumLaunching: plan.handshakeConcurrency)
        figures.connections = devices.count

        progress.phase("\(name): admitting \(devices.count) terminals with full mutual-TLS handshakes (\(plan.handshakeConcurrency) at a time)")
        let cpu0 = try cpu()
        let start0 = NIODeadline.now().uptimeNanoseconds
        let first = try await driver.launchAll(timeout: plan.launchTimeout) { c in
            progress.status(String(format: "%@ up %d/%d  failed %d", name, c.welcomed, devices.count, c.launchFailureCount))
        }
        guard first.welcomed == devices.count else {
            await driver.closeAll()
            throw BenchFailure(server: name, phase: "admission", reason: "\(first.welcomed) of \(devices.count) admitted: \(LoadCounters.describe(first.launchFailures))",
                               partial: EdgeBenchFigures(server: name, version: version))
        }
        let cpu1 = try cpu()
        figures.fullAdmissionSeconds = Double((first.lastWelcomeNanos ?? start0) &- start0) / 1e9
        figures.fullAdmissionsPerS = Double(devices.count) / max(figures.fullAdmissionSeconds, 1e-9)
        figures.serverCPUMsPerFullAdmission = (cpu1 - cpu0) * 1000 / Double(devices.count)
        // TLS 1.3 tickets follow the handshake; wait until every connection has stored one.
        let ticketDeadline = NIODeadline.now() + .seconds(10)
        while cache.count < devices.count, NIODeadline.now() < ticketDeadline {
            try await Task.sleep(for: .milliseconds(50))
        }
        try await Task.sleep(for: .nanoseconds(plan.settle.nanoseconds))

        progress.phase("\(name): dropping all \(devices.count) connections; every terminal reconnects at once to \(servers.last!.name)")
        let cpu2 = try cpu()
        let start1 = NIODeadline.now().uptimeNanoseconds
        try await driver.relaunchAll(target: try target(servers.last!, cache: cache))
        let deadline = NIODeadline.now() + plan.launchTimeout
        var after = first
        while NIODeadline.now() < deadline {
            try await Task.sleep(for: .milliseconds(20))
            after = try await driver.counters()
            progress.status(String(format: "%@ back %d/%d  failed %d", name, after.welcomed - first.welcomed, devices.count,
                                   after.launchFailureCount - first.launchFailureCount))
            if after.launchesOutstanding == 0 { break }
        }
        let cpu3 = try cpu()
        let back = after.welcomed - first.welcomed
        figures.failures = after.launchFailureCount - first.launchFailureCount
        figures.resumed = after.resumed - first.resumed
        figures.readmissionSeconds = Double((after.lastWelcomeNanos ?? start1) &- start1) / 1e9
        figures.readmissionsPerS = Double(back) / max(figures.readmissionSeconds, 1e-9)
        figures.serverCPUMsPerReadmission = (cpu3 - cpu2) * 1000 / Double(max(1, back))
        await driver.closeAll()
        for process in processes { _ = await process.stop(grace: plan.shutdownGrace) }
        processes.removeAll()
        guard back == devices.count else {
            throw BenchFailure(server: name, phase: "re-admission", reason: "\(back) of \(devices.count) re-admitted: \(LoadCounters.describe(after.launchFailures))",
                               partial: EdgeBenchFigures(server: name, version: version))
        }
        return figures
    }
}
