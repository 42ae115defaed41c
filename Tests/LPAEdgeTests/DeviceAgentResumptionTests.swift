import Foundation
@testable import LPAEdge
import LPASimKit
import Logging
import NIOConcurrencyHelpers
import NIOCore
import TerminalProtocol
import XCTest

/// The C device agent reconnecting after its edge went away resumes its TLS session on another
/// edge of the deployment: both edges derive their ticket keys from one shared secret.
final class DeviceAgentResumptionTests: XCTestCase {
    /// Admits every terminal like the standalone link and records each registration's TLS resumption.
    final class RecordingLink: CoreLink {
        let inner = StandaloneCoreLink(defaultSettings: TerminalSettings(heartbeatIntervalSeconds: 1, historyLimit: 10, version: 1))
        let resumptions = NIOLockedValueBox<[Bool]>([])
        func register(_ registration: TerminalRegistration) async throws -> RegistrationDecision {
            resumptions.withLockedValue { $0.append(registration.tlsResumed) }
            return try await inner.register(registration)
        }
        func report(heartbeats: [HeartbeatCount]) async { await inner.report(heartbeats: heartbeats) }
        func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64?) async {}
    }

    func testAgentResumesOnAnotherEdgeSharingTheTicketSecret() async throws {
        guard let binary = DeviceAgentBuild.ensureBuilt(repositoryRoot: DeviceAgentEndToEndTests.repositoryRoot) else {
            throw XCTSkip("lpa-agent is not built and `make -C Sources/CLPAAgent` failed")
        }
        let directory = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lpa-agent-resume-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let pki = try TestPKI.create(at: directory.appendingPathComponent("pki"), devices: 1)
        let device = try XCTUnwrap(pki.devices.first)
        let secret = directory.appendingPathComponent("ticket.key")
        try "c2hhcmVkIGJ5IGV2ZXJ5IGVkZ2Ugb2YgdGhlIGRlcGxveW1lbnQgMDEyMzQ1Njc4OQ==\n".write(to: secret, atomically: true, encoding: .utf8)

        var logger = Logger(label: "edge-agent-resume")
        logger.logLevel = .warning
        let link = RecordingLink()
        func startEdge(port: Int, node: String) async throws -> EdgeServer {
            var config = EdgeConfiguration()
            config.listen.port = port
            config.tls.certificate = directory.appendingPathComponent("pki/edge.pem").path
            config.tls.privateKey = directory.appendingPathComponent("pki/edge.key").path
            config.tls.clientCA = directory.appendingPathComponent("pki/fleet-ca.pem").path
            config.tls.ticketKeyFile = secret.path
            config.heartbeat.defaultIntervalSeconds = 1
            config.drainSeconds = 1
            config.nodeID = node
            let edge = try EdgeServer(environment: EdgeEnvironment(configuration: config, coreLink: link, logger: logger))
            try await edge.start()
            return edge
        }
        let first = try await startEdge(port: 0, node: "edge-a")
        let port = try XCTUnwrap(first.localAddress?.port)
        let card = try await LoopbackCardServer.start()

        let configURL = directory.appendingPathComponent("agent.conf")
        try """
            server_host = 127.0.0.1
            server_port = \(port)
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
            backoff_initial_ms = 100
            backoff_max_ms = 500
            """.write(to: configURL, atomically: true, encoding: .utf8)
        let output = NIOLockedValueBox("")
        let pipe = Pipe()
        pipe.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty { handle.readabilityHandler = nil } else { output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) } }
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
        let eid = device.identity.eid.value
        do {
            try await eventually("the agent's session on edge A") { first.environment.sessions.session(for: eid) != nil }
            // The TLS 1.3 ticket follows the handshake: an acknowledged heartbeat means it was read.
            try await eventually("a heartbeat acknowledged by edge A") { output.withLockedValue { $0.contains("heartbeat 1 acknowledged") } }
            await first.stop()  // SHUTTING_DOWN: the agent reconnects to the same address
            let second = try await startEdge(port: port, node: "edge-b")
            try await eventually("the agent's session on edge B") { second.environment.sessions.session(for: eid) != nil }
            XCTAssertEqual(link.resumptions.withLockedValue { $0 }, [false, true], "edge B did not resume the ticket edge A issued")
            agent.terminate()
            try await eventually("the agent to exit") { !agent.isRunning }
            await second.stop()
        } catch {
            print("lpa-agent output:\n\(output.withLockedValue { $0 })")
            throw error
        }
        try await card.stop()
    }
}
