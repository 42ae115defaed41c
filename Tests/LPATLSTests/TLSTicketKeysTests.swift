import Foundation
import LPATLS
import NIOCore
import NIOPosix
import XCTest

/// Session tickets sealed with keys derived from a shared secret resume on every server holding
/// that secret (a deployment's edges), and on no other.
final class TLSTicketKeysTests: XCTestCase {
    var ca: TestAuthority!
    var serverLeaf: TestAuthority.Leaf!
    var clientLeaf: TestAuthority.Leaf!
    let secret = Array("a deployment-wide secret of at least 32 bytes".utf8)

    override func setUpWithError() throws {
        ca = try TestAuthority(name: "Test Fleet CA")
        serverLeaf = try ca.issue(commonName: "edge", client: false)
        clientLeaf = try ca.issue(commonName: "89049032123451234512345678901235", serialNumber: "356938035643809", dnsNames: [], ips: [], server: false)
    }

    func serverConfig(keys: TLSTicketKeys?) -> TLSConfiguration {
        var c = TLSConfiguration.server(certificateChain: serverLeaf.chain, privateKey: serverLeaf.privateKey, trustRoots: ca.pem)
        c.handshakeTimeout = .seconds(5)
        c.ticketKeys = keys
        return c
    }

    /// Connects, exchanges a byte (the TLS 1.3 ticket arrives after the handshake) and closes;
    /// returns whether the handshake resumed on both sides.
    func connect(to server: TestTLSServer, version: TLSConfiguration.ProtocolVersion, cache: TLSClientSessionCache) async throws -> Bool {
        var c = TLSConfiguration.client(trustRoots: ca.pem, certificateChain: clientLeaf.chain, privateKey: clientLeaf.privateKey)
        c.maximumVersion = version
        let (channel, recorder) = try await connectTestClient(c, port: server.port, sessionCache: cache, sessionKey: "deployment")
        let details = try await recorder.handshake.futureResult.get()
        try await channel.writeAndFlush(ByteBuffer(string: "x"))
        _ = try await recorder.waitForBytes(1, on: channel.eventLoop).get()
        let accepted = try await server.nextConnection()
        let serverSide = try await accepted.handshake.futureResult.get()
        XCTAssertEqual(serverSide.resumed, details.resumed)
        // The device identity survives resumption on another server: the ticket carries it.
        XCTAssertEqual(serverSide.peerSubjectValue("CN"), "89049032123451234512345678901235")
        try await channel.close()
        return details.resumed
    }

    func testATicketFromOneServerResumesOnAnotherWithTheSameSecret() async throws {
        for version in [TLSConfiguration.ProtocolVersion.tls13, .tls12] {
            let a = try await TestTLSServer.start(serverConfig(keys: try TLSTicketKeys(secret: secret)))
            let b = try await TestTLSServer.start(serverConfig(keys: try TLSTicketKeys(secret: secret)))
            let cache = TLSClientSessionCache()
            let first = try await connect(to: a, version: version, cache: cache)
            XCTAssertFalse(first)
            let second = try await connect(to: b, version: version, cache: cache)
            XCTAssertTrue(second, "\(version): a ticket from server A did not resume on server B")
            try await a.stop()
            try await b.stop()
        }
    }

    func testServersWithoutTheSecretMakeAFullHandshake() async throws {
        for version in [TLSConfiguration.ProtocolVersion.tls13, .tls12] {
            let a = try await TestTLSServer.start(serverConfig(keys: try TLSTicketKeys(secret: secret)))
            let other = try await TestTLSServer.start(serverConfig(keys: try TLSTicketKeys(secret: Array(repeating: 7, count: 32))))
            let processKeys = try await TestTLSServer.start(serverConfig(keys: nil))
            let cache = TLSClientSessionCache()
            _ = try await connect(to: a, version: version, cache: cache)
            let onOther = try await connect(to: other, version: version, cache: cache)
            XCTAssertFalse(onOther, "\(version): another secret opened the ticket")
            _ = try await connect(to: a, version: version, cache: cache)
            let onProcessKeys = try await connect(to: processKeys, version: version, cache: cache)
            XCTAssertFalse(onProcessKeys, "\(version): a server with OpenSSL's own keys opened the ticket")
            for server in [a, other, processKeys] { try await server.stop() }
        }
    }

    func testTicketsExpireAfterTheAcceptedPeriods() async throws {
        let start = Int(Date().timeIntervalSince1970)
        let issuing = try TLSTicketKeys(secret: secret, rotationSeconds: 3600, acceptedPeriods: 2, now: { start })
        let nextPeriod = try TLSTicketKeys(secret: secret, rotationSeconds: 3600, acceptedPeriods: 2, now: { start + 3600 })
        let twoLater = try TLSTicketKeys(secret: secret, rotationSeconds: 3600, acceptedPeriods: 2, now: { start + 7200 })
        let a = try await TestTLSServer.start(serverConfig(keys: issuing))
        let b = try await TestTLSServer.start(serverConfig(keys: nextPeriod))
        let c = try await TestTLSServer.start(serverConfig(keys: twoLater))
        let cache = TLSClientSessionCache()
        _ = try await connect(to: a, version: .tls13, cache: cache)
        let inNextPeriod = try await connect(to: b, version: .tls13, cache: cache)
        XCTAssertTrue(inNextPeriod, "a ticket of the previous period must still resume")
        // Resuming on b renewed the ticket with b's current key, so start again from a's.
        let fresh = TLSClientSessionCache()
        _ = try await connect(to: a, version: .tls13, cache: fresh)
        let twoPeriodsLater = try await connect(to: c, version: .tls13, cache: fresh)
        XCTAssertFalse(twoPeriodsLater, "a ticket two periods old must not resume")
        for server in [a, b, c] { try await server.stop() }
    }

    func testSecretsAndPeriodsAreChecked() throws {
        XCTAssertThrowsError(try TLSTicketKeys(secret: Array(repeating: 1, count: 31)))
        XCTAssertThrowsError(try TLSTicketKeys(secret: secret, rotationSeconds: 59))
        XCTAssertThrowsError(try TLSTicketKeys(secret: secret, acceptedPeriods: 0))
        let file = try temporaryFile("  \(String(repeating: "k", count: 40))\n", suffix: ".key")
        XCTAssertEqual(try TLSTicketKeys(file: file).rotationSeconds, 43_200)
        let short = try temporaryFile("short\n", suffix: ".key")
        XCTAssertThrowsError(try TLSTicketKeys(file: short))
        XCTAssertThrowsError(try TLSTicketKeys(file: "/nonexistent/ticket.key"))
    }
}
