import LPACoreRPC
import LPARPC
import LPATLS
import NIOCore
import XCTest

/// RPCServer and RPCClient over mutual TLS on 127.0.0.1.
final class RPCTransportTests: XCTestCase {
    private struct PKI {
        let authority: RPCTestAuthority
        let core: RPCTestAuthority.Node
        let edge: RPCTestAuthority.Node

        init() throws {
            authority = try RPCTestAuthority(name: "RPC Test CA")
            core = try authority.issue(commonName: "core-1")
            edge = try authority.issue(commonName: "edge-1")
        }
    }

    private static func startServer(_ pki: PKI, port: Int = 0, accepted: EventStream<RPCConnection>) async throws -> RPCServer {
        try await RPCServer.start(
            configuration: .init(port: port, security: pki.authority.serverSecurity(pki.core), connection: RPCConnectionConfiguration(nodeID: "core-1")),
            router: TestMethods.router(prefix: "core:"),
            onConnection: { accepted.yield($0) })
    }

    private static func clientConfiguration(_ pki: PKI, port: Int, security: RPCTransportSecurity? = nil) -> RPCClient.Configuration {
        var configuration = RPCClient.Configuration(
            host: "127.0.0.1", port: port, security: security ?? pki.authority.clientSecurity(pki.edge),
            connection: RPCConnectionConfiguration(nodeID: "edge-1"))
        configuration.backoff = RPCBackoff(initial: .milliseconds(10), maximum: .milliseconds(200))
        return configuration
    }

    func testMutualTLSRoundTripWithPeerIdentities() async throws {
        try await withTimeout {
            let pki = try PKI()
            let accepted = EventStream<RPCConnection>()
            let server = try await Self.startServer(pki, accepted: accepted)
            let client = try await RPCClient.connect(configuration: Self.clientConfiguration(pki, port: server.port), router: TestMethods.router(prefix: "edge:"))
            guard let serverSide = await accepted.next() else { return XCTFail("no connection accepted") }

            let response = try await client.call(TestMethods.echo, TestMethods.request("over-tls"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(response.terminalID, "core:over-tls")
            let back = try await serverSide.call(TestMethods.echo, TestMethods.request("back"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(back.terminalID, "edge:back")

            XCTAssertEqual(serverSide.peer.nodeID, "edge-1")
            XCTAssertEqual(serverSide.peer.tls?.peerSubjectValue("CN"), "edge-1")
            XCTAssertEqual(serverSide.peer.tls?.peerCertificateDER, pki.edge.certificate.der)
            XCTAssertEqual(client.peer.tls?.peerSubjectValue("CN"), "core-1")
            XCTAssertNotNil(serverSide.peer.remoteAddress)
            XCTAssertEqual(server.connections, [serverSide])

            await client.close()
            try await serverSide.onClose.get()
            await server.shutdown()
        }
    }

    func testClientWithCertificateFromAnotherAuthorityIsRefused() async throws {
        try await withTimeout {
            let pki = try PKI()
            let rogue = try RPCTestAuthority(name: "Rogue CA")
            let impostor = try rogue.issue(commonName: "edge-1")
            let accepted = EventStream<RPCConnection>()
            let server = try await Self.startServer(pki, accepted: accepted)
            let security = RPCTransportSecurity.tls(.client(trustRoots: pki.authority.trustRoots, certificateChain: impostor.chain, privateKey: impostor.privateKey))
            do {
                let connection = try await RPCClient.connect(configuration: Self.clientConfiguration(pki, port: server.port, security: security))
                XCTFail("connected to \(connection.remoteNodeID) with a rogue certificate")
            } catch {
                XCTAssertTrue(error is TLSError || (error as? RPCError)?.status == .unavailable, "\(error)")
            }
            XCTAssertEqual(server.connections, [])
            await server.shutdown()
        }
    }

    func testClientWithoutCertificateIsRefused() async throws {
        try await withTimeout {
            let pki = try PKI()
            let accepted = EventStream<RPCConnection>()
            let server = try await Self.startServer(pki, accepted: accepted)
            let security = RPCTransportSecurity.tls(.client(trustRoots: pki.authority.trustRoots))
            do {
                _ = try await RPCClient.connect(configuration: Self.clientConfiguration(pki, port: server.port, security: security))
                XCTFail("connected without a client certificate")
            } catch {
                XCTAssertTrue(error is TLSError || (error as? RPCError)?.status == .unavailable, "\(error)")
            }
            XCTAssertEqual(server.connections, [])
            await server.shutdown()
        }
    }

    func testClientRefusesServerFromAnotherAuthority() async throws {
        try await withTimeout {
            let pki = try PKI()
            let other = try PKI()
            let accepted = EventStream<RPCConnection>()
            let server = try await Self.startServer(other, accepted: accepted)
            do {
                _ = try await RPCClient.connect(configuration: Self.clientConfiguration(pki, port: server.port))
                XCTFail("trusted a server certificate from another authority")
            } catch {
                XCTAssertTrue(error is TLSError, "\(error)")
            }
            await server.shutdown()
        }
    }

    func testClientReconnectsAfterServerRestartAndAnnouncesEachConnection() async throws {
        try await withTimeout {
            let pki = try PKI()
            let accepted = EventStream<RPCConnection>()
            let first = try await Self.startServer(pki, accepted: accepted)
            let port = first.port
            let connects = EventStream<RPCConnection>()
            let client = try RPCClient(configuration: Self.clientConfiguration(pki, port: port), router: TestMethods.router(prefix: "edge:")) { connection in
                connects.yield(connection)
            }
            client.start()

            guard let one = await connects.next() else { return XCTFail("no first connection") }
            let connection = try await client.connection()
            XCTAssertEqual(connection, one)
            let before = try await client.call(TestMethods.echo, TestMethods.request("1"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(before.terminalID, "core:1")

            await first.shutdown()
            try await one.onClose.get()
            let second = try await Self.startServer(pki, port: port, accepted: accepted)

            guard let two = await connects.next() else { return XCTFail("no second connection") }
            XCTAssertNotEqual(one, two)
            XCTAssertEqual(client.connectionCount, 2)
            let after = try await EdgeToCoreClient(client).caller.call(
                TestMethods.echo, TestMethods.request("2"), responseType: CoreRPC_TerminalGoneRequest.self, deadline: .after(.seconds(5)))
            XCTAssertEqual(after.terminalID, "core:2")

            await client.shutdown()
            try await two.onClose.get()
            _ = await assertRPCError(.unavailable) { try await client.connection() }
            await second.shutdown()
        }
    }

    func testBackoffGrowsAndStaysWithinItsJitter() {
        let backoff = RPCBackoff(initial: .milliseconds(100), maximum: .seconds(1), multiplier: 2, jitter: 0.2)
        var generator = SplitMix64(seed: 1)
        for attempt in 0..<10 {
            let base = min(100.0 * Double(1 << attempt), 1000.0)
            let delay = Double(backoff.delay(attempt: attempt, using: &generator).nanoseconds) / 1_000_000
            XCTAssertGreaterThanOrEqual(delay, base * 0.8 - 0.001, "attempt \(attempt)")
            XCTAssertLessThanOrEqual(delay, base * 1.2 + 0.001, "attempt \(attempt)")
        }
        let exact = RPCBackoff(initial: .milliseconds(10), maximum: .seconds(1), jitter: 0)
        XCTAssertEqual(exact.delay(attempt: 0), .milliseconds(10))
        XCTAssertEqual(exact.delay(attempt: 3), .milliseconds(80))
        XCTAssertEqual(exact.delay(attempt: 1000), .seconds(1))
    }
}
