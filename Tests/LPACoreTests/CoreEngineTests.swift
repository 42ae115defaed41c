@testable import LPACore
import LPADomain
import LPAStore
import LPASimKit
import Logging
import NIOConcurrencyHelpers
import TerminalProtocol
import XCTest

/// A clock tests move by hand.
final class ManualClock: Sendable {
    private let value: NIOLockedValueBox<Int64>
    init(_ start: Int64 = 1_800_000_000) { value = NIOLockedValueBox(start) }
    var now: Int64 { value.withLockedValue { $0 } }
    func advance(_ seconds: Int64) { value.withLockedValue { $0 += seconds } }
    var function: @Sendable () -> Int64 { { self.now } }
}

/// Records settings the core pushes to terminals.
final class RecordingControl: TerminalControl {
    let pushed = NIOLockedValueBox<[(String, TerminalSettings)]>([])
    func pushSettings(terminalID: String, settings: TerminalSettings) async throws {
        pushed.withLockedValue { $0.append((terminalID, settings)) }
    }
}

/// A terminal control whose pushes to one terminal hang until released (a terminal that stopped reading).
final class StallingControl: TerminalControl {
    let stalled: String
    let delivered = NIOLockedValueBox<[String]>([])
    private let gate = NIOLockedValueBox<[CheckedContinuation<Void, Never>]>([])
    private let open = NIOLockedValueBox(false)

    init(stalled: String) { self.stalled = stalled }

    func pushSettings(terminalID: String, settings: TerminalSettings) async throws {
        if terminalID == stalled {
            await withCheckedContinuation { continuation in
                let resumeNow = open.withLockedValue { $0 } || { gate.withLockedValue { $0.append(continuation) }; return false }()
                if resumeNow { continuation.resume() }
            }
            throw CancellationError()
        }
        delivered.withLockedValue { $0.append(terminalID) }
    }

    func release() {
        open.withLockedValue { $0 = true }
        for continuation in gate.withLockedValue({ g in defer { g = [] }; return g }) { continuation.resume() }
    }
}

/// Polls `condition` every 10 ms for up to `timeout` seconds.
func eventuallyTrue(_ what: String, timeout: TimeInterval = 10, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { throw Timeout(what: what) }
        try await Task.sleep(for: .milliseconds(10))
    }
}

final class CoreEngineTests: XCTestCase {
    let eid = "89049032123451234512345678901235"
    let imei = "356938035643809"

    func makeEngine(clock: ManualClock, control: any TerminalControl = RecordingControl()) async throws -> (CoreEngine, any Store) {
        let store = try StoreFactory.open(url: "sqlite::memory:")
        try await store.migrate()
        var logger = Logger(label: "core-test")
        logger.logLevel = .warning
        let engine = CoreEngine(store: store, presencePolicy: .init(missLimit: 3, reportDelaySeconds: 10, graceSeconds: 0, defaultIntervalSeconds: 60),
                                control: control, logger: logger, clock: clock.function)
        try await engine.start()
        try await engine.importLibraries(try LibraryDocument.parse(yaml: LibraryDocumentTests.yaml))
        return (engine, store)
    }

    func identity(model: String = "SIM-METER-1", imei: String? = nil) -> Identity {
        Identity(eid: eid, imei: imei ?? self.imei, iccid: "89882110000000000010", model: model, firmware: "1.0")
    }

    func testAStaleRegistrationOfAReplacedSessionIsRefusedAndChangesNothing() async throws {
        let clock = ManualClock()
        let (engine, store) = try await makeEngine(clock: clock)
        let old = identity()
        guard case .accepted(_, _, _, _, let first) = try await engine.register(RegistrationRequest(terminalID: eid, identity: old, edgeNodeID: "edge-1")) else {
            return XCTFail("first session refused")
        }
        // The device enabled a new profile and reconnected through another edge: a new session.
        var current = old
        current.iccid = "89882110000000000028"
        guard case .accepted(_, _, _, _, let second) = try await engine.register(RegistrationRequest(terminalID: eid, identity: current, edgeNodeID: "edge-2")) else {
            return XCTFail("second session refused")
        }
        XCTAssertGreaterThan(second, first)
        // The first edge, which lost its core, registers its (stale) session again.
        let outcome = try await engine.register(RegistrationRequest(terminalID: eid, identity: old, edgeNodeID: "edge-1", sessionEpoch: first))
        guard case .refused(let refusal) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(refusal.code, .duplicateSession)
        let device = try await store.device(terminalID: eid)
        XCTAssertEqual(device?.fields["iccid"], current.iccid, "the live session's identity stays on record")
        let session = try await store.terminalSession(terminalID: eid)
        XCTAssertEqual(session?.epoch, second)
        // The live session registered again (its edge lost a core too) is accepted with its epoch.
        guard case .accepted(_, _, _, _, let again) = try await engine.register(RegistrationRequest(terminalID: eid, identity: current, edgeNodeID: "edge-2", sessionEpoch: second)) else {
            return XCTFail("the live session was refused")
        }
        XCTAssertEqual(again, second)
    }

    func testRegistrationImportsIdentityChoosesRuleAndRecordsIt() async throws {
        let clock = ManualClock()
        let (engine, store) = try await makeEngine(clock: clock)
        let outcome = try await engine.register(RegistrationRequest(terminalID: eid, identity: identity(), edgeNodeID: "edge-1"))
        guard case .accepted(let model, let settings, let required, let rule, _) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(model, "SIM-METER-1")
        XCTAssertEqual(settings.heartbeatIntervalSeconds, 60)
        XCTAssertEqual(settings.historyLimit, 100)
        XCTAssertEqual(required, ["eid", "imei"])
        XCTAssertEqual(rule, "meters")
        let device = try await store.device(terminalID: eid)
        XCTAssertEqual(device?.fields["imei"], imei)
        XCTAssertEqual(device?.ruleName, "meters")
        XCTAssertEqual(device?.requirement?.smdpAddress, "smdp.example:8443")
        let hoisted1 = try await store.registrationAttempts(terminalID: eid, limit: 5).first?.outcome
        XCTAssertEqual(hoisted1, "ACCEPTED")
        let presence = await engine.presence.record(for: eid)
        XCTAssertEqual(presence?.state, .online)
    }

    func testAStalledTerminalDoesNotHoldUpOrFailAnotherTerminalsReport() async throws {
        let clock = ManualClock()
        let control = StallingControl(stalled: eid)
        let (engine, store) = try await makeEngine(clock: clock, control: control)
        let other = try FleetIdentity.make(index: 7)
        let otherEID = other.eid.value
        let otherIMEI = other.imei.value
        guard case .accepted = try await engine.register(RegistrationRequest(terminalID: eid, identity: identity())),
              case .accepted = try await engine.register(RegistrationRequest(
                  terminalID: otherEID, identity: Identity(eid: otherEID, imei: otherIMEI, model: "SIM-METER-1")))
        else { return XCTFail("registration") }
        // Three windows with heartbeats move both terminals to the 30 s band: a push to each. The
        // push to the first never completes (its terminal does not read).
        let started = Date()
        for w in 0..<3 {
            try await engine.reportHeartbeats([
                HeartbeatReport(terminalID: eid, windowStart: clock.now + Int64(w * 60), windowSeconds: 60, count: 1, lastSeen: clock.now + Int64(w * 60)),
                HeartbeatReport(terminalID: otherEID, windowStart: clock.now + Int64(w * 60), windowSeconds: 60, count: 1, lastSeen: clock.now + Int64(w * 60)),
            ])
        }
        XCTAssertLessThan(Date().timeIntervalSince(started), 5, "the report waited for the stalled terminal's push")
        let otherHistory = try await store.heartbeatHistory(terminalID: otherEID, limit: 10)
        XCTAssertEqual(otherHistory.count, 3)
        try await eventuallyTrue("the other terminal's push") { control.delivered.withLockedValue { $0.contains(otherEID) } }
        control.release()
        await engine.settingsPushesSettled()
    }

    func testRefusalsCarryReasonCodesAndAreRecorded() async throws {
        let (engine, store) = try await makeEngine(clock: ManualClock())
        let unknown = try await engine.register(RegistrationRequest(terminalID: eid, identity: identity(model: "FRIDGE-9", imei: "490154203237518")))
        XCTAssertEqual(unknown, .refused(RegistrationRefusal(.unknownModel, "model 'FRIDGE-9' is not in the device-model library and no model's field patterns match")))
        let invalid = try await engine.register(RegistrationRequest(terminalID: eid, identity: identity(imei: "356938035643808")))
        guard case .refused(let refusal) = invalid else { return XCTFail() }
        XCTAssertEqual(refusal.code, .invalidField)
        let attempts = try await store.registrationAttempts(terminalID: eid, limit: 5)
        XCTAssertEqual(attempts.map(\.outcome), ["INVALID_FIELD", "UNKNOWN_MODEL"])
        let hoisted2 = try await store.device(terminalID: eid)
        XCTAssertNil(hoisted2)
    }

    func testCountSettingsChangeIntervalPushAndTrimHistory() async throws {
        let clock = ManualClock()
        let control = RecordingControl()
        let (engine, store) = try await makeEngine(clock: clock, control: control)
        guard case .accepted = try await engine.register(RegistrationRequest(terminalID: eid, identity: identity())) else { return XCTFail() }
        // Band 0–2 → 30 s / 100 windows; 3+ → 120 s / 50 windows.
        for w in 0..<3 {
            try await engine.reportHeartbeats([HeartbeatReport(terminalID: eid, windowStart: clock.now + Int64(w * 60), windowSeconds: 60, count: 1, lastSeen: clock.now + Int64(w * 60 + 30))])
        }
        await engine.settingsPushesSettled()
        XCTAssertEqual(control.pushed.withLockedValue { $0.map(\.1.heartbeatIntervalSeconds) }, [30])
        try await engine.reportHeartbeats([HeartbeatReport(terminalID: eid, windowStart: clock.now + 180, windowSeconds: 60, count: 5, lastSeen: clock.now + 200)])
        await engine.settingsPushesSettled()
        let pushes = control.pushed.withLockedValue { $0 }
        XCTAssertEqual(pushes.map(\.1.heartbeatIntervalSeconds), [30, 120])
        XCTAssertEqual(pushes.map(\.1.historyLimit), [100, 50])
        XCTAssertTrue(pushes[1].1.version > pushes[0].1.version)
        let device = try await store.device(terminalID: eid)
        XCTAssertEqual(device?.heartbeatIntervalSeconds, 120)
        XCTAssertEqual(device?.historyLimit, 50)
        let hoisted3 = try await store.heartbeatHistory(terminalID: eid, limit: 10).map(\.count)
        XCTAssertEqual(hoisted3, [5, 1, 1, 1])

        // A smaller limit trims: 60 windows stored, limit 50 keeps the newest 50.
        for w in 0..<60 {
            try await engine.reportHeartbeats([HeartbeatReport(terminalID: eid, windowStart: clock.now + 1000 + Int64(w * 60), windowSeconds: 60, count: 4, lastSeen: clock.now + 1000 + Int64(w * 60))])
        }
        let hoisted4 = try await store.heartbeatHistory(terminalID: eid, limit: 1000).count
        XCTAssertEqual(hoisted4, 50)

        // The chosen settings survive re-registration.
        guard case .accepted(_, let settings, _, _, _) = try await engine.register(RegistrationRequest(terminalID: eid, identity: identity())) else { return XCTFail() }
        XCTAssertEqual(settings.heartbeatIntervalSeconds, 120)
    }
}

final class OnlineDictionaryTests: XCTestCase {
    func makeDictionary(store: any Store, clock: ManualClock, grace: Int64 = 0) -> OnlineDictionary {
        OnlineDictionary(store: store, policy: .init(missLimit: 3, reportDelaySeconds: 10, graceSeconds: grace, defaultIntervalSeconds: 60), clock: clock.function)
    }

    func testMissesAccumulateUntilOfflineAndHeartbeatBringsBack() async throws {
        let store = try StoreFactory.open(url: "sqlite::memory:")
        try await store.migrate()
        let clock = ManualClock()
        let dict = makeDictionary(store: store, clock: clock)
        try await dict.load()
        try await dict.heard([("t1", clock.now, 60, "registered")])

        clock.advance(60 + 10)   // exactly due: not yet missed
        let hoisted5 = try await dict.sweep()
        XCTAssertEqual(hoisted5, [])
        let hoisted6 = await dict.record(for: "t1")?.consecutiveMisses
        XCTAssertEqual(hoisted6, 0)
        clock.advance(61)        // one interval late
        _ = try await dict.sweep()
        let hoisted7 = await dict.record(for: "t1")?.consecutiveMisses
        XCTAssertEqual(hoisted7, 2)
        let hoisted8 = await dict.record(for: "t1")?.state
        XCTAssertEqual(hoisted8, .online)
        clock.advance(60)
        let changes = try await dict.sweep()
        XCTAssertEqual(changes.map(\.to), [.offline])
        let hoisted9 = await dict.record(for: "t1")?.state
        XCTAssertEqual(hoisted9, .offline)
        let hoisted10 = try await store.presence(terminalID: "t1")?.state
        XCTAssertEqual(hoisted10, .offline)

        clock.advance(5)
        let back = try await dict.heard([("t1", clock.now, 60, "heartbeat")])
        XCTAssertEqual(back.map(\.to), [.online])
        let history = try await store.presenceChanges(terminalID: "t1", limit: 10)
        XCTAssertEqual(history.map(\.to), [.online, .offline, .online])
        XCTAssertEqual(history[1].reason, "missed 3 heartbeats of 60s")
    }

    func testATerminalThatMovedToAnotherCoreIsNotMarkedOfflineByTheCoreItLeft() async throws {
        let store = try StoreFactory.open(url: "sqlite::memory:")
        try await store.migrate()
        let clock = ManualClock()
        let left = makeDictionary(store: store, clock: clock)
        let now = makeDictionary(store: store, clock: clock)
        try await left.load()
        try await now.load()
        try await left.heard([("t1", clock.now, 60, "registered")])
        // The terminal moves to the other core, which hears its heartbeats from then on.
        for _ in 0..<6 {
            clock.advance(60)
            try await now.heard([("t1", clock.now, 60, "heartbeat")])
            let changes = try await left.sweep()
            XCTAssertEqual(changes, [])
        }
        let stored = try await store.presence(terminalID: "t1")
        XCTAssertEqual(stored?.state, .online)
        XCTAssertEqual(stored?.lastSeen, clock.now)
        let history = try await store.presenceChanges(terminalID: "t1", limit: 10)
        XCTAssertFalse(history.contains { $0.to == .offline }, "\(history)")
        // Silent for real: it goes offline once.
        clock.advance(10 * 60)
        let fromLeft = try await left.sweep()
        let fromNow = try await now.sweep()
        XCTAssertEqual(fromLeft.count + fromNow.count, 1)
        let after = try await store.presenceChanges(terminalID: "t1", limit: 10)
        XCTAssertEqual(after.filter { $0.to == .offline }.count, 1)
        XCTAssertEqual(after.first?.to, .offline)
    }

    func testRestartGraceKeepsFleetOnline() async throws {
        let store = try StoreFactory.open(url: "sqlite::memory:")
        try await store.migrate()
        let clock = ManualClock()
        let before = makeDictionary(store: store, clock: clock)
        try await before.load()
        try await before.heard([("t1", clock.now, 60, "registered"), ("t2", clock.now, 60, "registered")])

        // The core is down for ten minutes, then starts again with a 120 s grace period.
        clock.advance(600)
        let after = makeDictionary(store: store, clock: clock, grace: 120)
        try await after.load()
        let hoisted11 = await after.onlineCount
        XCTAssertEqual(hoisted11, 2)
        clock.advance(120 + 60 + 10)
        let hoisted12 = try await after.sweep()
        XCTAssertEqual(hoisted12, [])
        let hoisted13 = await after.onlineCount
        XCTAssertEqual(hoisted13, 2)
        // Still silent long after the grace: offline.
        clock.advance(3 * 60)
        let hoisted14 = try await after.sweep().count
        XCTAssertEqual(hoisted14, 2)
    }
}
