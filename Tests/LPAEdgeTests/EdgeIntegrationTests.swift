import Foundation
@testable import LPAEdge
import LPATLS
import LPASimKit
import Logging
import NIOCore
import NIOPosix
import TerminalProtocol
import XCTest

/// lpa-edge and simulated terminals over real mutual TLS on loopback, with certificates from the
/// test PKI generator.
struct WaitTimeout: Error, CustomStringConvertible {
    var what: String
    var description: String { "timed out waiting for \(what)" }
}

/// Waits (bounded) until `condition` holds, polling every 20 ms.
func eventually(_ what: String, timeout: TimeInterval = 15, _ condition: () -> Bool) async throws {
    let deadline = Date().addingTimeInterval(timeout)
    while !condition() {
        if Date() > deadline { throw WaitTimeout(what: what) }
        try await Task.sleep(for: .milliseconds(20))
    }
}

final class EdgeIntegrationTests: XCTestCase {
    static let pkiDirectory: URL = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lpa-edge-it-\(UUID().uuidString)")
        _ = try! TestPKI.create(at: url, devices: 6)
        return url
    }()

    var pki: String { Self.pkiDirectory.path }

    func makeEdge(_ adjust: (inout EdgeConfiguration) -> Void = { _ in }) async throws -> EdgeServer {
        var config = EdgeConfiguration()
        config.listen.port = 0
        config.tls.certificate = "\(pki)/edge.pem"
        config.tls.privateKey = "\(pki)/edge.key"
        config.tls.clientCA = "\(pki)/fleet-ca.pem"
        config.heartbeat.defaultIntervalSeconds = 1
        config.drainSeconds = 5
        config.nodeID = "edge-it"
        adjust(&config)
        let settings = TerminalSettings(heartbeatIntervalSeconds: UInt32(config.heartbeat.defaultIntervalSeconds), historyLimit: 10, version: 1)
        var logger = Logger(label: "edge-it")
        logger.logLevel = .warning
        let edge = try EdgeServer(environment: EdgeEnvironment(configuration: config, coreLink: StandaloneCoreLink(defaultSettings: settings), logger: logger))
        try await edge.start()
        return edge
    }

    func fleet(_ devices: [SimulatedDevice], edge: EdgeServer) throws -> FleetSimulator {
        var behaviour = FleetBehaviour()
        behaviour.reconnectInitial = 0.2
        behaviour.reconnectMaximum = 1
        return try FleetSimulator(
            target: FleetTarget(host: "127.0.0.1", port: edge.localAddress!.port!, serverName: "localhost", trustRoots: .file("\(pki)/fleet-ca.pem")),
            devices: devices, behaviour: behaviour)
    }

    func testFleetConnectsHeartbeatsAnswersBatchesAndDrains() async throws {
        let edge = try await makeEdge()
        let devices = try FleetLoader.devices(inPKI: pki, limit: 5)
        let fleet = try fleet(devices, edge: edge)
        fleet.start()
        try await eventually("5 sessions") { edge.environment.sessions.count == 5 }
        try await eventually("heartbeat acks") { fleet.statistics.snapshot.heartbeatAcks >= 5 }

        let id = devices[0].identity.eid
        let handle = try XCTUnwrap(edge.environment.sessions.session(for: id))
        XCTAssertEqual(handle.identity.imei, devices[0].identity.imei)

        let opened = try await handle.openChannel(aid: [0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00]).get()
        XCTAssertEqual(opened.statusWord, 0x9000)
        XCTAssertEqual(opened.channel, 1)
        let result = try await handle.transmit(ApduBatch(channel: opened.channel, apdus: [[0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00], [0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x20, 0x00]])).get()
        XCTAssertEqual(result.status, .ok)
        XCTAssertEqual(result.responses, [[0x90, 0x00], [0x90, 0x00]])

        try await handle.push(settings: TerminalSettings(heartbeatIntervalSeconds: 2, historyLimit: 20, version: 2)).get()
        try await eventually("interval change") { fleet.statistics.snapshot.intervalChanges == 1 }

        await edge.stop()
        try await eventually("goodbyes") { (fleet.statistics.snapshot.goodbyes["SHUTTING_DOWN"] ?? 0) == 5 }
        XCTAssertEqual(edge.environment.sessions.count, 0)
        await fleet.stop()
    }

    func testDeviceClaimingAnotherIdentityIsRejectedOverTLS() async throws {
        let edge = try await makeEdge()
        defer { Task { await edge.stop() } }
        let devices = try FleetLoader.devices(inPKI: pki, limit: 2)
        // Device 0's certificate, device 1's EID.
        let spoofer = SimulatedDevice(identity: devices[1].identity, credentials: devices[0].credentials)
        let fleet = try fleet([spoofer], edge: edge)
        fleet.start()
        try await eventually("rejection") { (fleet.statistics.snapshot.rejected["IDENTITY_MISMATCH"] ?? 0) >= 1 }
        XCTAssertEqual(fleet.statistics.snapshot.welcomed, 0)
        XCTAssertEqual(edge.environment.sessions.count, 0)
        await fleet.stop()
    }

    func testGarbageAfterHandshakeClosesTheConnection() async throws {
        let edge = try await makeEdge()
        defer { Task { await edge.stop() } }
        let device = try XCTUnwrap(FleetLoader.devices(inPKI: pki, limit: 1).first)
        let context = try TLSContext(configuration: .client(trustRoots: .file("\(pki)/fleet-ca.pem")))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context, serverHostname: "localhost", credentials: device.credentials))
                }
            }
            .connect(host: "127.0.0.1", port: edge.localAddress!.port!).get()
        // A length prefix announcing 2 MiB: refused as soon as the prefix arrives.
        try await channel.writeAndFlush(ByteBuffer(bytes: [0xFF, 0xFF, 0x7F, 0x01, 0x02]))
        try await channel.closeFuture.get()
        XCTAssertEqual(edge.environment.sessions.count, 0)
    }

    func testConnectionCapRefusesBeyondLimit() async throws {
        let edge = try await makeEdge { $0.limits.maxConnections = 1 }
        defer { Task { await edge.stop() } }
        let devices = try FleetLoader.devices(inPKI: pki, limit: 2)
        let first = try fleet([devices[0]], edge: edge)
        first.start()
        try await eventually("first session") { edge.environment.sessions.count == 1 }
        let second = try fleet([devices[1]], edge: edge)
        second.start()
        try await eventually("second refused") { second.statistics.snapshot.reconnects >= 2 }
        XCTAssertEqual(second.statistics.snapshot.welcomed, 0)
        XCTAssertEqual(edge.admission.openConnections, 1)
        await second.stop()
        await first.stop()
    }

    /// A terminal that stops reading while the edge has megabytes queued towards it: once the edge ends
    /// the session, the connection closes within `limits.closeTimeoutSeconds`, Goodbye written or not.
    func testASessionTheEdgeEndsClosesWhenTheTerminalDoesNotRead() async throws {
        let edge = try await makeEdge { $0.limits.closeTimeoutSeconds = 0.5 }
        defer { Task { await edge.stop() } }
        let device = try XCTUnwrap(FleetLoader.devices(inPKI: pki, limit: 1).first)
        let context = try TLSContext(configuration: .client(trustRoots: .file("\(pki)/fleet-ca.pem")))
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context, serverHostname: "localhost", credentials: device.credentials))
                }
            }
            .connect(host: "127.0.0.1", port: edge.localAddress!.port!).get()
        var hello = ByteBuffer()
        try TerminalFrameCodec.encode(.hello(Hello(identity: device.identity)), into: &hello)
        try await channel.writeAndFlush(hello)
        let terminalID = device.identity.terminalID
        try await eventually("session") { edge.environment.sessions.session(for: terminalID) != nil }
        // The terminal stops reading.
        try await channel.setOption(.autoRead, value: false)
        let handle = try XCTUnwrap(edge.environment.sessions.session(for: terminalID))
        // About 10 MB of APDU batches: more than the kernel buffers hold, so most stays queued.
        let apdu = [UInt8](repeating: 0xA5, count: 60_000)
        var requests: [EventLoopFuture<ApduBatchResult>] = []
        for _ in 0..<40 {
            requests.append(handle.transmit(ApduBatch(channel: 1, apdus: [apdu, apdu, apdu, apdu]), timeout: .seconds(60)))
        }
        let ended = Date()
        _ = handle.disconnect(reason: .shuttingDown, text: "test")
        try await eventually("the connection closed", timeout: 10) { edge.connectionCount == 0 }
        XCTAssertLessThan(Date().timeIntervalSince(ended), 5)
        XCTAssertNil(edge.environment.sessions.session(for: terminalID))
        for request in requests { _ = try? await request.get() }
        try? await channel.close()
    }
}
