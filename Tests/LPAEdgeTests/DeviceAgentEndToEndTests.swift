import Foundation
@testable import LPAEdge
import LPASimKit
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import TerminalProtocol
import XCTest

/// The C device agent (`lpa-agent`, built by `make -C Sources/CLPAAgent`) as a real process against
/// lpa-edge over mutual TLS on loopback, with its loopback APDU driver pointed at a card server in
/// this test.
final class DeviceAgentEndToEndTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The agent binary; built with the Makefile when missing, the test is skipped when that fails.
    func agentBinary() throws -> URL {
        guard let binary = DeviceAgentBuild.ensureBuilt(repositoryRoot: Self.repositoryRoot) else {
            throw XCTSkip("lpa-agent is not built and `make -C Sources/CLPAAgent` failed")
        }
        return binary
    }

    func testAgentRegistersHeartbeatsRunsBatchesAndSaysGoodbye() async throws {
        let binary = try agentBinary()
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lpa-agent-e2e-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pki = try TestPKI.create(at: directory.appendingPathComponent("pki"), devices: 1)
        let device = try XCTUnwrap(pki.devices.first)

        var config = EdgeConfiguration()
        config.listen.port = 0
        config.tls.certificate = directory.appendingPathComponent("pki/edge.pem").path
        config.tls.privateKey = directory.appendingPathComponent("pki/edge.key").path
        config.tls.clientCA = directory.appendingPathComponent("pki/fleet-ca.pem").path
        config.heartbeat.defaultIntervalSeconds = 1
        config.drainSeconds = 2
        config.nodeID = "edge-agent-e2e"
        var logger = Logger(label: "edge-agent-e2e")
        logger.logLevel = .warning
        let edge = try EdgeServer(environment: EdgeEnvironment(
            configuration: config,
            coreLink: StandaloneCoreLink(defaultSettings: TerminalSettings(heartbeatIntervalSeconds: 1, historyLimit: 10, version: 1)),
            logger: logger))
        try await edge.start()
        let card = try await LoopbackCardServer.start()

        let agentConfig = """
            # written by DeviceAgentEndToEndTests
            server_host = 127.0.0.1
            server_port = \(edge.localAddress!.port!)
            server_name = localhost
            ca_file = \(directory.appendingPathComponent("pki/fleet-ca.pem").path)
            cert_file = \(device.certificate.path)
            key_file = \(device.key.path)
            eid = \(device.identity.eid.value)
            imei = \(device.identity.imei.value)
            iccid = \(device.identity.iccid.value)
            model = \(device.identity.model)
            firmware = 1.0.0
            driver = loopback
            loopback_address = 127.0.0.1:\(card.port)
            log = stderr
            log_level = debug
            backoff_initial_ms = 200
            backoff_max_ms = 1000
            """
        let configURL = directory.appendingPathComponent("agent.conf")
        try agentConfig.write(to: configURL, atomically: true, encoding: .utf8)

        let output = NIOLockedValueBox("")
        let pipe = Pipe()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil  // end of file: the agent has exited
            } else {
                output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
            }
        }
        let agent = Process()
        agent.executableURL = binary
        agent.arguments = [configURL.path]
        agent.standardError = pipe
        agent.standardOutput = FileHandle.nullDevice
        try agent.run()
        defer {
            if agent.isRunning { kill(agent.processIdentifier, SIGKILL) }
            pipe.fileHandleForReading.readabilityHandler = nil
        }
        func log() -> String { output.withLockedValue { $0 } }

        do {
            let eid = device.identity.eid.value
            try await eventually("the agent's session") { edge.environment.sessions.session(for: eid) != nil }
            let handle = try XCTUnwrap(edge.environment.sessions.session(for: eid))
            XCTAssertEqual(handle.identity.imei, device.identity.imei.value)
            try await eventually("two acknowledged heartbeats") { log().contains("heartbeat 2 acknowledged") }

            let isdR: [UInt8] = [0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00]
            let opened = try await handle.openChannel(aid: isdR).get()
            XCTAssertEqual(opened.statusWord, 0x9000)
            XCTAssertEqual(opened.channel, 1)
            let result = try await handle.transmit(ApduBatch(batchID: 3, channel: opened.channel, apdus: [
                [0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00],
                [0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x20, 0x00],
                [0x81, 0xCA, 0x00, 0x5A, 0x00],  // answered 6A88: the batch stops here
                [0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x22, 0x00],
            ])).get()
            XCTAssertEqual(result.status, .stopped)
            XCTAssertEqual(result.responses, [[0xBF, 0x2E, 0x02, 0x01, 0x02, 0x90, 0x00], [0x90, 0x00], [0x6A, 0x88]])
            let closed = try await handle.closeChannel(opened.channel).get()
            XCTAssertEqual(closed.statusWord, 0x9000)
            // MANAGE CHANNEL, SELECT, three batch APDUs plus one GET RESPONSE, MANAGE CHANNEL close.
            XCTAssertEqual(card.commands.count, 7)
            XCTAssertEqual(card.commands.last, [0x00, 0x70, 0x80, 0x01])

            try await handle.push(settings: TerminalSettings(heartbeatIntervalSeconds: 2, historyLimit: 20, version: 2)).get()
            try await eventually("the new interval applied") { log().contains("settings v2: heartbeat every 2 s") }

            agent.terminate()  // SIGTERM: Goodbye DEVICE_RESTART
            try await eventually("the agent to exit") { !agent.isRunning }
            XCTAssertEqual(agent.terminationStatus, 0)
            try await eventually("the session gone") { edge.environment.sessions.count == 0 }
        } catch {
            print("lpa-agent output:\n\(log())")
            throw error
        }
        await edge.stop()
        try await card.stop()
    }
}

/// The loopback card protocol of the C agent's test driver (`u32` big-endian length and an APDU in,
/// `u32` length and the response out), answering like a placeholder eUICC: MANAGE CHANNEL opens and
/// closes channels, GET EUICC CHALLENGE (`BF2E`) answers through one GET RESPONSE, GET DATA answers
/// `6A88`, everything else `9000`.
final class LoopbackCardServer: Sendable {
    let channel: Channel
    private let seen: NIOLockedValueBox<[[UInt8]]>

    var port: Int { channel.localAddress!.port! }
    var commands: [[UInt8]] { seen.withLockedValue { $0 } }

    private init(channel: Channel, seen: NIOLockedValueBox<[[UInt8]]>) {
        self.channel = channel
        self.seen = seen
    }

    static func start() async throws -> LoopbackCardServer {
        let seen = NIOLockedValueBox<[[UInt8]]>([])
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Handler(seen: seen))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return LoopbackCardServer(channel: channel, seen: seen)
    }

    func stop() async throws {
        try await channel.close()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        private let seen: NIOLockedValueBox<[[UInt8]]>
        private var pending = ByteBuffer()
        private var open: Set<UInt8> = []

        init(seen: NIOLockedValueBox<[[UInt8]]>) { self.seen = seen }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            pending.writeBuffer(&incoming)
            while let length = pending.getInteger(at: pending.readerIndex, as: UInt32.self),
                  pending.readableBytes >= 4 + Int(length) {
                pending.moveReaderIndex(forwardBy: 4)
                let apdu = pending.readBytes(length: Int(length)) ?? []
                seen.withLockedValue { $0.append(apdu) }
                let response = answer(apdu)
                var out = context.channel.allocator.buffer(capacity: 4 + response.count)
                out.writeInteger(UInt32(response.count))
                out.writeBytes(response)
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
        }

        private func answer(_ apdu: [UInt8]) -> [UInt8] {
            guard apdu.count >= 4 else { return [0x67, 0x00] }
            switch (apdu[1], apdu[2]) {
            case (0x70, 0x00):
                guard let free = (1...19).map(UInt8.init).first(where: { !open.contains($0) }) else { return [0x6A, 0x81] }
                open.insert(free)
                return [free, 0x90, 0x00]
            case (0x70, 0x80):
                return open.remove(apdu[3]) == nil ? [0x68, 0x81] : [0x90, 0x00]
            case (0xCA, _):
                return [0x6A, 0x88]
            case (0xC0, _):
                return [0x01, 0x02, 0x90, 0x00]
            case (0xE2, _) where apdu.count > 6 && apdu[5] == 0xBF && apdu[6] == 0x2E:
                return [0xBF, 0x2E, 0x02, 0x61, 0x02]
            default:
                return [0x90, 0x00]
            }
        }
    }
}
