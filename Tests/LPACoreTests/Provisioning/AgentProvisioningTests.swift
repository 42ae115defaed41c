import Foundation
import LPACore
import LPAIdentity
import LPALab
import LPASimKit
import NIOConcurrencyHelpers
import XCTest

/// The C device agent (`lpa-agent`) as real processes, each with its loopback driver pointed at a virtual
/// eUICC, provisioned through lpa-edge and lpa-core from the SM-DP+ simulator like the simulated fleet.
final class AgentProvisioningTests: XCTestCase {
    static let repositoryRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    func agentBinary() throws -> URL {
        guard let binary = DeviceAgentBuild.ensureBuilt(repositoryRoot: Self.repositoryRoot) else {
            throw XCTSkip("lpa-agent is not built and `make -C Sources/CLPAAgent` failed")
        }
        return binary
    }

    func testAgentsWithVirtualEUICCsAreProvisioned() async throws {
        let binary = try agentBinary()
        var configuration = LabConfiguration()
        configuration.workdir = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-agent-lab-\(UUID().uuidString)").path
        configuration.terminals = 2
        configuration.startsFleet = false
        configuration.profileSize = 4096
        let lab = ProvisioningLab(configuration: configuration)
        try await lab.start()
        let rsp = try XCTUnwrap(lab.rspPKI)
        let pki = try TestPKI.load(from: URL(fileURLWithPath: "\(configuration.workdir)/pki"))

        var agents: [Process] = []
        var servers: [CardServer] = []
        var cards: [VirtualEUICC] = []
        do {
            for device in pki.devices.prefix(2) {
                let card = VirtualEUICC(identity: try VirtualEUICC.Identity(pki: rsp, eid: device.identity.eid))
                cards.append(card)
                let server = try await CardServer.start(card: card)
                servers.append(server)
                let config = URL(fileURLWithPath: configuration.workdir).appendingPathComponent("agent-\(device.identity.eid.value).conf")
                try """
                    server_host = 127.0.0.1
                    server_port = \(lab.edgePort)
                    server_name = localhost
                    ca_file = \(configuration.workdir)/pki/fleet-ca.pem
                    cert_file = \(device.certificate.path)
                    key_file = \(device.key.path)
                    eid = \(device.identity.eid.value)
                    imei = \(device.identity.imei.value)
                    iccid = \(device.identity.iccid.value)
                    model = \(device.identity.model)
                    firmware = 1.0.0
                    driver = loopback
                    loopback_address = 127.0.0.1:\(server.port)
                    log = stderr
                    log_level = warning
                    backoff_initial_ms = 200
                    backoff_max_ms = 1000
                    """.write(to: config, atomically: true, encoding: .utf8)
                let agent = Process()
                agent.executableURL = binary
                agent.arguments = [config.path]
                agent.standardOutput = FileHandle.nullDevice
                agent.standardError = FileHandle.nullDevice
                try agent.run()
                agents.append(agent)
            }
            // The agent reports the ICCID it was configured with (a modem would report the new one after the
            // refresh), so the jobs end waiting for the return; the profiles are installed and enabled.
            let deadline = Date().addingTimeInterval(90)
            var counts = await lab.jobCounts()
            while Date() < deadline, (counts[.awaitingReturn] ?? 0) + (counts[.failed] ?? 0) < 2 {
                try await Task.sleep(for: .milliseconds(200))
                counts = await lab.jobCounts()
            }
            XCTAssertEqual(counts[.awaitingReturn], 2, "\(counts)")
            let stats = await lab.smdp?.simulator.statistics
            XCTAssertEqual(stats?.installsConfirmed, 2)
        } catch {
            for agent in agents where agent.isRunning { kill(agent.processIdentifier, SIGKILL) }
            throw error
        }
        for agent in agents where agent.isRunning { agent.terminate() }
        for agent in agents { agent.waitUntilExit() }
        for server in servers { await server.stop() }
        await lab.stop()
        for card in cards {
            XCTAssertEqual(card.profiles.count, 1)
            XCTAssertNotNil(card.enabledICCID)
        }
        try? FileManager.default.removeItem(atPath: configuration.workdir)
    }
}
