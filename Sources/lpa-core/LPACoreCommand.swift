import ArgumentParser
import Foundation
import LPAConfig
import LPAAdmin
import LPACore
import LPAMetricsExport
import LPAStore
import LPAWebhooks
import Logging
import ServiceLifecycle

@main
struct LPACoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpa-core",
        abstract: "ServerLPA core: device-model and configuration libraries, heartbeat history, count settings, online dictionary.",
        discussion: """
            Examples:
              lpa-core serve                              # 127.0.0.1:7443, SQLite in var/lpa-core.db, certificates from ./pki
              lpa-core serve --config core.yaml --libraries libraries.yaml
              lpa-core serve --store postgres://lpa@127.0.0.1/lpa
              lpa-core import libraries.yaml              # validate and store device models, rules, count settings
              lpa-core serve --print-config --json
              lpa-core admin devices list --presence offline --token $TOKEN

            Exit codes: 0 success, 2 bad configuration or library file, 1 any other failure.
            """,
        subcommands: [Serve.self, Import.self, Admin.self],
        defaultSubcommand: Serve.self)
}

struct CoreOptions: ParsableArguments {
    @Option(help: "YAML configuration file.")
    var config: String?

    @Option(help: "Store URL: sqlite:///path/file.db, a path, sqlite::memory:, or postgres://user:pass@host:port/db.")
    var store: String?

    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String = "info"

    func load() throws -> CoreConfiguration {
        var c = try config.map(CoreConfiguration.load(yamlFile:)) ?? CoreConfiguration()
        if let store { c.store = store }
        try c.validate()
        return c
    }

    func bootstrapLogging() -> Logger {
        let level = Logger.Level(rawValue: logLevel) ?? .info
        ProcessLogging.bootstrap(level: level)
        return Logger(label: "lpa-core")
    }
}

func fail(_ text: String, code: Int32) -> ExitCode {
    FileHandle.standardError.write(Data("lpa-core: \(text)\n".utf8))
    return ExitCode(code)
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Serve edges (the default command).")

    @OptionGroup var options: CoreOptions

    @Option(help: "Listen address for edges, HOST:PORT.")
    var listen: String?

    @Option(help: "Folder holding core.pem, core.key and infra-ca.pem (as made by `lpa-sim pki init`).")
    var pki: String?

    @Option(help: "Library file imported at start.")
    var libraries: String?

    @Option(help: "Node id of this core.")
    var nodeID: String?

    @Flag(help: "Print the effective configuration and exit.")
    var printConfig = false

    @Flag(help: "With --print-config: JSON instead of YAML.")
    var json = false

    func run() async throws {
        var configuration: CoreConfiguration
        do {
            configuration = try options.load()
            if let listen {
                guard let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) else {
                    throw ConfigurationError(file: "--listen", detail: "'\(listen)' is not HOST:PORT")
                }
                configuration.listen.host = String(listen[..<colon])
                configuration.listen.port = port
            }
            if let pki {
                configuration.tls.certificate = "\(pki)/core.pem"
                configuration.tls.privateKey = "\(pki)/core.key"
                configuration.tls.clientCA = "\(pki)/infra-ca.pem"
            }
            if let libraries { configuration.libraries = libraries }
            if let nodeID { configuration.nodeID = nodeID }
            try configuration.validate()
        } catch {
            throw fail("configuration error: \(error)", code: 2)
        }
        if printConfig {
            print(try configuration.rendered(json: json))
            return
        }
        let logger = options.bootstrapLogging()
        if let dir = StoreDirectory.of(configuration.store) {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        // Before any service creates its metrics, so they all land in the Prometheus registry.
        let metrics = configuration.admin == nil ? nil : PrometheusExport.shared
        let server = CoreServer(configuration: configuration, logger: logger, admin: AdminServer.starter(metrics: metrics),
                                webhooks: WebhookService.starter())
        do {
            try await server.start()
        } catch {
            logger.critical("cannot start", metadata: ["error": "\(error)"])
            throw fail("cannot start: \(error)", code: error is LibraryError ? 2 : 1)
        }
        let group = ServiceGroup(services: [server], gracefulShutdownSignals: [.sigterm, .sigint], cancellationSignals: [], logger: logger)
        try await group.run()
    }
}

struct Import: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Validate a library file and store its device models, configuration rules and count-setting tables.",
        discussion: "The rule set is replaced as a whole; models and count tables are added or replaced by code.")

    @OptionGroup var options: CoreOptions

    @Argument(help: "Library YAML file.")
    var file: String

    @Flag(help: "Print a JSON summary.")
    var json = false

    func run() async throws {
        let configuration: CoreConfiguration
        let document: LibraryDocument
        do {
            configuration = try options.load()
            document = try LibraryDocument.load(file: file)
        } catch {
            throw fail("\(error)", code: 2)
        }
        let logger = options.bootstrapLogging()
        if let dir = StoreDirectory.of(configuration.store) {
            try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        }
        let store = try StoreFactory.open(url: configuration.store, logger: logger)
        do {
            try await store.migrate()
            let engine = CoreEngine(store: store, presencePolicy: configuration.presencePolicy, control: EdgeDirectory(),
                                    logger: logger, clock: { Int64(Date().timeIntervalSince1970) })
            try await engine.importLibraries(document)
            try await store.close()
        } catch {
            try? await store.close()
            throw fail("import failed: \(error)", code: 1)
        }
        if json {
            print("{\"models\":\(document.deviceModels.count),\"rules\":\(document.configurationRules.count),\"countTables\":\(document.countSettings.count)}")
        } else {
            print("imported \(document.deviceModels.count) device models, \(document.configurationRules.count) rules, \(document.countSettings.count) count-setting tables from \(file)")
        }
    }
}

/// The folder a SQLite store file lives in, so it can be created on first start.
enum StoreDirectory {
    static func of(_ url: String) -> String? {
        guard case .sqliteFile(let path)? = try? StoreLocation(url) else { return nil }
        let dir = (path as NSString).deletingLastPathComponent
        return dir.isEmpty ? nil : dir
    }
}
