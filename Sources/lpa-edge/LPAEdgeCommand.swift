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

    @Option(name: .long, help: "Folder holding edge.pem, edge.key, fleet-ca.pem, edge-client.pem, edge-client.key and infra-ca.pem (as made by `lpa-sim pki init`).")
    var pki: String?

    @Option(name: .long, help: "lpa-core address HOST:PORT (repeat for several cores); none = standalone.")
    var core: [String] = []

    @Option(name: .long, help: "Node id reported to the core.")
    var nodeID: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    @Flag(name: .long, help: "Print the effective configuration and exit.")
    var printConfig = false

    @Flag(name: .long, help: "With --print-config: JSON instead of YAML.")
    var json = false

    func effectiveConfiguration() throws -> EdgeConfiguration {
        var c = try config.map(EdgeConfiguration.load(yamlFile:)) ?? EdgeConfiguration()
        if let listen {
            guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                throw ConfigurationError(file: "--listen", detail: "'\(listen)' is not HOST:PORT")
            }
            c.listen.host = String(listen[..<colon])
            c.listen.port = port
        }
        if let pki {
            c.tls.certificate = "\(pki)/edge.pem"
            c.tls.privateKey = "\(pki)/edge.key"
            c.tls.clientCA = "\(pki)/fleet-ca.pem"
            c.core.certificate = "\(pki)/edge-client.pem"
            c.core.privateKey = "\(pki)/edge-client.key"
            c.core.trustRoots = "\(pki)/infra-ca.pem"
        }
        if !core.isEmpty { c.core.addresses = core }
        if let nodeID { c.nodeID = nodeID }
        try c.validate()
        return c
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
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
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
                metricsListener = try await export.startListener(host: configuration.metrics.host, port: configuration.metrics.port, logger: logger)
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
}
