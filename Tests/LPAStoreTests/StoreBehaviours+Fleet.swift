import LPADomain
import XCTest
@testable import LPAStore

/// Device listings and fleet imports, on every backend.
extension StoreBehaviours {
    func devicesAreListedWithFiltersAndCursor() async throws {
        let store = try await migratedStore()
        for i in 1...7 {
            var device = Sample.device(String(format: "T-%02d", i), model: i <= 4 ? "SIM-METER-1" : "SIM-TRACKER-1")
            device.tags = i.isMultiple(of: 2) ? ["even", "north_1"] : ["odd", "Even"]
            device.ruleName = i == 3 ? "special" : "default"
            try await store.upsertDevice(device)
        }
        try await store.savePresence([Sample.presence("T-01"), Sample.presence("T-02", .offline), Sample.presence("T-05", lastSeen: 777)], changes: [])
        let job = ProvisioningJob(id: "job-T-06", terminalID: "T-06", eid: "89049032000000000000000000000012", smdpAddress: "smdp.test",
                                  profileType: "iot", matchingID: nil, createdAt: 10, updatedAt: 10)
        _ = try await store.createJob(job)

        var page = try await store.devices(DeviceQuery(limit: 3))
        XCTAssertEqual(page.devices.map(\.device.terminalID), ["T-01", "T-02", "T-03"])
        XCTAssertEqual(page.next, "T-03")
        XCTAssertEqual(page.devices[0].presence, .online)
        XCTAssertEqual(page.devices[1].presence, .offline)
        XCTAssertNil(page.devices[2].presence)
        page = try await store.devices(DeviceQuery(after: page.next, limit: 3))
        XCTAssertEqual(page.devices.map(\.device.terminalID), ["T-04", "T-05", "T-06"])
        XCTAssertEqual(page.devices[1].lastSeen, 777)
        XCTAssertEqual(page.devices[2].latestJobState, .queued)
        page = try await store.devices(DeviceQuery(after: page.next, limit: 3))
        XCTAssertEqual(page.devices.map(\.device.terminalID), ["T-07"])
        XCTAssertNil(page.next)

        let models = try await store.devices(DeviceQuery(model: "SIM-TRACKER-1"))
        XCTAssertEqual(models.devices.map(\.device.terminalID), ["T-05", "T-06", "T-07"])
        let online = try await store.devices(DeviceQuery(presence: .online))
        XCTAssertEqual(online.devices.map(\.device.terminalID), ["T-01", "T-05"])
        let offline = try await store.devices(DeviceQuery(presence: .offline))
        XCTAssertEqual(offline.devices.map(\.device.terminalID), ["T-02", "T-03", "T-04", "T-06", "T-07"])
        // Exact and case-sensitive; LIKE wildcards in a tag are literal.
        let even = try await store.devices(DeviceQuery(tag: "even"))
        XCTAssertEqual(even.devices.map(\.device.terminalID), ["T-02", "T-04", "T-06"])
        let wildcard = try await store.devices(DeviceQuery(tag: "north%"))
        XCTAssertEqual(wildcard.devices, [])
        let underscore = try await store.devices(DeviceQuery(tag: "north_1"))
        XCTAssertEqual(underscore.devices.count, 3)
        let rule = try await store.devices(DeviceQuery(rule: "special"))
        XCTAssertEqual(rule.devices.map(\.device.terminalID), ["T-03"])
        let queued = try await store.devices(DeviceQuery(model: "SIM-TRACKER-1", jobState: .queued))
        XCTAssertEqual(queued.devices.map(\.device.terminalID), ["T-06"])

        await assertStoreError(.invalidInput) { try await store.devices(DeviceQuery(limit: 0)) }
        await assertStoreError(.invalidInput) { try await store.devices(DeviceQuery(after: "", limit: 1)) }
    }

    func fleetImportsApplyAllRowsAtOnceOrNone() async throws {
        let store = try await migratedStore()
        func entry(_ eid: String, tags: [String] = ["pilot"]) -> FleetEntry {
            FleetEntry(eid: eid, imei: "356938035643809", iccid: nil, model: "SIM-METER-1", tags: tags,
                       target: DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot", matchingID: "M-\(eid.suffix(2))"),
                       importID: "", importedAt: 0)
        }
        try await store.beginFleetImport(FleetImport(id: "imp-1", state: .staging, createdAt: 100))
        await assertStoreError(.invalidInput) { try await store.beginFleetImport(FleetImport(id: "imp-1", state: .staging, createdAt: 100)) }
        try await store.stageFleetRows(importID: "imp-1", (2...300).map { StagedFleetRow(line: $0, entry: entry("EID-\(1000 + $0)")) })
        // Staged rows are not entries yet.
        let before = try await store.fleetEntry(eid: "EID-1002")
        XCTAssertNil(before)
        let none = try await store.fleetImportDuplicates(importID: "imp-1", limit: 10)
        XCTAssertEqual(none, [])
        let applied = try await store.finishFleetImport(id: "imp-1", apply: true, rowCount: 299, errorCount: 0, at: 200)
        XCTAssertEqual(applied.state, .applied)
        XCTAssertEqual(applied.rowCount, 299)
        let read = try await store.fleetEntry(eid: "EID-1002")
        XCTAssertEqual(read, FleetEntry(eid: "EID-1002", imei: "356938035643809", model: "SIM-METER-1", tags: ["pilot"],
                                        target: entry("EID-1002").target, importID: "imp-1", importedAt: 200))
        let first = try await store.fleetEntries(after: nil, limit: 2)
        XCTAssertEqual(first.map(\.eid), ["EID-1002", "EID-1003"])
        let next = try await store.fleetEntries(after: "EID-1003", limit: 1)
        XCTAssertEqual(next.map(\.eid), ["EID-1004"])
        await assertStoreError(.invalidInput, "finished imports take no more rows") {
            try await store.stageFleetRows(importID: "imp-1", [StagedFleetRow(line: 2, entry: entry("EID-9"))])
        }
        await assertStoreError(.invalidInput) { try await store.finishFleetImport(id: "imp-1", apply: true, rowCount: 1, errorCount: 0, at: 300) }

        // A second import with a duplicate EID is rejected: nothing changes.
        try await store.beginFleetImport(FleetImport(id: "imp-2", state: .staging, createdAt: 300))
        try await store.stageFleetRows(importID: "imp-2", [
            StagedFleetRow(line: 2, entry: entry("EID-1002", tags: ["moved"])),
            StagedFleetRow(line: 3, entry: entry("EID-7")),
            StagedFleetRow(line: 4, entry: entry("EID-1002")),
            StagedFleetRow(line: 5, entry: entry("EID-1002")),
        ])
        let duplicates = try await store.fleetImportDuplicates(importID: "imp-2", limit: 10)
        XCTAssertEqual(duplicates, [FleetImportDuplicate(eid: "EID-1002", firstLine: 2, line: 4),
                                    FleetImportDuplicate(eid: "EID-1002", firstLine: 2, line: 5)])
        let rejected = try await store.finishFleetImport(id: "imp-2", apply: false, rowCount: 4, errorCount: 2, at: 400)
        XCTAssertEqual(rejected.state, .rejected)
        let unchanged = try await store.fleetEntry(eid: "EID-1002")
        XCTAssertEqual(unchanged?.tags, ["pilot"])
        let absent = try await store.fleetEntry(eid: "EID-7")
        XCTAssertNil(absent)
        let leftovers = try await store.rawInteger("SELECT count(*) FROM fleet_import_rows")
        XCTAssertEqual(leftovers, 0)

        // A later import replaces entries with the same EID.
        try await store.beginFleetImport(FleetImport(id: "imp-3", state: .staging, createdAt: 500))
        try await store.stageFleetRows(importID: "imp-3", [StagedFleetRow(line: 2, entry: entry("EID-1002", tags: ["moved"]))])
        try await store.finishFleetImport(id: "imp-3", apply: true, rowCount: 1, errorCount: 0, at: 600)
        let replaced = try await store.fleetEntry(eid: "EID-1002")
        XCTAssertEqual(replaced?.tags, ["moved"])
        XCTAssertEqual(replaced?.importID, "imp-3")
        let count = try await store.rawInteger("SELECT count(*) FROM fleet_entries")
        XCTAssertEqual(count, 299)
    }

    func countSettingTablesCanBeDeleted() async throws {
        let store = try await migratedStore()
        try await store.upsertCountSettingTable(Sample.countTable("SIM-METER-1"))
        let removed = try await store.deleteCountSettingTable(model: "SIM-METER-1")
        XCTAssertTrue(removed)
        let again = try await store.deleteCountSettingTable(model: "SIM-METER-1")
        XCTAssertFalse(again)
        let tables = try await store.countSettingTables()
        XCTAssertEqual(tables, [])
    }
}
