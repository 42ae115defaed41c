import ArgumentParser
import Foundation
import LPAConfig
import LPAEdge
import LPAMetricsExport
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TerminalProtocol

@main
struct LPAEdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpa-edge",
        abstract: "Terminates mutual-TLS connections from terminals and speaks the ServerLPA terminal protocol.",
        discussion: """
            Every setting has a default that runs on one machine; --config names a YAML file that
            overrides any of them, and flags override the file.

            Examples:
              lpa-edge                                   # 127.0.0.1:8443, certificates from ./pki
              lpa-edge --config edge.yaml
              lpa-edge --listen 0.0.0.0:8443 --pki /etc/serverlpa/pki
              lpa-edge --print-config --json             # show the effective configuration

            Exit codes: 0 after a clean drain, 2 for bad configuration, 1 for any other failure.
            """)

    @Option(name: .long, help: "YAML configuration file.")
    var config: String?

    @Option(name: .long, help: "Listen address, HOST:PORT (port 0 picks a free port).")
    var listen: String?

    @Option(name: .long, help: "Folder holding edge.pem, edge.key, fleet-ca.pem, edge-client.pem, edge-client.key, infra-ca.pem and, when present, ticket.key (as made by `lpa-sim pki init`).")
    var pki: String?

    @Option(name: .long, help: "lpa-core address HOST:PORT (repeat for several cores); none = standalone.")
    var core: [String] = []

    @Option(name: .long, help: "Node id reported to the core.")
    var nodeID: String?

    @Option(name: .long, help: "Metrics and health listener, HOST:PORT (port 0 picks a free port), or 'off'.")
    var metrics: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(name: .long, help: "Print the effective configuration and exit.")
    var printConfig = false

    @Flag(name: .long, help: "With --print-config: JSON instead of YAML.")
    var json = false

    func effectiveConfiguration() throws -> EdgeConfiguration {
        var c = try config.map(EdgeConfiguration.load(yamlFile:)) ?? EdgeConfiguration()
        if let listen {
            (c.listen.host, c.listen.port) = try Self.hostAndPort(listen, option: "--listen")
        }
        if let metrics {
            if metrics == "off" {
                c.metrics.enabled = false
            } else {
                c.metrics.enabled = true
                (c.metrics.host, c.metrics.port) = try Self.hostAndPort(metrics, option: "--metrics")
            }
        }
        if let pki {
            c.tls.certificate = "\(pki)/edge.pem"
            c.tls.privateKey = "\(pki)/edge.key"
            c.tls.clientCA = "\(pki)/fleet-ca.pem"
            c.core.certificate = "\(pki)/edge-client.pem"
            c.core.privateKey = "\(pki)/edge-client.key"
            c.core.trustRoots = "\(pki)/infra-ca.pem"
            // Written by `lpa-sim pki init`: tickets then resume on every edge started from this folder.
            if FileManager.default.fileExists(atPath: "\(pki)/ticket.key") { c.tls.ticketKeyFile = "\(pki)/ticket.key" }
        }
        if !core.isEmpty { c.core.addresses = core }
        if let nodeID { c.nodeID = nodeID }
        try c.validate()
        return c
    }

    static func hostAndPort(_ text: String, option: String) throws -> (String, Int) {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]) else {
            throw ConfigurationError(file: option, detail: "'\(text)' is not HOST:PORT")
        }
        return (String(text[..<colon]), port)
    }

    func run() async throws {
        let configuration: EdgeConfiguration
        do {
            configuration = try effectiveConfiguration()
        } catch {
            FileHandle.standardError.write(Data("lpa-edge: configuration error: \(error)\n".utf8))
            throw ExitCode(2)
        }
        if printConfig {
            print(try configuration.rendered(json: json))
            return
        }
        let level = Logger.Level(rawValue: logLevel) ?? .info
        ProcessLogging.bootstrap(level: level)
        let logger = Logger(label: "lpa-edge")
        // Before any server creates its metrics, so they all land in the Prometheus registry.
        let export = configuration.metrics.enabled ? PrometheusExport.shared : nil
        let settings = TerminalSettings(
            heartbeatIntervalSeconds: UInt32(configuration.heartbeat.defaultIntervalSeconds),
            historyLimit: UInt32(configuration.heartbeat.defaultHistoryLimit),
            version: 1)
        let sessions = SessionTable()
        let server: EdgeServer
        var rpcLink: RPCCoreLink?
        var ownLoops: MultiThreadedEventLoopGroup?
        do {
            let link: any CoreLink
            if configuration.core.addresses.isEmpty {
                logger.notice("no lpa-core configured: running standalone, admitting every terminal whose certificate matches")
                link = StandaloneCoreLink(defaultSettings: settings)
            } else {
                let l = try RPCCoreLink(configuration: configuration, sessions: sessions, logger: logger)
                l.start()
                rpcLink = l
                link = l
            }
            // Every terminal holds a file descriptor: take all the process may have.
            FileDescriptorLimit.raiseToHardLimit()
            let threads = configuration.eventLoopThreads
            if threads > 0 { ownLoops = MultiThreadedEventLoopGroup(numberOfThreads: threads) }
            let group: EventLoopGroup = ownLoops ?? MultiThreadedEventLoopGroup.singleton
            server = try EdgeServer(
                environment: EdgeEnvironment(configuration: configuration, coreLink: link, sessions: sessions, logger: logger), group: group)
            try await server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw ExitCode(2)
        }
        var metricsListener: HTTPListener?
        if let export {
            do {
                let link = rpcLink
                metricsListener = try await export.startListener(
                    host: configuration.metrics.host, port: configuration.metrics.port, logger: logger,
                    health: { Self.health(server: server, link: link) })
                logger.info("metrics listening", metadata: ["address": "\(metricsListener!.localAddress)"])
            } catch {
                logger.critical("cannot serve metrics", metadata: ["error": "\(error)"])
                throw ExitCode(2)
            }
        }
        let group = ServiceGroup(
            services: [server], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
        await metricsListener?.stop()
        await rpcLink?.shutdown()
        try? await ownLoops?.shutdownGracefully()
    }

    /// Ready when the terminal port listens (not draining) and, unless standalone, at least one
    /// lpa-core is linked.
    static func health(server: EdgeServer, link: RPCCoreLink?) -> HealthReport {
        let listening = server.localAddress != nil && !server.isDraining
        var checks = [HealthReport.Check(name: "terminals", ok: listening, detail: listening ? "listening" : (server.isDraining ? "draining" : "not listening"))]
        if let link {
            let cores = link.connectedCores
            checks.append(HealthReport.Check(name: "core", ok: cores > 0, detail: cores > 0 ? "\(cores) linked" : "no lpa-core linked"))
        } else {
            checks.append(HealthReport.Check(name: "core", ok: true, detail: "standalone"))
        }
        return HealthReport(checks: checks)
    }
}
