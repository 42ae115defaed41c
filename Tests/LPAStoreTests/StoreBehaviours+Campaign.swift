import LPADomain
import XCTest
@testable import LPAStore

/// Campaigns and target claims, on every backend.
extension StoreBehaviours {
    static func campaign(_ id: String, state: Campaign.State = .running, at: Int64 = 100) -> Campaign {
        Campaign(id: id, name: "Campaign \(id)", selection: .init(tags: ["pilot"]), requirement: Sample.requirement(),
                 startsPerMinute: 10, concurrencyPerSMDP: 2, window: .init(startMinute: 1320, endMinute: 360), canaryShare: 0.25,
                 failureThreshold: 0.3, minimumFinished: 4, maxAttempts: 2, retryBackoffSeconds: 30, state: state, createdAt: at, updatedAt: at)
    }

    static func targets(_ campaignID: String, count: Int, canary: Int = 0) -> [CampaignTarget] {
        (0..<count).map { CampaignTarget(campaignID: campaignID, terminalID: String(format: "T-%03d", $0),
                                         phase: $0 < canary ? .canary : .main, updatedAt: 100) }
    }

    func campaignsAreStoredWithTargetsAndProgress() async throws {
        let store = try await migratedStore()
        let campaign = Self.campaign("c1")
        try await store.createCampaign(campaign, targets: Self.targets("c1", count: 5, canary: 2))
        let stored = try await store.campaign(id: "c1")
        XCTAssertEqual(stored, campaign)
        await assertStoreError(.invalidInput) { try await store.createCampaign(campaign, targets: Self.targets("c1", count: 9)) }
        let targets = try await store.campaignTargets(campaignID: "c1", state: nil, after: nil, limit: 100)
        XCTAssertEqual(targets.count, 5, "a refused creation adds no targets")
        var progress = try await store.campaignProgress(id: "c1")
        XCTAssertEqual(progress.total(), 5)
        XCTAssertEqual(progress.count(.pending, phase: .canary), 2)

        try await store.createCampaign(Self.campaign("c2", state: .draft, at: 200), targets: [])
        let all = try await store.campaigns(states: nil)
        XCTAssertEqual(all.map(\.id), ["c2", "c1"])
        let drafts = try await store.campaigns(states: [.draft])
        XCTAssertEqual(drafts.map(\.id), ["c2"])

        var started = Self.campaign("c2", state: .running, at: 200)
        started.startedAt = 300
        let moved = try await store.updateCampaign(started, from: [.draft], addingTargets: Self.targets("c2", count: 3))
        XCTAssertTrue(moved)
        var again = started
        again.state = .completed
        let refused = try await store.updateCampaign(again, from: [.draft], addingTargets: [])
        XCTAssertFalse(refused, "the stored state is running, not draft")

        let claimedBeforeCancel = try await store.claimCampaignTargets(campaignID: "c2", coreID: "core-a", now: 300, until: 360, limit: 1,
                                                                       phase: nil, takeOver: false)
        XCTAssertEqual(claimedBeforeCancel, 1)
        let canceled = try await store.cancelCampaign(id: "c2", at: 400)
        XCTAssertTrue(canceled)
        let canceledAgain = try await store.cancelCampaign(id: "c2", at: 401)
        XCTAssertFalse(canceledAgain)
        progress = try await store.campaignProgress(id: "c2")
        XCTAssertEqual(progress.count(.skipped), 3, "pending and claimed targets are skipped on cancel")
        let afterCancel = try await store.campaign(id: "c2")
        XCTAssertEqual(afterCancel?.state, .canceled)

        var bad = Self.campaign("c3")
        bad.canaryShare = 1.5
        await assertStoreError(.invalidInput) { try await store.createCampaign(bad, targets: []) }
        await assertStoreError(.invalidInput) {
            try await store.createCampaign(Self.campaign("c4"), targets: Self.targets("other", count: 1))
        }
        let refusedCampaign = try await store.campaign(id: "c4")
        XCTAssertNil(refusedCampaign)
    }

    func campaignClaimsRespectPhaseDueTimeHolderAndExpiry() async throws {
        let store = try await migratedStore()
        var targets = Self.targets("c1", count: 6, canary: 2)
        targets[3].nextAttemptAt = 500
        try await store.createCampaign(Self.campaign("c1"), targets: targets)

        let canary = try await store.claimCampaignTargets(campaignID: "c1", coreID: "a", now: 100, until: 160, limit: 10, phase: .canary, takeOver: false)
        XCTAssertEqual(canary, 2)
        var held = try await store.heldCampaignTargets(campaignID: "c1", coreID: "a")
        XCTAssertEqual(held.map(\.terminalID), ["T-000", "T-001"])
        XCTAssertTrue(held.allSatisfy { $0.state == .claimed && $0.claimExpiresAt == 160 })

        // T-003 is not due before 500.
        let main = try await store.claimCampaignTargets(campaignID: "c1", coreID: "b", now: 100, until: 160, limit: 10, phase: nil, takeOver: false)
        XCTAssertEqual(main, 3)
        let heldByB = try await store.heldCampaignTargets(campaignID: "c1", coreID: "b")
        XCTAssertEqual(heldByB.map(\.terminalID), ["T-002", "T-004", "T-005"])

        // Only the holder saves; a running target taken over stays running and keeps its job.
        var running = held[0]
        running.state = .running
        running.jobID = "job-0"
        running.smdpAddress = "smdp.example.net"
        running.startedAt = 110
        running.attempts = 1
        let savedByHolder = try await store.saveCampaignTarget(running, holder: "a")
        XCTAssertTrue(savedByHolder)
        let savedByOther = try await store.saveCampaignTarget(running, holder: "b")
        XCTAssertFalse(savedByOther)
        let starts = try await store.campaignStarts(campaignID: "c1", since: 100)
        XCTAssertEqual(starts, 1)
        let runningCount = try await store.campaignRunningCount(campaignID: "c1", smdpAddress: "smdp.example.net")
        XCTAssertEqual(runningCount, 1)

        try await store.renewCampaignClaims(campaignID: "c1", coreID: "b", until: 400)
        // a stops renewing: at 200 its claims have expired and b takes them over; b's own are still valid.
        let taken = try await store.claimCampaignTargets(campaignID: "c1", coreID: "b", now: 200, until: 260, limit: 10, phase: nil, takeOver: true)
        XCTAssertEqual(taken, 2)
        let heldByA = try await store.heldCampaignTargets(campaignID: "c1", coreID: "a")
        XCTAssertEqual(heldByA, [])
        held = try await store.heldCampaignTargets(campaignID: "c1", coreID: "b")
        XCTAssertEqual(held.count, 5)
        let takenRunning = held.first { $0.terminalID == "T-000" }
        XCTAssertEqual(takenRunning?.state, .running)
        XCTAssertEqual(takenRunning?.jobID, "job-0")
        let staleWrite = try await store.saveCampaignTarget(running, holder: "a")
        XCTAssertFalse(staleWrite, "a's stale write is refused")

        let due = try await store.claimCampaignTargets(campaignID: "c1", coreID: "a", now: 500, until: 560, limit: 10, phase: nil, takeOver: false)
        XCTAssertEqual(due, 1, "T-003 is due at 500")
        await assertStoreError(.invalidInput) {
            try await store.claimCampaignTargets(campaignID: "c1", coreID: "", now: 0, until: 1, limit: 1, phase: nil, takeOver: false)
        }
    }

    /// Several stores (cores) claim from one campaign at once: every target is claimed exactly once.
    func concurrentCampaignClaimsNeverOverlap() async throws {
        let first = try await migratedStore()
        let count = 120
        try await first.createCampaign(Self.campaign("c1"), targets: Self.targets("c1", count: count))
        let stores = [first] + (try (0..<3).map { _ in try harness.openStore() })
        let claimedPerCore = try await withThrowingTaskGroup(of: Int.self) { group in
            for (index, store) in stores.enumerated() {
                group.addTask {
                    var total = 0
                    while true {
                        let claimed = try await store.claimCampaignTargets(campaignID: "c1", coreID: "core-\(index)", now: 100, until: 1000,
                                                                           limit: 7, phase: nil, takeOver: false)
                        if claimed == 0 { return total }
                        total += claimed
                    }
                }
            }
            return try await group.reduce(into: [Int]()) { $0.append($1) }
        }
        XCTAssertEqual(claimedPerCore.reduce(0, +), count)
        var holders: [String: String] = [:]
        for index in stores.indices {
            for target in try await first.heldCampaignTargets(campaignID: "c1", coreID: "core-\(index)") {
                XCTAssertNil(holders[target.terminalID], "\(target.terminalID) claimed twice")
                holders[target.terminalID] = "core-\(index)"
            }
        }
        XCTAssertEqual(holders.count, count)
    }
}
