import Foundation
import LPADomain
import LPAStore
import Logging

/// Runs campaigns on one core: resolves a campaign's selection into targets when it starts, and on every
/// ``tick()`` claims due targets within the campaign's limits, starts their downloads through
/// ``ProvisioningService``, records each target's outcome, retries with backoff, and pauses or completes
/// the campaign.
///
/// All state is the store's: targets are claimed with an expiry that every tick renews, so several cores
/// share a campaign without doing a device twice, and a stopped core's targets are taken over once its
/// claims expire. A core claims only targets of terminals whose session it holds or nobody holds (the
/// store's terminal sessions) and starts a download only for a terminal it reaches: a target it cannot
/// reach is given back at once when another core holds the terminal (that core claims it), or after
/// ``Settings/unreachableRetrySeconds`` when the device is connected nowhere, holding no download slot
/// meanwhile. A restarted runner carries on from the store. Time comes from `clock` (Unix seconds),
/// so tests drive it; the runner never sleeps.
///
/// An actor: ticks and operator calls are serialised on this core.
public actor CampaignRunner {
    public struct Settings: Sendable, Hashable {
        /// Names this core in target claims; unique per core process.
        public var coreID: String
        /// How long a claim lasts without renewal; a stopped core's targets wait this long before another
        /// core takes them over. Must be comfortably longer than the tick period.
        public var claimSeconds: Int64
        /// How long a target whose device is connected to no core waits before a core claims it again.
        public var unreachableRetrySeconds: Int64

        public init(coreID: String = "core-\(UUID().uuidString.prefix(8).lowercased())", claimSeconds: Int64 = 60,
                    unreachableRetrySeconds: Int64 = 30) {
            self.coreID = coreID
            self.claimSeconds = claimSeconds
            self.unreachableRetrySeconds = unreachableRetrySeconds
        }
    }

    private let store: any Store
    private let provisioning: ProvisioningService
    private let settings: Settings
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    /// Jobs this runner has handed to `provisioning` since it started (others are handed over once).
    private var following: Set<String> = []
    private let events: (any CampaignEventSink)?

    /// `events` hears every state change of a campaign (webhooks).
    public init(store: any Store, provisioning: ProvisioningService, settings: Settings = Settings(),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                logger: Logger = Logger(label: "serverlpa.core.campaigns"), events: (any CampaignEventSink)? = nil) {
        self.store = store
        self.provisioning = provisioning
        self.settings = settings
        self.clock = clock
        self.logger = logger
        self.events = events
    }

    public var coreID: String { settings.coreID }

    // MARK: Operator actions

    /// Stores a new campaign; `start` resolves its selection and starts it at once, otherwise it stays a draft.
    public func create(_ campaign: Campaign, start: Bool) async throws -> Campaign {
        var campaign = campaign
        let now = clock()
        campaign.state = .draft
        campaign.createdAt = now
        campaign.updatedAt = now
        guard start else {
            try await store.createCampaign(campaign, targets: [])
            return campaign
        }
        let targets = try await resolve(campaign, now: now)
        campaign.state = .running
        campaign.startedAt = now
        try await store.createCampaign(campaign, targets: targets)
        logger.notice("campaign created and started", metadata: ["campaign": "\(campaign.id)", "targets": "\(targets.count)"])
        await events?.campaignChanged(campaign, from: nil)
        return campaign
    }

    /// Starts a draft: resolves its selection into targets. Throws ``CampaignError`` when it is not a draft.
    public func start(id: String) async throws -> Campaign {
        var campaign = try await existing(id)
        guard campaign.state == .draft else { throw CampaignError.wrongState(id: id, state: campaign.state, action: "start") }
        let now = clock()
        let targets = try await resolve(campaign, now: now)
        campaign.state = .running
        campaign.startedAt = now
        campaign.updatedAt = now
        guard try await store.updateCampaign(campaign, from: [.draft], addingTargets: targets) else {
            throw CampaignError.wrongState(id: id, state: try await existing(id).state, action: "start")
        }
        logger.notice("campaign started", metadata: ["campaign": "\(id)", "targets": "\(targets.count)"])
        return campaign
    }

    /// Stops new downloads; running ones finish and are recorded.
    public func pause(id: String) async throws -> Campaign {
        try await move(id, to: .paused, action: "pause") { $0.pauseReason = .operatorRequest }
    }

    /// Resumes a paused campaign (or starts a draft). After a canary failure the rest may start; the
    /// failure threshold counts only what finishes from now on.
    public func resume(id: String) async throws -> Campaign {
        let current = try await existing(id)
        if current.state == .draft { return try await start(id: id) }
        let progress = try await store.campaignProgress(id: id)
        return try await move(id, to: .running, action: "resume") { campaign in
            if campaign.pauseReason == .canaryFailed { campaign.canaryPassed = true }
            campaign.pauseReason = nil
            campaign.thresholdBaseFailed = progress.count(.failed)
            campaign.thresholdBaseFinished = progress.finished
        }
    }

    /// Cancels the campaign: targets not started are skipped; running downloads finish and are recorded.
    public func cancel(id: String) async throws -> Campaign {
        let current = try await existing(id)
        guard try await store.cancelCampaign(id: id, at: clock()) else {
            throw CampaignError.wrongState(id: id, state: current.state, action: "cancel")
        }
        logger.notice("campaign canceled", metadata: ["campaign": "\(id)"])
        let canceled = try await existing(id)
        await events?.campaignChanged(canceled, from: current.state)
        return canceled
    }

    // MARK: Tick

    /// One round over every campaign that is running, paused or canceled: follow held downloads, then
    /// (running campaigns only) check the canary gate and the failure threshold, complete, or start more.
    public func tick() async {
        do {
            for campaign in try await store.campaigns(states: [.running, .paused, .canceled]) {
                do {
                    try await step(campaign)
                } catch {
                    logger.error("campaign step failed", metadata: ["campaign": "\(campaign.id)", "error": "\(error)"])
                }
            }
        } catch {
            logger.error("campaign tick failed", metadata: ["error": "\(error)"])
        }
    }

    private func step(_ campaign: Campaign) async throws {
        let now = clock()
        let until = now + settings.claimSeconds
        try await store.renewCampaignClaims(campaignID: campaign.id, coreID: coreID, until: until)
        // Targets a stopped core held (running downloads included) continue here.
        _ = try await store.claimCampaignTargets(campaignID: campaign.id, coreID: coreID, now: now, until: until, limit: 1000,
                                                 phase: nil, takeOver: true)
        var held = try await store.heldCampaignTargets(campaignID: campaign.id, coreID: coreID)
        for target in held where target.state == .running {
            try await follow(target, campaign, now: now)
        }

        guard campaign.state == .running, var current = try await store.campaign(id: campaign.id), current.state == .running else {
            // Claimed but not started when the campaign paused or was canceled: give them back.
            for target in held where target.state == .claimed { try await release(target, due: now, error: nil) }
            return
        }
        let progress = try await store.campaignProgress(id: campaign.id)
        if try await checkCanaryAndThreshold(&current, progress, now: now) { 
            for target in held where target.state == .claimed { try await release(target, due: now, error: nil) }
            return
        }
        if progress.open() == 0 {
            current.state = .completed
            current.finishedAt = now
            current.updatedAt = now
            if try await store.updateCampaign(current, from: [.running], addingTargets: []) {
                await events?.campaignChanged(current, from: .running)
                logger.notice("campaign completed", metadata: [
                    "campaign": "\(current.id)", "succeeded": "\(progress.count(.succeeded))", "failed": "\(progress.count(.failed))",
                    "skipped": "\(progress.count(.skipped))",
                ])
            }
            return
        }
        if let window = current.window, !window.contains(now) {
            for target in held where target.state == .claimed { try await release(target, due: now, error: nil) }
            return
        }
        let budget = current.startsPerMinute - (try await store.campaignStarts(campaignID: current.id, since: now - 59))
        let waiting = held.filter { $0.state == .claimed }.count
        if budget > waiting {
            _ = try await store.claimCampaignTargets(campaignID: current.id, coreID: coreID, now: now, until: until, limit: budget - waiting,
                                                     phase: current.canaryPassed ? nil : .canary, takeOver: false)
            held = try await store.heldCampaignTargets(campaignID: current.id, coreID: coreID)
        }
        var started = 0
        for target in held where target.state == .claimed {
            if started >= budget {
                try await release(target, due: now, error: nil)
                continue
            }
            if try await begin(target, current, now: now) { started += 1 }
        }
    }

    /// Pauses on a canary failure or the failure threshold, and opens the gate when every canary
    /// succeeded. Returns whether the campaign is no longer running.
    private func checkCanaryAndThreshold(_ campaign: inout Campaign, _ progress: CampaignProgress, now: Int64) async throws -> Bool {
        if !campaign.canaryPassed {
            if progress.count(.failed, phase: .canary) > 0 {
                return try await pauseItself(&campaign, .canaryFailed, now: now, detail: "a canary device failed")
            }
            if progress.open(phase: .canary) == 0 {
                campaign.canaryPassed = true
                campaign.updatedAt = now
                _ = try await store.updateCampaign(campaign, from: [.running], addingTargets: [])
                logger.notice("campaign canary phase succeeded; the rest starts", metadata: [
                    "campaign": "\(campaign.id)", "canary": "\(progress.total(phase: .canary))",
                ])
            }
        }
        let failed = progress.count(.failed) - campaign.thresholdBaseFailed
        let finished = progress.finished - campaign.thresholdBaseFinished
        if finished >= campaign.minimumFinished, Double(failed) / Double(finished) >= campaign.failureThreshold, failed > 0 {
            return try await pauseItself(&campaign, .failureThreshold, now: now,
                                         detail: "\(failed) of \(finished) finished devices failed (threshold \(campaign.failureThreshold))")
        }
        return false
    }

    private func pauseItself(_ campaign: inout Campaign, _ reason: Campaign.PauseReason, now: Int64, detail: String) async throws -> Bool {
        campaign.state = .paused
        campaign.pauseReason = reason
        campaign.updatedAt = now
        if try await store.updateCampaign(campaign, from: [.running], addingTargets: []) {
            await events?.campaignChanged(campaign, from: .running)
            logger.warning("campaign paused automatically", metadata: ["campaign": "\(campaign.id)", "reason": "\(reason.rawValue)", "detail": "\(detail)"])
        }
        return true
    }

    // MARK: Targets

    /// Starts the download of a claimed target. Returns whether a download started.
    private func begin(_ target: CampaignTarget, _ campaign: Campaign, now: Int64) async throws -> Bool {
        var target = target
        guard let device = try await store.device(terminalID: target.terminalID) else {
            return try await finish(&target, .skipped, error: "no registered device '\(target.terminalID)'", now: now)
        }
        guard let requirement = campaign.requirement ?? device.requirement else {
            return try await finish(&target, .skipped, error: "the device has no requirement and the campaign gives none", now: now)
        }
        if try await alreadyHas(device, requirement) {
            return try await finish(&target, .succeeded, error: nil, now: now)
        }
        guard provisioning.reaches(terminalID: target.terminalID) else {
            // The download runs on the core that holds the terminal: hand the target over, or wait for the device.
            let holder = try await store.terminalSession(terminalID: target.terminalID)?.coreID
            if let holder, holder != coreID {
                try await release(target, due: now, error: nil)
            } else {
                try await release(target, due: now + settings.unreachableRetrySeconds, error: "the device is not connected to any core")
            }
            return false
        }
        let running = try await store.campaignRunningCount(campaignID: campaign.id, smdpAddress: requirement.smdpAddress)
        if running >= campaign.concurrencyPerSMDP {
            try await release(target, due: now, error: nil)
            return false
        }
        guard let job = try await provisioning.startJob(terminalID: target.terminalID, requirement: requirement, campaignID: campaign.id) else {
            return try await finish(&target, .skipped, error: "the device has no EID on record", now: now)
        }
        guard job.smdpAddress == requirement.smdpAddress, job.profileType == requirement.profileType else {
            // Busy with another download (automation's or another campaign's): try again later, no attempt used.
            try await release(target, due: now + campaign.backoff(afterAttempts: 1), error: "device busy with job \(job.id)")
            return false
        }
        following.insert(job.id)
        target.state = .running
        target.attempts += 1
        target.jobID = job.id
        target.smdpAddress = job.smdpAddress
        target.startedAt = now
        target.lastError = nil
        target.updatedAt = now
        if try await store.saveCampaignTarget(target, holder: coreID) {
            logger.info("campaign download started", metadata: [
                "campaign": "\(campaign.id)", "core": "\(coreID)", "terminal": "\(target.terminalID)", "job": "\(job.id)", "attempt": "\(target.attempts)",
            ])
        }
        return true
    }

    /// Records the outcome of a running target's download, or keeps following it.
    private func follow(_ target: CampaignTarget, _ campaign: Campaign, now: Int64) async throws {
        var target = target
        guard let jobID = target.jobID, let job = try await store.job(id: jobID) else {
            return try await failed(&target, campaign, error: "the download job '\(target.jobID ?? "-")' is gone", now: now)
        }
        switch job.state {
        case .confirmed:
            _ = try await finish(&target, .succeeded, error: nil, now: now)
            logger.info("campaign device provisioned", metadata: ["campaign": "\(campaign.id)", "terminal": "\(target.terminalID)", "job": "\(job.id)"])
        case .failed, .returnTimedOut, .cancelled:
            try await failed(&target, campaign, error: "\(job.errorCode ?? job.state.rawValue): \(job.errorText ?? "job \(job.state.rawValue)")", now: now)
        default:
            if !following.contains(jobID) {
                // Taken over from a stopped core, or this core restarted: run the download here.
                following.insert(jobID)
                logger.notice("campaign download taken over", metadata: [
                    "campaign": "\(campaign.id)", "core": "\(coreID)", "terminal": "\(target.terminalID)", "job": "\(jobID)",
                ])
                var requirement = campaign.requirement
                if requirement == nil { requirement = try await store.device(terminalID: target.terminalID)?.requirement }
                if let requirement {
                    _ = try await provisioning.startJob(terminalID: target.terminalID, requirement: requirement, campaignID: campaign.id)
                }
            }
        }
    }

    /// A download failed: retry after the backoff, or fail the target for good after `maxAttempts`.
    private func failed(_ target: inout CampaignTarget, _ campaign: Campaign, error: String, now: Int64) async throws {
        if let jobID = target.jobID { following.remove(jobID) }
        if target.attempts >= campaign.maxAttempts {
            _ = try await finish(&target, .failed, error: error, now: now)
            logger.warning("campaign device failed for good", metadata: [
                "campaign": "\(campaign.id)", "terminal": "\(target.terminalID)", "attempts": "\(target.attempts)", "error": "\(error)",
            ])
            return
        }
        try await release(target, due: now + campaign.backoff(afterAttempts: target.attempts), error: error)
    }

    /// Gives a held target back as pending, due at `due`.
    private func release(_ target: CampaignTarget, due: Int64, error: String?) async throws {
        var target = target
        target.state = .pending
        target.nextAttemptAt = due
        target.jobID = nil
        target.smdpAddress = nil
        if let error { target.lastError = error }
        target.updatedAt = clock()
        // Released last: the holder check needs the claim, so clear it in the same save.
        let holder = coreID
        target.claimedBy = nil
        target.claimExpiresAt = nil
        _ = try await store.saveCampaignTarget(target, holder: holder)
    }

    @discardableResult
    private func finish(_ target: inout CampaignTarget, _ state: CampaignTarget.State, error: String?, now: Int64) async throws -> Bool {
        target.state = state
        target.lastError = error
        target.updatedAt = now
        target.claimedBy = nil
        target.claimExpiresAt = nil
        _ = try await store.saveCampaignTarget(target, holder: coreID)
        return false
    }

    /// Whether the device already runs the requirement's profile (nothing to download).
    private func alreadyHas(_ device: DeviceRecord, _ requirement: DataConfigurationRequirement) async throws -> Bool {
        if let expected = requirement.expectedICCID, expected == device.fields["iccid"] { return true }
        let matchingID = requirement.matchingID
        return try await store.jobs(terminalID: device.terminalID, limit: 50).contains {
            $0.state == .confirmed && $0.smdpAddress == requirement.smdpAddress && $0.profileType == requirement.profileType
                && (matchingID == nil || $0.matchingID == matchingID) && $0.iccid != nil && $0.iccid == device.fields["iccid"]
        }
    }

    // MARK: Selection

    /// How many devices `campaign`'s selection holds now (what ``create(_:start:)`` would target).
    /// Throws ``CampaignError/invalid(field:message:)`` like creating it would.
    public func selectionSize(_ campaign: Campaign) async throws -> Int {
        try await resolve(campaign, now: clock()).count
    }

    /// The targets of `campaign`: registered devices matching every selection criterion, in terminal-id
    /// order; the first ``Campaign/canaryCount(of:)`` form the canary phase.
    func resolve(_ campaign: Campaign, now: Int64) async throws -> [CampaignTarget] {
        if let (field, message) = campaign.problem() { throw CampaignError.invalid(field: field, message: message) }
        let selection = campaign.selection
        var eids: Set<String>?
        if let importID = selection.importID {
            guard try await store.fleetImport(id: importID) != nil else {
                throw CampaignError.invalid(field: "selection.importID", message: "no fleet import '\(importID)'")
            }
            var found = Set<String>()
            var after: String?
            while true {
                let page = try await store.fleetEntries(after: after, limit: 1000)
                for entry in page where entry.importID == importID { found.insert(entry.eid) }
                guard page.count == 1000 else { break }
                after = page.last?.eid
            }
            eids = found
        }
        let explicit = selection.terminalIDs.isEmpty ? nil : Set(selection.terminalIDs)
        var chosen: [String] = []
        var cursor: String?
        repeat {
            let page = try await store.devices(DeviceQuery(tag: selection.tags.first, rule: selection.ruleName, after: cursor, limit: 1000))
            for summary in page.devices {
                let device = summary.device
                if let explicit, !explicit.contains(device.terminalID) { continue }
                if !selection.tags.allSatisfy(device.tags.contains) { continue }
                if let eids, !eids.contains(device.fields["eid"] ?? "") { continue }
                chosen.append(device.terminalID)
            }
            cursor = page.next
        } while cursor != nil
        let canary = campaign.canaryCount(of: chosen.count)
        return chosen.enumerated().map { index, terminalID in
            CampaignTarget(campaignID: campaign.id, terminalID: terminalID, phase: index < canary ? .canary : .main, updatedAt: now)
        }
    }

    // MARK: Internals

    private func existing(_ id: String) async throws -> Campaign {
        guard let campaign = try await store.campaign(id: id) else { throw CampaignError.notFound(id: id) }
        return campaign
    }

    private func move(_ id: String, to state: Campaign.State, action: String, _ change: (inout Campaign) -> Void) async throws -> Campaign {
        var campaign = try await existing(id)
        let from = campaign.state
        guard from.canMove(to: state) else { throw CampaignError.wrongState(id: id, state: from, action: action) }
        campaign.state = state
        campaign.updatedAt = clock()
        change(&campaign)
        guard try await store.updateCampaign(campaign, from: [from], addingTargets: []) else {
            throw CampaignError.wrongState(id: id, state: try await existing(id).state, action: action)
        }
        logger.notice("campaign \(action)d", metadata: ["campaign": "\(id)"])
        await events?.campaignChanged(campaign, from: from)
        return campaign
    }
}

/// Why a campaign operation was refused.
public enum CampaignError: Error, Sendable, Equatable, CustomStringConvertible {
    case notFound(id: String)
    case wrongState(id: String, state: Campaign.State, action: String)
    case invalid(field: String, message: String)

    /// Stable code for logs and the admin API.
    public var code: String {
        switch self {
        case .notFound: return "CAMPAIGN_NOT_FOUND"
        case .wrongState: return "CAMPAIGN_WRONG_STATE"
        case .invalid: return "CAMPAIGN_INVALID"
        }
    }

    public var description: String {
        switch self {
        case .notFound(let id): return "no campaign '\(id)'"
        case .wrongState(let id, let state, let action): return "campaign '\(id)' is \(state.rawValue) and cannot \(action)"
        case .invalid(let field, let message): return "\(field) \(message)"
        }
    }
}
