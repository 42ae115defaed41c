import ArgumentParser
import Foundation
import LPACore
import LPAEdge
import LPASimKit
import Logging
import NIOCore
import TerminalProtocol

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run lpa-core, lpa-edge and a simulated fleet on this machine and show them working.",
        discussion: """
            Creates a test PKI (once) under --workdir, starts lpa-core on SQLite with a demo
            device-model library, rules and count settings, starts lpa-edge linked to it over the
            edge–core RPC (mutual TLS), and connects the fleet (each terminal with its own device
            certificate). Terminals register through the core, heartbeat, and get their interval
            changed by the count-setting table. Live counts are printed; the run ends with a
            summary and exits 1 if any terminal failed to come online, heartbeats went unanswered,
            or the core's online dictionary disagrees.

            Examples:
              lpa-sim demo
              lpa-sim demo --terminals 1000 --duration 60
              lpa-sim demo --json
            """)

    @Option(help: "Number of simulated terminals.")
    var terminals: Int = 200

    @Option(help: "Seconds to run after the fleet is up.")
    var duration: Double = 15

    @Option(help: "Folder for the PKI, the core's database and the demo library.")
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
        let libraryFile = "\(workdir)/libraries.yaml"
        try DemoLibrary.yaml.write(toFile: libraryFile, atomically: true, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: "\(workdir)/core.db")

        // lpa-core on SQLite.
        var coreConfig = CoreConfiguration()
        coreConfig.listen.port = 0
        coreConfig.store = "\(workdir)/core.db"
        coreConfig.libraries = libraryFile
        coreConfig.tls.certificate = "\(pkiDir)/core.pem"
        coreConfig.tls.privateKey = "\(pkiDir)/core.key"
        coreConfig.tls.clientCA = "\(pkiDir)/fleet-ca.pem"
        coreConfig.presence.reportDelaySeconds = 5
        coreConfig.presence.graceSeconds = 5
        coreConfig.presence.sweepSeconds = 1
        coreConfig.nodeID = "demo-core"
        let core = CoreServer(configuration: coreConfig, logger: Logger(label: "lpa-core"))
        let coreAddress = try await core.start()

        // lpa-edge linked to it.
        var edgeConfig = EdgeConfiguration()
        edgeConfig.listen.port = 0
        edgeConfig.tls.certificate = "\(pkiDir)/edge.pem"
        edgeConfig.tls.privateKey = "\(pkiDir)/edge.key"
        edgeConfig.tls.clientCA = "\(pkiDir)/fleet-ca.pem"
        edgeConfig.heartbeat.countWindowSeconds = 5
        edgeConfig.core.addresses = ["127.0.0.1:\(coreAddress.port ?? 0)"]
        edgeConfig.core.certificate = "\(pkiDir)/edge-client.pem"
        edgeConfig.core.privateKey = "\(pkiDir)/edge-client.key"
        edgeConfig.core.trustRoots = "\(pkiDir)/fleet-ca.pem"
        edgeConfig.nodeID = "demo-edge"
        let sessions = SessionTable()
        let link = try RPCCoreLink(configuration: edgeConfig, sessions: sessions, logger: Logger(label: "lpa-edge"))
        link.start()
        let edge = try EdgeServer(environment: EdgeEnvironment(configuration: edgeConfig, coreLink: link, sessions: sessions, logger: Logger(label: "lpa-edge")))
        let edgeAddress = try await edge.start()
        let linkDeadline = Date().addingTimeInterval(15)
        while link.connectedCores == 0, Date() < linkDeadline { try await Task.sleep(for: .milliseconds(50)) }
        guard link.connectedCores == 1 else {
            Console.error("lpa-edge could not connect to lpa-core at \(coreAddress)")
            throw ExitCode(1)
        }

        let devices = try FleetLoader.devices(inPKI: pkiDir, limit: terminals)
        let target = FleetTarget(host: "127.0.0.1", port: edgeAddress.port ?? 0, serverName: "localhost", trustRoots: .file("\(pkiDir)/fleet-ca.pem"))
        let fleet = try FleetSimulator(target: target, devices: devices)
        if !json {
            print("lpa-core on \(coreAddress) (SQLite \(coreConfig.store)), lpa-edge on \(edgeAddress); \(devices.count) terminals connecting with mutual TLS")
        }
        let started = Date()
        fleet.start()
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
        let coreOnline = await core.engine?.presence.onlineCount ?? 0
        let registered = core.directory.terminalCount
        await fleet.stop()
        await edge.stop()
        await link.shutdown()
        await core.stop()
        var report = FleetReport(statistics: fleet.statistics, terminals: devices.count, seconds: Date().timeIntervalSince(started), online: onlineAtEnd)
        report.coreRegistered = registered
        report.coreOnline = coreOnline
        print(json ? report.json() : report.table())
        let s = fleet.statistics.snapshot
        let healthy = onlineAtEnd == devices.count && coreOnline == devices.count && registered == devices.count
            && s.heartbeatAcks > 0 && s.heartbeatAcks + devices.count >= s.heartbeatsSent
        if !healthy {
            Console.error("not every terminal stayed online, registered with the core and had its heartbeats answered")
            throw ExitCode(1)
        }
    }
}
