import ArgumentParser
import Foundation
import LPAEdge
import LPASimKit
import Logging
import NIOCore
import TerminalProtocol

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run lpa-edge and a simulated fleet on this machine and show them working.",
        discussion: """
            Creates a test PKI (once) under --workdir, starts an edge on a free loopback port with
            mutual TLS, connects the fleet (each terminal with its own device certificate), and
            prints live counts. Ends with a summary; exits 1 if any terminal failed to come online
            or heartbeats went unanswered.

            Examples:
              lpa-sim demo
              lpa-sim demo --terminals 1000 --duration 60 --heartbeat-interval 10
              lpa-sim demo --json
            """)

    @Option(help: "Number of simulated terminals.")
    var terminals: Int = 200

    @Option(help: "Seconds to run after the fleet is up.")
    var duration: Double = 15

    @Option(help: "Heartbeat interval the edge gives terminals, in seconds.")
    var heartbeatInterval: Int = 2

    @Option(help: "Folder for the PKI and state of the demo.")
    var workdir: String = "var/demo"

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    func run() async throws {
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = .warning
            return h
        }
        let pkiDir = "\(workdir)/pki"
        do {
            try DemoPKI.ensure(directory: pkiDir, devices: terminals, announce: !json)
        } catch {
            Console.error("cannot create the test PKI in \(pkiDir): \(error)")
            throw ExitCode(2)
        }

        var config = EdgeConfiguration()
        config.listen.port = 0
        config.tls.certificate = "\(pkiDir)/edge.pem"
        config.tls.privateKey = "\(pkiDir)/edge.key"
        config.tls.clientCA = "\(pkiDir)/fleet-ca.pem"
        config.heartbeat.defaultIntervalSeconds = heartbeatInterval
        config.heartbeat.countWindowSeconds = max(1, heartbeatInterval * 5)
        config.nodeID = "demo-edge"
        let settings = TerminalSettings(heartbeatIntervalSeconds: UInt32(heartbeatInterval), historyLimit: 100, version: 1)
        let totals = HeartbeatTotals()
        let edge = try EdgeServer(environment: EdgeEnvironment(
            configuration: config, coreLink: StandaloneCoreLink(defaultSettings: settings, totals: totals),
            logger: Logger(label: "lpa-edge")))
        let address = try await edge.start()

        let devices = try FleetLoader.devices(inPKI: pkiDir, limit: terminals)
        let target = FleetTarget(host: "127.0.0.1", port: address.port ?? 0, serverName: "localhost", trustRoots: .file("\(pkiDir)/fleet-ca.pem"))
        let fleet = try FleetSimulator(target: target, devices: devices)
        if !json { print("lpa-edge on \(address), \(devices.count) terminals connecting with mutual TLS") }
        let started = Date()
        fleet.start()
        // Wait for the fleet to come up (bounded), then run for the requested duration.
        let upDeadline = Date().addingTimeInterval(max(30, Double(terminals) / 50))
        while fleet.statistics.snapshot.online < devices.count, Date() < upDeadline {
            try await Task.sleep(for: .milliseconds(250))
            if !json { Console.status(FleetReport.line(fleet.statistics, total: devices.count, elapsed: Date().timeIntervalSince(started))) }
        }
        let runUntil = Date().addingTimeInterval(duration)
        while Date() < runUntil {
            try await Task.sleep(for: .milliseconds(500))
            if !json { Console.status(FleetReport.line(fleet.statistics, total: devices.count, elapsed: Date().timeIntervalSince(started))) }
        }
        if !json { Console.endStatus() }
        let onlineAtEnd = edge.environment.sessions.count
        await fleet.stop()
        await edge.stop()
        let report = FleetReport(statistics: fleet.statistics, terminals: devices.count, seconds: Date().timeIntervalSince(started), online: onlineAtEnd)
        print(json ? report.json() : report.table())
        let s = fleet.statistics.snapshot
        let healthy = onlineAtEnd == devices.count && s.heartbeatAcks > 0 && s.heartbeatAcks + devices.count >= s.heartbeatsSent
        if !healthy {
            Console.error("not every terminal stayed online with its heartbeats answered")
            throw ExitCode(1)
        }
    }
}
