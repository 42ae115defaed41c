import Foundation
import LPACore
import LPADomain
import LPAIdentity
import LPASimKit
import LPAStore
import Logging
import NIOConcurrencyHelpers
import XCTest

/// A clock the test moves by hand.
final class TestClock: Sendable {
    private let now: NIOLockedValueBox<Int64>

    init(_ start: Int64) { now = NIOLockedValueBox(start) }

    var value: Int64 { now.withLockedValue { $0 } }
    func advance(_ seconds: Int64) { now.withLockedValue { $0 += seconds } }
    var function: @Sendable () -> Int64 { { self.value } }
}

/// Several registered devices, each with its own virtual eUICC, one SM-DP+ simulator (no sockets) and a
/// store: the campaign runner's world without a network. Good devices have a released order with
/// matching ID `M-<terminal>`; bad ones ask for a matching ID the SM-DP+ does not know, so their downloads fail.
final class CampaignFleet: @unchecked Sendable {
    /// 06:00 UTC on a day; window tests count minutes from midnight.
    static let start: Int64 = 1_767_225_600 + 6 * 3600

    let pki: RSPTestPKI
    let simulator: SMDPSimulator
    let store: any Store
    let clock: TestClock
    let cards: [String: VirtualEUICC]
    let terminalIDs: [String]
    private let directory: URL?
    /// The SQLite file of the fleet's own store (nil when the store was handed in).
    var storePath: String? { directory?.appendingPathComponent("core.db").path }
    /// Services handed out, drained before the store closes.
    private let services = NIOLockedValueBox<[ProvisioningService]>([])

    static func make(count: Int, failing: Set<Int> = [], store: (any Store)? = nil) async throws -> CampaignFleet {
        let pki = try RSPTestPKI.create()
        let configuration = SMDPConfiguration(address: "smdp.test", profileTypes: [
            ProfileType(name: "iot", serviceProviderName: "Test Operator", profileName: "IoT", iccidPrefix: "8999001",
                        packageSize: 3000, notificationEvents: [.install, .enable]),
        ])
        let simulator = try SMDPSimulator(pki: pki, configuration: configuration)
        var directory: URL?
        let opened: any Store
        if let store {
            opened = store
        } else {
            let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-campaign-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
            directory = dir
            opened = try StoreFactory.open(url: dir.appendingPathComponent("core.db").path, logger: Logger(label: "test"))
        }
        try await opened.migrate()
        var cards: [String: VirtualEUICC] = [:]
        var ids: [String] = []
        for index in 0..<count {
            let identity = try FleetIdentity.make(index: index + 1)
            let terminalID = String(format: "T-%02d", index)
            ids.append(terminalID)
            cards[terminalID] = VirtualEUICC(identity: try VirtualEUICC.Identity(pki: pki, eid: identity.eid))
            let matchingID = failing.contains(index) ? "NO-ORDER-\(terminalID)" : "M-\(terminalID)"
            if !failing.contains(index) {
                let iccid = try await simulator.downloadOrder(eid: identity.eid.value, profileType: "iot")
                _ = try await simulator.confirmOrder(iccid: iccid, eid: identity.eid.value, matchingId: matchingID, releaseFlag: true)
            }
            try await opened.upsertDevice(DeviceRecord(
                terminalID: terminalID, model: "M",
                fields: ["eid": identity.eid.value, "imei": identity.imei.value, "iccid": identity.iccid.value],
                tags: ["pilot"], requirement: DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot", matchingID: matchingID),
                heartbeatIntervalSeconds: 60, historyLimit: 10, firstSeen: 1, lastRegistered: 1))
        }
        return CampaignFleet(pki: pki, simulator: simulator, store: opened, clock: TestClock(start), cards: cards, terminalIDs: ids, directory: directory)
    }

    private init(pki: RSPTestPKI, simulator: SMDPSimulator, store: any Store, clock: TestClock, cards: [String: VirtualEUICC],
                 terminalIDs: [String], directory: URL?) {
        self.pki = pki
        self.simulator = simulator
        self.store = store
        self.clock = clock
        self.cards = cards
        self.terminalIDs = terminalIDs
        self.directory = directory
    }

    /// Creates the order a failing device lacked, so its next attempt succeeds.
    func releaseOrder(for terminalID: String) async throws {
        guard let device = try await store.device(terminalID: terminalID), let eid = device.fields["eid"] else { throw HarnessError("no device") }
        let iccid = try await simulator.downloadOrder(eid: eid, profileType: "iot")
        _ = try await simulator.confirmOrder(iccid: iccid, eid: eid, matchingId: "NO-ORDER-\(terminalID)", releaseFlag: true)
    }

    /// A core's provisioning service over `store` (default: the fleet's), reaching the cards of the terminals
    /// `reaches` accepts (default: every card) directly, running at most `concurrentJobs` at once; its claims carry `coreID`.
    func service(store: (any Store)? = nil, coreID: String = "core", concurrentJobs: Int = 64,
                 reaches: @escaping @Sendable (String) -> Bool = { _ in true }) -> ProvisioningService {
        let links = cards.mapValues { FaultyCardLink(card: $0) }
        var settings = ProvisioningService.Settings()
        settings.coreID = coreID
        settings.maximumConcurrentJobs = concurrentJobs
        let service = ProvisioningService(store: store ?? self.store, es9: SimulatorES9(simulator: simulator),
                                          links: { reaches($0) ? links[$0] : nil }, settings: settings,
                                          clock: clock.function, logger: Logger(label: "test.provisioning"))
        services.withLockedValue { $0.append(service) }
        return service
    }

    func runner(_ service: ProvisioningService, store: (any Store)? = nil, coreID: String = "core-a", claimSeconds: Int64 = 60,
                events: (any CampaignEventSink)? = nil) -> CampaignRunner {
        CampaignRunner(store: store ?? self.store, provisioning: service, settings: .init(coreID: coreID, claimSeconds: claimSeconds),
                       clock: clock.function, logger: Logger(label: "test.campaigns"), events: events)
    }

    /// Lets the service finish its downloads, then has every device that enabled a new profile come back on it.
    func settle(_ service: ProvisioningService) async throws {
        await service.waitUntilIdle()
        for job in try await store.activeJobs() where job.state == .awaitingReturn {
            guard var device = try await store.device(terminalID: job.terminalID), let card = cards[job.terminalID] else { continue }
            device.fields["iccid"] = card.enabledICCID
            device.requirement = nil  // automation stays out of the way: the campaign decides
            _ = try await service.deviceRegistered(device)
        }
    }

    /// Profiles installed on each card.
    var installedCounts: [String: Int] { cards.mapValues { $0.profiles.count } }

    func campaign(_ id: String = "c1", canaryShare: Double = 0, startsPerMinute: Int = 60, maxAttempts: Int = 1,
                  failureThreshold: Double = 1, minimumFinished: Int = 100, window: Campaign.DailyWindow? = nil,
                  retryBackoffSeconds: Int64 = 60, concurrencyPerSMDP: Int = 100) -> Campaign {
        Campaign(id: id, name: "Campaign \(id)", selection: .init(tags: ["pilot"]), startsPerMinute: startsPerMinute, concurrencyPerSMDP: concurrencyPerSMDP,
                 window: window, canaryShare: canaryShare, failureThreshold: failureThreshold, minimumFinished: minimumFinished,
                 maxAttempts: maxAttempts, retryBackoffSeconds: retryBackoffSeconds, createdAt: 0, updatedAt: 0)
    }

    /// Lets running downloads end, then closes the store.
    func close() async {
        for service in services.withLockedValue({ $0 }) { await service.waitUntilIdle() }
        try? await store.close()
        if let directory { try? FileManager.default.removeItem(at: directory) }
    }
}
