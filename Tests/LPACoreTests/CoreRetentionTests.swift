import Foundation
@testable import LPACore
import LPADomain
import LPASimKit
import LPAStore
import Logging
import TerminalProtocol
import XCTest

/// lpa-core keeps per-event tables bounded through its sweep, and clears imports a crash left staging.
final class CoreRetentionTests: XCTestCase {
    var logger: Logger {
        var l = Logger(label: "retention")
        l.logLevel = .critical
        return l
    }

    func configuration(store: String) throws -> CoreConfiguration {
        let libraryFile = NSTemporaryDirectory() + "lpa-retention-lib-\(UUID().uuidString).yaml"
        try """
        deviceModels:
          - code: SIM-METER-1
            fields:
              - {name: eid, validation: eid}
              - {name: imei, validation: imei}
        """.write(toFile: libraryFile, atomically: true, encoding: .utf8)
        var c = CoreConfiguration()
        c.listen.port = 0
        c.store = store
        c.libraries = libraryFile
        c.tls.requireClientCertificate = false
        c.tls.certificate = Self.pki.layout.coreCertificate.path
        c.tls.privateKey = Self.pki.layout.coreKey.path
        c.retention.registrationAttemptsPerTerminal = 25
        return c
    }

    static let pki: TestPKI = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lpa-retention-\(UUID().uuidString)")
        return try! TestPKI.create(at: url, devices: 2)
    }()

    func testAReconnectStormLeavesTheRegistrationTableBounded() async throws {
        let core = CoreServer(configuration: try configuration(store: "sqlite::memory:"), logger: logger)
        try await core.start()
        let engine = try XCTUnwrap(core.engine)
        let store = try XCTUnwrap(core.store)
        let devices = Self.pki.devices
        // Two terminals reconnect over and over (a registration each time); the sweep runs between waves.
        for wave in 0..<6 {
            for _ in 0..<100 {
                for device in devices {
                    let identity = Identity(eid: device.identity.eid.value, imei: device.identity.imei.value, model: device.identity.model)
                    _ = try await engine.register(RegistrationRequest(terminalID: identity.terminalID, identity: identity, edgeNodeID: "edge"))
                }
            }
            await core.sweepRetention(store)
            for device in devices {
                let attempts = try await store.registrationAttempts(terminalID: device.identity.eid.value, limit: 10_000)
                XCTAssertEqual(attempts.count, 25, "wave \(wave)")
            }
        }
        await core.stop()
    }

    func testAnImportACrashLeftStagingIsRejectedAtStart() async throws {
        let database = NSTemporaryDirectory() + "lpa-retention-\(UUID().uuidString).db"
        // The process that ran the import: it staged rows and died before finishing.
        let crashed = try StoreFactory.open(url: database)
        try await crashed.migrate()
        let now = Int64(Date().timeIntervalSince1970)
        try await crashed.beginFleetImport(FleetImport(id: "imp-interrupted", state: .staging, createdAt: now))
        try await crashed.stageFleetRows(importID: "imp-interrupted", (2...20).map {
            StagedFleetRow(line: $0, entry: FleetEntry(eid: "EID-\($0)", imei: nil, iccid: nil, model: "SIM-METER-1", tags: [], target: nil,
                                                       importID: "", importedAt: 0))
        })
        try await crashed.close()

        let core = CoreServer(configuration: try configuration(store: database), logger: logger)
        try await core.start()
        let store = try XCTUnwrap(core.store)
        let fleetImport = try await store.fleetImport(id: "imp-interrupted")
        XCTAssertEqual(fleetImport?.state, .rejected)
        let duplicates = try await store.fleetImportDuplicates(importID: "imp-interrupted", limit: 10)
        XCTAssertEqual(duplicates, [])
        let entries = try await store.fleetEntries(after: nil, limit: 10)
        XCTAssertEqual(entries, [])
        await core.stop()
    }
}
