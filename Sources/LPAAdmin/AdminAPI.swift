import Foundation
import HTTPTypes
import Hummingbird
import LPACore
import LPADomain
import LPAMetricsExport
import LPAStore
import Logging
import Metrics

/// The admin HTTP API of one core: library management, device and job queries, fleet imports and
/// `/metrics`. Handlers run on Hummingbird's tasks; all state is in the store, and library changes
/// are made current on this core through ``CoreEngine/reloadLibrariesFromStore()``.
public struct AdminAPI: Sendable {
    let store: any Store
    let engine: CoreEngine
    let authenticator: AdminAuthenticator
    let library: LibraryEditor
    let importer: FleetImporter
    let metrics: PrometheusExport?
    let campaigns: CampaignRunner?
    /// Reaches a connected device's eUICC for the profile routes (nil: they answer 503).
    let profileLinks: (@Sendable (String) -> (any EUICCLink)?)?
    /// Online and offline counts over time (nil: the history is empty).
    let presenceHistory: PresenceSampler?
    let logger: Logger

    /// `campaigns` serves the campaign routes (nil: they answer 503).
    public init(store: any Store, engine: CoreEngine, tokens: [CoreConfiguration.Admin.Token], metrics: PrometheusExport?,
                campaigns: CampaignRunner? = nil, profileLinks: (@Sendable (String) -> (any EUICCLink)?)? = nil,
                presenceHistory: PresenceSampler? = nil, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.store = store
        self.engine = engine
        self.authenticator = AdminAuthenticator(tokens: tokens)
        self.library = LibraryEditor(store: store, engine: engine)
        self.importer = FleetImporter(store: store, clock: clock, logger: logger)
        self.metrics = metrics
        self.campaigns = campaigns
        self.profileLinks = profileLinks
        self.presenceHistory = presenceHistory
        self.logger = logger
    }

    /// Every operation, as documented in `proto/admin-openapi.yaml`.
    public static let routes: [AdminRoute] = [
        AdminRoute(.get, "/v1/device-models", .read),
        AdminRoute(.get, "/v1/device-models/{code}", .read),
        AdminRoute(.put, "/v1/device-models/{code}", .admin),
        AdminRoute(.delete, "/v1/device-models/{code}", .admin),
        AdminRoute(.get, "/v1/configuration-rules", .read),
        AdminRoute(.get, "/v1/configuration-rules/{name}", .read),
        AdminRoute(.put, "/v1/configuration-rules/{name}", .admin),
        AdminRoute(.delete, "/v1/configuration-rules/{name}", .admin),
        AdminRoute(.get, "/v1/count-settings", .read),
        AdminRoute(.get, "/v1/count-settings/{model}", .read),
        AdminRoute(.put, "/v1/count-settings/{model}", .admin),
        AdminRoute(.delete, "/v1/count-settings/{model}", .admin),
        AdminRoute(.get, "/v1/devices", .read),
        AdminRoute(.get, "/v1/devices/{terminalID}", .read),
        AdminRoute(.get, "/v1/jobs/active", .read),
        AdminRoute(.get, "/v1/jobs/counts", .read),
        AdminRoute(.get, "/v1/jobs/{id}", .read),
        AdminRoute(.post, "/v1/fleet/imports", .operate),
        AdminRoute(.get, "/v1/fleet/imports/{id}", .read),
        AdminRoute(.get, "/v1/fleet/entries", .read),
        AdminRoute(.get, "/v1/fleet/entries/{eid}", .read),
        AdminRoute(.get, "/metrics", nil),
        AdminRoute(.get, HealthRoutes.livePath, nil),
        AdminRoute(.get, HealthRoutes.readyPath, nil),
    ] + campaignRoutes + profileRoutes + consoleDataRoutes

    /// The router serving ``routes`` and the console's static files (``ConsoleAssets``), every
    /// answer with ``SecurityHeadersMiddleware``'s headers.
    public func router() -> Router<BasicRequestContext> {
        let router = Router(context: BasicRequestContext.self)
        router.add(middleware: SecurityHeadersMiddleware())
        router.add(middleware: AdminErrorMiddleware())
        ConsoleAssets.addRoutes(to: router)
        for route in Self.routes {
            let handler = self.handler(for: route)
            let authenticator = self.authenticator
            router.on(RouterPath(route.path), method: route.method) { request, context -> Response in
                if let role = route.role { _ = try authenticator.require(role, request) }
                return try await handler(request, context)
            }
        }
        return router
    }

    typealias Handler = @Sendable (Request, BasicRequestContext) async throws -> Response

    /// Ready when the store answers a read (the API starts only after the store's migrations ran).
    func readiness() async -> HealthReport {
        do {
            _ = try await store.deviceModels()
            return HealthReport(checks: [HealthReport.Check(name: "store", ok: true, detail: "ok")])
        } catch {
            logger.warning("readiness: the store does not answer", metadata: ["error": "\(error)"])
            return HealthReport(checks: [HealthReport.Check(name: "store", ok: false, detail: "store unreachable")])
        }
    }

    private func handler(for route: AdminRoute) -> Handler {
        if let handler = campaignHandler(for: route) { return handler }
        if let handler = profileHandler(for: route) { return handler }
        if let handler = consoleDataHandler(for: route) { return handler }
        switch (route.method, route.path) {
        case (.get, "/v1/device-models"): return { _, _ in AdminJSON.response(["deviceModels": try await store.deviceModels()]) }
        case (.get, "/v1/device-models/{code}"): return { _, c in
            let code = try AdminQuery.pathParameter(c, "code")
            guard let model = try await store.deviceModels().first(where: { $0.code == code }) else { throw AdminError.notFound("no device model '\(code)'", field: "code") }
            return AdminJSON.response(model)
        }
        case (.put, "/v1/device-models/{code}"): return { r, c in
            let code = try AdminQuery.pathParameter(c, "code")
            let model = try await AdminJSON.decode(DeviceModel.self, from: r)
            return AdminJSON.response(try await library.putModel(model, code: code))
        }
        case (.delete, "/v1/device-models/{code}"): return { _, c in
            try await library.deleteModel(code: try AdminQuery.pathParameter(c, "code"))
            return Response(status: .noContent)
        }
        case (.get, "/v1/configuration-rules"): return { _, _ in AdminJSON.response(["configurationRules": try await store.configurationRules()]) }
        case (.get, "/v1/configuration-rules/{name}"): return { _, c in
            let name = try AdminQuery.pathParameter(c, "name")
            guard let rule = try await store.configurationRules().first(where: { $0.name == name }) else { throw AdminError.notFound("no configuration rule '\(name)'", field: "name") }
            return AdminJSON.response(rule)
        }
        case (.put, "/v1/configuration-rules/{name}"): return { r, c in
            let name = try AdminQuery.pathParameter(c, "name")
            let rule = try await AdminJSON.decode(ConfigurationRule.self, from: r)
            return AdminJSON.response(try await library.putRule(rule, name: name))
        }
        case (.delete, "/v1/configuration-rules/{name}"): return { _, c in
            try await library.deleteRule(name: try AdminQuery.pathParameter(c, "name"))
            return Response(status: .noContent)
        }
        case (.get, "/v1/count-settings"): return { _, _ in AdminJSON.response(["countSettings": try await store.countSettingTables()]) }
        case (.get, "/v1/count-settings/{model}"): return { _, c in
            let model = try AdminQuery.pathParameter(c, "model")
            guard let table = try await store.countSettingTables().first(where: { $0.model == model }) else { throw AdminError.notFound("no count-setting table for model '\(model)'", field: "model") }
            return AdminJSON.response(table)
        }
        case (.put, "/v1/count-settings/{model}"): return { r, c in
            let model = try AdminQuery.pathParameter(c, "model")
            let table = try await AdminJSON.decode(CountSettingTable.self, from: r)
            return AdminJSON.response(try await library.putCountSettings(table, model: model))
        }
        case (.delete, "/v1/count-settings/{model}"): return { _, c in
            try await library.deleteCountSettings(model: try AdminQuery.pathParameter(c, "model"))
            return Response(status: .noContent)
        }
        case (.get, "/v1/devices"): return { r, _ in try await listDevices(r) }
        case (.get, "/v1/devices/{terminalID}"): return { r, c in try await showDevice(r, c) }
        case (.get, "/v1/jobs/active"): return { r, _ in
            _ = try AdminQuery(r, allowed: [])
            return AdminJSON.response(["jobs": try await store.activeJobs()])
        }
        case (.get, "/v1/jobs/counts"): return { r, _ in
            _ = try AdminQuery(r, allowed: [])
            let counts = try await store.jobCounts()
            return AdminJSON.response(["counts": Dictionary(uniqueKeysWithValues: ProvisioningJob.State.allCases.map { ($0.rawValue, counts[$0] ?? 0) })])
        }
        case (.get, "/v1/jobs/{id}"): return { _, c in
            let id = try AdminQuery.pathParameter(c, "id")
            guard let job = try await store.job(id: id) else { throw AdminError.notFound("no job '\(id)'", field: "id") }
            return AdminJSON.response(job)
        }
        case (.post, "/v1/fleet/imports"): return { r, _ in
            let report = try await importer.run(r)
            return AdminJSON.response(report, status: report.fleetImport.state == .applied ? .created : .unprocessableContent)
        }
        case (.get, "/v1/fleet/imports/{id}"): return { _, c in
            let id = try AdminQuery.pathParameter(c, "id")
            guard let found = try await store.fleetImport(id: id) else { throw AdminError.notFound("no import '\(id)'", field: "id") }
            return AdminJSON.response(found)
        }
        case (.get, "/v1/fleet/entries"): return { r, _ in
            let query = try AdminQuery(r, allowed: ["cursor", "limit"])
            let limit = try query.limit()
            let entries = try await store.fleetEntries(after: try query.string("cursor"), limit: limit)
            return AdminJSON.response(FleetEntryPage(entries: entries, next: entries.count == limit ? entries.last?.eid : nil))
        }
        case (.get, "/v1/fleet/entries/{eid}"): return { _, c in
            let eid = try AdminQuery.pathParameter(c, "eid")
            guard let entry = try await store.fleetEntry(eid: eid) else { throw AdminError.notFound("no fleet entry '\(eid)'", field: "eid") }
            return AdminJSON.response(entry)
        }
        case (.get, HealthRoutes.livePath): return { _, _ in HealthRoutes.liveResponse() }
        case (.get, HealthRoutes.readyPath): return { _, _ in HealthRoutes.readyResponse(await readiness()) }
        case (.get, "/metrics"): return { _, _ in
            guard let metrics else {
                throw AdminError(.serviceUnavailable, "METRICS_UNAVAILABLE", "this process exports no metrics")
            }
            await refreshGauges()
            return Response(status: .ok, headers: [.contentType: PrometheusExport.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: metrics.render())))
        }
        default:
            preconditionFailure("no handler for \(route.method) \(route.path)")
        }
    }

    private func listDevices(_ request: Request) async throws -> Response {
        let q = try AdminQuery(request, allowed: ["model", "presence", "tag", "rule", "jobState", "cursor", "limit"])
        let query = DeviceQuery(model: try q.string("model"), presence: try q.enumeration("presence", PresenceRecord.State.self),
                                tag: try q.string("tag"), rule: try q.string("rule"),
                                jobState: try q.enumeration("jobState", ProvisioningJob.State.self),
                                after: try q.string("cursor"), limit: try q.limit())
        let page = try await store.devices(query)
        return AdminJSON.response(DeviceListing(page))
    }

    private func showDevice(_ request: Request, _ context: BasicRequestContext) async throws -> Response {
        let q = try AdminQuery(request, allowed: ["limit"])
        let limit = try q.limit(default: 50)
        let terminalID = try AdminQuery.pathParameter(context, "terminalID")
        guard let device = try await store.device(terminalID: terminalID) else {
            throw AdminError.notFound("no device '\(terminalID)'", field: "terminalID")
        }
        var notifications: [NotificationRecord] = []
        var fleetEntry: FleetEntry?
        if let eid = device.fields["eid"] {
            notifications = try await store.notifications(eid: eid)
            fleetEntry = try await store.fleetEntry(eid: eid)
        }
        return AdminJSON.response(DeviceDetail(
            device: device,
            presence: try await store.presence(terminalID: terminalID),
            presenceChanges: try await store.presenceChanges(terminalID: terminalID, limit: limit),
            heartbeats: try await store.heartbeatHistory(terminalID: terminalID, limit: limit),
            registrationAttempts: try await store.registrationAttempts(terminalID: terminalID, limit: limit),
            jobs: try await store.jobs(terminalID: terminalID, limit: limit),
            notifications: notifications,
            fleetEntry: fleetEntry))
    }

    /// Core gauges computed at scrape time: terminals online, jobs by state, campaign targets by state.
    private func refreshGauges() async {
        let presence = await engine.presence
        let online = await presence.onlineCount
        Gauge(label: "lpa_core_terminals_online").record(online)
        do {
            let counts = try await store.jobCounts()
            for state in ProvisioningJob.State.allCases {
                Gauge(label: "lpa_core_jobs", dimensions: [("state", state.rawValue)]).record(counts[state] ?? 0)
            }
        } catch {
            logger.warning("job counts for metrics failed", metadata: ["error": "\(error)"])
        }
        // Campaign progress: targets by state for every campaign still running or paused.
        do {
            for campaign in try await store.campaigns(states: [.running, .paused]) {
                let progress = try await store.campaignProgress(id: campaign.id)
                for state in [CampaignTarget.State.pending, .claimed, .running, .succeeded, .failed, .skipped] {
                    Gauge(label: "lpa_core_campaign_targets", dimensions: [("campaign", campaign.name), ("state", state.rawValue)])
                        .record(progress.count(state))
                }
            }
        } catch {
            logger.warning("campaign progress for metrics failed", metadata: ["error": "\(error)"])
        }
    }
}
