import Foundation
@testable import LPACore
@testable import LPAEdge
import LPACoreRPC
import LPARPC
import LPASimKit
import LPAStore
import Logging
import NIOCore
import NIOPosix
import TerminalProtocol
import XCTest

struct Timeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// lpa-core, lpa-edge and simulated terminals over real mutual TLS on loopback: registration
/// through the libraries, count settings reaching terminals, and re-registration after a core restart.
final class CoreEdgeEndToEndTests: XCTestCase {
    static let pki: URL = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lpa-core-e2e-\(UUID().uuidString)")
        _ = try! TestPKI.create(at: url, devices: 4)
        return url
    }()

    static let library = """
    deviceModels:
      - code: SIM-METER-1
        fields:
          - {name: eid, validation: eid}
          - {name: imei, validation: imei}
        heartbeatIntervalSeconds: 1
        historyLimit: 10
    countSettings:
      - model: SIM-METER-1
        bands:
          - {minimumCount: 0, maximumCount: 0, heartbeatIntervalSeconds: 1, historyLimit: 10}
          - {minimumCount: 1, heartbeatIntervalSeconds: 3, historyLimit: 5}
    """

    var pkiPath: String { Self.pki.path }
    var logger: Logger {
        var l = Logger(label: "e2e")
        l.logLevel = .warning
        return l
    }

    func eventually(_ what: String, timeout: TimeInterval = 20, _ condition: () async -> Bool) async throws {
        let deadline = Date().addingTimeInterval(timeout)
        while await !condition() {
            if Date() > deadline { throw Timeout(what: what) }
            try await Task.sleep(for: .milliseconds(25))
        }
    }

    func startCore(port: Int, database: String) async throws -> CoreServer {
        let libraryFile = NSTemporaryDirectory() + "lpa-e2e-lib-\(UUID().uuidString).yaml"
        try Self.library.write(toFile: libraryFile, atomically: true, encoding: .utf8)
        var c = CoreConfiguration()
        c.listen.port = port
        c.store = database
        c.libraries = libraryFile
        c.tls.certificate = "\(pkiPath)/core.pem"
        c.tls.privateKey = "\(pkiPath)/core.key"
        c.tls.clientCA = "\(pkiPath)/infra-ca.pem"
        c.nodeID = "core-e2e"
        let core = CoreServer(configuration: c, logger: logger)
        try await core.start()
        return core
    }

    func startEdge(corePort: Int) async throws -> (EdgeServer, RPCCoreLink) {
        try await startEdge(corePorts: [corePort])
    }

    func startEdge(corePorts: [Int]) async throws -> (EdgeServer, RPCCoreLink) {
        var c = EdgeConfiguration()
        c.listen.port = 0
        c.tls.certificate = "\(pkiPath)/edge.pem"
        c.tls.privateKey = "\(pkiPath)/edge.key"
        c.tls.clientCA = "\(pkiPath)/fleet-ca.pem"
        c.heartbeat.countWindowSeconds = 1
        c.core.addresses = corePorts.map { "127.0.0.1:\($0)" }
        c.core.certificate = "\(pkiPath)/edge-client.pem"
        c.core.privateKey = "\(pkiPath)/edge-client.key"
        c.core.trustRoots = "\(pkiPath)/infra-ca.pem"
        c.nodeID = "edge-e2e"
        let sessions = SessionTable()
        let link = try RPCCoreLink(configuration: c, sessions: sessions, logger: logger)
        link.start()
        let edge = try EdgeServer(environment: EdgeEnvironment(configuration: c, coreLink: link, sessions: sessions, logger: logger))
        try await edge.start()
        try await eventually("core links") { link.connectedCores == corePorts.count }
        return (edge, link)
    }

    func fleet(_ devices: [SimulatedDevice], edge: EdgeServer) throws -> FleetSimulator {
        var b = FleetBehaviour()
        b.reconnectInitial = 0.2
        b.reconnectMaximum = 1
        return try FleetSimulator(
            target: FleetTarget(host: "127.0.0.1", port: edge.localAddress!.port!, trustRoots: .file("\(pkiPath)/fleet-ca.pem")),
            devices: devices, behaviour: b)
    }

    func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress!.port!
        try await channel.close()
        return port
    }

    func testRegistrationCountSettingsAndCoreRestart() async throws {
        let database = NSTemporaryDirectory() + "lpa-e2e-\(UUID().uuidString).db"
        let port = try await freePort()
        var core = try await startCore(port: port, database: database)
        let (edge, link) = try await startEdge(corePort: port)
        var devices = try FleetLoader.devices(inPKI: pkiPath, limit: 3)
        // The third terminal reports a model the library does not know.
        devices[2].identity.model = "FRIDGE-9"
        let fleet = try fleet(devices, edge: edge)
        fleet.start()

        try await eventually("two registrations") { core.directory.terminalCount == 2 }
        try await eventually("two welcomed") { fleet.statistics.snapshot.welcomed == 2 }
        try await eventually("unknown model refused") { (fleet.statistics.snapshot.rejected["UNKNOWN_MODEL"] ?? 0) >= 1 }
        // Windows with heartbeats move both terminals to the 3 s band; the change reaches them.
        try await eventually("interval pushed to both") { fleet.statistics.snapshot.intervalChanges >= 2 }
        let engine = try XCTUnwrap(core.engine)
        // A loaded machine can let a window pass empty, which moves a terminal back to the silent band for a
        // while; wait for the band the heartbeats select.
        let eid = devices[0].identity.eid
        try await eventually("the 3 s band chosen for the first terminal") { await engine.currentSettings(terminalID: eid)?.interval == 3 }
        let settings = await engine.currentSettings(terminalID: eid)
        XCTAssertEqual(settings?.interval, 3)
        XCTAssertEqual(settings?.historyLimit, 5)
        let online = await engine.presence.onlineCount
        XCTAssertEqual(online, 2)

        // Restart the core on the same port and database: the edge reconnects and registers its
        // live terminals again, without the terminals reconnecting.
        let handshakesBefore = fleet.statistics.snapshot.welcomed
        let before = await engine.currentSettings(terminalID: eid)
        await core.stop()
        let pushesAtStop = fleet.statistics.snapshot.settingsReceived
        core = try await startCore(port: port, database: database)
        try await eventually("re-registration after restart") { core.directory.terminalCount == 2 }
        XCTAssertEqual(fleet.statistics.snapshot.welcomed, handshakesBefore)
        let engineAfter = try XCTUnwrap(core.engine)
        let kept = await engineAfter.currentSettings(terminalID: eid)
        if fleet.statistics.snapshot.settingsReceived == pushesAtStop {
            // Nothing was pushed since the stop: the restarted core took the stored choice.
            XCTAssertEqual(kept?.interval, before?.interval, "settings chosen by the count table survive the restart")
            XCTAssertEqual(kept?.historyLimit, before?.historyLimit)
        } else {
            // A window reported after the restart moved the terminal again; the choice is still a band's.
            XCTAssertTrue([1, 3].contains(kept?.interval ?? 0), "\(String(describing: kept))")
        }

        await fleet.stop()
        await edge.stop()
        await link.shutdown()
        await core.stop()
    }

    /// An edge registering its live terminals again after losing its core carries each session's epoch: a
    /// session a newer one of the same terminal replaced meanwhile (the terminal reconnected elsewhere) is
    /// refused with DUPLICATE_SESSION and closed by the edge, and it changes nothing on record.
    func testAStaleReRegistrationNeverOverridesANewerSession() async throws {
        let database = NSTemporaryDirectory() + "lpa-e2e-\(UUID().uuidString).db"
        let port = try await freePort()
        var core = try await startCore(port: port, database: database)
        let (edge, link) = try await startEdge(corePort: port)
        let devices = try FleetLoader.devices(inPKI: pkiPath, limit: 2)
        let fleet = try fleet(devices, edge: edge)
        fleet.start()
        try await eventually("two registrations") { core.directory.terminalCount == 2 }
        let stale = devices[0].identity.eid
        let live = devices[1].identity.eid

        // While the core is away, a newer session of the first terminal registers (another edge, another core).
        await core.stop()
        let store = try StoreFactory.open(url: database)
        let first = try await store.terminalSession(terminalID: stale)
        XCTAssertEqual(first?.epoch, 1)
        let newer = try await store.openTerminalSession(terminalID: stale, coreID: "core-elsewhere", epoch: nil, at: 1)
        XCTAssertEqual(newer, 2)
        try await store.close()

        core = try await startCore(port: port, database: database)
        try await eventually("the other terminal registered again") { core.directory.connection(for: live) != nil }
        let engine = try XCTUnwrap(core.engine)
        try await eventually("the stale session refused") {
            let attempts = (try? await core.store?.registrationAttempts(terminalID: stale, limit: 10)) ?? []
            return attempts.contains { $0.outcome == "DUPLICATE_SESSION" }
        }
        // The edge closed the stale session; the terminal reconnects as a new session, which wins.
        try await eventually("the terminal back as a new session") {
            let session = try? await core.store?.terminalSession(terminalID: stale)
            return (session?.epoch ?? 0) >= 3 && session?.coreID == "core-e2e" && core.directory.connection(for: stale) != nil
        }
        let kept = try await core.store?.terminalSession(terminalID: live)
        XCTAssertEqual(kept?.epoch, 1, "a session registered again keeps its epoch")
        _ = engine

        await fleet.stop()
        await edge.stop()
        await link.shutdown()
        await core.stop()
    }

    /// A terminal that drops its connection and comes back at once (the card's refresh after enabling a
    /// profile) can have its new session registered before the edge reports the old one gone. The late
    /// departure names the old session's epoch and the core keeps the new one: it still reaches the terminal,
    /// takes its heartbeat counts, and the store still shows it holding the session.
    func testTheLateDepartureOfAnOldSessionLeavesTheNewOneRegistered() async throws {
        let port = try await freePort()
        let core = try await startCore(port: port, database: "sqlite::memory:")
        let (edge, link) = try await startEdge(corePort: port)
        let device = try XCTUnwrap(try FleetLoader.devices(inPKI: pkiPath, limit: 1).first)
        let terminalID = device.identity.eid
        func register() async throws -> Int64? {
            let decision = try await link.register(TerminalRegistration(
                terminalID: terminalID, identity: device.identity, agent: "test", remoteAddress: "127.0.0.1:1", edgeNodeID: "edge-e2e", tlsResumed: false))
            guard case .accept(_, _, _, let epoch) = decision else { XCTFail("\(decision)"); return nil }
            return epoch
        }
        let first = try await register()
        let second = try await register()
        let old = try XCTUnwrap(first)
        let new = try XCTUnwrap(second)
        XCTAssertGreaterThan(new, old)
        await link.terminalGone(terminalID: terminalID, reason: .unspecified, sessionEpoch: old)
        XCTAssertNotNil(core.directory.connection(for: terminalID), "the new session is still reachable")
        var session = try await core.store?.terminalSession(terminalID: terminalID)
        XCTAssertEqual(session?.coreID, "core-e2e")
        XCTAssertEqual(session?.epoch, new)
        // A session's own departure ends it (registered again: this test has no session table entry keeping the route).
        let third = try await register()
        let latest = try XCTUnwrap(third)
        await link.terminalGone(terminalID: terminalID, reason: .unspecified, sessionEpoch: latest)
        XCTAssertNil(core.directory.connection(for: terminalID))
        session = try await core.store?.terminalSession(terminalID: terminalID)
        XCTAssertNil(session?.coreID)
        XCTAssertEqual(session?.epoch, latest)

        await edge.stop()
        await link.shutdown()
        await core.stop()
    }

    /// A terminal moved back to its own core when that core returns: the edge tells the core it leaves
    /// (TerminalGone), which forgets it, and refuses that core's calls about it from then on, while the
    /// terminal keeps its one session.
    func testTheCoreATerminalLeftIsToldAndItsCallsAreRefused() async throws {
        let devices = try FleetLoader.devices(inPKI: pkiPath, limit: 4)
        // Ports such that one terminal's own core is B.
        let portA = try await freePort()
        var portB = 0
        var preferringB: String?
        for _ in 0..<32 where preferringB == nil {
            portB = try await freePort()
            preferringB = devices.map(\.identity.eid).first {
                RPCCoreLink.score($0, "127.0.0.1:\(portB)") > RPCCoreLink.score($0, "127.0.0.1:\(portA)")
            }
        }
        let moved = try XCTUnwrap(preferringB, "no port found on which a terminal prefers core B")
        let coreA = try await startCore(port: portA, database: "sqlite::memory:")
        var coreB = try await startCore(port: portB, database: "sqlite::memory:")
        let (edge, link) = try await startEdge(corePorts: [portA, portB])
        let fleet = try fleet(devices, edge: edge)
        fleet.start()
        try await eventually("all welcomed") { fleet.statistics.snapshot.welcomed == 4 }
        try await eventually("the terminal on core B") { coreB.directory.connection(for: moved) != nil }

        // Core B goes away: the terminal moves to core A; B comes back: it moves back and A is told.
        await coreB.stop()
        try await eventually("moved to core A") { coreA.directory.connection(for: moved) != nil }
        coreB = try await startCore(port: portB, database: "sqlite::memory:")
        try await eventually("back on core B") { coreB.directory.connection(for: moved) != nil }
        try await eventually("core A told the terminal left") { coreA.directory.connection(for: moved) == nil }
        XCTAssertEqual(fleet.statistics.snapshot.welcomed, 4, "the terminal kept its session")

        // Core A still asks the edge about it: refused, and nothing reaches the terminal.
        let batches = fleet.statistics.snapshot.batchesExecuted
        let connection = try XCTUnwrap(coreA.directory.edgeConnections.first)
        var request = CoreRPC_TransmitApduBatchRequest()
        request.terminalID = moved
        request.channel = 0
        request.apdus = [Data([0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x3E, 0x00])]
        do {
            _ = try await CoreToEdgeClient(connection).transmitApduBatch(request, deadline: RPCDeadline(.now() + .seconds(10)))
            XCTFail("a call from the core the terminal left must be refused")
        } catch let error as RPCError {
            XCTAssertEqual(error.status, .failedPrecondition, "\(error)")
        }
        XCTAssertEqual(fleet.statistics.snapshot.batchesExecuted, batches)

        await fleet.stop()
        await edge.stop()
        await link.shutdown()
        await coreA.stop()
        await coreB.stop()
    }

    func testTerminalsAreSpreadOverCoresAndMovedWhenOneGoesAway() async throws {
        let portA = try await freePort()
        let portB = try await freePort()
        let coreA = try await startCore(port: portA, database: "sqlite::memory:")
        let coreB = try await startCore(port: portB, database: "sqlite::memory:")
        let (edge, link) = try await startEdge(corePorts: [portA, portB])
        let devices = try FleetLoader.devices(inPKI: pkiPath, limit: 4)
        let fleet = try fleet(devices, edge: edge)
        fleet.start()
        try await eventually("all registered") { coreA.directory.terminalCount + coreB.directory.terminalCount == 4 }
        try await eventually("all welcomed") { fleet.statistics.snapshot.welcomed == 4 }
        // Each terminal is registered with exactly one core, the one its hash picks.
        for device in devices {
            let onA = coreA.directory.connection(for: device.identity.eid) != nil
            let onB = coreB.directory.connection(for: device.identity.eid) != nil
            XCTAssertNotEqual(onA, onB, "terminal \(device.identity.eid) must be on exactly one core")
            let expectA = RPCCoreLink.score(device.identity.eid, "127.0.0.1:\(portA)") > RPCCoreLink.score(device.identity.eid, "127.0.0.1:\(portB)")
            XCTAssertEqual(onA, expectA)
        }
        // Core A goes away: its terminals move to core B without reconnecting.
        let welcomed = fleet.statistics.snapshot.welcomed
        await coreA.stop()
        try await eventually("moved to core B") { coreB.directory.terminalCount == 4 }
        XCTAssertEqual(fleet.statistics.snapshot.welcomed, welcomed)

        await fleet.stop()
        await edge.stop()
        await link.shutdown()
        await coreB.stop()
    }
}
