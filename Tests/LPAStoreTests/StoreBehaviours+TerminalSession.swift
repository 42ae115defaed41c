import LPADomain
import XCTest
@testable import LPAStore

/// Terminal sessions (holder and epoch) and how campaign claims follow them, on every backend.
extension StoreBehaviours {
    func terminalSessionEpochsGrowAndStaleSessionsAreRefused() async throws {
        let store = try await migratedStore()
        let first = try await store.openTerminalSession(terminalID: "T-1", coreID: "core-a", epoch: nil, at: 10)
        XCTAssertEqual(first, 1)
        let again = try await store.openTerminalSession(terminalID: "T-1", coreID: "core-b", epoch: 1, at: 11)
        XCTAssertEqual(again, 1, "the same session registered again (on another core) keeps its epoch")
        var session = try await store.terminalSession(terminalID: "T-1")
        XCTAssertEqual(session?.coreID, "core-b")
        let newer = try await store.openTerminalSession(terminalID: "T-1", coreID: "core-a", epoch: nil, at: 12)
        XCTAssertEqual(newer, 2)
        let stale = try await store.openTerminalSession(terminalID: "T-1", coreID: "core-b", epoch: 1, at: 13)
        XCTAssertNil(stale, "a registration of session 1 after session 2 opened is refused")
        session = try await store.terminalSession(terminalID: "T-1")
        XCTAssertEqual(session, TerminalSession(terminalID: "T-1", coreID: "core-a", epoch: 2, updatedAt: 12), "the refusal changed nothing")
        // Ending: only the holder's current session.
        var closed = try await store.closeTerminalSession(terminalID: "T-1", coreID: "core-b", epoch: 2, at: 14)
        XCTAssertFalse(closed)
        closed = try await store.closeTerminalSession(terminalID: "T-1", coreID: "core-a", epoch: 1, at: 14)
        XCTAssertFalse(closed)
        closed = try await store.closeTerminalSession(terminalID: "T-1", coreID: "core-a", epoch: 2, at: 15)
        XCTAssertTrue(closed)
        session = try await store.terminalSession(terminalID: "T-1")
        XCTAssertNil(session?.coreID)
        XCTAssertEqual(session?.epoch, 2)
        let next = try await store.openTerminalSession(terminalID: "T-1", coreID: "core-b", epoch: nil, at: 16)
        XCTAssertEqual(next, 3)
        // Concurrent new sessions of one terminal get distinct epochs.
        let epochs = try await withThrowingTaskGroup(of: Int64?.self) { group in
            for i in 0..<6 { group.addTask { try await store.openTerminalSession(terminalID: "T-2", coreID: "core-\(i % 2)", epoch: nil, at: 20) } }
            var all: [Int64] = []
            for try await epoch in group { all.append(try XCTUnwrap(epoch)) }
            return all
        }
        XCTAssertEqual(epochs.sorted(), [1, 2, 3, 4, 5, 6])
        try await store.close()
    }

    func campaignClaimsLeaveTerminalsHeldByAnotherCore() async throws {
        let store = try await migratedStore()
        var campaign = Self.campaign("c1")
        campaign.canaryShare = 0
        try await store.createCampaign(campaign, targets: Self.targets("c1", count: 4))
        // T-000 connected nowhere, T-001 held by core A, T-002 by core B, T-003 once held by B (ended).
        _ = try await store.openTerminalSession(terminalID: "T-001", coreID: "core-a", epoch: nil, at: 100)
        _ = try await store.openTerminalSession(terminalID: "T-002", coreID: "core-b", epoch: nil, at: 100)
        _ = try await store.openTerminalSession(terminalID: "T-003", coreID: "core-b", epoch: nil, at: 100)
        try await store.closeTerminalSession(terminalID: "T-003", coreID: "core-b", epoch: 1, at: 101)
        let first = try await store.claimCampaignTargets(campaignID: "c1", coreID: "core-a", now: 200, until: 260, limit: 1, phase: nil, takeOver: false)
        XCTAssertEqual(first, 1)
        var held = try await store.heldCampaignTargets(campaignID: "c1", coreID: "core-a").map(\.terminalID)
        XCTAssertEqual(held, ["T-001"], "the terminals a core holds come first")
        _ = try await store.claimCampaignTargets(campaignID: "c1", coreID: "core-a", now: 200, until: 260, limit: 10, phase: nil, takeOver: false)
        held = try await store.heldCampaignTargets(campaignID: "c1", coreID: "core-a").map(\.terminalID)
        XCTAssertEqual(held, ["T-000", "T-001", "T-003"], "never a terminal another core holds")
        _ = try await store.claimCampaignTargets(campaignID: "c1", coreID: "core-b", now: 200, until: 260, limit: 10, phase: nil, takeOver: false)
        held = try await store.heldCampaignTargets(campaignID: "c1", coreID: "core-b").map(\.terminalID)
        XCTAssertEqual(held, ["T-002"])
        // Core A stops renewing; its expired claims go to another core only for terminals nobody else holds.
        _ = try await store.openTerminalSession(terminalID: "T-001", coreID: "core-c", epoch: 1, at: 300)
        let taken = try await store.claimCampaignTargets(campaignID: "c1", coreID: "core-b", now: 300, until: 360, limit: 10, phase: nil, takeOver: true)
        XCTAssertEqual(taken, 3, "A's T-000 and T-003, and B's own expired T-002; not T-001, which core C holds now")
        held = try await store.heldCampaignTargets(campaignID: "c1", coreID: "core-b").map(\.terminalID)
        XCTAssertEqual(held, ["T-000", "T-002", "T-003"])
        try await store.close()
    }
}
