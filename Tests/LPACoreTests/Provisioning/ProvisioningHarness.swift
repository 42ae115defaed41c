import Foundation
import LPACore
import LPADomain
import LPAIdentity
import LPAOperator
import LPASimKit
import LPAStore
import Logging
import NIOConcurrencyHelpers
import RSP
import TerminalProtocol

/// ES9+ straight into the SM-DP+ simulator's engine (no sockets): the simulator's refusals arrive as the
/// same `OperatorError`s the HTTPS client produces.
struct SimulatorES9: ES9PlusCalls, ES9PlusDirectory {
    let simulator: SMDPSimulator

    func client(for smdpAddress: String) throws -> any ES9PlusCalls { self }

    private func mapped<T>(_ body: () async throws(SMDPError) -> T) async throws -> T {
        do {
            return try await body()
        } catch {
            if error.status == .expired { throw OperatorError.expired(error.statusCodeData) }
            throw OperatorError.failed(error.statusCodeData)
        }
    }

    func initiateAuthentication(euiccChallenge: [UInt8], euiccInfo1: [UInt8], smdpAddress: String?) async throws -> InitiateAuthenticationResponse {
        try await mapped { () async throws(SMDPError) in try await simulator.initiateAuthentication(euiccChallenge: euiccChallenge, euiccInfo1: euiccInfo1, smdpAddress: smdpAddress ?? "") }
    }
    func authenticateClient(transactionId: String, authenticateServerResponse: [UInt8]) async throws -> AuthenticateClientResponse {
        try await mapped { () async throws(SMDPError) in try await simulator.authenticateClient(transactionId: transactionId, authenticateServerResponse: authenticateServerResponse) }
    }
    func getBoundProfilePackage(transactionId: String, prepareDownloadResponse: [UInt8]) async throws -> GetBoundProfilePackageResponse {
        try await mapped { () async throws(SMDPError) in try await simulator.getBoundProfilePackage(transactionId: transactionId, prepareDownloadResponse: prepareDownloadResponse) }
    }
    func handleNotification(pendingNotification: [UInt8]) async throws {
        try await mapped { () async throws(SMDPError) in try await simulator.handleNotification(pendingNotification: pendingNotification) }
    }
    func cancelSession(transactionId: String, cancelSessionResponse: [UInt8]) async throws {
        try await mapped { () async throws(SMDPError) in try await simulator.cancelSession(transactionId: transactionId, cancelSessionResponse: cancelSessionResponse) }
    }
}

/// A terminal's card reached directly, with faults: the link can drop a request before the card sees it
/// (the request is lost) or after (the answer is lost), and a status word can be forced on one command.
final class FaultyCardLink: EUICCLink, @unchecked Sendable {
    enum Drop { case beforeCard, afterCard }
    let card: VirtualEUICC
    private let lock = NIOLock()
    private var requests = 0
    /// Drop the request with this 1-based number (channel opens, batches and closes all count).
    var dropRequest: (number: Int, when: Drop)?
    /// Answer the first APDU whose INS/P1 match with this status word instead of running it.
    var forcedStatusWord: (apduPrefix: [UInt8], sw: UInt16)?
    /// How many matching APDUs get ``forcedStatusWord`` before it is cleared.
    var forcedStatusWordTimes = 1
    private(set) var batches = 0

    init(card: VirtualEUICC) { self.card = card }

    private func step() throws -> Drop? {
        requests += 1
        guard let drop = dropRequest, drop.number == requests else { return nil }
        return drop.when
    }

    private static func lost() -> EUICCLinkError { EUICCLinkError("terminal.offline", "the connection dropped") }

    func openChannel(aid: [UInt8]) async throws -> UInt8 {
        try lock.withLock {
            let drop = try step()
            if drop == .beforeCard { throw Self.lost() }
            let result = card.openLogicalChannel(aid: aid)
            if drop == .afterCard { throw Self.lost() }
            guard result.sw == 0x9000 else { throw EUICCLinkError("apdu.select_failed", "SELECT answered \(result.sw)") }
            return result.channel
        }
    }

    func transmit(_ apdus: [[UInt8]], channel: UInt8) async throws -> ApduBatchResult {
        try lock.withLock {
            let drop = try step()
            if drop == .beforeCard { throw Self.lost() }
            batches += 1
            var run = apdus
            var forced: [UInt8]?
            if let (prefix, sw) = forcedStatusWord, let index = apdus.firstIndex(where: { $0.count >= prefix.count && Array($0.prefix(prefix.count)) == prefix }) {
                run = Array(apdus[..<index])
                forced = [UInt8(sw >> 8), UInt8(sw & 0xFF)]
                forcedStatusWordTimes -= 1
                if forcedStatusWordTimes <= 0 { forcedStatusWord = nil }
            }
            var result = ApduBatchExecutor.execute(ApduBatch(channel: channel, apdus: run), on: card)
            if let forced, result.status == .ok {
                result = ApduBatchResult(batchID: 0, status: .stopped, responses: result.responses + [forced], detail: "forced")
            }
            if drop == .afterCard { throw Self.lost() }
            return result
        }
    }

    func closeChannel(_ channel: UInt8) async throws {
        try lock.withLock {
            let drop = try step()
            if drop == .beforeCard { throw Self.lost() }
            _ = card.closeLogicalChannel(channel)
        }
    }
}

/// One device, its virtual eUICC, the SM-DP+ simulator and a SQLite store: enough to run the download
/// runner against real parts without sockets.
struct ProvisioningHarness {
    static let eid = "89049032000000000000000000001230"
    let pki: RSPTestPKI
    let simulator: SMDPSimulator
    let store: any Store
    let card: VirtualEUICC
    let link: FaultyCardLink
    let directory: URL
    let device: DownloadRunner.Device

    static func make(
        packageSize: Int = 6000, faults: SMDPFaults = SMDPFaults(), autoOrder: Bool = true,
        deviations: SMDPFieldDeviations = SMDPFieldDeviations()
    ) async throws -> ProvisioningHarness {
        let pki = try RSPTestPKI.create()
        var configuration = SMDPConfiguration(address: "smdp.test", profileTypes: [
            ProfileType(name: "iot", serviceProviderName: "Test Operator", profileName: "IoT", iccidPrefix: "8999001",
                        packageSize: packageSize, notificationEvents: [.install, .enable]),
        ])
        configuration.autoOrderProfileType = autoOrder ? "iot" : nil
        configuration.deviations = deviations
        let simulator = try SMDPSimulator(pki: pki, configuration: configuration)
        await simulator.setFaults(faults)
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-provisioning-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let store = try StoreFactory.open(url: directory.appendingPathComponent("core.db").path, logger: Logger(label: "test"))
        try await store.migrate()
        let card = VirtualEUICC(identity: try VirtualEUICC.Identity(pki: pki, eid: try EID(eid)))
        return ProvisioningHarness(
            pki: pki, simulator: simulator, store: store, card: card, link: FaultyCardLink(card: card), directory: directory,
            device: DownloadRunner.Device(terminalID: "T-1", eid: eid, imei: "356938035643809", iccid: "8988247000000000013"))
    }

    func runner() -> DownloadRunner {
        DownloadRunner(store: store, es9: SimulatorES9(simulator: simulator), logger: Logger(label: "test.download"))
    }

    func newJob(id: String = UUID().uuidString) async throws -> ProvisioningJob {
        let job = ProvisioningJob(id: id, terminalID: device.terminalID, eid: device.eid, smdpAddress: "smdp.test",
                                  profileType: "iot", matchingID: nil, createdAt: 1, updatedAt: 1)
        guard try await store.createJob(job) else { throw HarnessError("terminal already has an active job") }
        return job
    }

    func close() async {
        try? await store.close()
        try? FileManager.default.removeItem(at: directory)
    }
}

struct HarnessError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// ES2+ ordering straight into the SM-DP+ simulator's engine.
struct SimulatorES2: ES2PlusOrdering {
    let simulator: SMDPSimulator

    func orderProfile(smdpAddress: String, eid: String, profileType: String) async throws -> String {
        do {
            let iccid = try await simulator.downloadOrder(eid: eid, profileType: profileType)
            return try await simulator.confirmOrder(iccid: iccid, eid: eid, releaseFlag: true).matchingId
        } catch {
            throw OperatorError.failed(error.statusCodeData)
        }
    }
}

extension ProvisioningHarness {
    /// The device as lpa-core stores it after registration, with `requirement`.
    func record(_ requirement: DataConfigurationRequirement, iccid: String? = nil) -> DeviceRecord {
        DeviceRecord(terminalID: device.terminalID, model: "M", fields: ["eid": device.eid, "imei": device.imei ?? "", "iccid": iccid ?? device.iccid ?? ""],
                     requirement: requirement, heartbeatIntervalSeconds: 60, historyLimit: 10, firstSeen: 1, lastRegistered: 1)
    }

    func service(es2: Bool = false, clock: @escaping @Sendable () -> Int64 = { Int64(Date().timeIntervalSince1970) },
                 returnTimeout: Int64 = 600, events: (any JobEventSink)? = nil, coreID: String = "core",
                 concurrentJobs: Int = 64) -> ProvisioningService {
        let link = self.link
        var settings = ProvisioningService.Settings()
        settings.returnTimeoutSeconds = returnTimeout
        settings.coreID = coreID
        settings.maximumConcurrentJobs = concurrentJobs
        return ProvisioningService(store: store, es9: SimulatorES9(simulator: simulator), es2: es2 ? SimulatorES2(simulator: simulator) : nil,
                                   links: { _ in link }, settings: settings, clock: clock, events: events)
    }
}
