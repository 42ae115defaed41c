import LPADomain
import XCTest
@testable import LPAStore

/// Retention of per-event history and abandoned imports, on every backend.
extension StoreBehaviours {
    func historyIsTrimmedToTheRetentionPolicy() async throws {
        let store = try await migratedStore()
        let now: Int64 = 1_800_000_000
        // A reconnect storm: 300 attempts of one terminal, 3 of another, 2 ancient ones.
        for i in 0..<300 { try await store.recordRegistrationAttempt(Sample.attempt("T-STORM", at: now - 300 + Int64(i))) }
        for i in 0..<3 { try await store.recordRegistrationAttempt(Sample.attempt("T-CALM", at: now - 10 + Int64(i))) }
        for i in 0..<2 { try await store.recordRegistrationAttempt(Sample.attempt("T-OLD", at: now - 90 * 86_400 + Int64(i))) }
        for i in 0..<40 {
            try await store.savePresence(Sample.presence("T-STORM"), change: Sample.change("T-STORM", at: now - 100 + Int64(i), to: i.isMultiple(of: 2) ? .online : .offline))
        }
        var old = ProvisioningJob(id: "job-old", terminalID: "T-STORM", eid: "89049032000000000000000000000012", smdpAddress: "smdp.test",
                                  profileType: "iot", matchingID: nil, createdAt: now - 400 * 86_400, updatedAt: now - 400 * 86_400)
        old.state = .failed
        _ = try await store.createJob(old)
        let active = ProvisioningJob(id: "job-active", terminalID: "T-CALM", eid: "89049032000000000000000000000013", smdpAddress: "smdp.test",
                                     profileType: "iot", matchingID: nil, createdAt: now - 400 * 86_400, updatedAt: now - 400 * 86_400)
        _ = try await store.createJob(active)

        let policy = RetentionPolicy(registrationAttemptsPerTerminal: 20, registrationAttemptMaxAgeSeconds: 30 * 86_400,
                                     presenceChangesPerTerminal: 10, presenceChangeMaxAgeSeconds: 30 * 86_400,
                                     finishedJobMaxAgeSeconds: 365 * 86_400, finishedWebhookDeliveryMaxAgeSeconds: 30 * 86_400)
        let trim = try await store.trimHistory(policy, now: now)
        XCTAssertEqual(trim.registrationAttempts, 280 + 2)
        XCTAssertEqual(trim.presenceChanges, 30)
        XCTAssertEqual(trim.jobs, 1)
        let storm = try await store.registrationAttempts(terminalID: "T-STORM", limit: 1000)
        XCTAssertEqual(storm.count, 20)
        XCTAssertEqual(storm.first?.at, now - 1, "the newest are kept")
        let calm = try await store.registrationAttempts(terminalID: "T-CALM", limit: 1000)
        XCTAssertEqual(calm.count, 3)
        let ancient = try await store.registrationAttempts(terminalID: "T-OLD", limit: 1000)
        XCTAssertEqual(ancient.count, 0)
        let changes = try await store.presenceChanges(terminalID: "T-STORM", limit: 1000)
        XCTAssertEqual(changes.count, 10)
        let gone = try await store.job(id: "job-old")
        XCTAssertNil(gone)
        let kept = try await store.job(id: "job-active")
        XCTAssertNotNil(kept, "active jobs are never removed")
        // Nothing more to trim; zero limits keep everything.
        let again = try await store.trimHistory(policy, now: now)
        XCTAssertEqual(again.total, 0)
        let none = try await store.trimHistory(RetentionPolicy(registrationAttemptsPerTerminal: 0, registrationAttemptMaxAgeSeconds: 0,
                                                               presenceChangesPerTerminal: 0, presenceChangeMaxAgeSeconds: 0,
                                                               finishedJobMaxAgeSeconds: 0, finishedWebhookDeliveryMaxAgeSeconds: 0), now: now + 10_000_000)
        XCTAssertEqual(none.total, 0)
    }

    func abandonedImportsAreRejectedAndTheirRowsRemoved() async throws {
        let store = try await migratedStore()
        let entry = FleetEntry(eid: "EID-1", imei: nil, iccid: nil, model: "SIM-METER-1", tags: [], target: nil, importID: "", importedAt: 0)
        // An import interrupted after staging (the process died), and one begun just now by another core.
        try await store.beginFleetImport(FleetImport(id: "imp-crashed", state: .staging, createdAt: 100))
        try await store.stageFleetRows(importID: "imp-crashed", (2...50).map { line in
            var e = entry
            e.eid = "EID-\(line)"
            return StagedFleetRow(line: line, entry: e)
        })
        try await store.beginFleetImport(FleetImport(id: "imp-running", state: .staging, createdAt: 5_000))
        try await store.stageFleetRows(importID: "imp-running", [StagedFleetRow(line: 2, entry: entry)])

        let abandoned = try await store.abandonFleetImports(createdBefore: 4_000, at: 6_000)
        XCTAssertEqual(abandoned, ["imp-crashed"])
        let crashed = try await store.fleetImport(id: "imp-crashed")
        XCTAssertEqual(crashed?.state, .rejected)
        XCTAssertEqual(crashed?.finishedAt, 6_000)
        let rows = try await store.rawInteger("SELECT count(*) FROM fleet_import_rows WHERE import_id = 'imp-crashed'")
        XCTAssertEqual(rows, 0)
        let running = try await store.fleetImport(id: "imp-running")
        XCTAssertEqual(running?.state, .staging)
        let runningRows = try await store.rawInteger("SELECT count(*) FROM fleet_import_rows WHERE import_id = 'imp-running'")
        XCTAssertEqual(runningRows, 1)
        let entries = try await store.fleetEntries(after: nil, limit: 10)
        XCTAssertEqual(entries, [])
    }
}
