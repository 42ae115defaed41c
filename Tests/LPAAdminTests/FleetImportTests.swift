import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import LPADomain
import LPAStore
import NIOCore
import TerminalProtocol
import XCTest

/// A CSV generated chunk by chunk as the client sends it: `rows` data rows after the header;
/// `bad(i)` may replace row `i` by a bad one.
struct GeneratedFleet: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let rows: Int
    let bad: @Sendable (Int) -> String?

    struct AsyncIterator: AsyncIteratorProtocol {
        let fleet: GeneratedFleet
        var next = 0

        mutating func next() async -> ByteBuffer? {
            guard next <= fleet.rows else { return nil }
            var text = next == 0 ? "eid,imei,model,tags,smdp_address,profile_type,matching_id\n" : ""
            if next == 0 { next = 1 }
            let end = Swift.min(next + 500, fleet.rows + 1)
            while next < end {
                text += fleet.bad(next) ?? "\(Fleet.eid(next)),\(Fleet.imei(next)),SIM-METER-1,pilot;batch-\(next % 7),smdp.example,meter-data,M-\(next)\n"
                next += 1
            }
            return ByteBuffer(string: text)
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(fleet: self) }
}

final class FleetImportTests: XCTestCase {
    var harness: AdminHarness!

    override func setUp() async throws {
        harness = try await AdminHarness()
    }

    override func tearDown() async throws {
        await harness?.shutdown()
        harness = nil
    }

    func importCSV(_ text: String, role: AdminRole = .operate) async throws -> AdminHTTPClient.Response {
        try await harness.client(role).send(.POST, "/v1/fleet/imports", contentType: "text/csv", body: Array(text.utf8))
    }

    func testImportedDevicesGetTheirTagsAndTargetProfileWhenTheyRegister() async throws {
        let csv = """
            eid,imei,iccid,model,tags,smdp_address,profile_type,matching_id\r
            \(Fleet.eid(1)),\(Fleet.imei(1)),,SIM-METER-1,pilot;north,,,\r
            \(Fleet.eid(2)),,,SIM-METER-1,"south",smdp.fleet.example:8443,fleet-data,MATCH-2\r

            """
        let response = try await importCSV(csv)
        XCTAssertEqual(response.status, 201, response.text)
        let report = try response.decode(FleetImportReport.self)
        XCTAssertEqual(report.fleetImport.state, .applied)
        XCTAssertEqual(report.fleetImport.rowCount, 2)
        XCTAssertEqual(report.errors, [])
        let entry = try await harness.client(.read).send(.GET, "/v1/fleet/entries/\(Fleet.eid(2))")
        XCTAssertEqual((entry.json["target"] as? [String: Any])?["matchingID"] as? String, "MATCH-2")
        let stored = try await harness.client(.read).send(.GET, "/v1/fleet/imports/\(report.fleetImport.id)")
        XCTAssertEqual(stored.json["state"] as? String, "applied")

        // Device 1: its imported tag selects the pilot rule. Device 2: its target profile is the requirement.
        for i in 1...2 {
            _ = try await harness.engine.register(RegistrationRequest(
                terminalID: "T-\(i)", identity: Identity(eid: Fleet.eid(i), imei: Fleet.imei(i), iccid: "", model: "SIM-METER-1", firmware: "1")))
        }
        let first = try await harness.store.device(terminalID: "T-1")
        XCTAssertEqual(first?.tags, ["pilot", "north"])
        XCTAssertEqual(first?.ruleName, "pilots")
        XCTAssertEqual(first?.requirement?.smdpAddress, "smdp.pilot.example")
        let second = try await harness.store.device(terminalID: "T-2")
        XCTAssertEqual(second?.tags, ["south"])
        XCTAssertNil(second?.ruleName)
        XCTAssertEqual(second?.requirement, DataConfigurationRequirement(smdpAddress: "smdp.fleet.example:8443", profileType: "fleet-data", matchingID: "MATCH-2"))
    }

    func testAnyBadRowRejectsTheWholeImportWithAReportPerRow() async throws {
        let good = "\(Fleet.eid(1)),SIM-METER-1,,,"
        let original = Fleet.eid(2)
        let badEID = String(original.dropLast()) + (original.last == "0" ? "1" : "0")
        let csv = [
            "eid,model,tags,smdp_address,profile_type",
            good,
            "\(badEID),SIM-METER-1,,,",
            "\(Fleet.eid(3)),GHOST,,,",
            "\(Fleet.eid(4)),SIM-METER-1,bad tag,,",
            "\(Fleet.eid(5)),SIM-METER-1,,smdp.example,",
            "\(Fleet.eid(6)),SIM-METER-1",
            "\"\(Fleet.eid(7))\"x,SIM-METER-1,,,",
            ",SIM-METER-1,,,",
            "\(Fleet.eid(9)),SIM-METER-1,,bad_host!,p",
        ].joined(separator: "\n")
        let response = try await importCSV(csv)
        XCTAssertEqual(response.status, 422, response.text)
        let report = try response.decode(FleetImportReport.self)
        XCTAssertEqual(report.fleetImport.state, .rejected)
        XCTAssertEqual(report.fleetImport.rowCount, 9)
        XCTAssertEqual(report.errors.map(\.line), [3, 4, 5, 6, 7, 8, 9, 10])
        XCTAssertEqual(report.errors.map(\.code), ["eid.bad_check_digits", "fleet.unknown_model", "fleet.bad_tag", "fleet.incomplete_target",
                                                   "csv.field_count", "csv.malformed", "fleet.missing_value", "fleet.bad_smdp_address"])
        XCTAssertEqual(report.errors.map(\.field), ["eid", "model", "tags", "profile_type", nil, nil, "eid", "smdp_address"])
        let entries = try await harness.store.fleetEntries(after: nil, limit: 10)
        XCTAssertEqual(entries, [], "nothing of a rejected import is applied")

        // Duplicate EIDs are found across the whole file.
        let duplicate = try await importCSV("eid,model\n\(Fleet.eid(1)),SIM-METER-1\n\(Fleet.eid(2)),SIM-METER-1\n\(Fleet.eid(1)),SIM-METER-1\n")
        XCTAssertEqual(duplicate.status, 422)
        let duplicates = try duplicate.decode(FleetImportReport.self)
        XCTAssertEqual(duplicates.errors.map(\.code), ["fleet.duplicate_eid"])
        XCTAssertEqual(duplicates.errors.first?.line, 4)
        let still = try await harness.store.fleetEntries(after: nil, limit: 10)
        XCTAssertEqual(still, [])
    }

    func testHundredThousandRowsStreamWithFlatMemory() async throws {
        let rows = 100_000
        let client = harness.client(.operate)
        // Warm up (code paths, connection pools, SQLite caches) before the baseline.
        _ = try await client.stream(.POST, "/v1/fleet/imports", contentType: "text/csv", body: GeneratedFleet(rows: 2_000, bad: { _ in nil }))
        let baseline = residentBytes()
        let peak = ManagedPeak()
        let sampler = Task {
            while !Task.isCancelled {
                peak.observe(residentBytes())
                try? await Task.sleep(nanoseconds: 20_000_000)
            }
        }
        defer { sampler.cancel() }

        // One bad row near the end: everything is validated and staged, then nothing applies.
        let rejected = try await client.stream(.POST, "/v1/fleet/imports", contentType: "text/csv",
                                               body: GeneratedFleet(rows: rows, bad: { $0 == rows - 10 ? "\(Fleet.eid($0)),,GHOST,,,,\n" : nil }))
        XCTAssertEqual(rejected.status, 422, rejected.text)
        let report = try rejected.decode(FleetImportReport.self)
        XCTAssertEqual(report.fleetImport.rowCount, rows)
        XCTAssertEqual(report.errors.map(\.line), [rows - 10 + 1])
        XCTAssertEqual(report.errors.map(\.code), ["fleet.unknown_model"])
        let unchanged = try await harness.store.fleetEntry(eid: Fleet.eid(50_000))
        XCTAssertNil(unchanged)

        let applied = try await client.stream(.POST, "/v1/fleet/imports", contentType: "text/csv", body: GeneratedFleet(rows: rows, bad: { _ in nil }))
        XCTAssertEqual(applied.status, 201, applied.text)
        sampler.cancel()
        peak.observe(residentBytes())
        let entry = try await harness.store.fleetEntry(eid: Fleet.eid(rows))
        XCTAssertEqual(entry?.tags, ["pilot", "batch-\(rows % 7)"])
        let growth = peak.value - baseline
        print("100,000-row import: RSS baseline \(baseline >> 20) MiB, peak \(peak.value >> 20) MiB, growth \(growth >> 20) MiB")
        XCTAssertLessThan(growth, 50 << 20, "memory must stay flat while streaming")
    }
}

/// The highest value observed, from any task.
final class ManagedPeak: @unchecked Sendable {
    private let lock = NSLock()
    private var highest = 0
    func observe(_ value: Int) { lock.withLock { highest = max(highest, value) } }
    var value: Int { lock.withLock { highest } }
}
