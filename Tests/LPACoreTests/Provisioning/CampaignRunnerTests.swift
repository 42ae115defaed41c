import Foundation
import LPACore
import LPADomain
import LPAStore
import Logging
import NIOConcurrencyHelpers
import XCTest

/// The campaign state machine on a controllable clock, over real downloads (virtual eUICCs and the SM-DP+
/// simulator's engine, no sockets).
final class CampaignRunnerTests: XCTestCase {
    private func progress(_ fleet: CampaignFleet, _ id: String = "c1") async throws -> CampaignProgress {
        try await fleet.store.campaignProgress(id: id)
    }

    private func state(_ fleet: CampaignFleet, _ id: String = "c1") async throws -> Campaign? {
        try await fleet.store.campaign(id: id)
    }

    func testCanarySuccessGatesTheRest() async throws {
        let fleet = try await CampaignFleet.make(count: 8)
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        let created = try await runner.create(fleet.campaign(canaryShare: 0.25), start: true)
        XCTAssertEqual(created.state, .running)

        await runner.tick()
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.running, phase: .canary), 2)
        XCTAssertEqual(p.count(.pending, phase: .main), 6, "the rest waits for the canary")
        try await fleet.settle(service)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded, phase: .canary), 2)
        XCTAssertEqual(p.count(.running, phase: .main), 6, "every canary succeeded: the rest starts")
        let passed = try await state(fleet)?.canaryPassed
        XCTAssertEqual(passed, true)
        try await fleet.settle(service)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 8)
        let final = try await state(fleet)
        XCTAssertEqual(final?.state, .completed)
        XCTAssertEqual(fleet.installedCounts.values.sorted(), Array(repeating: 1, count: 8))
    }

    func testCanaryFailurePausesUntilResumed() async throws {
        let fleet = try await CampaignFleet.make(count: 4, failing: [0])
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        _ = try await runner.create(fleet.campaign(canaryShare: 0.25), start: true)
        await runner.tick()
        try await fleet.settle(service)
        await runner.tick()
        var campaign = try await state(fleet)
        XCTAssertEqual(campaign?.state, .paused)
        XCTAssertEqual(campaign?.pauseReason, .canaryFailed)
        await runner.tick()
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.failed, phase: .canary), 1)
        XCTAssertEqual(p.count(.pending, phase: .main), 3, "nothing else starts while paused")

        campaign = try await runner.resume(id: "c1")
        XCTAssertEqual(campaign?.canaryPassed, true)
        await runner.tick()
        try await fleet.settle(service)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 3)
        XCTAssertEqual(p.count(.failed), 1)
        let final = try await state(fleet)
        XCTAssertEqual(final?.state, .completed)
    }

    func testFailureThresholdPausesAndResumeCountsAfresh() async throws {
        let fleet = try await CampaignFleet.make(count: 6, failing: [0, 1, 2])
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        _ = try await runner.create(fleet.campaign(startsPerMinute: 3, failureThreshold: 0.5, minimumFinished: 3), start: true)
        await runner.tick()
        try await fleet.settle(service)
        await runner.tick()
        var campaign = try await state(fleet)
        XCTAssertEqual(campaign?.state, .paused)
        XCTAssertEqual(campaign?.pauseReason, .failureThreshold)
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.failed), 3)
        XCTAssertEqual(p.count(.pending), 3)

        campaign = try await runner.resume(id: "c1")
        XCTAssertEqual(campaign?.thresholdBaseFailed, 3)
        fleet.clock.advance(60)
        await runner.tick()
        try await fleet.settle(service)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 3)
        campaign = try await state(fleet)
        XCTAssertEqual(campaign?.state, .completed)
    }

    func testPauseAndCancelByOperator() async throws {
        let fleet = try await CampaignFleet.make(count: 5)
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        _ = try await runner.create(fleet.campaign(startsPerMinute: 2), start: true)
        await runner.tick()
        let paused = try await runner.pause(id: "c1")
        XCTAssertEqual(paused.pauseReason, .operatorRequest)
        do {
            _ = try await runner.pause(id: "c1")
            XCTFail("pausing twice must be refused")
        } catch let error as CampaignError {
            XCTAssertEqual(error.code, "CAMPAIGN_WRONG_STATE")
        }
        fleet.clock.advance(60)
        try await fleet.settle(service)
        await runner.tick()
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 2, "downloads running at the pause finish and are recorded")
        XCTAssertEqual(p.count(.pending), 3)

        let canceled = try await runner.cancel(id: "c1")
        XCTAssertEqual(canceled.state, .canceled)
        fleet.clock.advance(60)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.skipped), 3)
        let jobs = try await fleet.store.jobCounts().values.reduce(0, +)
        XCTAssertEqual(jobs, 2, "nothing starts after cancel")
        do {
            _ = try await runner.resume(id: "c1")
            XCTFail("a canceled campaign cannot resume")
        } catch let error as CampaignError {
            XCTAssertEqual(error.code, "CAMPAIGN_WRONG_STATE")
        }
    }

    func testEveryStateChangeIsReportedToTheEventSink() async throws {
        final class Recorder: CampaignEventSink, @unchecked Sendable {
            let changes = NIOLockedValueBox<[String]>([])
            func campaignChanged(_ campaign: Campaign, from: Campaign.State?) async {
                changes.withLockedValue { $0.append("\(from?.rawValue ?? "-")→\(campaign.state.rawValue)") }
            }
        }
        let fleet = try await CampaignFleet.make(count: 2)
        addTeardownBlock { await fleet.close() }
        let recorder = Recorder()
        let runner = fleet.runner(fleet.service(), events: recorder)
        _ = try await runner.create(fleet.campaign(), start: true)
        _ = try await runner.pause(id: "c1")
        _ = try await runner.resume(id: "c1")
        _ = try await runner.cancel(id: "c1")
        XCTAssertEqual(recorder.changes.withLockedValue { $0 }, ["-→running", "running→paused", "paused→running", "running→canceled"])
    }

    func testRetriesWithBackoffUpToMaxAttempts() async throws {
        let fleet = try await CampaignFleet.make(count: 2, failing: [0, 1])
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        _ = try await runner.create(fleet.campaign(maxAttempts: 2, retryBackoffSeconds: 60), start: true)
        await runner.tick()
        try await fleet.settle(service)
        await runner.tick()
        var targets = try await fleet.store.campaignTargets(campaignID: "c1", state: nil, after: nil, limit: 10)
        XCTAssertEqual(targets.map(\.state), [.pending, .pending])
        XCTAssertEqual(targets.map(\.attempts), [1, 1])
        XCTAssertEqual(targets.map(\.nextAttemptAt), [fleet.clock.value + 60, fleet.clock.value + 60])
        XCTAssertNotNil(targets[0].lastError)

        fleet.clock.advance(30)
        await runner.tick()
        let early = try await progress(fleet)
        XCTAssertEqual(early.count(.running), 0, "nothing retries before the backoff")

        try await fleet.releaseOrder(for: "T-01")
        fleet.clock.advance(30)
        await runner.tick()
        try await fleet.settle(service)
        await runner.tick()
        targets = try await fleet.store.campaignTargets(campaignID: "c1", state: nil, after: nil, limit: 10)
        XCTAssertEqual(targets.map(\.state), [.failed, .succeeded])
        XCTAssertEqual(targets.map(\.attempts), [2, 2])
        let campaign = try await state(fleet)
        XCTAssertEqual(campaign?.state, .completed)
    }

    func testRateLimitAndTimeWindow() async throws {
        let fleet = try await CampaignFleet.make(count: 5)
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        // The clock starts at 06:00 UTC; the window is 07:00–08:00.
        _ = try await runner.create(fleet.campaign(startsPerMinute: 2, window: .init(startMinute: 420, endMinute: 480)), start: true)
        await runner.tick()
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.pending), 5, "outside the window nothing starts")

        fleet.clock.advance(3600)
        await runner.tick()
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.running), 2, "two starts per minute")
        fleet.clock.advance(30)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.running), 2, "still the same minute")
        fleet.clock.advance(30)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.running), 4)

        fleet.clock.advance(3600)  // 09:00: the window closed
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.pending), 1)
        XCTAssertEqual(p.count(.claimed), 0)
    }

    func testConcurrencyPerSMDPHoldsBackTheRestUntilDownloadsFinish() async throws {
        let fleet = try await CampaignFleet.make(count: 5)
        addTeardownBlock { await fleet.close() }
        let service = fleet.service()
        let runner = fleet.runner(service)
        _ = try await runner.create(fleet.campaign(concurrencyPerSMDP: 2), start: true)
        await runner.tick()
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.running), 2)
        XCTAssertEqual(p.count(.pending), 3, "claimed beyond the SM-DP+ limit and given back")
        XCTAssertEqual(p.count(.claimed), 0)
        try await fleet.settle(service)
        await runner.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 2)
        XCTAssertEqual(p.count(.running), 2, "the finished downloads made room for two more")
    }

    func testSelectionNarrowsByEveryCriterion() async throws {
        let fleet = try await CampaignFleet.make(count: 4)
        addTeardownBlock { await fleet.close() }
        let runner = fleet.runner(fleet.service())
        var campaign = fleet.campaign()
        campaign.selection = .init(tags: ["pilot"], terminalIDs: ["T-01", "T-03", "T-09"])
        _ = try await runner.create(campaign, start: true)
        let targets = try await fleet.store.campaignTargets(campaignID: "c1", state: nil, after: nil, limit: 10)
        XCTAssertEqual(targets.map(\.terminalID), ["T-01", "T-03"])

        var draft = fleet.campaign("c2")
        draft.selection = .init(tags: ["nobody"])
        _ = try await runner.create(draft, start: false)
        let started = try await runner.start(id: "c2")
        XCTAssertEqual(started.state, .running)
        await runner.tick()
        let empty = try await state(fleet, "c2")
        XCTAssertEqual(empty?.state, .completed, "a campaign without targets completes at once")

        var bad = fleet.campaign("c3")
        bad.selection = .init(importID: "no-such-import")
        do {
            _ = try await runner.create(bad, start: true)
            XCTFail("an unknown import must be refused")
        } catch let error as CampaignError {
            XCTAssertEqual(error.code, "CAMPAIGN_INVALID")
        }
    }

    /// Two cores on one SQLite file, each holding part of the fleet, one device connected nowhere: every
    /// download starts on the core that holds its terminal, the unconnected device takes no SM-DP+ slot, and
    /// once it connects the campaign completes with one profile per device.
    func testTargetsAreStartedByTheCoreThatHoldsTheTerminal() async throws {
        let fleet = try await CampaignFleet.make(count: 5)
        addTeardownBlock { await fleet.close() }
        let storeB = try StoreFactory.open(url: try XCTUnwrap(fleet.storePath), logger: Logger(label: "test.core-b"))
        addTeardownBlock { try? await storeB.close() }
        // T-00 is connected to no core; core A holds T-01 and T-03, core B T-02 and T-04.
        let holders = NIOLockedValueBox<[String: String]>(["T-01": "core-a", "T-03": "core-a", "T-02": "core-b", "T-04": "core-b"])
        for (terminalID, core) in holders.withLockedValue({ $0 }) {
            _ = try await fleet.store.openTerminalSession(terminalID: terminalID, coreID: core, epoch: nil, at: fleet.clock.value)
        }
        let serviceA = fleet.service(coreID: "core-a", reaches: { id in holders.withLockedValue { $0[id] == "core-a" } })
        let serviceB = fleet.service(store: storeB, coreID: "core-b", reaches: { id in holders.withLockedValue { $0[id] == "core-b" } })
        let runnerA = fleet.runner(serviceA, coreID: "core-a")
        let runnerB = fleet.runner(serviceB, store: storeB, coreID: "core-b")
        _ = try await runnerA.create(fleet.campaign(concurrencyPerSMDP: 2), start: true)

        /// One period of both cores, as CoreServer runs it (provisioning first), checking who drives what.
        func round() async throws {
            await serviceA.tick()
            await runnerA.tick()
            await serviceB.tick()
            await runnerB.tick()
            for target in try await fleet.store.campaignTargets(campaignID: "c1", state: .running, after: nil, limit: 10) {
                let holder = holders.withLockedValue { $0[target.terminalID] }
                XCTAssertNotNil(holder, "\(target.terminalID): a download started for a device connected nowhere")
                XCTAssertEqual(target.claimedBy, holder, "\(target.terminalID): started by a core that does not hold the terminal")
            }
            await serviceA.waitUntilIdle()
            await serviceB.waitUntilIdle()
            try await fleet.settle(serviceA)
            fleet.clock.advance(10)
        }

        for _ in 0..<6 { try await round() }
        var p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 4, "every connected device provisioned: \(p)")
        XCTAssertEqual(p.count(.pending), 1, "the unconnected device waits: \(p)")
        let waiting = try await fleet.store.jobs(terminalID: "T-00", limit: 5)
        XCTAssertTrue(waiting.isEmpty, "no download for a device connected nowhere")

        // T-00 connects to core B: it is provisioned there and the campaign completes.
        holders.withLockedValue { $0["T-00"] = "core-b" }
        _ = try await storeB.openTerminalSession(terminalID: "T-00", coreID: "core-b", epoch: nil, at: fleet.clock.value)
        fleet.clock.advance(30)
        for _ in 0..<3 { try await round() }
        await runnerA.tick()
        p = try await progress(fleet)
        XCTAssertEqual(p.count(.succeeded), 5, "\(p)")
        let campaign = try await state(fleet)
        XCTAssertEqual(campaign?.state, .completed)
        XCTAssertEqual(fleet.installedCounts.values.sorted(), Array(repeating: 1, count: 5), "one profile per device")
        for terminalID in fleet.terminalIDs {
            let jobs = try await fleet.store.jobs(terminalID: terminalID, limit: 10)
            XCTAssertEqual(jobs.count, 1, "\(terminalID): one download only")
        }
    }

    /// Two cores on one PostgreSQL run one campaign; one stops mid-way with downloads it claimed but never
    /// ran. After its claims expire the other takes them over: every device is provisioned exactly once.
    func testTwoCoresOnPostgresShareACampaignAndTakeOverAStoppedCore() async throws {
        guard let url = ProcessInfo.processInfo.environment["LPA_TEST_POSTGRES_URL"], !url.isEmpty else {
            throw XCTSkip("PostgreSQL variant skipped: LPA_TEST_POSTGRES_URL is not set (.ci/run starts a cluster and sets it)")
        }
        var configuration = try PostgresStore.Configuration(url: url)
        configuration.schema = "lpa_campaign_\(ProcessInfo.processInfo.processIdentifier)_\(UUID().uuidString.prefix(8).lowercased())"
        let storeA = PostgresStore(configuration: configuration)
        let storeB = PostgresStore(configuration: configuration)
        let fleet = try await CampaignFleet.make(count: 10, store: storeA)
        addTeardownBlock {
            await fleet.close()
            try? await storeB.close()
        }

        // In the second round core A creates downloads but runs none (it is going down): they stay queued.
        let serviceA = fleet.service(store: storeA)
        let serviceB = fleet.service(store: storeB)
        let stalled = fleet.service(store: storeA, coreID: "core-a", concurrentJobs: 0)
        let runnerA = fleet.runner(serviceA, store: storeA, coreID: "core-a", claimSeconds: 60)
        let runnerB = fleet.runner(serviceB, store: storeB, coreID: "core-b", claimSeconds: 60)
        let runnerADying = fleet.runner(stalled, store: storeA, coreID: "core-a", claimSeconds: 60)
        _ = try await runnerA.create(fleet.campaign(startsPerMinute: 4), start: true)

        // Round 1: both cores tick at once.
        async let a: Void = runnerA.tick()
        async let b: Void = runnerB.tick()
        _ = await (a, b)
        let heldA = try await storeA.heldCampaignTargets(campaignID: "c1", coreID: "core-a").map(\.terminalID)
        let heldB = try await storeB.heldCampaignTargets(campaignID: "c1", coreID: "core-b").map(\.terminalID)
        XCTAssertTrue(Set(heldA).isDisjoint(with: heldB), "no target is held by both cores: \(heldA) / \(heldB)")
        await serviceA.waitUntilIdle()
        try await fleet.settle(serviceB)

        // Round 2: core A claims and creates downloads, then stops before running them.
        fleet.clock.advance(60)
        await runnerADying.tick()
        let abandoned = try await storeA.heldCampaignTargets(campaignID: "c1", coreID: "core-a").filter { $0.state == .running }
        XCTAssertFalse(abandoned.isEmpty, "core A holds downloads it will never run")

        // Core B carries on alone; A's claims expire after 60 s and B takes them over.
        for _ in 0..<12 {
            fleet.clock.advance(61)
            await runnerB.tick()
            try await fleet.settle(serviceB)
            if try await storeB.campaign(id: "c1")?.state == .completed { break }
        }
        await runnerB.tick()
        let campaign = try await storeB.campaign(id: "c1")
        XCTAssertEqual(campaign?.state, .completed)
        let p = try await storeB.campaignProgress(id: "c1")
        XCTAssertEqual(p.count(.succeeded), 10, "none forgotten")
        XCTAssertEqual(fleet.installedCounts.values.sorted(), Array(repeating: 1, count: 10), "no device provisioned twice")
        for terminalID in fleet.terminalIDs {
            let jobs = try await storeB.jobs(terminalID: terminalID, limit: 10)
            XCTAssertEqual(jobs.filter { $0.state == .confirmed }.count, 1, terminalID)
            XCTAssertEqual(jobs.count, 1, "\(terminalID): one download only")
        }
    }
}
