import LPADomain

/// The core's durable state. One interface, two implementations: ``SQLiteStore`` (embedded default)
/// and ``PostgresStore`` (shared by several cores). Every method is atomic: it either applies fully
/// or throws and changes nothing. Implementations are thread-safe.
public protocol Store: Sendable {
    /// Applies pending versioned migrations; safe to call from several cores at once.
    func migrate() async throws
    /// Schema version after ``migrate()``.
    func schemaVersion() async throws -> Int

    // MARK: Device-model library
    func upsertDeviceModel(_ model: DeviceModel) async throws
    func deleteDeviceModel(code: String) async throws -> Bool
    func deviceModels() async throws -> [DeviceModel]

    // MARK: Configuration library
    /// Replaces the whole rule set in one transaction.
    func replaceConfigurationRules(_ rules: [ConfigurationRule]) async throws
    /// Rules in evaluation order (priority, then name).
    func configurationRules() async throws -> [ConfigurationRule]

    // MARK: Count-setting tables
    func upsertCountSettingTable(_ table: CountSettingTable) async throws
    func countSettingTables() async throws -> [CountSettingTable]
    /// Removes the table of `model`; returns whether one was stored.
    func deleteCountSettingTable(model: String) async throws -> Bool

    // MARK: Devices
    func upsertDevice(_ device: DeviceRecord) async throws
    func device(terminalID: String) async throws -> DeviceRecord?
    func deviceCount() async throws -> Int
    /// Registered devices matching `query`, in terminal-id order from `query.after`, at most
    /// `query.limit` (1...1000), with presence and newest job state.
    func devices(_ query: DeviceQuery) async throws -> DevicePage
    /// Updates only the heartbeat interval and history limit of a device.
    func updateDeviceSettings(terminalID: String, heartbeatIntervalSeconds: Int, historyLimit: Int) async throws
    func recordRegistrationAttempt(_ attempt: RegistrationAttempt) async throws
    /// Newest first.
    func registrationAttempts(terminalID: String, limit: Int) async throws -> [RegistrationAttempt]

    // MARK: Heartbeat history (claim 3)
    /// Stores windows; a window already stored for the same terminal and start is replaced.
    func appendHeartbeatWindows(_ windows: [HeartbeatWindow]) async throws
    /// Keeps only the newest `keep` windows of a terminal; returns how many were removed.
    func trimHeartbeatHistory(terminalID: String, keep: Int) async throws -> Int
    /// Newest first.
    func heartbeatHistory(terminalID: String, limit: Int) async throws -> [HeartbeatWindow]

    // MARK: Online dictionary (claim 5)
    /// Writes the presence record and, when given, the change that led to it, in one transaction.
    func savePresence(_ record: PresenceRecord, change: PresenceChange?) async throws
    func savePresence(_ records: [PresenceRecord], changes: [PresenceChange]) async throws
    /// Writes what a miss count found (claim 5), each record only where no core heard the terminal since:
    /// the stored record is still online and its `lastSeen` is not newer than the record's. A change is recorded,
    /// in the same transaction, only for a terminal this write moved offline (once, however many cores count).
    /// Returns the terminal ids written; the others were heard by another core (the terminal moved there).
    func savePresenceMisses(_ records: [PresenceRecord], changes: [PresenceChange]) async throws -> Set<String>
    func presence(terminalID: String) async throws -> PresenceRecord?
    func allPresence() async throws -> [PresenceRecord]
    /// Newest first.
    func presenceChanges(terminalID: String, limit: Int) async throws -> [PresenceChange]

    // MARK: Terminal sessions (which core holds a terminal)

    /// Records that `coreID` holds the terminal's session. A new session (`epoch` nil) gets the next epoch
    /// (one more than the last recorded, 1 for the first); an existing one (an edge registering its terminal
    /// again) keeps `epoch` and is refused when a newer session registered since (the stored epoch is
    /// higher). Returns the session's epoch, or nil when refused (nothing changed).
    func openTerminalSession(terminalID: String, coreID: String, epoch: Int64?, at now: Int64) async throws -> Int64?
    /// Ends the session `epoch` of the terminal on `coreID` (the terminal left it); a newer session, or one
    /// another core holds, is left as it is. Returns whether it ended one.
    @discardableResult
    func closeTerminalSession(terminalID: String, coreID: String, epoch: Int64, at now: Int64) async throws -> Bool
    func terminalSession(terminalID: String) async throws -> TerminalSession?

    // MARK: Provisioning jobs (S120–S150)

    /// Stores a new job. Returns `false` (and stores nothing) when the terminal already has an active job.
    func createJob(_ job: ProvisioningJob) async throws -> Bool
    /// Saves a job's new state, compare-and-set: only when the stored job is still in `expected` and held by
    /// `job.owner` (the state and owner the caller read). A save that keeps the state (`expected == job.state`)
    /// records progress, not a transition. A job that leaves the active states releases its claim.
    /// Throws ``StoreError/Kind/conflict`` when the stored state or owner differs (another core changed the
    /// job first: the caller stops driving it) and ``StoreError/Kind/invalidInput`` when the state machine
    /// does not allow the move from `expected`. Never touches `owner` or `claimUntil`.
    func saveJob(_ job: ProvisioningJob, from expected: ProvisioningJob.State) async throws
    /// Claims the active job `id` for `coreID` until `until` when nobody holds it, `coreID` holds it already or
    /// the holder's claim ran out before `now` (see ``ProvisioningJob/isClaimable(by:now:)``). Returns the job
    /// as stored with the claim, or nil (another core holds it, or it is unknown or finished). Concurrent
    /// claims never both succeed while a claim lasts.
    func claimJob(id: String, coreID: String, now: Int64, until: Int64) async throws -> ProvisioningJob?
    /// Extends the claim `coreID` holds on an active job; false when it no longer holds it.
    func renewJobClaim(id: String, coreID: String, until: Int64) async throws -> Bool
    /// Ends the claim `coreID` holds (the owner stays recorded); any core may claim the job at once.
    func releaseJobClaim(id: String, coreID: String) async throws
    func job(id: String) async throws -> ProvisioningJob?
    /// The terminal's jobs, newest first.
    func jobs(terminalID: String, limit: Int) async throws -> [ProvisioningJob]
    /// Every job in an active state, oldest first.
    func activeJobs() async throws -> [ProvisioningJob]
    /// The number of jobs in each state.
    func jobCounts() async throws -> [ProvisioningJob.State: Int]
    /// Jobs that ended in one of `states` at or after `finishedSince` (Unix seconds), newest first, at most `limit`.
    func finishedJobs(states: [ProvisioningJob.State], finishedSince: Int64, limit: Int) async throws -> [ProvisioningJob]

    // MARK: eUICC notifications

    /// Stores notifications not stored yet (same EID and sequence number: kept as it is).
    func addNotifications(_ records: [NotificationRecord]) async throws
    func saveNotification(_ record: NotificationRecord) async throws
    /// Unacknowledged notifications due at `now`, oldest first.
    func dueNotifications(now: Int64, limit: Int) async throws -> [NotificationRecord]
    /// Acknowledged notifications of `eid` still on the eUICC's list.
    func notificationsToRemove(eid: String) async throws -> [NotificationRecord]
    func notifications(eid: String) async throws -> [NotificationRecord]

    // MARK: Fleet imports (devices known before they connect)

    /// Records a new import in state `staging`. Throws ``StoreError/Kind/invalidInput`` when the id is taken.
    func beginFleetImport(_ fleetImport: FleetImport) async throws
    /// Adds rows to a staging import. Staged rows are invisible as fleet entries until
    /// ``finishFleetImport(id:apply:rowCount:errorCount:at:)`` applies them.
    func stageFleetRows(importID: String, _ rows: [StagedFleetRow]) async throws
    /// Later rows of a staging import whose EID an earlier row already has, in line order.
    func fleetImportDuplicates(importID: String, limit: Int) async throws -> [FleetImportDuplicate]
    /// Ends a staging import in one transaction: `apply` turns every staged row into a fleet entry
    /// (replacing entries with the same EID); otherwise the import is rejected. Staged rows are
    /// removed either way. Throws ``StoreError/Kind/invalidInput`` when the import is not staging.
    @discardableResult
    func finishFleetImport(id: String, apply: Bool, rowCount: Int, errorCount: Int, at: Int64) async throws -> FleetImport
    func fleetImport(id: String) async throws -> FleetImport?
    func fleetEntry(eid: String) async throws -> FleetEntry?
    /// Fleet entries in EID order after `after`.
    func fleetEntries(after: String?, limit: Int) async throws -> [FleetEntry]

    // MARK: Campaigns

    /// Stores a new campaign and, for a campaign created running, its targets, in one transaction.
    /// Throws ``StoreError/Kind/invalidInput`` when the id is taken.
    func createCampaign(_ campaign: Campaign, targets: [CampaignTarget]) async throws
    /// Saves `campaign` (its state, reason and counters) when the stored state is one of `from`, adding
    /// `targets` (already stored ones are kept as they are) in the same transaction. Returns whether it saved.
    func updateCampaign(_ campaign: Campaign, from: [Campaign.State], addingTargets targets: [CampaignTarget]) async throws -> Bool
    /// Cancels a draft, running or paused campaign and skips its targets not started yet, in one
    /// transaction. Running targets keep running and are recorded. Returns whether it canceled.
    func cancelCampaign(id: String, at: Int64) async throws -> Bool
    func campaign(id: String) async throws -> Campaign?
    /// Campaigns in the given states (all when nil), newest first.
    func campaigns(states: [Campaign.State]?) async throws -> [Campaign]
    func campaignProgress(id: String) async throws -> CampaignProgress
    /// Targets of a campaign in terminal-id order after `after`, only in `state` when given.
    func campaignTargets(campaignID: String, state: CampaignTarget.State?, after: String?, limit: Int) async throws -> [CampaignTarget]
    /// Claims for `coreID` until `until`: up to `limit` pending targets due at `now` (only of `phase` when
    /// given; canary first, then the terminals `coreID` holds, then terminal-id order) when `takeOver` is
    /// false; otherwise up to `limit` claimed or running targets whose claim expired before `now` (another
    /// core stopped renewing them). A target whose terminal's session another core holds
    /// (``openTerminalSession(terminalID:coreID:epoch:at:)``) is left to that core. Concurrent claims never
    /// take the same target. Returns how many it claimed.
    func claimCampaignTargets(campaignID: String, coreID: String, now: Int64, until: Int64, limit: Int,
                              phase: CampaignTarget.Phase?, takeOver: Bool) async throws -> Int
    /// Claimed and running targets `coreID` holds in the campaign.
    func heldCampaignTargets(campaignID: String, coreID: String) async throws -> [CampaignTarget]
    /// Extends every claim `coreID` holds in the campaign to `until`.
    func renewCampaignClaims(campaignID: String, coreID: String, until: Int64) async throws
    /// Saves a target `coreID` holds (claimed or running by it). Returns false, saving nothing, when it no
    /// longer holds the target (its claim expired and another core took it).
    func saveCampaignTarget(_ target: CampaignTarget, holder coreID: String) async throws -> Bool
    /// Targets of the campaign whose latest download started at or after `since`.
    func campaignStarts(campaignID: String, since: Int64) async throws -> Int
    /// Running targets of the campaign whose download goes to `smdpAddress`.
    func campaignRunningCount(campaignID: String, smdpAddress: String) async throws -> Int
    // MARK: Webhook outbox

    /// Stores new deliveries (each `pending`); one whose id is stored already is kept as it is.
    func addWebhookDeliveries(_ deliveries: [WebhookDelivery]) async throws
    /// Claims up to `limit` pending deliveries due at `now`, oldest due first: their next attempt moves to
    /// `leaseUntil` (after `now`), so no other core claims them meanwhile and they come due again if this one
    /// dies before saving the outcome.
    func claimWebhookDeliveries(now: Int64, leaseUntil: Int64, limit: Int) async throws -> [WebhookDelivery]
    /// Saves an attempt's outcome. Throws ``StoreError/Kind/invalidInput`` when the delivery is unknown or no
    /// longer pending (another core finished it first).
    func saveWebhookDelivery(_ delivery: WebhookDelivery) async throws
    /// An event's deliveries, by endpoint.
    func webhookDeliveries(eventID: String) async throws -> [WebhookDelivery]
    /// The number of deliveries in each state.
    func webhookDeliveryCounts() async throws -> [WebhookDelivery.State: Int]

    // MARK: Retention
    /// Removes per-event history beyond `policy` (limits of 0 keep everything of that kind);
    /// returns what was removed.
    func trimHistory(_ policy: RetentionPolicy, now: Int64) async throws -> RetentionTrim
    /// Marks fleet imports still `staging` that were begun before `createdBefore` as `rejected`
    /// (finished at `at`, their staged rows removed): imports an interrupted process left behind.
    /// Returns their ids.
    func abandonFleetImports(createdBefore: Int64, at: Int64) async throws -> [String]

    func close() async throws
}

/// One validated row of a fleet file waiting in its import's staging area.
public struct StagedFleetRow: Sendable, Hashable {
    /// Line in the file (the header is line 1).
    public var line: Int
    public var entry: FleetEntry

    public init(line: Int, entry: FleetEntry) {
        self.line = line
        self.entry = entry
    }
}

/// A store failure naming the operation and the cause.
public struct StoreError: Error, Sendable, CustomStringConvertible, Equatable {
    public enum Kind: String, Sendable {
        case connection = "STORE_CONNECTION"
        case migration = "STORE_MIGRATION"
        case query = "STORE_QUERY"
        case corrupt = "STORE_CORRUPT_ROW"
        case invalidInput = "STORE_INVALID_INPUT"
        /// A compare-and-set write found the row changed by someone else (another core).
        case conflict = "STORE_CONFLICT"
    }

    public var kind: Kind
    public var operation: String
    public var detail: String

    public init(_ kind: Kind, operation: String, detail: String) {
        self.kind = kind
        self.operation = operation
        self.detail = detail
    }

    public var description: String { "\(kind.rawValue): \(operation): \(detail)" }
}
