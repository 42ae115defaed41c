import XCTest
@testable import LPAStore

/// The store behaviours on PostgreSQL (a fresh schema per test in the database named by
/// `LPA_TEST_POSTGRES_URL`; skipped when it is unset).
final class PostgresStoreTests: StoreTestCase {
    override func makeHarness() throws -> any StoreHarness { try PostgresHarness() }

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
    func testCampaignsAreStoredWithTargetsAndProgress() async throws { try await behaviour { try await $0.campaignsAreStoredWithTargetsAndProgress() } }
    func testCampaignClaimsRespectPhaseDueTimeHolderAndExpiry() async throws { try await behaviour { try await $0.campaignClaimsRespectPhaseDueTimeHolderAndExpiry() } }
    func testConcurrentCampaignClaimsNeverOverlap() async throws { try await behaviour { try await $0.concurrentCampaignClaimsNeverOverlap() } }
    func testTerminalSessionEpochsGrowAndStaleSessionsAreRefused() async throws { try await behaviour { try await $0.terminalSessionEpochsGrowAndStaleSessionsAreRefused() } }
    func testCampaignClaimsLeaveTerminalsHeldByAnotherCore() async throws { try await behaviour { try await $0.campaignClaimsLeaveTerminalsHeldByAnotherCore() } }
    func testWebhookDeliveriesAreClaimedOnceAndFinishedOnce() async throws { try await behaviour { try await $0.webhookDeliveriesAreClaimedOnceAndFinishedOnce() } }
    func testConcurrentWebhookClaimsNeverShareADelivery() async throws { try await behaviour { try await $0.concurrentWebhookClaimsNeverShareADelivery() } }
}
