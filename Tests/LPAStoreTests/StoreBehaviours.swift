import LPADomain
import XCTest
@testable import LPAStore

/// The store's behaviour, written once and run against every backend by ``SQLiteStoreTests`` and
/// ``PostgresStoreTests``.
struct StoreBehaviours {
    let harness: any StoreHarness

    func migratedStore() async throws -> SQLStore {
        let store = try harness.openStore()
        try await store.migrate()
        return store
    }

    // MARK: Migrations

    func migratingTwiceIsANoOp() async throws {
        let store = try harness.openStore()
        let before = try await store.schemaVersion()
        XCTAssertEqual(before, 0)
        try await store.migrate()
        let first = try await store.schemaVersion()
        XCTAssertEqual(first, Migrations.latestVersion)
        try await store.migrate()
        let second = try await store.schemaVersion()
        XCTAssertEqual(second, Migrations.latestVersion)
        try await harness.openStore().migrate()
        let recorded = try await store.rawInteger("SELECT count(*) FROM schema_migrations")
        XCTAssertEqual(recorded, Migrations.latestVersion)
        XCTAssertEqual(Migrations.sqlite.map(\.version), Migrations.postgres.map(\.version))
    }

    func concurrentMigrationsApplyOnce() async throws {
        let stores = try (0..<4).map { _ in try harness.openStore() }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for store in stores { group.addTask { try await store.migrate() } }
            try await group.waitForAll()
        }
        for store in stores {
            let version = try await store.schemaVersion()
            XCTAssertEqual(version, Migrations.latestVersion)
        }
        let recorded = try await stores[0].rawInteger("SELECT count(*) FROM schema_migrations")
        XCTAssertEqual(recorded, Migrations.latestVersion)
    }

    func laterMigrationsApplyOnlyWhatIsPending() async throws {
        let store = try await migratedStore()
        let next = Migration(version: Migrations.latestVersion + 1,
                             statements: ["CREATE TABLE migration_probe (id BIGINT PRIMARY KEY)", "INSERT INTO migration_probe (id) VALUES (7)"])
        let newer = SQLStore(executor: store.executor, migrations: harness.backend.migrations + [next])
        try await newer.migrate()
        try await newer.migrate()
        let version = try await newer.schemaVersion()
        XCTAssertEqual(version, next.version)
        let probes = try await newer.rawInteger("SELECT count(*) FROM migration_probe")
        XCTAssertEqual(probes, 1)
        // An older build refuses a database a newer build has migrated.
        let error = await assertStoreError(.migration) { try await store.migrate() }
        XCTAssertTrue(error?.detail.contains("newer") ?? false, "\(String(describing: error))")
    }

    // MARK: Libraries

    func deviceModelsUpsertReplaceAndDelete() async throws {
        let store = try await migratedStore()
        let initial = try await store.deviceModels()
        XCTAssertEqual(initial, [])
        try await store.upsertDeviceModel(Sample.model("SIM-TRACKER-2"))
        try await store.upsertDeviceModel(Sample.model("SIM-METER-1"))
        var models = try await store.deviceModels()
        XCTAssertEqual(models, [Sample.model("SIM-METER-1"), Sample.model("SIM-TRACKER-2")])

        var changed = Sample.model("SIM-METER-1", name: "Meter v2", interval: 300)
        changed.fields.removeLast()
        changed.match = [:]
        try await store.upsertDeviceModel(changed)
        models = try await store.deviceModels()
        XCTAssertEqual(models, [changed, Sample.model("SIM-TRACKER-2")])

        let deleted = try await store.deleteDeviceModel(code: "SIM-METER-1")
        XCTAssertTrue(deleted)
        let deletedAgain = try await store.deleteDeviceModel(code: "SIM-METER-1")
        XCTAssertFalse(deletedAgain)
        models = try await store.deviceModels()
        XCTAssertEqual(models, [Sample.model("SIM-TRACKER-2")])
        await assertStoreError(.invalidInput) { try await store.upsertDeviceModel(Sample.model("")) }
        await assertStoreError(.invalidInput) { try await store.upsertDeviceModel(Sample.model("M", interval: 0)) }
    }

    func rulesAreReplacedAtomicallyAndOrderedByPriorityThenName() async throws {
        let store = try await migratedStore()
        try await store.replaceConfigurationRules([
            Sample.rule("beta", priority: 20), Sample.rule("alpha", priority: 20),
            Sample.rule("zulu", priority: 10, enabled: false), Sample.rule("Alpha", priority: 20),
        ])
        var rules = try await store.configurationRules()
        XCTAssertEqual(rules.map(\.name), ["zulu", "Alpha", "alpha", "beta"])
        XCTAssertEqual(rules.first, Sample.rule("zulu", priority: 10, enabled: false))

        try await store.replaceConfigurationRules([Sample.rule("only", priority: 1)])
        rules = try await store.configurationRules()
        XCTAssertEqual(rules, [Sample.rule("only", priority: 1)])

        let error = await assertStoreError(.invalidInput) {
            try await store.replaceConfigurationRules([Sample.rule("dup", priority: 1), Sample.rule("dup", priority: 2)])
        }
        XCTAssertTrue(error?.detail.contains("dup") ?? false)
        await assertStoreError(.invalidInput) { try await store.replaceConfigurationRules([Sample.rule("", priority: 1)]) }
        rules = try await store.configurationRules()
        XCTAssertEqual(rules, [Sample.rule("only", priority: 1)], "a refused replacement leaves the old set")

        let many = (0..<300).map { Sample.rule(String(format: "rule-%03d", $0), priority: 300 - $0) }
        try await store.replaceConfigurationRules(many)
        rules = try await store.configurationRules()
        XCTAssertEqual(rules, many.reversed())

        try await store.replaceConfigurationRules([])
        rules = try await store.configurationRules()
        XCTAssertEqual(rules, [])
    }

    func countSettingTablesUpsert() async throws {
        let store = try await migratedStore()
        try await store.upsertCountSettingTable(Sample.countTable("SIM-METER-1"))
        try await store.upsertCountSettingTable(Sample.countTable("SIM-CAMERA-0"))
        var tables = try await store.countSettingTables()
        XCTAssertEqual(tables, [Sample.countTable("SIM-CAMERA-0"), Sample.countTable("SIM-METER-1")])

        try await store.upsertCountSettingTable(Sample.countTable("SIM-METER-1", interval: 15))
        tables = try await store.countSettingTables()
        XCTAssertEqual(tables, [Sample.countTable("SIM-CAMERA-0"), Sample.countTable("SIM-METER-1", interval: 15)])

        let overlapping = CountSettingTable(model: "SIM-METER-1", bands: [
            CountBand(minimumCount: 0, maximumCount: 10, heartbeatIntervalSeconds: 60, historyLimit: 10),
            CountBand(minimumCount: 5, maximumCount: nil, heartbeatIntervalSeconds: 60, historyLimit: 10),
        ])
        let error = await assertStoreError(.invalidInput) { try await store.upsertCountSettingTable(overlapping) }
        XCTAssertTrue(error?.detail.contains("overlap") ?? false, "\(String(describing: error))")
        tables = try await store.countSettingTables()
        XCTAssertEqual(tables.last, Sample.countTable("SIM-METER-1", interval: 15))
    }

    // MARK: Devices

    func devicesUpsertGetCountAndSettings() async throws {
        let store = try await migratedStore()
        let missing = try await store.device(terminalID: "T-1")
        XCTAssertNil(missing)
        var count = try await store.deviceCount()
        XCTAssertEqual(count, 0)

        var first = Sample.device("T-1")
        first.requirement = nil
        first.ruleName = nil
        try await store.upsertDevice(first)
        var stored = try await store.device(terminalID: "T-1")
        XCTAssertEqual(stored, first)

        let replaced = Sample.device("T-1", model: "SIM-TRACKER-2", at: 1_800_000_000)
        try await store.upsertDevice(replaced)
        try await store.upsertDevice(Sample.device("T-2"))
        stored = try await store.device(terminalID: "T-1")
        XCTAssertEqual(stored, replaced)
        count = try await store.deviceCount()
        XCTAssertEqual(count, 2)

        try await store.updateDeviceSettings(terminalID: "T-1", heartbeatIntervalSeconds: 900, historyLimit: 12)
        var expected = replaced
        expected.heartbeatIntervalSeconds = 900
        expected.historyLimit = 12
        stored = try await store.device(terminalID: "T-1")
        XCTAssertEqual(stored, expected)
        let other = try await store.device(terminalID: "T-2")
        XCTAssertEqual(other, Sample.device("T-2"), "only the named device changes")

        let error = await assertStoreError(.invalidInput) {
            try await store.updateDeviceSettings(terminalID: "T-404", heartbeatIntervalSeconds: 60, historyLimit: 10)
        }
        XCTAssertTrue(error?.detail.contains("T-404") ?? false)
        await assertStoreError(.invalidInput) {
            try await store.updateDeviceSettings(terminalID: "T-1", heartbeatIntervalSeconds: 0, historyLimit: 10)
        }
    }

    func registrationAttemptsNewestFirstWithLimit() async throws {
        let store = try await migratedStore()
        for at in [30, 10, 50, 20, 40] as [Int64] {
            try await store.recordRegistrationAttempt(Sample.attempt("T-1", at: at))
        }
        // Same second: the later record counts as newer.
        try await store.recordRegistrationAttempt(Sample.attempt("T-1", at: 50, outcome: "EID_INVALID"))
        try await store.recordRegistrationAttempt(Sample.attempt("T-2", at: 99))

        let newest = try await store.registrationAttempts(terminalID: "T-1", limit: 3)
        XCTAssertEqual(newest, [Sample.attempt("T-1", at: 50, outcome: "EID_INVALID"), Sample.attempt("T-1", at: 50), Sample.attempt("T-1", at: 40)])
        let all = try await store.registrationAttempts(terminalID: "T-1", limit: 100)
        XCTAssertEqual(all.map(\.at), [50, 50, 40, 30, 20, 10])
        let none = try await store.registrationAttempts(terminalID: "T-1", limit: 0)
        XCTAssertEqual(none, [])
        let other = try await store.registrationAttempts(terminalID: "T-2", limit: 10)
        XCTAssertEqual(other, [Sample.attempt("T-2", at: 99)])
    }

    // MARK: Heartbeat history

    func heartbeatWindowsAppendTrimAndHistory() async throws {
        let store = try await migratedStore()
        try await store.appendHeartbeatWindows([Sample.window("T-1", 0), Sample.window("T-1", 60), Sample.window("T-2", 0)])
        try await store.appendHeartbeatWindows([
            Sample.window("T-1", 120), Sample.window("T-1", 180, count: 1),
            Sample.window("T-1", 60, count: 9),  // replaces the stored window
            Sample.window("T-1", 180, count: 2),  // the last of a batch wins
        ])
        try await store.appendHeartbeatWindows([])

        var history = try await store.heartbeatHistory(terminalID: "T-1", limit: 10)
        XCTAssertEqual(history, [Sample.window("T-1", 180, count: 2), Sample.window("T-1", 120),
                                 Sample.window("T-1", 60, count: 9), Sample.window("T-1", 0)])
        history = try await store.heartbeatHistory(terminalID: "T-1", limit: 2)
        XCTAssertEqual(history.map(\.windowStart), [180, 120])

        var removed = try await store.trimHeartbeatHistory(terminalID: "T-1", keep: 2)
        XCTAssertEqual(removed, 2)
        history = try await store.heartbeatHistory(terminalID: "T-1", limit: 10)
        XCTAssertEqual(history.map(\.windowStart), [180, 120])
        removed = try await store.trimHeartbeatHistory(terminalID: "T-1", keep: 2)
        XCTAssertEqual(removed, 0)
        removed = try await store.trimHeartbeatHistory(terminalID: "T-1", keep: 0)
        XCTAssertEqual(removed, 2)
        history = try await store.heartbeatHistory(terminalID: "T-1", limit: 10)
        XCTAssertEqual(history, [])
        let untouched = try await store.heartbeatHistory(terminalID: "T-2", limit: 10)
        XCTAssertEqual(untouched, [Sample.window("T-2", 0)])

        let fleet = (0..<500).map { Sample.window("F-\($0 % 50)", Int64($0 / 50) * 60) }
        try await store.appendHeartbeatWindows(fleet)
        let one = try await store.heartbeatHistory(terminalID: "F-7", limit: 100)
        XCTAssertEqual(one.map(\.windowStart), stride(from: 540, through: 0, by: -60).map { Int64($0) })
    }

    // MARK: Online dictionary

    // MARK: Provisioning jobs and notifications

    func jobsHaveOneActivePerTerminalAndGuardedMoves() async throws {
        let store = try await migratedStore()
        var job = ProvisioningJob(id: "job-1", terminalID: "T-1", eid: "89049032000000000000000000000012", smdpAddress: "smdp.test",
                                  profileType: "iot", matchingID: "M-1", createdAt: 10, updatedAt: 10)
        let created = try await store.createJob(job)
        XCTAssertTrue(created)
        let second = ProvisioningJob(id: "job-2", terminalID: "T-1", eid: job.eid, smdpAddress: "smdp.test", profileType: "iot",
                                     matchingID: nil, createdAt: 11, updatedAt: 11)
        let duplicate = try await store.createJob(second)
        XCTAssertFalse(duplicate, "a terminal has at most one active job")
        job.state = .readingEUICC
        job.attempt = 1
        job.roundTrips = 2
        job.transactionID = "A1B2"
        try await store.saveJob(job, from: .queued)
        var read = try await store.job(id: "job-1")
        XCTAssertEqual(read, job)
        // A move the state machine does not allow is refused as bad input.
        var skipping = job
        skipping.state = .awaitingReturn
        await assertStoreError(.invalidInput) { try await store.saveJob(skipping, from: .readingEUICC) }
        // A save from a state the job is no longer in (another core moved it first) is a conflict.
        var stale = job
        stale.state = .queued
        await assertStoreError(.conflict) { try await store.saveJob(stale, from: .queued) }
        job.state = .failed
        job.finishedAt = 20
        job.errorCode = "es9.failed"
        try await store.saveJob(job, from: .readingEUICC)
        read = try await store.job(id: "job-1")
        XCTAssertEqual(read?.state, .failed)
        // Failing again from the same read is refused: a terminal transition happens once.
        await assertStoreError(.conflict) { try await store.saveJob(job, from: .readingEUICC) }
        let active = try await store.activeJobs()
        XCTAssertEqual(active, [])
        let again = try await store.createJob(second)
        XCTAssertTrue(again, "a finished job frees the terminal")
        let history = try await store.jobs(terminalID: "T-1", limit: 10)
        XCTAssertEqual(history.map(\.id), ["job-2", "job-1"])
        let counts = try await store.jobCounts()
        XCTAssertEqual(counts, [.failed: 1, .queued: 1])
        // Finished jobs by state and end time (the admin API's failure report).
        let failedSince = try await store.finishedJobs(states: [.failed, .returnTimedOut], finishedSince: 20, limit: 10)
        XCTAssertEqual(failedSince.map(\.id), ["job-1"])
        let tooLate = try await store.finishedJobs(states: [.failed], finishedSince: 21, limit: 10)
        XCTAssertEqual(tooLate, [])
        let otherState = try await store.finishedJobs(states: [.confirmed, .cancelled], finishedSince: 0, limit: 10)
        XCTAssertEqual(otherState, [])
        await assertStoreError(.conflict) {
            var unknown = job
            unknown.id = "job-unknown"
            try await store.saveJob(unknown, from: .failed)
        }
    }

    /// Two cores and one job: the claim admits one driver at a time, and a runner whose read went stale
    /// (the claim ran out and the other core took the job) is stopped at its first save.
    func jobClaimsAndCompareAndSetSavesAdmitOneDriver() async throws {
        let store = try await migratedStore()
        let job = ProvisioningJob(id: "job-c", terminalID: "T-9", eid: "89049032000000000000000000000012", smdpAddress: "smdp.test",
                                  profileType: "iot", matchingID: "M-9", createdAt: 100, updatedAt: 100)
        let created = try await store.createJob(job)
        XCTAssertTrue(created)
        guard var atA = try await store.claimJob(id: "job-c", coreID: "core-a", now: 100, until: 130) else {
            return XCTFail("an unclaimed job is claimable")
        }
        XCTAssertEqual(atA.owner, "core-a")
        XCTAssertEqual(atA.claimUntil, 130)
        let whileHeld = try await store.claimJob(id: "job-c", coreID: "core-b", now: 120, until: 150)
        XCTAssertNil(whileHeld, "a live claim keeps other cores out")
        let renewed = try await store.renewJobClaim(id: "job-c", coreID: "core-a", until: 140)
        XCTAssertTrue(renewed)
        let stillHeld = try await store.claimJob(id: "job-c", coreID: "core-b", now: 135, until: 165)
        XCTAssertNil(stillHeld, "a renewed claim lasts")
        atA.state = .readingEUICC
        try await store.saveJob(atA, from: .queued)
        // A's claim runs out; B takes the job over from where it was saved.
        guard var atB = try await store.claimJob(id: "job-c", coreID: "core-b", now: 141, until: 171) else {
            return XCTFail("an expired claim is claimable")
        }
        XCTAssertEqual(atB.owner, "core-b")
        XCTAssertEqual(atB.state, .readingEUICC)
        let renewedByA = try await store.renewJobClaim(id: "job-c", coreID: "core-a", until: 200)
        XCTAssertFalse(renewedByA, "a core that lost the claim cannot renew it")
        // Both runners read readingEUICC; A's next save is refused (the owner it read is no longer the owner).
        atA.state = .authenticating
        await assertStoreError(.conflict) { try await store.saveJob(atA, from: .readingEUICC) }
        atB.state = .authenticating
        atB.transactionID = "BB"
        try await store.saveJob(atB, from: .readingEUICC)
        // Even a save that keeps the state is refused to the old owner.
        await assertStoreError(.conflict) { try await store.saveJob(atA, from: .authenticating) }
        let stored = try await store.job(id: "job-c")
        XCTAssertEqual(stored?.transactionID, "BB")
        XCTAssertEqual(stored?.owner, "core-b")
        // Concurrent terminal moves from the same read: exactly one lands.
        var timedOut = atB
        timedOut.state = .failed
        var alsoFailed = atB
        alsoFailed.state = .cancelled
        @Sendable func lands(_ job: ProvisioningJob) async -> Bool {
            do { try await store.saveJob(job, from: .authenticating); return true } catch { return false }
        }
        async let first = lands(timedOut)
        async let other = lands(alsoFailed)
        let landed = [await first, await other].filter { $0 }.count
        XCTAssertEqual(landed, 1)
        let finished = try await store.job(id: "job-c")
        XCTAssertNil(finished?.claimUntil, "a finished job holds no claim")
        let claimFinished = try await store.claimJob(id: "job-c", coreID: "core-a", now: 500, until: 530)
        XCTAssertNil(claimFinished, "finished jobs are not claimed")
        // Release: any core may claim at once.
        let next = ProvisioningJob(id: "job-d", terminalID: "T-9", eid: job.eid, smdpAddress: "smdp.test", profileType: "iot",
                                   matchingID: nil, createdAt: 600, updatedAt: 600)
        _ = try await store.createJob(next)
        _ = try await store.claimJob(id: "job-d", coreID: "core-a", now: 600, until: 630)
        try await store.releaseJobClaim(id: "job-d", coreID: "core-a")
        let taken = try await store.claimJob(id: "job-d", coreID: "core-b", now: 601, until: 631)
        XCTAssertEqual(taken?.owner, "core-b")
    }

    /// A miss count lands only where no core heard the terminal since; the offline change is recorded once.
    func presenceMissesNeverOverrideANewerHearingAndGoOfflineOnce() async throws {
        let store = try await migratedStore()
        try await store.savePresence(Sample.presence("T-1", lastSeen: 100), change: Sample.change("T-1", at: 100))
        // The terminal moved: core B heard it at 200. Core A, which last heard it at 100, counts misses.
        try await store.savePresence(Sample.presence("T-1", lastSeen: 200), change: nil)
        var written = try await store.savePresenceMisses([Sample.presence("T-1", .offline, lastSeen: 100, misses: 3)],
                                                         changes: [Sample.change("T-1", at: 400, from: .online, to: .offline, reason: "missed")])
        XCTAssertEqual(written, [])
        var stored = try await store.presence(terminalID: "T-1")
        XCTAssertEqual(stored, Sample.presence("T-1", lastSeen: 200))
        var history = try await store.presenceChanges(terminalID: "T-1", limit: 10)
        XCTAssertEqual(history.map(\.to), [.online])
        // A miss count below the limit from a stale core does not touch the row either.
        written = try await store.savePresenceMisses([Sample.presence("T-1", lastSeen: 100, misses: 1)], changes: [])
        XCTAssertEqual(written, [])
        // Silent for real: two cores that both last heard it at 200 count it out at once; one change.
        let offline = Sample.presence("T-1", .offline, lastSeen: 200, misses: 3)
        let change = Sample.change("T-1", at: 500, from: .online, to: .offline, reason: "missed")
        async let a = store.savePresenceMisses([offline], changes: [change])
        async let b = store.savePresenceMisses([offline], changes: [change])
        let both = try await [a, b]
        XCTAssertEqual(both.filter { $0 == ["T-1"] }.count, 1, "\(both)")
        stored = try await store.presence(terminalID: "T-1")
        XCTAssertEqual(stored?.state, .offline)
        history = try await store.presenceChanges(terminalID: "T-1", limit: 10)
        XCTAssertEqual(history.map(\.to), [.offline, .online])
    }

    func notificationsAreKeptUntilAcknowledgedAndRemoved() async throws {
        let store = try await migratedStore()
        let eid = "89049032000000000000000000000012"
        func record(_ seq: Int, at: Int64) -> NotificationRecord {
            NotificationRecord(eid: eid, seqNumber: seq, terminalID: "T-1", event: "install", notificationAddress: "smdp.test",
                               iccid: "8949000000000000012", payload: "AAEC", jobID: "job-1", nextAttemptAt: at, createdAt: at)
        }
        try await store.addNotifications([record(2, at: 50), record(1, at: 40)])
        // Adding the same sequence numbers again keeps what is stored.
        var changed = record(1, at: 999)
        changed.payload = "changed"
        try await store.addNotifications([changed])
        var due = try await store.dueNotifications(now: 45, limit: 10)
        XCTAssertEqual(due.map(\.seqNumber), [1])
        XCTAssertEqual(due.first?.payload, "AAEC")
        due = try await store.dueNotifications(now: 100, limit: 10)
        XCTAssertEqual(due.map(\.seqNumber), [1, 2])
        var acknowledged = due[0]
        acknowledged.acknowledgedAt = 101
        acknowledged.attempts = 1
        try await store.saveNotification(acknowledged)
        due = try await store.dueNotifications(now: 200, limit: 10)
        XCTAssertEqual(due.map(\.seqNumber), [2])
        var toRemove = try await store.notificationsToRemove(eid: eid)
        XCTAssertEqual(toRemove.map(\.seqNumber), [1])
        acknowledged.removedFromEUICC = true
        try await store.saveNotification(acknowledged)
        toRemove = try await store.notificationsToRemove(eid: eid)
        XCTAssertEqual(toRemove, [])
        let all = try await store.notifications(eid: eid)
        XCTAssertEqual(all.map(\.seqNumber), [1, 2])
        XCTAssertEqual(all[0], acknowledged)
    }

    func presenceSavedWithChangesAndListed() async throws {
        let store = try await migratedStore()
        let online = Sample.presence("T-1", .online, lastSeen: 100)
        let cameOnline = Sample.change("T-1", at: 100, from: nil, to: .online, reason: "registered")
        try await store.savePresence(online, change: cameOnline)
        var record = try await store.presence(terminalID: "T-1")
        XCTAssertEqual(record, online)
        var changes = try await store.presenceChanges(terminalID: "T-1", limit: 10)
        XCTAssertEqual(changes, [cameOnline])

        let missed = Sample.presence("T-1", .online, lastSeen: 100, misses: 2)
        try await store.savePresence(missed, change: nil)
        let offline = Sample.presence("T-1", .offline, lastSeen: 100, misses: 3)
        let wentOffline = Sample.change("T-1", at: 400, from: .online, to: .offline, reason: "3 heartbeats missed")
        try await store.savePresence(offline, change: wentOffline)
        record = try await store.presence(terminalID: "T-1")
        XCTAssertEqual(record, offline)
        changes = try await store.presenceChanges(terminalID: "T-1", limit: 10)
        XCTAssertEqual(changes, [wentOffline, cameOnline])
        changes = try await store.presenceChanges(terminalID: "T-1", limit: 1)
        XCTAssertEqual(changes, [wentOffline])

        await assertStoreError(.invalidInput) {
            try await store.savePresence(Sample.presence("T-1"), change: Sample.change("T-2", at: 1))
        }

        let ids = (0..<300).map { String(format: "B-%04d", $0) }
        try await store.savePresence(ids.map { Sample.presence($0, .online, lastSeen: 500) },
                                     changes: ids.map { Sample.change($0, at: 500) })
        try await store.savePresence(ids.prefix(10).map { Sample.presence($0, .offline, lastSeen: 500, misses: 4) }, changes: [])
        let all = try await store.allPresence()
        XCTAssertEqual(all.count, 301)
        XCTAssertEqual(all.map(\.terminalID), (ids + ["T-1"]).sorted())
        XCTAssertEqual(all.first, Sample.presence("B-0000", .offline, lastSeen: 500, misses: 4))
        XCTAssertEqual(all[10], Sample.presence("B-0010", .online, lastSeen: 500))
        let bulkChanges = try await store.presenceChanges(terminalID: "B-0299", limit: 10)
        XCTAssertEqual(bulkChanges, [Sample.change("B-0299", at: 500)])
        let nobody = try await store.presence(terminalID: "T-404")
        XCTAssertNil(nobody)
    }

    // MARK: Bad input and bad rows

    func badInputIsRefusedWithoutWriting() async throws {
        let store = try await migratedStore()
        await assertStoreError(.invalidInput) { try await store.upsertDevice(Sample.device("")) }
        await assertStoreError(.invalidInput) { try await store.device(terminalID: "") }
        await assertStoreError(.invalidInput) { try await store.updateDeviceSettings(terminalID: "", heartbeatIntervalSeconds: 1, historyLimit: 1) }
        await assertStoreError(.invalidInput) { try await store.recordRegistrationAttempt(Sample.attempt("", at: 1)) }
        await assertStoreError(.invalidInput) { try await store.registrationAttempts(terminalID: "", limit: 1) }
        await assertStoreError(.invalidInput) { try await store.registrationAttempts(terminalID: "T-1", limit: -1) }
        await assertStoreError(.invalidInput) { try await store.appendHeartbeatWindows([Sample.window("T-1", 0), Sample.window("", 0)]) }
        await assertStoreError(.invalidInput) { try await store.trimHeartbeatHistory(terminalID: "", keep: 1) }
        await assertStoreError(.invalidInput) { try await store.trimHeartbeatHistory(terminalID: "T-1", keep: -1) }
        await assertStoreError(.invalidInput) { try await store.heartbeatHistory(terminalID: "", limit: 1) }
        await assertStoreError(.invalidInput) { try await store.savePresence(Sample.presence(""), change: nil) }
        await assertStoreError(.invalidInput) { try await store.savePresence([Sample.presence("T-1")], changes: [Sample.change("", at: 1)]) }
        await assertStoreError(.invalidInput) { try await store.presence(terminalID: "") }
        await assertStoreError(.invalidInput) { try await store.presenceChanges(terminalID: "", limit: 1) }
        await assertStoreError(.invalidInput) { try await store.upsertDevice(Sample.device("T-\u{0}-1")) }
        await assertStoreError(.invalidInput) { try await store.upsertDevice(Sample.device(String(repeating: "x", count: 513))) }
        var attempt = Sample.attempt("T-1", at: 1)
        attempt.detail = "nul \u{0} inside"
        await assertStoreError(.invalidInput) { try await store.recordRegistrationAttempt(attempt) }

        let devices = try await store.deviceCount()
        XCTAssertEqual(devices, 0)
        let windows = try await store.heartbeatHistory(terminalID: "T-1", limit: 10)
        XCTAssertEqual(windows, [], "a batch with one bad window writes none")
        let presence = try await store.allPresence()
        XCTAssertEqual(presence, [])
    }

    func corruptRowsAreReportedAndTheStoreKeepsWorking() async throws {
        let store = try await migratedStore()
        try await store.upsertDeviceModel(Sample.model("GOOD"))
        try await store.raw("""
            INSERT INTO device_models (code, name, fields, match_patterns, heartbeat_interval_seconds, history_limit)
            VALUES ('BROKEN', 'x', 'not json', '{}', 60, 100)
            """)
        var error = await assertStoreError(.corrupt) { try await store.deviceModels() }
        XCTAssertEqual(error?.operation, "deviceModels")
        for word in ["device_models", "BROKEN", "fields"] {
            XCTAssertTrue(error?.detail.contains(word) ?? false, "'\(word)' missing from \(String(describing: error))")
        }

        try await store.upsertDevice(Sample.device("T-OK"))
        try await store.raw("""
            INSERT INTO devices (terminal_id, model, fields, tags, rule_name, requirement, heartbeat_interval_seconds,
                                 history_limit, first_seen, last_registered)
            VALUES ('T-BAD', 'M', '{}', '[]', NULL, '{"smdpAddress": 7}', 60, 100, 1, 1)
            """)
        error = await assertStoreError(.corrupt) { try await store.device(terminalID: "T-BAD") }
        for word in ["devices", "T-BAD", "requirement"] {
            XCTAssertTrue(error?.detail.contains(word) ?? false, "'\(word)' missing from \(String(describing: error))")
        }

        try await store.raw("""
            INSERT INTO configuration_rules (name, priority, enabled, match_conditions, requirement)
            VALUES ('r-bad', 1, \(harness.backend == .sqlite ? "1" : "TRUE"), '{"models": "not a list"}', '{}')
            """)
        error = await assertStoreError(.corrupt) { try await store.configurationRules() }
        XCTAssertTrue(error?.detail.contains("r-bad") ?? false, "\(String(describing: error))")

        // The store still works, and removing the bad rows heals it.
        let good = try await store.device(terminalID: "T-OK")
        XCTAssertEqual(good, Sample.device("T-OK"))
        let deleted = try await store.deleteDeviceModel(code: "BROKEN")
        XCTAssertTrue(deleted)
        let models = try await store.deviceModels()
        XCTAssertEqual(models, [Sample.model("GOOD")])
        try await store.replaceConfigurationRules([Sample.rule("fixed", priority: 1)])
        let rules = try await store.configurationRules()
        XCTAssertEqual(rules.map(\.name), ["fixed"])
    }

    // MARK: Concurrency and atomicity

    func concurrentWritesAllLand() async throws {
        let store = try await migratedStore()
        let second = try await migratedStore()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                let target = task.isMultiple(of: 2) ? store : second
                group.addTask {
                    for n in 0..<200 {
                        let id = "C-\(task)-\(n)"
                        if n.isMultiple(of: 2) {
                            try await target.upsertDevice(Sample.device(id))
                        } else {
                            try await target.recordRegistrationAttempt(Sample.attempt("C-\(task)", at: Int64(n)))
                        }
                    }
                }
            }
            try await group.waitForAll()
        }
        let devices = try await store.deviceCount()
        XCTAssertEqual(devices, 8 * 100)
        for task in 0..<8 {
            let attempts = try await second.registrationAttempts(terminalID: "C-\(task)", limit: 1_000)
            XCTAssertEqual(attempts.count, 100)
            XCTAssertEqual(attempts.first?.at, 199)
        }
        let sample = try await second.device(terminalID: "C-5-198")
        XCTAssertEqual(sample, Sample.device("C-5-198"))
    }

    func concurrentRuleReplacementsNeverMix() async throws {
        let cores = [try await migratedStore(), try await migratedStore()]
        let sets = (0..<4).map { set in (0..<30).map { Sample.rule("set\(set)-rule\($0)", priority: $0) } }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for (index, rules) in sets.enumerated() {
                let core = cores[index % 2]
                group.addTask {
                    for _ in 0..<5 { try await core.replaceConfigurationRules(rules) }
                }
            }
            try await group.waitForAll()
        }
        let final = try await cores[0].configurationRules()
        XCTAssertTrue(sets.contains(final), "the rule set is one whole replacement, not a mix: \(final.map(\.name))")
    }

    func concurrentBatchesOnSharedRowsAllLand() async throws {
        let cores = [try await migratedStore(), try await migratedStore()]
        let terminals = (0..<40).map { "S-\($0)" }
        try await withThrowingTaskGroup(of: Void.self) { group in
            for task in 0..<8 {
                let core = cores[task % 2]
                group.addTask {
                    for round in 0..<10 {
                        let start = Int64(round * 8 + task) * 60
                        try await core.appendHeartbeatWindows(terminals.shuffled().map { Sample.window($0, start, count: task) })
                        try await core.savePresence(terminals.shuffled().map { Sample.presence($0, lastSeen: start) },
                                                    changes: [Sample.change(terminals[task], at: start)])
                    }
                }
            }
            try await group.waitForAll()
        }
        for terminal in terminals {
            let history = try await cores[1].heartbeatHistory(terminalID: terminal, limit: 1_000)
            XCTAssertEqual(history.count, 80, terminal)
        }
        let presence = try await cores[0].allPresence()
        XCTAssertEqual(presence.count, terminals.count)
        let changes = try await cores[0].presenceChanges(terminalID: terminals[3], limit: 100)
        XCTAssertEqual(changes.count, 10)
    }

    func failedTransactionsLeaveNoPartialState() async throws {
        let store = try await migratedStore()
        try await store.replaceConfigurationRules([Sample.rule("kept", priority: 1)])
        try await store.savePresence(Sample.presence("T-0"), change: nil)
        switch harness.backend {
        case .sqlite:
            try await store.raw("""
                CREATE TRIGGER refuse_boom_change BEFORE INSERT ON presence_changes WHEN NEW.reason = 'boom'
                BEGIN SELECT RAISE(ABORT, 'boom refused'); END
                """)
            try await store.raw("""
                CREATE TRIGGER refuse_boom_rule BEFORE INSERT ON configuration_rules WHEN NEW.name = 'boom'
                BEGIN SELECT RAISE(ABORT, 'boom refused'); END
                """)
        case .postgres:
            try await store.raw("""
                CREATE FUNCTION refuse_boom() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN
                    IF to_jsonb(NEW) ->> (CASE TG_TABLE_NAME WHEN 'presence_changes' THEN 'reason' ELSE 'name' END) = 'boom' THEN
                        RAISE EXCEPTION 'boom refused';
                    END IF;
                    RETURN NEW;
                END $$
                """)
            try await store.raw("CREATE TRIGGER refuse_boom_change BEFORE INSERT ON presence_changes FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
            try await store.raw("CREATE TRIGGER refuse_boom_rule BEFORE INSERT ON configuration_rules FOR EACH ROW EXECUTE FUNCTION refuse_boom()")
        }

        let records = (1...200).map { Sample.presence("T-\($0)", .offline, misses: 5) } + [Sample.presence("T-0", .offline, misses: 9)]
        let changes = (1...200).map { Sample.change("T-\($0)", at: 10, to: .offline) } + [Sample.change("T-0", at: 10, reason: "boom")]
        let error = await assertStoreError(.query) { try await store.savePresence(records, changes: changes) }
        XCTAssertTrue(error?.detail.contains("boom refused") ?? false, "\(String(describing: error))")
        let presence = try await store.allPresence()
        XCTAssertEqual(presence, [Sample.presence("T-0")])
        let changed = try await store.presenceChanges(terminalID: "T-1", limit: 10)
        XCTAssertEqual(changed, [])

        await assertStoreError(.query) {
            try await store.replaceConfigurationRules([Sample.rule("new", priority: 1), Sample.rule("boom", priority: 2)])
        }
        let rules = try await store.configurationRules()
        XCTAssertEqual(rules, [Sample.rule("kept", priority: 1)], "the delete before the failed insert was rolled back")

        let statements = [SQLStatement("INSERT INTO count_setting_tables (model, bands) VALUES ('M', '[]')"),
                          SQLStatement("INSERT INTO no_such_table (x) VALUES (1)")]
        await assertStoreError(.query) { try await store.executor.write("test", exclusive: [], statements) }
        let tables = try await store.countSettingTables()
        XCTAssertEqual(tables, [])

        // The failures left the connections usable.
        try await store.savePresence(Sample.presence("T-1"), change: Sample.change("T-1", at: 20))
        let saved = try await store.presence(terminalID: "T-1")
        XCTAssertEqual(saved, Sample.presence("T-1"))
    }

    func closedStoreRefusesWork() async throws {
        let store = try await migratedStore()
        try await store.close()
        try await store.close()
        await assertStoreError(.connection) { try await store.deviceCount() }
        await assertStoreError(.connection) { try await store.upsertDevice(Sample.device("T-1")) }
    }
}
