import Foundation
import LPADomain
import LPAOperator
import LPAStore
import Logging
import Metrics
import RSP
import TerminalProtocol

/// Drives one ``ProvisioningJob`` through the SGP.22 download (S120–S150) for a device whose eUICC the core
/// reaches through an ``EUICCLink``: the LPA's work, done on the server.
///
/// The job is saved after every step, before the next message leaves, so a core that stops at any point
/// finds the job where it was: steps before the load start the download again (cancelling the stale session
/// on the eUICC and at the SM-DP+); a job stopped while loading asks the eUICC for its installation result
/// before anything else, so a profile is never installed twice.
///
/// Terminal round trips of a download: open the ISD-R channel; challenge + EUICCInfo1 + pending
/// notifications + profiles; AuthenticateServer; PrepareDownload; the whole Bound Profile Package (more
/// batches only when the terminal's frame budget is smaller than the package); remove notification +
/// enable. Six for a package that fits one batch.
public struct DownloadRunner: Sendable {
    public struct Settings: Sendable, Hashable {
        /// STORE DATA block size (6–255).
        public var blockSize: Int
        /// Most APDU bytes in one batch; the load is split on command boundaries beyond it.
        public var maximumBatchBytes: Int
        /// Enable the profile after installation (S150).
        public var enableAfterInstall: Bool

        public init(blockSize: Int = StoreData.defaultBlockSize, maximumBatchBytes: Int = 192 * 1024, enableAfterInstall: Bool = true) {
            self.blockSize = blockSize
            self.maximumBatchBytes = maximumBatchBytes
            self.enableAfterInstall = enableAfterInstall
        }
    }

    /// Download attempts after which SM-DP+ reachability failures fail the job instead of pausing it (a terminal
    /// that cannot be reached pauses the job whatever the attempt).
    public static let maximumTransientAttempts = 5

    let store: any Store
    let es9: any ES9PlusDirectory
    let settings: Settings
    let clock: @Sendable () -> Int64
    let logger: Logger
    /// Told about every state change of a job this runner moves (webhooks).
    let events: (any JobEventSink)?

    public init(store: any Store, es9: any ES9PlusDirectory, settings: Settings = Settings(),
                clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                logger: Logger = Logger(label: "serverlpa.core.download"), events: (any JobEventSink)? = nil) {
        self.events = events
        self.store = store
        self.es9 = es9
        self.settings = settings
        self.clock = clock
        self.logger = logger
    }

    /// The device facts the download needs.
    public struct Device: Sendable, Hashable {
        public var terminalID: String
        public var eid: String
        public var imei: String?
        public var iccid: String?
        public init(terminalID: String, eid: String, imei: String?, iccid: String?) {
            self.terminalID = terminalID
            self.eid = eid
            self.imei = imei
            self.iccid = iccid
        }
    }

    /// Runs `job` from its stored state as far as it can go now: to `awaitingReturn`, or to a terminal state.
    /// Never throws: failures end in `failed` with the error recorded (store failures leave the job where it
    /// was saved last, to be resumed).
    public func run(_ job: ProvisioningJob, device: Device, link: any EUICCLink) async -> ProvisioningJob {
        await drive(job, device: device, link: link).job
    }

    /// How a run ended.
    public struct Outcome: Sendable {
        /// The job as this run last saved it.
        public var job: ProvisioningJob
        /// A save found the stored job changed by someone else (another core claimed it, or the device's return
        /// confirmed it): the run stopped there and no longer drives the job. Not a failure.
        public var stoppedByConflict: Bool
    }

    /// ``run(_:device:link:)``, telling a run that stopped because the job changed underneath it (compare-and-set
    /// save refused, ``StoreError/Kind/conflict``) from one that ended on its own.
    public func drive(_ job: ProvisioningJob, device: Device, link: any EUICCLink) async -> Outcome {
        var session = Session(job: job, device: device, link: link, runner: self)
        do {
            try await session.run()
        } catch let error as ProvisioningError {
            await session.fail(error)
        } catch let error as StoreError where error.kind == .conflict {
            session.stoppedByConflict = true
        } catch {
            logger.error("provisioning job not saved; it resumes from its last saved step",
                         metadata: ["job": "\(job.id)", "error": "\(error)"])
        }
        if session.stoppedByConflict {
            session.logger.notice("the job changed in the store (another core took it over); this run stops",
                                  metadata: ["state": "\(session.job.state.rawValue)"])
            if let channel = session.channel { try? await link.closeChannel(channel) }
        }
        return Outcome(job: session.job, stoppedByConflict: session.stoppedByConflict)
    }
}

/// One run of a job: the mutable state of the conversation with one eUICC and one SM-DP+.
struct Session {
    var job: ProvisioningJob
    let device: DownloadRunner.Device
    let link: any EUICCLink
    let runner: DownloadRunner
    var channel: UInt8?
    var logger: Logger

    // Values carried between steps of this run.
    var challenge: [UInt8] = []
    var euiccInfo1: [UInt8] = []
    var authenticateServerResponse: [UInt8] = []
    var prepareDownloadResponse: [UInt8] = []
    var package: BoundProfilePackage?
    var installNotification: ProfileInstallationResult?
    /// A compare-and-set save was refused: another core (or the device's return) changed the job.
    var stoppedByConflict = false

    init(job: ProvisioningJob, device: DownloadRunner.Device, link: any EUICCLink, runner: DownloadRunner) {
        self.job = job
        self.device = device
        self.link = link
        self.runner = runner
        var logger = runner.logger
        logger[metadataKey: "job"] = "\(job.id)"
        logger[metadataKey: "terminal"] = "\(job.terminalID)"
        logger[metadataKey: "eid"] = "\(job.eid)"
        self.logger = logger
    }

    mutating func run() async throws {
        switch job.state {
        case .queued, .readingEUICC, .authenticating, .preparing, .fetchingPackage, .loading:
            try await download()
        case .installed:
            try await openChannel()
            try await notifyAndEnable()
        case .enabling:
            try await openChannel()
            try await notifyAndEnable()
        case .awaitingReturn, .confirmed, .failed, .returnTimedOut, .cancelled:
            return
        }
    }

    // MARK: Steps

    private mutating func download() async throws {
        let resumingLoad = job.state == .loading
        let staleTransaction = job.transactionID.flatMap(Hex.bytes)
        if job.state != .queued && !resumingLoad {
            try await move(to: .queued)
        }
        if !resumingLoad {
            job.attempt += 1
            try await move(to: .readingEUICC)
        }
        try await openChannel()

        // Round trip: [CancelSession of a stale session], challenge, EUICCInfo1, notifications, profiles.
        var batch = ES10Batch(channel: channel!, blockSize: runner.settings.blockSize)
        let cancelIndex = try staleTransaction.map { tid in
            try batch.append(CancelSession.request(transactionId: tid, reason: .undefinedReason), name: "CancelSession")
        }
        let challengeIndex = try batch.append(EUICCQueries.getEuiccChallenge, name: "GetEuiccChallenge")
        let info1Index = try batch.append(EUICCQueries.getEuiccInfo1, name: "GetEuiccInfo1")
        let notificationsIndex = try batch.append(NotificationCommands.retrieveRequest(), name: "RetrieveNotificationsList")
        let profilesIndex = try batch.append(ES10c.profilesInfoRequest, name: "GetProfilesInfo")
        let outcomes = try await transmit(batch, step: "readingEUICC")

        let notifications = try parse(outcomes[notificationsIndex], batch, notificationsIndex, step: "readingEUICC") {
            try NotificationCommands.parseRetrieve($0)
        }
        try await keep(notifications)
        let profiles = try parse(outcomes[profilesIndex], batch, profilesIndex, step: "readingEUICC") { try ProfileInfo.parseList($0) }

        if let cancelIndex, let staleTransaction {
            await forwardCancel(outcomes[cancelIndex], transactionID: staleTransaction)
        }
        if resumingLoad {
            // Did the interrupted load finish? The eUICC's signed result says, by transaction.
            let ours = notifications.compactMap { pending -> ProfileInstallationResult? in
                guard case .profileInstallationResult(let result) = pending,
                      Hex.string(result.data.transactionId) == job.transactionID else { return nil }
                return result
            }.first
            if let ours, ours.isSuccess {
                logger.notice("the interrupted load had completed; continuing with the installed profile")
                installNotification = ours
                try await move(to: .installed)
                try await notifyAndEnable()
                return
            }
            if let ours, case .error(let command, let reason) = ours.data.finalResult {
                logger.notice("the interrupted load had failed on the eUICC; downloading again",
                              metadata: ["bppCommandId": "\(command)", "errorReason": "\(reason)"])
            }
            try await move(to: .queued)
            job.attempt += 1
            try await move(to: .readingEUICC)
        }
        // A profile of this requirement already on the eUICC (this job's, or one an earlier job of the same
        // SM-DP+ and profile type installed before it failed or timed out) is enabled, never downloaded again.
        let earlier = Set(try await runner.store.jobs(terminalID: job.terminalID, limit: 50).compactMap { other -> String? in
            other.id != job.id && other.smdpAddress == job.smdpAddress && other.profileType == job.profileType ? other.iccid : nil
        })
        if let held = profiles.first(where: { $0.iccid == job.iccid }) ?? profiles.first(where: { earlier.contains($0.iccid) }) {
            logger.notice("a profile of the requirement is already on the eUICC; skipping the download", metadata: ["iccid": "\(held.iccid)"])
            job.iccid = held.iccid
            try await move(to: .installed)
            try await notifyAndEnable()
            return
        }
        challenge = try EUICCChallenge(der: try required(outcomes[challengeIndex], batch, challengeIndex, step: "readingEUICC")).challenge
        let info1Bytes = try required(outcomes[info1Index], batch, info1Index, step: "readingEUICC")
        _ = try EUICCInfo1(der: info1Bytes)
        euiccInfo1 = info1Bytes

        try await authenticate()
        try await prepare()
        try await fetchPackage()
        try await load()
    }

    private mutating func authenticate() async throws {
        let step = "authenticating"
        let client = try es9Client(step: step)
        let answer: InitiateAuthenticationResponse
        do {
            answer = try await client.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1, smdpAddress: job.smdpAddress)
        } catch {
            throw ProvisioningError.wrap(error, step: "ES9+ initiateAuthentication")
        }
        job.transactionID = answer.transactionId
        try await move(to: .authenticating)
        let deviceInfo = device.imei.flatMap(DeviceInfo.init(imei:)) ?? DeviceInfo(tac: [0, 0, 0, 0], imei: nil)
        let request: AuthenticateServerRequest
        do {
            request = try AuthenticateServerRequest(
                es9ServerSigned1: answer.serverSigned1, es9ServerSignature1: answer.serverSignature1,
                es9EuiccCiPKIdToBeUsed: answer.euiccCiPKIdToBeUsed, es9ServerCertificate: answer.serverCertificate,
                ctxParams1: CtxParams1(matchingId: job.matchingID, deviceInfo: deviceInfo))
        } catch {
            throw ProvisioningError.wrap(error, step: "ES9+ initiateAuthentication")
        }
        guard Hex.string(request.serverSigned1.transactionId) == answer.transactionId.uppercased() else {
            throw ProvisioningError(code: "es9.transaction_mismatch", step: step,
                                    text: "serverSigned1 carries another transactionId than the ES9+ answer")
        }
        var batch = ES10Batch(channel: channel!, blockSize: runner.settings.blockSize)
        try batch.append(request.der, name: "AuthenticateServer")
        let outcomes = try await transmit(batch, step: step)
        let bytes = try required(outcomes[0], batch, 0, step: step)
        switch try AuthenticateServerResponse(der: bytes) {
        case .ok:
            authenticateServerResponse = bytes
        case .error(_, let code):
            throw ProvisioningError(code: "euicc.authenticate_server", step: step,
                                    text: "the eUICC refused the SM-DP+ (authenticateErrorCode \(code)\(AuthenticateErrorCode(rawValue: code).map { ", \($0)" } ?? ""))")
        }
    }

    private mutating func prepare() async throws {
        let step = "preparing"
        let client = try es9Client(step: step)
        let response: AuthenticateClientResponse
        do {
            response = try await client.authenticateClient(transactionId: job.transactionID!, authenticateServerResponse: authenticateServerResponse)
        } catch {
            throw ProvisioningError.wrap(error, step: "ES9+ authenticateClient")
        }
        let metadata: StoreMetadataRequest
        let request: PrepareDownloadRequest
        do {
            metadata = try StoreMetadataRequest(der: response.profileMetadata)
            request = try PrepareDownloadRequest(es9SmdpSigned2: response.smdpSigned2, es9SmdpSignature2: response.smdpSignature2,
                                                 es9SmdpCertificate: response.smdpCertificate)
        } catch {
            throw ProvisioningError.wrap(error, step: "ES9+ authenticateClient")
        }
        guard Hex.string(request.smdpSigned2.transactionId) == job.transactionID?.uppercased() else {
            throw ProvisioningError(code: "es9.transaction_mismatch", step: step, text: "smdpSigned2 carries another transactionId")
        }
        if request.smdpSigned2.ccRequired {
            throw ProvisioningError(code: "provisioning.confirmation_code_required", step: step,
                                    text: "the SM-DP+ requires a confirmation code, which this requirement does not provide",
                                    cancelReason: .endUserRejection)
        }
        job.iccid = metadata.iccid
        try await move(to: .preparing)
        logger.info("profile announced", metadata: ["iccid": "\(metadata.iccid)", "profile": "\(metadata.profileName)"])
        var batch = ES10Batch(channel: channel!, blockSize: runner.settings.blockSize)
        try batch.append(request.der, name: "PrepareDownload")
        let outcomes = try await transmit(batch, step: step)
        let bytes = try required(outcomes[0], batch, 0, step: step)
        switch try PrepareDownloadResponse(der: bytes) {
        case .ok:
            prepareDownloadResponse = bytes
        case .error(_, let code):
            throw ProvisioningError(code: "euicc.prepare_download", step: step,
                                    text: "the eUICC refused PrepareDownload (downloadErrorCode \(code))")
        }
    }

    private mutating func fetchPackage() async throws {
        let step = "fetchingPackage"
        let client = try es9Client(step: step)
        let response: GetBoundProfilePackageResponse
        do {
            response = try await client.getBoundProfilePackage(transactionId: job.transactionID!, prepareDownloadResponse: prepareDownloadResponse)
        } catch {
            throw ProvisioningError.wrap(error, step: "ES9+ getBoundProfilePackage")
        }
        do {
            let unpacked = try BoundProfilePackage(der: response.boundProfilePackage)
            guard Hex.string(unpacked.initialiseSecureChannel.transactionId) == job.transactionID?.uppercased() else {
                throw ProvisioningError(code: "rsp.invalid_bpp", step: step,
                                        text: "the package's InitialiseSecureChannel carries another transactionId",
                                        cancelReason: .loadBppExecutionError)
            }
            package = unpacked
        } catch {
            throw ProvisioningError.wrap(error, step: "S130 unpacking", cancelReason: .loadBppExecutionError)
        }
        if let unpacked = package, unpacked.oversizedSegments > 0 {
            // A field deviation the LPA tolerates: the eUICC, which can decrypt, is the judge.
            Counter(label: "lpa_bpp_oversized_segments_total", dimensions: [("smdp", job.smdpAddress)])
                .increment(by: unpacked.oversizedSegments)
            logger.notice("bound profile package has segments larger than SGP.22 §2.5.3's 1020 bytes; passing them to the eUICC",
                          metadata: ["smdp": "\(job.smdpAddress)", "segments": "\(unpacked.oversizedSegments)",
                                     "largest": "\(unpacked.largestSegment)"])
        }
        try await move(to: .fetchingPackage)
    }

    private mutating func load() async throws {
        let step = "loading"
        guard let package else { return }
        try await move(to: .loading)
        // Batches on command boundaries within the frame budget.
        var batches: [ES10Batch] = []
        var current = ES10Batch(channel: channel!, blockSize: runner.settings.blockSize)
        var bytes = 0
        for command in package.loadCommands {
            let size = command.bytes.count + 6 * (command.bytes.count / runner.settings.blockSize + 1)
            if bytes + size > runner.settings.maximumBatchBytes, current.commandCount > 0 {
                batches.append(current)
                current = ES10Batch(channel: channel!, blockSize: runner.settings.blockSize)
                bytes = 0
            }
            try current.append(command.bytes, name: "LoadBoundProfilePackage(\(command.kind.rawValue))")
            bytes += size
        }
        // The enable travels with the last load command: its ICCID is known from the metadata, and when
        // the load fails the eUICC refuses it (no such profile) without harm. Its answer is read only after
        // the signed installation result has been kept.
        var enableIndex: Int?
        if runner.settings.enableAfterInstall, let iccid = job.iccid {
            enableIndex = try current.append(ES10c.enableRequest(.iccid(iccid), refresh: true), name: "EnableProfile")
        }
        batches.append(current)

        var result: ProfileInstallationResult?
        var refusal: String?
        var enableOutcome: ES10Batch.Outcome?
        for (number, batch) in batches.enumerated() {
            let outcomes = try await transmit(batch, step: step)
            if number == batches.count - 1, let enableIndex { enableOutcome = outcomes[enableIndex] }
            for (index, outcome) in outcomes.enumerated() where index != (number == batches.count - 1 ? enableIndex : nil) {
                let data: [UInt8]
                switch outcome {
                case .completed(let d): data = d
                case .refused(let block, let sw, let d):
                    data = d
                    refusal = "\(batch.names[index]) block \(block): status word \(sw)"
                case .notExecuted: data = []
                }
                if data.first == 0xBF, data.count > 1, data[1] == 0x37 {
                    result = try ProfileInstallationResult(der: data)
                }
            }
            if result != nil || refusal != nil { break }
        }
        guard let result else {
            throw ProvisioningError(code: "apdu.status_word", step: step,
                                    text: "the load stopped without a ProfileInstallationResult (\(refusal ?? "no answer"))",
                                    cancelReason: .loadBppExecutionError)
        }
        try await keep([.profileInstallationResult(result)])
        switch result.data.finalResult {
        case .success:
            installNotification = result
            try await move(to: .installed)
            logger.notice("profile installed", metadata: ["iccid": "\(job.iccid ?? "-")"])
            if let enableOutcome, try await enabledWithLoad(enableOutcome) { return }
            try await notifyAndEnable()
        case .error(let command, let reason):
            // The session ended on the eUICC; the signed result still goes to the SM-DP+.
            await deliver(result.encoded, seqNumber: result.data.notificationMetadata.seqNumber)
            throw ProvisioningError(code: "euicc.install_failed", step: step,
                                    text: "installation failed at bppCommandId \(command), errorReason \(reason)\(InstallationErrorReason(rawValue: reason).map { " (\($0))" } ?? "")",
                                    cancelReason: .loadBppExecutionError)
        }
    }

    /// After a load whose last batch carried EnableProfile: the installation result goes to the SM-DP+
    /// (it is removed from the eUICC's list by the sweep when the device returns), and the job waits for
    /// the device on the new profile. False when the enable did not take effect: the ordinary S150
    /// round trip follows.
    private mutating func enabledWithLoad(_ outcome: ES10Batch.Outcome) async throws -> Bool {
        guard let data = outcome.data, !data.isEmpty, let code = try? ES10c.parseResult(data, tag: RSPTag.enableProfile),
              code == 0 || code == 2
        else {
            logger.notice("the enable sent with the load did not take effect; enabling on its own", metadata: ["outcome": "\(outcome)"])
            return false
        }
        if let installNotification {
            await deliver(installNotification.encoded, seqNumber: installNotification.data.notificationMetadata.seqNumber)
        }
        try await move(to: .enabling)
        try await move(to: .awaitingReturn)
        logger.notice("profile enabled; waiting for the device to return on it", metadata: [
            "iccid": "\(job.iccid ?? "-")", "round_trips": "\(job.roundTrips)",
        ])
        return true
    }

    private mutating func notifyAndEnable() async throws {
        let step = "enabling"
        // S150: the installation result to the SM-DP+, then remove it from the eUICC and enable the profile.
        let pending = try await runner.store.notifications(eid: job.eid).filter { $0.jobID == job.id && $0.event == "install" }
        var acknowledged: [Int] = []
        for record in pending where record.acknowledgedAt == nil {
            if let payload = Data(base64Encoded: record.payload), await deliver(Array(payload), seqNumber: record.seqNumber) {
                acknowledged.append(record.seqNumber)
            }
        }
        acknowledged += pending.filter { $0.acknowledgedAt != nil && !$0.removedFromEUICC }.map(\.seqNumber)
        if job.state == .installed { try await move(to: .enabling) }
        guard let iccid = job.iccid else {
            throw ProvisioningError(code: "provisioning.no_iccid", step: step, text: "the installed profile's ICCID is unknown")
        }
        var batch = ES10Batch(channel: channel!, blockSize: runner.settings.blockSize)
        let removeIndices = try acknowledged.map { try batch.append(NotificationCommands.removeRequest(seqNumber: $0), name: "RemoveNotificationFromList") }
        let enableIndex = runner.settings.enableAfterInstall
            ? try batch.append(ES10c.enableRequest(.iccid(iccid), refresh: true), name: "EnableProfile") : nil
        guard batch.commandCount > 0 else {
            try await move(to: .awaitingReturn)
            return
        }
        let outcomes = try await transmit(batch, step: step)
        for (index, seq) in zip(removeIndices, acknowledged) {
            if let data = outcomes[index].data, let status = try? NotificationCommands.parseRemove(data), status == 0 || status == 1 {
                try await markRemoved(seq)
            }
        }
        if let enableIndex {
            let code = try ES10c.parseResult(try required(outcomes[enableIndex], batch, enableIndex, step: step), tag: RSPTag.enableProfile)
            // profileNotInDisabledState (2): already enabled by an earlier attempt.
            guard code == 0 || code == 2 else {
                throw ProvisioningError(code: "euicc.enable_refused", step: step,
                                        text: "EnableProfile answered \(code)\(ES10c.ResultCode(rawValue: code).map { " (\($0))" } ?? "")")
            }
        }
        try await move(to: .awaitingReturn)
        logger.notice("profile enabled; waiting for the device to return on it", metadata: ["iccid": "\(iccid)", "round_trips": "\(job.roundTrips)"])
    }

    // MARK: Failure

    mutating func fail(_ error: ProvisioningError) async {
        // A run that lost the job must not cancel the session the job's new driver is using.
        if let stored = try? await runner.store.job(id: job.id), stored.state != job.state || stored.owner != job.owner {
            stoppedByConflict = true
            logger.notice("step failed after the job changed in the store; leaving it to its new driver",
                          metadata: ["step": "\(error.step)", "code": "\(error.code)", "stored_state": "\(stored.state.rawValue)"])
            return
        }
        logger.warning("provisioning step failed", metadata: ["step": "\(error.step)", "code": "\(error.code)", "error": "\(error.text)"])
        if let transactionID = job.transactionID.flatMap(Hex.bytes), let channel,
           [.authenticating, .preparing, .fetchingPackage, .loading].contains(job.state), error.code != "euicc.install_failed" {
            var batch = ES10Batch(channel: channel, blockSize: runner.settings.blockSize)
            if (try? batch.append(CancelSession.request(transactionId: transactionID, reason: error.cancelReason), name: "CancelSession")) != nil,
               let outcomes = try? await transmit(batch, step: "cancelling") {
                await forwardCancel(outcomes[0], transactionID: transactionID)
            }
        }
        job.errorCode = error.code
        job.errorText = error.description
        if error.isTransient && (job.attempt < DownloadRunner.maximumTransientAttempts || error.isTerminalUnreachable) {
            // Reachability, not protocol: keep the saved step; the next run resumes from it.
            logger.notice("job paused until its device or SM-DP+ is reachable", metadata: ["state": "\(job.state.rawValue)"])
            job.updatedAt = runner.clock()
            do {
                try await runner.store.saveJob(job, from: job.state)
            } catch let error as StoreError where error.kind == .conflict {
                stoppedByConflict = true
            } catch {
                logger.error("paused job not saved; it resumes from its last saved step", metadata: ["error": "\(error)"])
            }
            if let channel, !stoppedByConflict { try? await link.closeChannel(channel) }
            return
        }
        do {
            try await move(to: .failed)
        } catch let error as StoreError where error.kind == .conflict {
            // Not a failure of this job: another core drives it now.
            stoppedByConflict = true
            return
        } catch {
            logger.error("failed job not saved; it resumes from its last saved step", metadata: ["error": "\(error)"])
        }
        if let channel { try? await link.closeChannel(channel) }
    }

    /// Sends a signed CancelSession answer to the SM-DP+ (ES9+ cancelSession); errors are only logged.
    private func forwardCancel(_ outcome: ES10Batch.Outcome, transactionID: [UInt8]) async {
        guard let data = outcome.data, let response = try? CancelSession.parseResponse(data) else { return }
        do {
            try await es9Client(step: "cancelling").cancelSession(transactionId: Hex.string(transactionID), cancelSessionResponse: response)
            logger.info("session cancelled at the SM-DP+", metadata: ["transactionId": "\(Hex.string(transactionID))"])
        } catch {
            logger.notice("ES9+ cancelSession failed", metadata: ["error": "\(error)"])
        }
    }

    // MARK: Helpers

    private mutating func openChannel() async throws {
        guard channel == nil else { return }
        // Transient link failures (an edge reconnecting to this core): a few quick tries first.
        var tries = 0
        while true {
            do {
                channel = try await link.openChannel(aid: ISDR.aid)
                job.roundTrips += 1
                return
            } catch {
                let wrapped = ProvisioningError.wrap(error, step: "opening the ISD-R channel")
                tries += 1
                guard wrapped.isTransient, tries < 5 else { throw wrapped }
                try? await Task.sleep(for: .milliseconds(200))
            }
        }
    }

    private mutating func transmit(_ batch: ES10Batch, step: String) async throws -> [ES10Batch.Outcome] {
        let result: ApduBatchResult
        do {
            result = try await link.transmit(batch.apdus, channel: batch.channel)
        } catch {
            throw ProvisioningError.wrap(error, step: step, cancelReason: step == "loading" ? .loadBppExecutionError : .undefinedReason)
        }
        job.roundTrips += 1
        if result.status == .cardError || result.status == .rejected {
            throw ProvisioningError(code: result.status == .cardError ? "apdu.card_error" : "apdu.batch_rejected", step: step,
                                    text: "the terminal could not run the batch: \(result.detail)")
        }
        return batch.outcomes(result.responses)
    }

    private func required(_ outcome: ES10Batch.Outcome, _ batch: ES10Batch, _ index: Int, step: String) throws -> [UInt8] {
        switch outcome {
        case .completed(let data) where !data.isEmpty: return data
        case .completed: throw ProvisioningError(code: "apdu.no_data", step: step, text: "\(batch.names[index]) answered without data")
        case .refused(let block, let sw, _):
            throw ProvisioningError(code: "apdu.status_word", step: step, text: "\(batch.names[index]) block \(block): status word \(sw)")
        case .notExecuted:
            throw ProvisioningError(code: "apdu.not_executed", step: step, text: "\(batch.names[index]) did not run")
        }
    }

    private func parse<T>(_ outcome: ES10Batch.Outcome, _ batch: ES10Batch, _ index: Int, step: String, _ body: ([UInt8]) throws -> T) throws -> T {
        do {
            return try body(try required(outcome, batch, index, step: step))
        } catch {
            throw ProvisioningError.wrap(error, step: step)
        }
    }

    private func es9Client(step: String) throws -> any ES9PlusCalls {
        do {
            return try runner.es9.client(for: job.smdpAddress)
        } catch {
            throw ProvisioningError(code: "provisioning.no_smdp", step: step, text: "no ES9+ client for \(job.smdpAddress): \(error)")
        }
    }

    /// Stores signed notifications found on the eUICC (delivered later if not now).
    private func keep(_ notifications: [PendingNotification]) async throws {
        guard !notifications.isEmpty else { return }
        let now = runner.clock()
        try await runner.store.addNotifications(notifications.map { pending in
            let metadata = pending.metadata
            var jobID: String?
            if case .profileInstallationResult(let result) = pending, Hex.string(result.data.transactionId) == job.transactionID?.uppercased() {
                jobID = job.id
            }
            return NotificationRecord(
                eid: job.eid, seqNumber: metadata.seqNumber, terminalID: job.terminalID, event: "\(metadata.event)",
                notificationAddress: metadata.notificationAddress, iccid: metadata.iccid,
                payload: Data(pending.encoded).base64EncodedString(), jobID: jobID, nextAttemptAt: now, createdAt: now)
        })
    }

    /// ES9+ handleNotification now; on failure the record stays due for the retry loop. Returns whether acknowledged.
    @discardableResult
    private func deliver(_ payload: [UInt8], seqNumber: Int) async -> Bool {
        guard var record = try? await runner.store.notifications(eid: job.eid).first(where: { $0.seqNumber == seqNumber }) else { return false }
        let delivered = await NotificationDelivery.deliver(&record, payload: payload, es9: runner.es9, now: runner.clock(), logger: logger)
        try? await runner.store.saveNotification(record)
        return delivered
    }

    private func markRemoved(_ seqNumber: Int) async throws {
        guard var record = try await runner.store.notifications(eid: job.eid).first(where: { $0.seqNumber == seqNumber }) else { return }
        record.removedFromEUICC = true
        try await runner.store.saveNotification(record)
    }

    private mutating func move(to state: ProvisioningJob.State) async throws {
        guard job.state.canMove(to: state) else {
            throw ProvisioningError(code: "provisioning.invalid_transition", step: "\(job.state.rawValue)",
                                    text: "a job cannot move from \(job.state.rawValue) to \(state.rawValue)")
        }
        let previous = job.state
        job.state = state
        job.updatedAt = runner.clock()
        if !state.isActive { job.finishedAt = job.updatedAt }
        if state == .readingEUICC {
            job.errorCode = nil
            job.errorText = nil
        }
        do {
            try await runner.store.saveJob(job, from: previous, reporting: runner.events)
        } catch {
            // Not saved: the job is where the store has it, not where this run wanted it.
            job.state = previous
            throw error
        }
    }
}

