import Foundation
import LPADomain
import LPAStore
import Logging
import Metrics

/// Automation of S120–S150: starts a download when a registered device's requirement calls for a profile it
/// does not have, runs jobs within a global and a per-SM-DP+ concurrency limit, resumes the jobs a previous
/// core left active, confirms jobs when the device returns on the new profile, flags devices that never come
/// back, and delivers stored eUICC notifications until the SM-DP+ acknowledges them.
///
/// One owner per job: a job runs only on the core that holds its claim in the store (``Settings/coreID``,
/// renewed while it runs, released when the run ends), and only on the core that holds the device's terminal.
/// Every save is compare-and-set on the state and owner the runner read, so a core that lost the job (the
/// terminal moved, its claim ran out and another core took it) stops at its next save. Each tick this core
/// adopts the claimable active jobs of the terminals it holds (taken over from a stopped core, created by a
/// campaign on another core), and applies the return timeout only to jobs it claims.
///
/// An actor: every method may be called from any task. Jobs run in child tasks; their durable state is the
/// store's, so this actor keeps only the queue and what is running.
public actor ProvisioningService {
    public struct Settings: Sendable, Hashable {
        /// Most downloads running at once on this core.
        public var maximumConcurrentJobs: Int
        /// Most downloads running at once against one SM-DP+.
        public var maximumConcurrentJobsPerSMDP: Int
        /// How long after enable the device has to come back on the new profile.
        public var returnTimeoutSeconds: Int64
        /// Failed downloads of one requirement before automation stops trying for that device.
        public var maximumAttempts: Int
        /// Seconds between a failed download and the next automatic one.
        public var retryDelaySeconds: Int64
        /// Seconds before a job waiting for an unreachable device is tried again.
        public var unreachableRetrySeconds: Int64
        public var runner: DownloadRunner.Settings
        /// This core's node id: the owner recorded in the claims it takes.
        public var coreID: String
        /// How long a claim lasts without renewal; a running job renews it every third of that.
        public var claimSeconds: Int64

        public init(maximumConcurrentJobs: Int = 64, maximumConcurrentJobsPerSMDP: Int = 32, returnTimeoutSeconds: Int64 = 600,
                    maximumAttempts: Int = 3, retryDelaySeconds: Int64 = 60, unreachableRetrySeconds: Int64 = 5,
                    runner: DownloadRunner.Settings = .init(), coreID: String = "core", claimSeconds: Int64 = 30) {
            self.coreID = coreID
            self.claimSeconds = claimSeconds
            self.maximumConcurrentJobs = maximumConcurrentJobs
            self.maximumConcurrentJobsPerSMDP = maximumConcurrentJobsPerSMDP
            self.returnTimeoutSeconds = returnTimeoutSeconds
            self.maximumAttempts = maximumAttempts
            self.retryDelaySeconds = retryDelaySeconds
            self.unreachableRetrySeconds = unreachableRetrySeconds
            self.runner = runner
        }
    }

    /// What the service needs to reach a device's eUICC.
    public typealias LinkFactory = @Sendable (String) -> (any EUICCLink)?

    private let store: any Store
    private let es9: any ES9PlusDirectory
    private let es2: (any ES2PlusOrdering)?
    private let settings: Settings
    private let runner: DownloadRunner
    private let links: LinkFactory
    private let clock: @Sendable () -> Int64
    private let logger: Logger
    /// Told about every job created and every state change (webhooks).
    private let events: (any JobEventSink)?

    private struct Queued { var jobID: String; var notBefore: Int64 }
    private var queue: [Queued] = []
    private var running: [String: String] = [:]  // job id → SM-DP+ address
    private var devices: [String: DownloadRunner.Device] = [:]  // terminal id → facts from the last registration
    private var finishedWaiters: [CheckedContinuation<Void, Never>] = []
    private var sweeping: Set<String> = []

    private let roundTrips: Recorder
    private let outcomes: (confirmed: Counter, failed: Counter)

    public init(store: any Store, es9: any ES9PlusDirectory, es2: (any ES2PlusOrdering)? = nil, links: @escaping LinkFactory, settings: Settings = Settings(),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                logger: Logger = Logger(label: "serverlpa.core.provisioning"), events: (any JobEventSink)? = nil) {
        self.store = store
        self.es9 = es9
        self.es2 = es2
        self.settings = settings
        self.links = links
        self.clock = clock
        self.logger = logger
        self.events = events
        runner = DownloadRunner(store: store, es9: es9, settings: settings.runner, clock: clock, logger: logger, events: events)
        roundTrips = Recorder(label: "lpa_provisioning_round_trips")
        outcomes = (Counter(label: "lpa_provisioning_jobs_total", dimensions: [("outcome", "installed")]),
                    Counter(label: "lpa_provisioning_jobs_total", dimensions: [("outcome", "failed")]))
    }

    // MARK: Events

    /// Resumes the jobs left active in the store that this core may drive (a core restart): those it owned and
    /// those whose claim ran out; each is queued and runs when its device is reachable through this core. Jobs
    /// another core holds are left to it.
    public func resumeActiveJobs() async throws {
        let now = clock()
        for job in try await store.activeJobs() where job.state != .awaitingReturn && job.isClaimable(by: settings.coreID, now: now)
            && running[job.id] == nil && !queue.contains(where: { $0.jobID == job.id }) {
            queue.append(Queued(jobID: job.id, notBefore: 0))
            logger.info("resuming job", metadata: ["job": "\(job.id)", "state": "\(job.state.rawValue)", "terminal": "\(job.terminalID)"])
        }
        pump()
    }

    /// A device registered (S110/claim 2): confirm a job it returns for, or start one its requirement calls for.
    /// Returns the job that now concerns the device, if any.
    @discardableResult
    public func deviceRegistered(_ record: DeviceRecord) async throws -> ProvisioningJob? {
        let fields = record.fields
        guard let eid = fields["eid"], !eid.isEmpty else { return nil }
        let device = DownloadRunner.Device(terminalID: record.terminalID, eid: eid, imei: fields["imei"], iccid: fields["iccid"])
        devices[record.terminalID] = device
        let history = try await store.jobs(terminalID: record.terminalID, limit: 50)
        let now = clock()

        if let active = history.first(where: { $0.state.isActive }) {
            if active.state.mayHaveEnabled, let iccid = active.iccid, iccid == device.iccid {
                // Back on the new profile: confirmed by whichever core claims the job (a run still waiting here for
                // the enable's answer stops at its next save).
                if let claimed = try await store.claimJob(id: active.id, coreID: settings.coreID, now: now, until: now + settings.claimSeconds) {
                    return try await confirm(claimed) ?? claimed
                }
                // Another core holds the job: it is taken over (and confirmed) once that claim ends.
                enqueue(active.id, notBefore: 0)
                return active
            }
            // A job waiting for the device's return has nothing to run; any other active one resumes.
            if active.state != .awaitingReturn { enqueue(active.id, notBefore: 0) }
            return active
        }

        if try await !store.notificationsToRemove(eid: eid).isEmpty {
            sweepNotifications(terminalID: record.terminalID, eid: eid)
        }
        guard let requirement = record.requirement else { return nil }
        if let expected = requirement.expectedICCID, expected == device.iccid { return nil }
        let same = history.filter {
            $0.smdpAddress == requirement.smdpAddress && $0.profileType == requirement.profileType && $0.matchingID == requirement.matchingID
        }
        if same.contains(where: { $0.state == .confirmed }) { return nil }
        // The device runs a profile an earlier download of this requirement installed (that job failed or timed
        // out before the device came back on it): the eUICC holds the profile already.
        if let current = device.iccid, history.contains(where: {
            $0.iccid == current && $0.smdpAddress == requirement.smdpAddress && $0.profileType == requirement.profileType
        }) {
            logger.notice("device runs a profile of its requirement already; no download", metadata: [
                "terminal": "\(record.terminalID)", "iccid": "\(current)",
            ])
            return nil
        }
        let failures = same.filter { $0.state == .failed || $0.state == .returnTimedOut }
        if failures.count >= settings.maximumAttempts { return nil }
        if let last = failures.first?.finishedAt, now - last < settings.retryDelaySeconds { return nil }

        var job = ProvisioningJob(
            id: UUID().uuidString.lowercased(), terminalID: record.terminalID, eid: eid, smdpAddress: requirement.smdpAddress,
            profileType: requirement.profileType, matchingID: requirement.matchingID ?? Self.matchingID(fromActivationCode: requirement.activationCode),
            previousICCID: device.iccid, createdAt: now, updatedAt: now)
        guard try await store.createJob(job, reporting: events) else { return try await store.jobs(terminalID: record.terminalID, limit: 1).first }
        guard try await orderIfRequired(&job, requirement) else { return job }
        logger.info("download job created", metadata: [
            "job": "\(job.id)", "terminal": "\(record.terminalID)", "smdp": "\(job.smdpAddress)", "profile_type": "\(job.profileType)",
        ])
        enqueue(job.id, notBefore: 0)
        return job
    }

    // MARK: Campaigns

    /// Starts a download for `terminalID` towards `requirement` on behalf of a campaign (``CampaignRunner``):
    /// creates the job as automation does and queues it on this core. When the device already has an active
    /// job (one per device), that job is queued here instead (a core taking over a campaign target follows
    /// the download a stopped core left) and returned. Returns nil when the device is unknown or has no EID.
    /// No ES2+ order is placed here (`orderViaES2Plus` is ignored): the matching ID comes from the requirement
    /// or its activation code, and without one the SM-DP+ looks for a download order pending for the EID.
    public func startJob(terminalID: String, requirement: DataConfigurationRequirement, campaignID: String) async throws -> ProvisioningJob? {
        guard let record = try await store.device(terminalID: terminalID), let eid = record.fields["eid"], !eid.isEmpty else { return nil }
        if devices[terminalID] == nil {
            devices[terminalID] = DownloadRunner.Device(terminalID: terminalID, eid: eid, imei: record.fields["imei"], iccid: record.fields["iccid"])
        }
        if let active = try await store.jobs(terminalID: terminalID, limit: 50).first(where: { $0.state.isActive }) {
            enqueue(active.id, notBefore: 0)
            return active
        }
        let now = clock()
        var job = ProvisioningJob(
            id: UUID().uuidString.lowercased(), terminalID: terminalID, eid: eid, smdpAddress: requirement.smdpAddress,
            profileType: requirement.profileType, matchingID: requirement.matchingID ?? Self.matchingID(fromActivationCode: requirement.activationCode),
            previousICCID: record.fields["iccid"], createdAt: now, updatedAt: now)
        guard try await store.createJob(job) else {
            // Another core created one between the read and the insert: follow that one.
            return try await store.jobs(terminalID: terminalID, limit: 1).first
        }
        guard try await orderIfRequired(&job, requirement) else { return job }
        logger.info("download job created for a campaign", metadata: [
            "job": "\(job.id)", "terminal": "\(terminalID)", "campaign": "\(campaignID)", "smdp": "\(job.smdpAddress)",
        ])
        enqueue(job.id, notBefore: 0)
        return job
    }

    /// S120 for requirements that order first: the confirmed ES2+ order's matching ID goes into the download.
    /// Returns false (the job saved as failed) when ordering failed.
    private func orderIfRequired(_ job: inout ProvisioningJob, _ requirement: DataConfigurationRequirement) async throws -> Bool {
        guard requirement.orderViaES2Plus, job.matchingID == nil else { return true }
        do {
            guard let es2 else { throw OperatorDirectoryError.unknownSMDP(requirement.smdpAddress) }
            job.matchingID = try await es2.orderProfile(smdpAddress: requirement.smdpAddress, eid: job.eid, profileType: requirement.profileType)
            job.updatedAt = clock()
            try await store.saveJob(job, from: job.state)
            logger.info("profile ordered with ES2+", metadata: ["job": "\(job.id)", "terminal": "\(job.terminalID)"])
            return true
        } catch {
            let failure = ProvisioningError.wrap(error, step: "ES2+ order")
            let previous = job.state
            job.state = .failed
            job.errorCode = failure.code
            job.errorText = failure.description
            job.updatedAt = clock()
            job.finishedAt = job.updatedAt
            try await store.saveJob(job, from: previous, reporting: events)
            outcomes.failed.increment()
            logger.warning("ES2+ order failed", metadata: ["job": "\(job.id)", "error": "\(failure)"])
            return false
        }
    }

    /// Periodic work: confirm jobs whose device is on record on the new profile, start what can start, time out
    /// devices that never came back, deliver due notifications.
    public func tick() async {
        pump()
        let now = clock()
        do {
            for job in try await store.activeJobs() where running[job.id] == nil && job.isClaimable(by: settings.coreID, now: now) {
                // The device's return may have been registered where nothing could confirm the job then (another
                // core drove it, or the registration reached a core that lost the terminal again): the record decides.
                if job.state.mayHaveEnabled, let iccid = job.iccid, try await store.device(terminalID: job.terminalID)?.fields["iccid"] == iccid {
                    if let claimed = try await store.claimJob(id: job.id, coreID: settings.coreID, now: now, until: now + settings.claimSeconds),
                       claimed.state.mayHaveEnabled {
                        _ = try await confirm(claimed)
                    }
                    continue
                }
                if job.state == .awaitingReturn {
                    if now - job.updatedAt >= settings.returnTimeoutSeconds { try await timeOut(job, now: now) }
                } else if !queue.contains(where: { $0.jobID == job.id }), links(job.terminalID) != nil {
                    // Adopted: this core holds the terminal and nobody drives the job (its core stopped, the
                    // terminal moved here, or a campaign on another core created it).
                    if devices[job.terminalID] == nil, let record = try await store.device(terminalID: job.terminalID) {
                        devices[job.terminalID] = DownloadRunner.Device(terminalID: job.terminalID, eid: job.eid, imei: record.fields["imei"],
                                                                        iccid: record.fields["iccid"])
                    }
                    enqueue(job.id, notBefore: 0)
                }
            }
            try await deliverDueNotifications(now: now)
        } catch {
            logger.error("provisioning tick failed", metadata: ["error": "\(error)"])
        }
    }

    /// The return timeout, applied once: by the core that claims the job, saved compare-and-set. A device whose
    /// stored registration already shows the job's ICCID is confirmed instead.
    private func timeOut(_ job: ProvisioningJob, now: Int64) async throws {
        guard var claimed = try await store.claimJob(id: job.id, coreID: settings.coreID, now: now, until: now + settings.claimSeconds),
              claimed.state == .awaitingReturn else { return }
        if let iccid = claimed.iccid, try await store.device(terminalID: claimed.terminalID)?.fields["iccid"] == iccid {
            _ = try await confirm(claimed)
            return
        }
        claimed.state = .returnTimedOut
        claimed.updatedAt = now
        claimed.finishedAt = now
        claimed.errorCode = "provisioning.return_timeout"
        claimed.errorText = "the device did not come back on ICCID \(claimed.iccid ?? "-") within \(settings.returnTimeoutSeconds) s"
        do {
            try await store.saveJob(claimed, from: .awaitingReturn, reporting: events)
        } catch let error as StoreError where error.kind == .conflict {
            logger.info("return timeout not applied: the job changed meanwhile", metadata: ["job": "\(job.id)", "error": "\(error)"])
            return
        }
        outcomes.failed.increment()
        logger.warning("device never returned on the new profile", metadata: ["job": "\(job.id)", "terminal": "\(job.terminalID)"])
    }

    /// Confirms a claimed job whose device came back on the job's ICCID. Returns the confirmed job, or nil when
    /// another core changed the job first (nothing counted).
    private func confirm(_ claimed: ProvisioningJob) async throws -> ProvisioningJob? {
        var job = claimed
        let previous = job.state
        let now = clock()
        job.state = .confirmed
        job.updatedAt = now
        job.finishedAt = now
        do {
            try await store.saveJob(job, from: previous, reporting: events)
        } catch let error as StoreError where error.kind == .conflict {
            logger.info("confirmation not saved: the job changed meanwhile", metadata: ["job": "\(job.id)", "error": "\(error)"])
            return nil
        }
        outcomes.confirmed.increment()
        roundTrips.record(job.roundTrips)
        logger.notice("device returned on the new profile; job confirmed", metadata: [
            "job": "\(job.id)", "terminal": "\(job.terminalID)", "iccid": "\(job.iccid ?? "-")", "round_trips": "\(job.roundTrips)",
        ])
        sweepNotifications(terminalID: job.terminalID, eid: job.eid)
        return job
    }

    /// Sends due notifications to their SM-DP+ (at most `limit` per call).
    public func deliverDueNotifications(now: Int64, limit: Int = 100) async throws {
        for var record in try await store.dueNotifications(now: now, limit: limit) {
            guard let payload = Data(base64Encoded: record.payload) else {
                record.lastError = "stored payload is not base64"
                record.nextAttemptAt = Int64.max / 2
                try await store.saveNotification(record)
                continue
            }
            _ = await NotificationDelivery.deliver(&record, payload: Array(payload), es9: es9, now: now, logger: logger)
            try await store.saveNotification(record)
        }
    }

    /// Delivers and removes the device's eUICC notifications in the background (one sweep per device at a time).
    private func sweepNotifications(terminalID: String, eid: String) {
        guard !sweeping.contains(terminalID), let link = links(terminalID) else { return }
        sweeping.insert(terminalID)
        let sweep = NotificationSweep(store: store, es9: es9, blockSize: settings.runner.blockSize, clock: clock, logger: logger)
        let logger = logger
        Task {
            // Transient link failures: a few tries, a second apart.
            for attempt in 1...3 {
                do {
                    let removed = try await sweep.run(terminalID: terminalID, eid: eid, link: link)
                    if removed > 0 { logger.info("eUICC notifications delivered and removed", metadata: ["terminal": "\(terminalID)", "removed": "\(removed)"]) }
                    break
                } catch {
                    if attempt == 3 {
                        logger.notice("notification sweep failed; it runs again at the next registration", metadata: ["terminal": "\(terminalID)", "error": "\(error)"])
                    } else {
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
            await self.sweepFinished(terminalID)
        }
    }

    private func sweepFinished(_ terminalID: String) {
        sweeping.remove(terminalID)
    }

    /// Whether this core reaches the terminal's eUICC now (the terminal's session is held here).
    public nonisolated func reaches(terminalID: String) -> Bool { links(terminalID) != nil }

    /// Jobs running now.
    public var runningCount: Int { running.count }
    /// Jobs waiting for a slot or their device.
    public var queuedCount: Int { queue.count }

    /// Suspends until no job is running (for tests and orderly shutdown).
    public func waitUntilIdle() async {
        while !running.isEmpty {
            await withCheckedContinuation { finishedWaiters.append($0) }
        }
    }

    /// The matching ID of an activation code `1$smdpAddress$matchingId[$…]`.
    static func matchingID(fromActivationCode code: String?) -> String? {
        guard let code else { return nil }
        let parts = code.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count >= 3, parts[0] == "1", !parts[2].isEmpty else { return nil }
        return String(parts[2])
    }

    // MARK: Queue

    private func enqueue(_ jobID: String, notBefore: Int64) {
        guard running[jobID] == nil else { return }
        if let index = queue.firstIndex(where: { $0.jobID == jobID }) {
            queue[index].notBefore = min(queue[index].notBefore, notBefore)
        } else {
            queue.append(Queued(jobID: jobID, notBefore: notBefore))
        }
        pump()
    }

    private func pump() {
        let now = clock()
        var index = 0
        while index < queue.count, running.count < settings.maximumConcurrentJobs {
            let entry = queue[index]
            guard entry.notBefore <= now else { index += 1; continue }
            queue.remove(at: index)
            running[entry.jobID] = ""
            Task { await self.start(entry.jobID) }
        }
    }

    private func start(_ jobID: String) async {
        do {
            guard let stored = try await store.job(id: jobID), stored.state.isActive else { return finish(jobID, requeueAt: nil) }
            let perSMDP = running.values.filter { $0 == stored.smdpAddress }.count
            guard perSMDP < settings.maximumConcurrentJobsPerSMDP else { return finish(jobID, requeueAt: clock() + 1) }
            guard let device = devices[stored.terminalID], let link = links(stored.terminalID) else {
                // Runs when the device registers again (or is adopted by the core that holds it).
                return finish(jobID, requeueAt: nil)
            }
            let now = clock()
            guard let job = try await store.claimJob(id: jobID, coreID: settings.coreID, now: now, until: now + settings.claimSeconds) else {
                // Another core drives it while its claim lasts (it stops once the terminal left it): tried again later.
                logger.info("job held by another core; waiting for its claim to end", metadata: ["job": "\(jobID)", "terminal": "\(stored.terminalID)"])
                return finish(jobID, requeueAt: clock() + settings.unreachableRetrySeconds)
            }
            running[jobID] = job.smdpAddress
            if job.state.mayHaveEnabled, let iccid = job.iccid, iccid == device.iccid {
                _ = try await confirm(job)
                return finish(jobID, requeueAt: nil)
            }
            let renewal = renewClaim(jobID)
            let outcome = await runner.drive(job, device: device, link: link)
            renewal.cancel()
            if outcome.stoppedByConflict {
                logger.notice("job stopped: another core changed it (it drives the job now)", metadata: ["job": "\(jobID)", "terminal": "\(job.terminalID)"])
                return finish(jobID, requeueAt: nil)
            }
            let result = outcome.job
            try? await store.releaseJobClaim(id: jobID, coreID: settings.coreID)
            // The device may have come back on the new profile while the enable's answer was on its way.
            if result.state.mayHaveEnabled, let iccid = result.iccid, devices[result.terminalID]?.iccid == iccid,
               let claimed = try await store.claimJob(id: jobID, coreID: settings.coreID, now: clock(), until: clock() + settings.claimSeconds) {
                _ = try await confirm(claimed)
                return finish(jobID, requeueAt: nil)
            }
            switch result.state {
            case .failed:
                outcomes.failed.increment()
            case .awaitingReturn, .confirmed, .returnTimedOut, .cancelled:
                break
            default:
                // Paused on a reachability failure: try again shortly (or when the device registers).
                return finish(jobID, requeueAt: clock() + settings.unreachableRetrySeconds)
            }
            finish(jobID, requeueAt: nil)
        } catch {
            logger.error("job could not be started", metadata: ["job": "\(jobID)", "error": "\(error)"])
            finish(jobID, requeueAt: clock() + settings.unreachableRetrySeconds)
        }
    }

    /// Renews this core's claim on `jobID` every third of ``Settings/claimSeconds`` until cancelled.
    private func renewClaim(_ jobID: String) -> Task<Void, Never> {
        let (store, coreID, seconds, clock, logger) = (store, settings.coreID, settings.claimSeconds, clock, logger)
        return Task {
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(max(1, seconds / 3)))
                if Task.isCancelled { return }
                do {
                    if try await !store.renewJobClaim(id: jobID, coreID: coreID, until: clock() + seconds) {
                        logger.notice("job claim lost; the run stops at its next save", metadata: ["job": "\(jobID)"])
                        return
                    }
                } catch {
                    logger.warning("job claim not renewed", metadata: ["job": "\(jobID)", "error": "\(error)"])
                }
            }
        }
    }

    private func finish(_ jobID: String, requeueAt: Int64?) {
        running.removeValue(forKey: jobID)
        if let requeueAt { queue.append(Queued(jobID: jobID, notBefore: requeueAt)) }
        let waiters = finishedWaiters
        finishedWaiters.removeAll()
        for waiter in waiters { waiter.resume() }
        pump()
    }
}
