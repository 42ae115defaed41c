import Foundation
import LPACore
import LPADomain
import LPAStore
import NIOConcurrencyHelpers
import TerminalProtocol
import XCTest

/// Several cores on one store: one driver per job (claims and compare-and-set saves), the device's return
/// confirming a job wherever the enable may have taken effect, timeouts applied once, and no second download
/// for an eUICC that holds a profile of the requirement already.
final class FailoverTests: XCTestCase {
    actor RecordingSink: JobEventSink {
        var changes: [(from: ProvisioningJob.State?, to: ProvisioningJob.State)] = []
        func jobChanged(_ job: ProvisioningJob, from: ProvisioningJob.State?) async { changes.append((from, job.state)) }
    }

    private let requirement = DataConfigurationRequirement(smdpAddress: "smdp.test", profileType: "iot")

    func testTheStateMachineAcceptsTheReturnWhereverTheEnableMayHaveTakenEffect() {
        for state in ProvisioningJob.State.allCases where state.mayHaveEnabled {
            XCTAssertTrue(state.canMove(to: .confirmed), "\(state) → confirmed")
        }
        XCTAssertEqual(ProvisioningJob.State.allCases.filter(\.mayHaveEnabled), [.loading, .installed, .enabling, .awaitingReturn])
        XCTAssertFalse(ProvisioningJob.State.fetchingPackage.canMove(to: .confirmed))
        XCTAssertFalse(ProvisioningJob.State.confirmed.canMove(to: .confirmed))
    }

    func testADeviceReturningWhileItsJobIsPausedInLoadingConfirmsIt() async throws {
        let h = try await ProvisioningHarness.make()
        // The package and the enable run on the card but the answer is lost (request 5: channel, read,
        // authenticate, prepare, load with enable).
        h.link.dropRequest = (5, .afterCard)
        let service = h.service(clock: { 1_000 })
        let created = try await service.deviceRegistered(h.record(requirement))
        await service.waitUntilIdle()
        let paused = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(paused?.state, .loading, paused?.errorText ?? "")
        XCTAssertEqual(h.card.enabledICCID, paused?.iccid, "the enable took effect on the card")
        let confirmed = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))
        XCTAssertEqual(confirmed?.state, .confirmed)
        let stored = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(stored?.state, .confirmed)
        await h.close()
    }

    func testARunnerWhoseClaimWasTakenStopsAtItsFirstSave() async throws {
        let h = try await ProvisioningHarness.make()
        let sink = RecordingSink()
        _ = try await h.newJob(id: "job-1")
        let atA = try await XCTUnwrapAsync(try await h.store.claimJob(id: "job-1", coreID: "core-a", now: 100, until: 130))
        // Core A stalls past its claim; core B takes the job over.
        let atB = try await h.store.claimJob(id: "job-1", coreID: "core-b", now: 131, until: 161)
        XCTAssertEqual(atB?.owner, "core-b")
        let runner = DownloadRunner(store: h.store, es9: SimulatorES9(simulator: h.simulator), events: sink)
        let outcome = await runner.drive(atA, device: h.device, link: h.link)
        XCTAssertTrue(outcome.stoppedByConflict)
        let stored = try await h.store.job(id: "job-1")
        XCTAssertEqual(stored?.state, .queued, "the stale runner moved nothing")
        XCTAssertEqual(stored?.owner, "core-b")
        XCTAssertNil(stored?.errorCode, "stopping is not a failure")
        XCTAssertEqual(h.link.batches, 0, "the stale runner sent nothing to the eUICC")
        let changes = await sink.changes
        XCTAssertTrue(changes.isEmpty, "\(changes)")
        // The owner drives it to the end.
        let result = await runner.drive(try XCTUnwrap(atB), device: h.device, link: h.link)
        XCTAssertFalse(result.stoppedByConflict)
        XCTAssertEqual(result.job.state, .awaitingReturn, result.job.errorText ?? "")
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()
    }

    /// A terminal that keeps moving between edges and cores (every move drops its link) keeps its job paused,
    /// however many times: losing the terminal is not a failure of the download.
    func testATerminalLostMoreOftenThanTheAttemptLimitKeepsItsJobPaused() async throws {
        struct UnreachableLink: EUICCLink {
            func openChannel(aid: [UInt8]) async throws -> UInt8 { throw EUICCLinkError("terminal.offline", "terminal moved") }
            func transmit(_ apdus: [[UInt8]], channel: UInt8) async throws -> ApduBatchResult { throw EUICCLinkError("terminal.offline", "terminal moved") }
            func closeChannel(_ channel: UInt8) async throws {}
        }
        let h = try await ProvisioningHarness.make()
        var job = try await h.newJob()
        for _ in 0..<(DownloadRunner.maximumTransientAttempts + 3) {
            job = await h.runner().run(job, device: h.device, link: UnreachableLink())
            XCTAssertTrue(job.state.isActive, "\(job.state): \(job.errorText ?? "")")
        }
        XCTAssertGreaterThan(job.attempt, DownloadRunner.maximumTransientAttempts)
        let stored = try await h.store.job(id: job.id)
        job = await h.runner().run(try XCTUnwrap(stored), device: h.device, link: h.link)
        XCTAssertEqual(job.state, .awaitingReturn, job.errorText ?? "")
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()
    }

    func testARestartedCoreResumesOnlyJobsItOwnsOrWhoseClaimRanOut() async throws {
        let h = try await ProvisioningHarness.make()
        let now = NIOLockedValueBox<Int64>(1_000)
        _ = try await h.newJob(id: "job-1")
        _ = try await h.store.claimJob(id: "job-1", coreID: "core-b", now: 1_000, until: 1_030)
        // Services that run nothing, so what resuming queued stays in view.
        let restarted = h.service(clock: { now.withLockedValue { $0 } }, coreID: "core-a", concurrentJobs: 0)
        try await restarted.resumeActiveJobs()
        var queued = await restarted.queuedCount
        XCTAssertEqual(queued, 0, "core B's live claim keeps core A away")
        // Core B stops renewing; once its claim ran out core A takes the job.
        now.withLockedValue { $0 = 1_031 }
        let later = h.service(clock: { now.withLockedValue { $0 } }, coreID: "core-a", concurrentJobs: 0)
        try await later.resumeActiveJobs()
        queued = await later.queuedCount
        XCTAssertEqual(queued, 1)
        await h.close()
    }

    /// The device came back on the new profile while another core drove the job, and that registration was
    /// handled where the job could not be confirmed then: the next tick confirms it from the device on record
    /// instead of leaving it waiting for the return timeout.
    func testAJobWhoseDeviceIsOnRecordOnTheNewProfileIsConfirmedByTheNextTick() async throws {
        let h = try await ProvisioningHarness.make()
        let now = NIOLockedValueBox<Int64>(1_000)
        let clock: @Sendable () -> Int64 = { now.withLockedValue { $0 } }
        let a = h.service(clock: clock, returnTimeout: 300, coreID: "core-a")
        let created = try await a.deviceRegistered(h.record(requirement))
        await a.waitUntilIdle()
        let waiting = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(waiting?.state, .awaitingReturn, waiting?.errorText ?? "")
        // The return is on record (registered on another core), but core B never heard it.
        try await h.store.upsertDevice(h.record(requirement, iccid: h.card.enabledICCID))
        let b = h.service(clock: clock, returnTimeout: 300, coreID: "core-b")
        now.withLockedValue { $0 += 5 }
        await b.tick()
        let job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .confirmed, "confirmed at once, not after the return timeout")
        await h.close()
    }

    func testTheReturnTimeoutIsAppliedOnceWhenTwoCoresTick() async throws {
        let h = try await ProvisioningHarness.make()
        let sink = RecordingSink()
        let now = NIOLockedValueBox<Int64>(1_000)
        let clock: @Sendable () -> Int64 = { now.withLockedValue { $0 } }
        let a = h.service(clock: clock, returnTimeout: 300, events: sink, coreID: "core-a")
        let b = h.service(clock: clock, returnTimeout: 300, events: sink, coreID: "core-b")
        let created = try await a.deviceRegistered(h.record(requirement))
        await a.waitUntilIdle()
        now.withLockedValue { $0 += 301 }
        async let tickA: Void = a.tick()
        async let tickB: Void = b.tick()
        _ = await (tickA, tickB)
        await a.tick()
        await b.tick()
        let job = try await h.store.job(id: try XCTUnwrap(created?.id))
        XCTAssertEqual(job?.state, .returnTimedOut)
        let timeouts = await sink.changes.filter { $0.to == .returnTimedOut }
        XCTAssertEqual(timeouts.count, 1, "one transition, one event")
        await h.close()
    }

    func testNoSecondDownloadForAnEUICCThatHoldsAProfileOfTheRequirement() async throws {
        // The enable is refused (the answer says so), so the profile stays installed but not enabled and the
        // job fails; a later job of the same requirement must enable that profile, not download another one.
        let h = try await ProvisioningHarness.make()
        let now = NIOLockedValueBox<Int64>(1_000)
        let service = h.service(clock: { now.withLockedValue { $0 } })
        // Refused with the load and again on its own.
        h.link.forcedStatusWord = ([0x81, 0xE2, 0x91, 0x00, 0x14, 0xBF, 0x31], 0x6A80)
        h.link.forcedStatusWordTimes = 2
        let first = try await service.deviceRegistered(h.record(requirement))
        await service.waitUntilIdle()
        let failed = try await h.store.job(id: try XCTUnwrap(first?.id))
        XCTAssertEqual(h.card.profiles.count, 1)
        XCTAssertEqual(failed?.state, .failed, failed?.errorText ?? "")
        h.link.forcedStatusWord = nil
        now.withLockedValue { $0 += 3_600 }
        let second = try await service.deviceRegistered(h.record(requirement))
        XCTAssertNotNil(second)
        await service.waitUntilIdle()
        let finished = try await h.store.job(id: try XCTUnwrap(second?.id))
        XCTAssertEqual(finished?.state, .awaitingReturn, finished?.errorText ?? "")
        XCTAssertEqual(finished?.iccid, failed?.iccid, "the profile already on the eUICC is the one enabled")
        XCTAssertEqual(h.card.profiles.count, 1, "no second profile of the same type")
        // Back on it: confirmed, and nothing else starts.
        let confirmed = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))
        XCTAssertEqual(confirmed?.state, .confirmed)
        await h.close()
    }

    func testADeviceRunningAProfileFromAnEarlierTimedOutJobGetsNoNewDownload() async throws {
        let h = try await ProvisioningHarness.make()
        let now = NIOLockedValueBox<Int64>(1_000)
        let service = h.service(clock: { now.withLockedValue { $0 } }, returnTimeout: 300)
        let first = try await service.deviceRegistered(h.record(requirement))
        await service.waitUntilIdle()
        now.withLockedValue { $0 += 301 }
        await service.tick()
        let timedOut = try await h.store.job(id: try XCTUnwrap(first?.id))
        XCTAssertEqual(timedOut?.state, .returnTimedOut)
        now.withLockedValue { $0 += 3_600 }
        let next = try await service.deviceRegistered(h.record(requirement, iccid: h.card.enabledICCID))
        XCTAssertNil(next, "the eUICC runs a profile of the requirement already")
        await service.waitUntilIdle()
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()
    }
}

private func XCTUnwrapAsync<T>(_ value: @autoclosure () async throws -> T?, file: StaticString = #filePath, line: UInt = #line) async throws -> T {
    let v = try await value()
    return try XCTUnwrap(v, file: file, line: line)
}
