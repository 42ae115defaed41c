import Foundation
import LPACoreRPC
import LPARPC
import LPAStore
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import ServiceLifecycle

/// One `lpa-core` process: opens and migrates the store, loads the libraries, serves edges over the
/// RPC, and counts presence misses periodically. Runs under swift-service-lifecycle.
public final class CoreServer: Service, Sendable {
    public let configuration: CoreConfiguration
    public let directory = EdgeDirectory()
    private let logger: Logger
    private let clock: @Sendable () -> Int64
    private let state = NIOLockedValueBox<(store: (any Store)?, engine: CoreEngine?, rpc: RPCServer?, sweep: Task<Void, Never>?,
                                          provisioning: ProvisioningService?, operators: OperatorDirectory?)>((nil, nil, nil, nil, nil, nil))

    /// The admin API: how to start it, and the running server.
    private let admin: (starter: CoreAdminStarter?, running: NIOLockedValueBox<(any CoreAdminServer)?>)
    /// Webhooks: how to start them, and the running service.
    private let webhooks: (starter: CoreWebhookStarter?, running: NIOLockedValueBox<(any CoreWebhookService)?>)

    /// `admin` starts the admin API when the configuration has an `admin` section; `webhooks` starts the
    /// webhook service when it has a `webhooks` section.
    public init(configuration: CoreConfiguration, logger: Logger,
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                admin: CoreAdminStarter? = nil, webhooks: CoreWebhookStarter? = nil) {
        self.configuration = configuration
        self.logger = logger
        self.clock = clock
        self.admin = (admin, NIOLockedValueBox(nil))
        self.webhooks = (webhooks, NIOLockedValueBox(nil))
    }

    /// Where the admin API listens, when it runs.
    public var adminAddress: SocketAddress? { admin.running.withLockedValue { $0?.localAddress } }

    public var engine: CoreEngine? { state.withLockedValue { $0.engine } }
    public var provisioning: ProvisioningService? { state.withLockedValue { $0.provisioning } }
    /// The open store (while started).
    public var store: (any Store)? { state.withLockedValue { $0.store } }
    public var localAddress: SocketAddress? { state.withLockedValue { $0.rpc?.localAddress } }
    /// The edges' RPC connections established and not yet closed.
    public var edgeConnections: [RPCConnection] { state.withLockedValue { $0.rpc?.connections ?? [] } }

    /// Opens everything and starts listening; returns the RPC address.
    @discardableResult
    public func start() async throws -> SocketAddress {
        let store = try StoreFactory.open(url: configuration.store, logger: logger)
        do {
            try await store.migrate()
            try await abandonInterruptedImports(store, atStart: true)
            let engine = CoreEngine(store: store, presencePolicy: configuration.presencePolicy, control: directory, logger: logger, clock: clock,
                                    coreID: configuration.nodeID)
            try await engine.start()
            if !configuration.libraries.isEmpty {
                let document = try LibraryDocument.load(file: configuration.libraries)
                try await engine.importLibraries(document)
                logger.info("libraries imported", metadata: [
                    "file": "\(configuration.libraries)", "models": "\(document.deviceModels.count)",
                    "rules": "\(document.configurationRules.count)", "count_tables": "\(document.countSettings.count)",
                ])
            }
            let operators = OperatorDirectory(
                endpoints: configuration.provisioning.operators,
                defaultTrustedRoots: configuration.provisioning.defaultTrustedRoots.isEmpty ? nil : .file(configuration.provisioning.defaultTrustedRoots))
            let events = try await startWebhooks(store: store)
            let edges = self.directory
            var serviceSettings = configuration.provisioning.serviceSettings
            serviceSettings.coreID = configuration.nodeID
            let provisioning = ProvisioningService(
                store: store, es9: operators, es2: operators, links: { terminalID in edges.connection(for: terminalID) == nil ? nil : TerminalEUICCLink(terminalID: terminalID, directory: edges) },
                settings: serviceSettings, clock: clock, logger: logger, events: events)
            try await provisioning.resumeActiveJobs()
            // Campaigns: claims carry this core's node id, so several cores share one campaign.
            let campaigns = CampaignRunner(store: store, provisioning: provisioning, settings: .init(coreID: configuration.nodeID),
                                           clock: clock, logger: logger, events: events as? any CampaignEventSink)

            // MARK: Admin API (LPAAdmin), when configured
            if let settings = configuration.admin {
                if let starter = admin.starter {
                    let server = try await starter(CoreAdminContext(settings: settings, store: store, engine: engine,
                                                                    provisioning: provisioning, campaigns: campaigns,
                                                                    profileLinks: { terminalID in edges.connection(for: terminalID) == nil ? nil : TerminalEUICCLink(terminalID: terminalID, directory: edges) },
                                                                    logger: logger, clock: clock))
                    admin.running.withLockedValue { $0 = server }
                    logger.info("admin API listening", metadata: ["address": "\(server.localAddress)"])
                } else {
                    logger.warning("the configuration has an admin section but this process has no admin API")
                }
            }

            var router = RPCRouter()
            router.register(edgeToCore: CoreRPCService(engine: engine, directory: directory, provisioning: provisioning, logger: logger))
            let directory = self.directory
            let logger = self.logger
            let rpc = try await RPCServer.start(
                configuration: .init(host: configuration.listen.host, port: configuration.listen.port,
                                     security: .tls(configuration.tlsConfiguration()),
                                     connection: RPCConnectionConfiguration(nodeID: configuration.nodeID)),
                router: router, logger: logger,
                onConnection: { connection in
                    logger.info("edge connected", metadata: ["edge": "\(connection.remoteNodeID)"])
                    connection.channel.closeFuture.whenComplete { _ in
                        let lost = directory.edgeClosed(connection)
                        logger.info("edge disconnected", metadata: ["edge": "\(connection.remoteNodeID)", "terminals": "\(lost.count)"])
                        // Their sessions here ended: campaign targets of these terminals no longer wait for this core.
                        Task { await engine.sessionsEnded(lost) }
                    }
                })
            let retentionPeriod = UInt64(configuration.retention.sweepSeconds)
            let period = UInt64(configuration.presence.sweepSeconds)
            let tickSeconds = UInt64(configuration.provisioning.tickSeconds)
            let sweep = Task {
                var elapsed: UInt64 = 0
                var sinceRetention: UInt64 = 0
                while !Task.isCancelled {
                    try? await Task.sleep(nanoseconds: tickSeconds * 1_000_000_000)
                    if Task.isCancelled { break }
                    elapsed += tickSeconds
                    sinceRetention += tickSeconds
                    await provisioning.tick()
                    await campaigns.tick()
                    if sinceRetention >= retentionPeriod {
                        sinceRetention = 0
                        await self.sweepRetention(store)
                    }
                    guard elapsed >= period else { continue }
                    elapsed = 0
                    do { try await engine.sweepPresence() } catch {
                        logger.error("presence sweep failed", metadata: ["error": "\(error)"])
                    }
                }
            }
            state.withLockedValue { $0 = (store, engine, rpc, sweep, provisioning, operators) }
            logger.info("lpa-core listening", metadata: ["address": "\(rpc.localAddress)", "store": "\((try? StoreLocation(configuration.store)).map { "\($0)" } ?? "?")"])
            return rpc.localAddress
        } catch {
            await webhooks.running.withLockedValue { s in defer { s = nil }; return s }?.stop()
            try? await store.close()
            throw error
        }
    }

    /// Trims per-event history to ``CoreConfiguration/retention`` and clears abandoned imports; logs
    /// what it removed. Errors are logged, not thrown: the next sweep tries again.
    public func sweepRetention(_ store: any Store) async {
        do {
            let trim = try await store.trimHistory(configuration.retention.policy, now: clock())
            if trim.total > 0 {
                logger.info("history trimmed", metadata: [
                    "registration_attempts": "\(trim.registrationAttempts)", "presence_changes": "\(trim.presenceChanges)",
                    "jobs": "\(trim.jobs)", "webhook_deliveries": "\(trim.webhookDeliveries)",
                ])
            }
            try await abandonInterruptedImports(store, atStart: false)
        } catch {
            logger.error("retention sweep failed", metadata: ["error": "\(error)"])
        }
    }

    /// Rejects fleet imports left `staging` by an interrupted process and removes their rows: on
    /// SQLite at start every one of them (one process owns the file), otherwise those older than
    /// `retention.abandonedImportSeconds` (another core may be importing right now).
    private func abandonInterruptedImports(_ store: any Store, atStart: Bool) async throws {
        let now = clock()
        let exclusive: Bool
        switch try? StoreLocation(configuration.store) {
        case .sqliteFile, .sqliteMemory: exclusive = true
        default: exclusive = false
        }
        let cutoff = atStart && exclusive ? now + 1 : now - Int64(configuration.retention.abandonedImportSeconds)
        let abandoned = try await store.abandonFleetImports(createdBefore: cutoff, at: now)
        for id in abandoned {
            logger.warning("fleet import abandoned: it was still staging (interrupted); rejected and its rows removed",
                           metadata: ["import": "\(id)", "code": "IMPORT_INTERRUPTED"])
        }
    }

    /// Starts the webhook service when the configuration has a `webhooks` section.
    private func startWebhooks(store: any Store) async throws -> (any JobEventSink)? {
        guard let settings = configuration.webhooks else { return nil }
        guard let starter = webhooks.starter else {
            logger.warning("the configuration has a webhooks section but this process has no webhook service")
            return nil
        }
        let service = try await starter(CoreWebhookContext(settings: settings, store: store, logger: logger, clock: clock))
        webhooks.running.withLockedValue { $0 = service }
        logger.info("webhooks enabled", metadata: ["endpoints": "\(settings.endpoints.count)"])
        return service
    }

    public func stop() async {
        let (store, _, rpc, sweep, provisioning, operators) = state.withLockedValue { s in
            let r = s
            s = (nil, nil, nil, nil, nil, nil)
            return r
        }
        sweep?.cancel()
        await admin.running.withLockedValue { s in defer { s = nil }; return s }?.stop()
        await rpc?.shutdown()
        await provisioning?.waitUntilIdle()
        await webhooks.running.withLockedValue { s in defer { s = nil }; return s }?.stop()
        await operators?.shutdown()
        try? await store?.close()
    }

    public func run() async throws {
        if localAddress == nil { try await start() }
        try? await gracefulShutdown()
        await stop()
    }
}
