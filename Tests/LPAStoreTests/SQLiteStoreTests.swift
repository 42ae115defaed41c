import Foundation
import XCTest
@testable import LPAStore

/// The store behaviours on SQLite (a temporary file per test), plus what only SQLite has.
final class SQLiteStoreTests: StoreTestCase {
    override func makeHarness() throws -> any StoreHarness { try SQLiteHarness() }

    func testMigratingTwiceIsANoOp() async throws { try await behaviour { try await $0.migratingTwiceIsANoOp() } }
    func testConcurrentMigrationsApplyOnce() async throws { try await behaviour { try await $0.concurrentMigrationsApplyOnce() } }
    func testLaterMigrationsApplyOnlyWhatIsPending() async throws { try await behaviour { try await $0.laterMigrationsApplyOnlyWhatIsPending() } }
    func testDeviceModelsUpsertReplaceAndDelete() async throws { try await behaviour { try await $0.deviceModelsUpsertReplaceAndDelete() } }
    func testRulesAreReplacedAtomicallyAndOrderedByPriorityThenName() async throws { try await behaviour { try await $0.rulesAreReplacedAtomicallyAndOrderedByPriorityThenName() } }
    func testCountSettingTablesUpsert() async throws { try await behaviour { try await $0.countSettingTablesUpsert() } }
    func testDevicesUpsertGetCountAndSettings() async throws { try await behaviour { try await $0.devicesUpsertGetCountAndSettings() } }
    func testRegistrationAttemptsNewestFirstWithLimit() async throws { try await behaviour { try await $0.registrationAttemptsNewestFirstWithLimit() } }
    func testHeartbeatWindowsAppendTrimAndHistory() async throws { try await behaviour { try await $0.heartbeatWindowsAppendTrimAndHistory() } }
    func testJobsHaveOneActivePerTerminalAndGuardedMoves() async throws { try await behaviour { try await $0.jobsHaveOneActivePerTerminalAndGuardedMoves() } }
    func testJobClaimsAndCompareAndSetSavesAdmitOneDriver() async throws { try await behaviour { try await $0.jobClaimsAndCompareAndSetSavesAdmitOneDriver() } }
    func testPresenceMissesNeverOverrideANewerHearingAndGoOfflineOnce() async throws { try await behaviour { try await $0.presenceMissesNeverOverrideANewerHearingAndGoOfflineOnce() } }
    func testNotificationsAreKeptUntilAcknowledgedAndRemoved() async throws { try await behaviour { try await $0.notificationsAreKeptUntilAcknowledgedAndRemoved() } }
    func testPresenceSavedWithChangesAndListed() async throws { try await behaviour { try await $0.presenceSavedWithChangesAndListed() } }
    func testBadInputIsRefusedWithoutWriting() async throws { try await behaviour { try await $0.badInputIsRefusedWithoutWriting() } }
    func testCorruptRowsAreReportedAndTheStoreKeepsWorking() async throws { try await behaviour { try await $0.corruptRowsAreReportedAndTheStoreKeepsWorking() } }
    func testConcurrentWritesAllLand() async throws { try await behaviour { try await $0.concurrentWritesAllLand() } }
    func testConcurrentRuleReplacementsNeverMix() async throws { try await behaviour { try await $0.concurrentRuleReplacementsNeverMix() } }
    func testConcurrentBatchesOnSharedRowsAllLand() async throws { try await behaviour { try await $0.concurrentBatchesOnSharedRowsAllLand() } }
    func testFailedTransactionsLeaveNoPartialState() async throws { try await behaviour { try await $0.failedTransactionsLeaveNoPartialState() } }
    func testClosedStoreRefusesWork() async throws { try await behaviour { try await $0.closedStoreRefusesWork() } }
    func testDevicesAreListedWithFiltersAndCursor() async throws { try await behaviour { try await $0.devicesAreListedWithFiltersAndCursor() } }
    func testFleetImportsApplyAllRowsAtOnceOrNone() async throws { try await behaviour { try await $0.fleetImportsApplyAllRowsAtOnceOrNone() } }
    func testHistoryIsTrimmedToTheRetentionPolicy() async throws { try await behaviour { try await $0.historyIsTrimmedToTheRetentionPolicy() } }
    func testAbandonedImportsAreRejectedAndTheirRowsRemoved() async throws { try await behaviour { try await $0.abandonedImportsAreRejectedAndTheirRowsRemoved() } }
    func testCountSettingTablesCanBeDeleted() async throws { try await behaviour { try await $0.countSettingTablesCanBeDeleted() } }
    func testWebhookDeliveriesAreClaimedOnceAndFinishedOnce() async throws { try await behaviour { try await $0.webhookDeliveriesAreClaimedOnceAndFinishedOnce() } }
    func testConcurrentWebhookClaimsNeverShareADelivery() async throws { try await behaviour { try await $0.concurrentWebhookClaimsNeverShareADelivery() } }

    // MARK: SQLite only

    func testInMemoryStoreWorksAndIsPrivate() async throws {
        let store = try SQLiteStore.inMemory()
        let other = try SQLiteStore.inMemory()
        XCTAssertTrue(store.isInMemory)
        try await store.migrate()
        try await other.migrate()
        try await store.upsertDevice(Sample.device("T-1"))
        let count = try await store.deviceCount()
        let otherCount = try await other.deviceCount()
        XCTAssertEqual(count, 1)
        XCTAssertEqual(otherCount, 0)
        try await store.close()
        try await other.close()
    }

    func testFileStoreIsWALWithForeignKeysAndSurvivesReopening() async throws {
        let harness = try SQLiteHarness()
        let first = try harness.openStore()
        try await first.migrate()
        try await first.upsertDevice(Sample.device("T-1"))
        let journal = try await first.executor.read("test", SQLQuery(table: "pragma", "PRAGMA journal_mode") { try $0.text(0, "journal_mode") })
        XCTAssertEqual(journal, ["wal"])
        let foreignKeys = try await first.rawInteger("PRAGMA foreign_keys")
        XCTAssertEqual(foreignKeys, 1)
        try await first.close()

        let reopened = try harness.openStore()
        try await reopened.migrate()
        let device = try await reopened.device(terminalID: "T-1")
        XCTAssertEqual(device, Sample.device("T-1"))
        try await harness.tearDown()
    }

    func testOpeningSomethingThatIsNotADatabaseFailsClearly() async throws {
        let harness = try SQLiteHarness()
        defer { try? FileManager.default.removeItem(at: harness.directory) }
        try Data(repeating: 0x41, count: 4096).write(to: URL(fileURLWithPath: harness.path))
        XCTAssertThrowsError(try SQLiteStore(path: harness.path)) { error in
            XCTAssertEqual((error as? StoreError)?.kind, .connection, "\(error)")
            XCTAssertTrue("\(error)".contains(harness.path), "\(error)")
        }
        let missingDirectory = harness.directory.appendingPathComponent("no/such/dir/store.db").path
        XCTAssertThrowsError(try SQLiteStore(path: missingDirectory)) { error in
            XCTAssertEqual((error as? StoreError)?.kind, .connection, "\(error)")
        }
    }

    func testNumberedPlaceholdersAreRewrittenForSQLite() {
        XCTAssertEqual(SQLiteConnection.numberedParameters("SELECT $1, $12 FROM t WHERE a = $2"), "SELECT ?1, ?12 FROM t WHERE a = ?2")
        XCTAssertEqual(SQLiteConnection.numberedParameters("SELECT '$$x$' || $1"), "SELECT '$$x$' || ?1")
        XCTAssertEqual(SQLiteConnection.numberedParameters("no parameters"), "no parameters")
        XCTAssertEqual(SQLiteConnection.numberedParameters("trailing $"), "trailing $")
    }
    func testCampaignsAreStoredWithTargetsAndProgress() async throws { try await behaviour { try await $0.campaignsAreStoredWithTargetsAndProgress() } }
    func testCampaignClaimsRespectPhaseDueTimeHolderAndExpiry() async throws { try await behaviour { try await $0.campaignClaimsRespectPhaseDueTimeHolderAndExpiry() } }
    func testConcurrentCampaignClaimsNeverOverlap() async throws { try await behaviour { try await $0.concurrentCampaignClaimsNeverOverlap() } }
    func testTerminalSessionEpochsGrowAndStaleSessionsAreRefused() async throws { try await behaviour { try await $0.terminalSessionEpochsGrowAndStaleSessionsAreRefused() } }
    func testCampaignClaimsLeaveTerminalsHeldByAnotherCore() async throws { try await behaviour { try await $0.campaignClaimsLeaveTerminalsHeldByAnotherCore() } }
}
