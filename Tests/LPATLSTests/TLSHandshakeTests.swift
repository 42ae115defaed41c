import Foundation
import LPACrypto
import LPATLS
import NIOCore
import NIOPosix
import XCTest

/// The TLS layer over real sockets on loopback: versions, mutual TLS, verification failures,
/// resumption and data transfer.
final class TLSHandshakeTests: XCTestCase {
    var ca: TestAuthority!
    var serverLeaf: TestAuthority.Leaf!
    var clientLeaf: TestAuthority.Leaf!

    override func setUpWithError() throws {
        ca = try TestAuthority(name: "Test Fleet CA")
        serverLeaf = try ca.issue(commonName: "edge", client: false)
        clientLeaf = try ca.issue(commonName: "89049032123451234512345678901235", serialNumber: "356938035643809", dnsNames: [], ips: [], server: false)
    }

    func serverConfig(verify: TLSConfiguration.PeerVerification = .required) -> TLSConfiguration {
        var c = TLSConfiguration.server(certificateChain: serverLeaf.chain, privateKey: serverLeaf.privateKey, trustRoots: ca.pem, peerVerification: verify)
        c.handshakeTimeout = .seconds(5)
        return c
    }

    func clientConfig(leaf: TestAuthority.Leaf? = nil, roots: TLSConfiguration.PEMSource? = nil) -> TLSConfiguration {
        let l = leaf ?? clientLeaf!
        return .client(trustRoots: roots ?? ca.pem, certificateChain: l.chain, privateKey: l.privateKey)
    }

    func testMutualTLS13HandshakeCarriesPeerIdentityAndData() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let (client, recorder) = try await connectTestClient(clientConfig(), port: server.port)
        let clientSide = try await recorder.handshake.futureResult.get()
        XCTAssertEqual(clientSide.protocolVersion, "TLSv1.3")
        XCTAssertEqual(clientSide.peerSubjectValue("CN"), "edge")
        XCTAssertFalse(clientSide.resumed)

        let accepted = try await server.nextConnection()
        let serverSide = try await accepted.handshake.futureResult.get()
        XCTAssertEqual(serverSide.peerSubjectValue("CN"), "89049032123451234512345678901235")
        XCTAssertEqual(serverSide.peerSubjectValue("serialNumber"), "356938035643809")
        XCTAssertEqual(serverSide.serverName, "localhost")
        XCTAssertNotNil(serverSide.peerCertificateDER)
        XCTAssertEqual(try Certificate(der: serverSide.peerCertificateDER!).der, clientLeaf.certificate.der)

        try await client.writeAndFlush(ByteBuffer(string: "hello over tls"))
        let echoed = try await recorder.waitForBytes(14, on: client.eventLoop).get()
        XCTAssertEqual(String(buffer: echoed), "hello over tls")
        try await client.close()
    }

    func testTLS12Handshake() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        var c = clientConfig()
        c.maximumVersion = .tls12
        let (client, recorder) = try await connectTestClient(c, port: server.port)
        let details = try await recorder.handshake.futureResult.get()
        XCTAssertEqual(details.protocolVersion, "TLSv1.2")
        XCTAssertTrue(details.cipherSuite.hasPrefix("ECDHE-ECDSA"), details.cipherSuite)
        try await client.close()
    }

    func testClientWithoutCertificateIsRefusedWhenMutualTLSIsRequired() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let (_, recorder) = try await connectTestClient(.client(trustRoots: ca.pem), port: server.port)
        let accepted = try await server.nextConnection()
        let error = try await accepted.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(let reasons, _) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertTrue(reasons.joined().contains("certificate"), "\(reasons)")
        // The client learns of the refusal too: in TLS 1.3 its side of the handshake completes
        // first, and the server's alert arrives as the next record.
        let clientError = try await recorder.firstError.futureResult.get()
        XCTAssertTrue("\(clientError)".contains("certificate required"), "\(clientError)")
    }

    func testClientCertificateFromUnknownCAIsRefused() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let rogue = try TestAuthority(name: "Rogue CA")
        let rogueLeaf = try rogue.issue(commonName: "89049032123451234512345678901235", server: false)
        _ = try await connectTestClient(clientConfig(leaf: rogueLeaf), port: server.port)
        let accepted = try await server.nextConnection()
        let error = try await accepted.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(_, let verify) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertEqual(verify, "unable to get local issuer certificate")
        XCTAssertEqual((error as? TLSError)?.code, "TLS_PEER_VERIFICATION_FAILED")
    }

    func testServerCertificateFromUnknownCAIsRefusedByClient() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let other = try TestAuthority(name: "Other CA")
        let (_, recorder) = try await connectTestClient(clientConfig(roots: other.pem), port: server.port)
        let error = try await recorder.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(_, let verify) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertEqual(verify, "unable to get local issuer certificate")
    }

    func testExpiredClientCertificateIsRefused() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let expired = try ca.issue(commonName: "expired-device", server: false,
                                   notBefore: Date(timeIntervalSinceNow: -86400 * 10), notAfter: Date(timeIntervalSinceNow: -86400))
        _ = try await connectTestClient(clientConfig(leaf: expired), port: server.port)
        let accepted = try await server.nextConnection()
        let error = try await accepted.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(_, let verify) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertEqual(verify, "certificate has expired")
    }

    func testExpiredServerCertificateIsRefused() async throws {
        let expired = try ca.issue(commonName: "edge", client: false,
                                   notBefore: Date(timeIntervalSinceNow: -86400 * 10), notAfter: Date(timeIntervalSinceNow: -86400))
        var config = serverConfig()
        config.certificateChain = expired.chain
        config.privateKey = expired.privateKey
        let server = try await TestTLSServer.start(config)
        defer { Task { try? await server.stop() } }
        let (_, recorder) = try await connectTestClient(clientConfig(), port: server.port)
        let error = try await recorder.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(_, let verify) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertEqual(verify, "certificate has expired")
    }

    func testWrongHostnameIsRefused() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let (_, recorder) = try await connectTestClient(clientConfig(), port: server.port, serverHostname: "smdp.example.com")
        let error = try await recorder.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(_, let verify) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertEqual(verify, "hostname mismatch")
    }

    func testIPAddressIsCheckedAgainstIPSubjectAltName() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let (ok, okRecorder) = try await connectTestClient(clientConfig(), port: server.port, serverHostname: "127.0.0.1")
        _ = try await okRecorder.handshake.futureResult.get()
        try await ok.close()
        let (_, badRecorder) = try await connectTestClient(clientConfig(), port: server.port, serverHostname: "127.0.0.2")
        let error = try await badRecorder.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(_, let verify) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertEqual(verify, "IP address mismatch")
    }

    func testSessionResumptionSkipsFullHandshake() async throws {
        for version in [TLSConfiguration.ProtocolVersion.tls13, .tls12] {
            let server = try await TestTLSServer.start(serverConfig())
            let cache = TLSClientSessionCache()
            var c = clientConfig()
            c.maximumVersion = version
            // First connection: full handshake; the ticket arrives with the first application data.
            let (first, r1) = try await connectTestClient(c, port: server.port, sessionCache: cache)
            let d1 = try await r1.handshake.futureResult.get()
            XCTAssertFalse(d1.resumed)
            try await first.writeAndFlush(ByteBuffer(string: "x"))
            _ = try await r1.waitForBytes(1, on: first.eventLoop).get()
            try await first.close()
            XCTAssertEqual(cache.count, 1)

            let (second, r2) = try await connectTestClient(c, port: server.port, sessionCache: cache)
            let d2 = try await r2.handshake.futureResult.get()
            XCTAssertTrue(d2.resumed, "\(version) did not resume")
            let accepted1 = try await server.nextConnection()
            let accepted2 = try await server.nextConnection()
            _ = try await accepted1.handshake.futureResult.get()
            let resumedServerSide = try await accepted2.handshake.futureResult.get()
            XCTAssertTrue(resumedServerSide.resumed)
            // The device identity survives resumption: the ticket carries the client certificate.
            XCTAssertEqual(resumedServerSide.peerSubjectValue("CN"), "89049032123451234512345678901235")
            try await second.close()
            try await server.stop()
        }
    }

    func testHandshakeTimeoutClosesSilentPeer() async throws {
        var config = serverConfig()
        config.handshakeTimeout = .milliseconds(200)
        let server = try await TestTLSServer.start(config)
        defer { Task { try? await server.stop() } }
        // A plain TCP client that never speaks.
        let silent = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connect(host: "127.0.0.1", port: server.port).get()
        let accepted = try await server.nextConnection()
        let error = try await accepted.firstError.futureResult.get()
        XCTAssertEqual(error as? TLSError, .handshakeTimeout)
        try await silent.closeFuture.get()
    }

    func testWritesBeforeHandshakeAreQueuedAndLargeTransfersArriveIntact() async throws {
        let server = try await TestTLSServer.start(serverConfig())
        defer { Task { try? await server.stop() } }
        let (client, recorder) = try await connectTestClient(clientConfig(), port: server.port)
        // Written immediately after connect: the handshake is still running.
        var payload = ByteBuffer()
        for i in 0..<(1 << 20) { payload.writeInteger(UInt8(truncatingIfNeeded: i &* 31)) }
        let written = client.eventLoop.flatSubmit { client.writeAndFlush(payload) }
        let echoed = try await recorder.waitForBytes(payload.readableBytes, on: client.eventLoop).get()
        try await written.get()
        XCTAssertEqual(echoed, payload)
        try await client.close()
    }

    func testCloseSendsCloseNotifyAndPeerSeesCleanEnd() async throws {
        let server = try await TestTLSServer.start(serverConfig(), echo: false)
        defer { Task { try? await server.stop() } }
        let (client, recorder) = try await connectTestClient(clientConfig(), port: server.port)
        _ = try await recorder.handshake.futureResult.get()
        let accepted = try await server.nextConnection()
        _ = try await accepted.handshake.futureResult.get()
        try await client.close()
        // The server side ends without a TLS error: close_notify arrived before the TCP close.
        do {
            let error = try await accepted.firstError.futureResult.get()
            XCTFail("server saw an error: \(error)")
        } catch {
            XCTAssertEqual(error as? TLSError, .closed)
        }
    }

    func testBrainpoolGroupWithTLS12() async throws {
        // The group list must also cover the certificates' curve (P-256 here).
        var s = serverConfig()
        s.groups = "brainpoolP256r1:P-256"
        s.maximumVersion = .tls12
        let server = try await TestTLSServer.start(s)
        defer { Task { try? await server.stop() } }
        var c = clientConfig()
        c.groups = "brainpoolP256r1:P-256"
        c.maximumVersion = .tls12
        let (client, recorder) = try await connectTestClient(c, port: server.port)
        let details = try await recorder.handshake.futureResult.get()
        XCTAssertEqual(details.protocolVersion, "TLSv1.2")
        XCTAssertEqual(details.group, "brainpoolP256r1")
        try await client.close()
    }

    func testBrainpoolCertificatesWithTLS12() async throws {
        let bpCA = try TestAuthority(name: "Brainpool CA", curve: .brainpoolP256r1)
        let bpServer = try bpCA.issue(commonName: "smdp", client: false, curve: .brainpoolP256r1)
        let bpClient = try bpCA.issue(commonName: "device", server: false, curve: .brainpoolP256r1)
        var s = TLSConfiguration.server(certificateChain: bpServer.chain, privateKey: bpServer.privateKey, trustRoots: bpCA.pem)
        s.maximumVersion = .tls12
        let server = try await TestTLSServer.start(s)
        defer { Task { try? await server.stop() } }
        var c = TLSConfiguration.client(trustRoots: bpCA.pem, certificateChain: bpClient.chain, privateKey: bpClient.privateKey)
        c.maximumVersion = .tls12
        let (client, recorder) = try await connectTestClient(c, port: server.port)
        let details = try await recorder.handshake.futureResult.get()
        XCTAssertEqual(details.peerSubjectValue("CN"), "smdp")
        try await client.close()
    }
}
