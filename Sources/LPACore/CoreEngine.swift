import Logging
import LPADomain
import LPAStore
import TerminalProtocol

/// A terminal asking the core to admit it (S110 → claim 2).
public struct RegistrationRequest: Sendable, Equatable {
    public var terminalID: String
    public var identity: Identity
    public var agent: String
    public var remoteAddress: String
    public var edgeNodeID: String
    public var tlsResumed: Bool
    /// The epoch the core gave this session when it first registered; nil for a new session. An edge
    /// registering its live terminals again (after losing a core) carries it, so that a newer session of
    /// the terminal, registered meanwhile, wins (see ``TerminalSession``).
    public var sessionEpoch: Int64?

    public init(terminalID: String, identity: Identity, agent: String = "", remoteAddress: String = "", edgeNodeID: String = "", tlsResumed: Bool = false,
                sessionEpoch: Int64? = nil) {
        self.terminalID = terminalID
        self.identity = identity
        self.agent = agent
        self.remoteAddress = remoteAddress
        self.edgeNodeID = edgeNodeID
        self.tlsResumed = tlsResumed
        self.sessionEpoch = sessionEpoch
    }
}

/// The core's answer: admitted with the model's settings, or refused with a reason code.
public enum RegistrationOutcome: Sendable, Equatable {
    /// `sessionEpoch` identifies the session from now on (the edge carries it when it registers the
    /// session again).
    case accepted(model: String, settings: TerminalSettings, requiredFields: [String], rule: String?, sessionEpoch: Int64)
    case refused(RegistrationRefusal)
}

/// Heartbeats of one terminal in one window, as an edge reports them (claim 3).
public struct HeartbeatReport: Sendable, Equatable {
    public var terminalID: String
    public var windowStart: Int64
    public var windowSeconds: Int
    public var count: Int
    public var lastSeen: Int64

    public init(terminalID: String, windowStart: Int64, windowSeconds: Int, count: Int, lastSeen: Int64) {
        self.terminalID = terminalID
        self.windowStart = windowStart
        self.windowSeconds = windowSeconds
        self.count = count
        self.lastSeen = lastSeen
    }
}

/// What the core can ask of a terminal, through whichever edge holds it.
public protocol TerminalControl: Sendable {
    /// Sends new settings to a connected terminal.
    func pushSettings(terminalID: String, settings: TerminalSettings) async throws
}

/// The core's decisions about terminals: registration through the device-model and configuration
/// libraries, heartbeat history with the count-setting tables, and the online dictionary. All
/// durable state goes through the store; this actor keeps only caches and the loaded libraries.
public actor CoreEngine {
    private let store: any Store
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    private let control: any TerminalControl
    /// This core's node id: recorded as the holder of the terminal sessions it accepts.
    public nonisolated let coreID: String
    public let presence: OnlineDictionary
    private var models = DeviceModelLibrary([])
    private var rules = ConfigurationLibrary([])
    private var countPolicy = CountSettingPolicy([])
    /// terminal id → (model, interval, history limit, settings version) of registered devices.
    private var settingsCache: [String: (model: String, interval: Int, limit: Int, version: UInt32)] = [:]
    /// Settings pushes under way, one per terminal (a newer push cancels the older one).
    private var pushes: [String: (id: UInt64, task: Task<Void, Never>)] = [:]
    private var nextPushID: UInt64 = 0

    public init(store: any Store, presencePolicy: OnlineDictionary.Policy, control: any TerminalControl,
                logger: Logger, clock: @escaping @Sendable () -> Int64, coreID: String = "core") {
        self.store = store
        self.coreID = coreID
        self.clock = clock
        self.logger = logger
        self.control = control
        self.presence = OnlineDictionary(store: store, policy: presencePolicy, clock: clock)
    }

    /// Loads libraries and the online dictionary from the store.
    public func start() async throws {
        try await reloadLibrariesFromStore()
        try await presence.load()
    }

    /// Writes a library document to the store (models upserted, rules replaced, tables upserted)
    /// and makes it current.
    public func importLibraries(_ document: LibraryDocument) async throws {
        for model in document.deviceModels { try await store.upsertDeviceModel(model) }
        if !document.configurationRules.isEmpty || !document.deviceModels.isEmpty {
            try await store.replaceConfigurationRules(document.configurationRules)
        }
        for table in document.countSettings { try await store.upsertCountSettingTable(table) }
        try await reloadLibrariesFromStore()
    }

    public func reloadLibrariesFromStore() async throws {
        models = DeviceModelLibrary(try await store.deviceModels())
        rules = ConfigurationLibrary(try await store.configurationRules())
        countPolicy = CountSettingPolicy(try await store.countSettingTables())
    }

    /// Claim 2 and S120: match the model, import the identity, choose the requirement, record it all.
    public func register(_ request: RegistrationRequest) async throws -> RegistrationOutcome {
        let now = clock()
        let fields = request.identity.fieldMap
        let outcome = decide(request, fields: fields)
        switch outcome {
        case .failure(let refusal):
            try await store.recordRegistrationAttempt(RegistrationAttempt(
                terminalID: request.terminalID, at: now, edgeNodeID: request.edgeNodeID, remoteAddress: request.remoteAddress,
                outcome: refusal.code.name, detail: refusal.text))
            logger.notice("registration refused", metadata: ["terminal": "\(request.terminalID)", "code": "\(refusal.code.name)", "reason": "\(refusal.text)"])
            return .refused(refusal)
        case .success(let (model, imported)):
            // The session first: a stale registration (a newer session of the terminal registered since) must
            // change nothing, not even the identity on record.
            guard let epoch = try await store.openTerminalSession(terminalID: request.terminalID, coreID: coreID,
                                                                  epoch: request.sessionEpoch, at: now) else {
                let refusal = RegistrationRefusal(.duplicateSession, "session \(request.sessionEpoch ?? 0) of terminal \(request.terminalID) was replaced by a newer one")
                try await store.recordRegistrationAttempt(RegistrationAttempt(
                    terminalID: request.terminalID, at: now, edgeNodeID: request.edgeNodeID, remoteAddress: request.remoteAddress,
                    outcome: refusal.code.name, detail: refusal.text))
                logger.notice("stale registration refused", metadata: [
                    "terminal": "\(request.terminalID)", "code": "\(refusal.code.name)", "edge": "\(request.edgeNodeID)",
                    "session_epoch": "\(request.sessionEpoch ?? 0)",
                ])
                return .refused(refusal)
            }
            let existing = try await store.device(terminalID: request.terminalID)
            // A fleet import may have named this device before it connected: its tags are the
            // device's tags for the rules, and its target profile, when given, is the requirement.
            var fleet: FleetEntry?
            if let eid = fields["eid"] { fleet = try await store.fleetEntry(eid: eid) }
            let tags = fleet?.tags ?? existing?.tags ?? []
            let rule = rules.evaluate(model: model.code, fields: imported, tags: tags)
            let requirement = fleet?.target ?? rule?.requirement
            // Keep settings the count-setting table already chose for this device and model.
            let keep = existing.map { $0.model == model.code } ?? false
            let interval = keep ? existing!.heartbeatIntervalSeconds : model.heartbeatIntervalSeconds
            let limit = keep ? existing!.historyLimit : model.historyLimit
            let record = DeviceRecord(
                terminalID: request.terminalID, model: model.code, fields: imported, tags: tags,
                ruleName: fleet?.target == nil ? rule?.name : nil, requirement: requirement, heartbeatIntervalSeconds: interval, historyLimit: limit,
                firstSeen: existing?.firstSeen ?? now, lastRegistered: now)
            try await store.upsertDevice(record)
            try await store.recordRegistrationAttempt(RegistrationAttempt(
                terminalID: request.terminalID, at: now, edgeNodeID: request.edgeNodeID, remoteAddress: request.remoteAddress,
                outcome: "ACCEPTED", detail: fleet?.target != nil ? "target profile from fleet import \(fleet!.importID)"
                    : rule.map { "rule \($0.name)" } ?? "no configuration rule matched"))
            let version = (settingsCache[request.terminalID]?.version ?? 0) &+ 1
            settingsCache[request.terminalID] = (model.code, interval, limit, version)
            try await presence.heard([(request.terminalID, now, interval, "registered")])
            logger.info("terminal registered", metadata: [
                "terminal": "\(request.terminalID)", "model": "\(model.code)", "rule": "\(rule?.name ?? "-")",
                "edge": "\(request.edgeNodeID)",
            ])
            return .accepted(model: model.code,
                             settings: TerminalSettings(heartbeatIntervalSeconds: UInt32(interval), historyLimit: UInt32(limit), version: version),
                             requiredFields: model.requiredFields, rule: rule?.name, sessionEpoch: epoch)
        }
    }

    private func decide(_ request: RegistrationRequest, fields: [String: String]) -> Result<(DeviceModel, [String: String]), RegistrationRefusal> {
        switch models.match(modelCode: request.identity.model, fields: fields) {
        case .failure(let refusal):
            return .failure(refusal)
        case .success(let model):
            return DeviceModelLibrary.importIdentity(fields, into: model).map { (model, $0) }
        }
    }

    /// Claims 3–5: stores the windows, updates the online dictionary, applies the count-setting
    /// tables and trims history beyond each limit. Changed settings are pushed to the terminals in
    /// tasks of their own: a terminal that does not take them (slow, stalled, gone) never delays or
    /// fails the report, and the others' windows are stored regardless.
    public func reportHeartbeats(_ reports: [HeartbeatReport]) async throws {
        guard !reports.isEmpty else { return }
        try await store.appendHeartbeatWindows(reports.map {
            HeartbeatWindow(terminalID: $0.terminalID, windowStart: $0.windowStart, windowSeconds: $0.windowSeconds, count: $0.count)
        })
        let heard = reports.filter { $0.count > 0 }.map {
            (terminalID: $0.terminalID, at: $0.lastSeen, intervalSeconds: settingsCache[$0.terminalID]?.interval, reason: "heartbeat")
        }
        try await presence.heard(heard)
        for report in reports {
            guard let current = settingsCache[report.terminalID] else { continue }
            var limit = current.limit
            if let chosen = countPolicy.settings(model: current.model, count: report.count),
               chosen.heartbeatIntervalSeconds != current.interval || chosen.historyLimit != current.limit {
                let version = current.version &+ 1
                settingsCache[report.terminalID] = (current.model, chosen.heartbeatIntervalSeconds, chosen.historyLimit, version)
                limit = chosen.historyLimit
                try await store.updateDeviceSettings(terminalID: report.terminalID, heartbeatIntervalSeconds: chosen.heartbeatIntervalSeconds,
                                                     historyLimit: chosen.historyLimit)
                await presence.setInterval(chosen.heartbeatIntervalSeconds, for: report.terminalID)
                let settings = TerminalSettings(heartbeatIntervalSeconds: UInt32(chosen.heartbeatIntervalSeconds),
                                                historyLimit: UInt32(chosen.historyLimit), version: version)
                logger.info("count settings changed", metadata: [
                    "terminal": "\(report.terminalID)", "count": "\(report.count)",
                    "interval": "\(current.interval)→\(chosen.heartbeatIntervalSeconds)", "history_limit": "\(chosen.historyLimit)",
                ])
                push(settings, to: report.terminalID)
            }
            _ = try await store.trimHeartbeatHistory(terminalID: report.terminalID, keep: limit)
        }
    }

    /// Pushes `settings` to a terminal in a task of its own, replacing a push to it still under way.
    private func push(_ settings: TerminalSettings, to terminalID: String) {
        pushes[terminalID]?.task.cancel()
        nextPushID &+= 1
        let id = nextPushID
        let control = self.control
        let logger = self.logger
        let task = Task {
            do {
                try await control.pushSettings(terminalID: terminalID, settings: settings)
            } catch {
                logger.warning("settings not delivered; the terminal gets them at its next registration",
                               metadata: ["terminal": "\(terminalID)", "error": "\(error)"])
            }
            self.pushEnded(terminalID, id: id)
        }
        pushes[terminalID] = (id, task)
    }

    private func pushEnded(_ terminalID: String, id: UInt64) {
        if pushes[terminalID]?.id == id { pushes.removeValue(forKey: terminalID) }
    }

    /// Waits until the settings pushes started so far have ended (delivered or not).
    public func settingsPushesSettled() async {
        // Each push removes itself before its task ends.
        while let entry = pushes.values.first {
            await entry.task.value
        }
    }

    /// The stored record of a registered device.
    public func device(terminalID: String) async throws -> DeviceRecord? {
        try await store.device(terminalID: terminalID)
    }

    /// A terminal's session ended on its edge (or the edge's link to this core closed). Presence is left to
    /// the miss count (claim 5). The session `sessionEpoch` (when known) is recorded as ended, so campaign
    /// targets of the terminal no longer wait for this core.
    public func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64? = nil) async {
        logger.info("terminal disconnected", metadata: ["terminal": "\(terminalID)", "reason": "\(reason.name)"])
        guard let sessionEpoch else { return }
        await sessionsEnded([terminalID: sessionEpoch])
    }

    /// Records the sessions (terminal id → epoch) as ended on this core: their edge left, or said they did.
    public func sessionsEnded(_ sessions: [String: Int64]) async {
        let now = clock()
        for (terminalID, epoch) in sessions {
            do {
                try await store.closeTerminalSession(terminalID: terminalID, coreID: coreID, epoch: epoch, at: now)
            } catch {
                logger.warning("terminal session not closed in the store", metadata: ["terminal": "\(terminalID)", "error": "\(error)"])
            }
        }
    }

    /// Runs the online dictionary's miss count.
    @discardableResult
    public func sweepPresence() async throws -> [PresenceChange] {
        let changes = try await presence.sweep()
        for change in changes {
            logger.notice("terminal offline", metadata: ["terminal": "\(change.terminalID)", "reason": "\(change.reason)"])
        }
        return changes
    }

    /// Current settings of a registered terminal, as the core last decided them.
    public func currentSettings(terminalID: String) -> (interval: Int, historyLimit: Int)? {
        settingsCache[terminalID].map { ($0.interval, $0.limit) }
    }
}
