import LPAHTTP
import LPATLS
import NIOCore
import NIOHTTP1
import NIOPosix
import XCTest

/// The HTTPS client and server over real TLS on loopback: round trips, reuse, limits, deadlines
/// and verification failures.
final class HTTPSClientTests: XCTestCase {
    let pki = TestPKI.shared

    func testPostAndGetRoundTripOverOneKeptAliveConnection() async throws {
        let server = try await FakeServer { request in
            HTTPServerResponse(status: .ok, headers: ["X-Echo-Method": "\(request.method)"], body: Array("\(request.path):".utf8) + request.body)
        }
        let client = try HTTPSClient(configuration: pki.clientConfiguration())
        for i in 0..<5 {
            let response = try await client.post("https://127.0.0.1:\(server.port)/echo?n=\(i)", headers: ["X-Test": "yes"], body: Array("body \(i)".utf8))
            XCTAssertEqual(response.status, .ok)
            XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "/echo:body \(i)")
            XCTAssertEqual(response.headers.first(name: "X-Echo-Method"), "POST")
        }
        let get = try await client.get("https://localhost:\(server.port)/status")
        XCTAssertEqual(String(decoding: get.body, as: UTF8.self), "/status:")

        let requests = server.requests
        XCTAssertEqual(requests.count, 6)
        XCTAssertEqual(requests[0].uri, "/echo?n=0")
        XCTAssertEqual(requests[0].headers.first(name: "X-Test"), "yes")
        XCTAssertEqual(requests[0].headers.first(name: "Host"), "127.0.0.1:\(server.port)")
        XCTAssertEqual(requests[0].headers.first(name: "Content-Length"), "6")
        XCTAssertNotNil(requests[0].tls)
        // Five calls to 127.0.0.1 share one connection; "localhost" is another pool key.
        XCTAssertEqual(client.connectionsOpened, 2)
        XCTAssertEqual(server.server.acceptedConnections, 2)
        await client.shutdown()
        await server.stop()
    }

    func testConcurrentCallsWaitForTheOnlyConnectionAllowed() async throws {
        let gate = Gate()
        let arrived = Gate()
        let server = try await FakeServer { request in
            if request.path == "/slow" {
                arrived.open()
                await gate.wait()
            }
            return HTTPServerResponse(status: .ok, body: Array(request.path.utf8))
        }
        var configuration = pki.clientConfiguration()
        configuration.maxConnectionsPerHost = 1
        let client = try HTTPSClient(configuration: configuration)
        let url = "https://127.0.0.1:\(server.port)"
        async let slow = client.get(url + "/slow")
        // The slow call holds the connection once the server has its request.
        await arrived.wait()
        async let queued = client.get(url + "/queued")
        gate.open()
        let (a, b) = try await (slow, queued)
        XCTAssertEqual(String(decoding: a.body, as: UTF8.self), "/slow")
        XCTAssertEqual(String(decoding: b.body, as: UTF8.self), "/queued")
        XCTAssertEqual(client.connectionsOpened, 1)
        XCTAssertEqual(server.server.acceptedConnections, 1)
        await client.shutdown()
        await server.stop()
    }

    func testServerThatNeverAnswersTimesOutWithinTheDeadlineAndTheConnectionIsClosed() async throws {
        let gate = Gate()
        let server = try await FakeServer { request in
            if request.path == "/hang" { await gate.wait() }
            return HTTPServerResponse(status: .ok)
        }
        defer { gate.open() }
        let client = try HTTPSClient(configuration: pki.clientConfiguration())
        let url = "https://127.0.0.1:\(server.port)"
        _ = try await client.get(url + "/warm")
        let started = NIODeadline.now()
        await assertThrows(HTTPClientError.timeout) { try await client.get(url + "/hang", timeout: .milliseconds(300)) }
        let elapsed = NIODeadline.now() - started
        XCTAssertGreaterThanOrEqual(elapsed, .milliseconds(300))
        XCTAssertLessThan(elapsed, .seconds(5))
        // The timed-out connection is not reused.
        _ = try await client.get(url + "/after")
        XCTAssertEqual(client.connectionsOpened, 2)
        await client.shutdown()
        await server.stop()
    }

    func testCancellingTheCallingTaskFailsTheCallAndClosesItsConnection() async throws {
        let gate = Gate()
        let arrived = Gate()
        defer { gate.open() }
        let server = try await FakeServer { _ in
            arrived.open()
            await gate.wait()
            return HTTPServerResponse(status: .ok)
        }
        var configuration = pki.clientConfiguration()
        configuration.maxConnectionsPerHost = 1
        let client = try HTTPSClient(configuration: configuration)
        let url = "https://127.0.0.1:\(server.port)/hang"
        let inFlight = Task { try await client.get(url, timeout: .seconds(60)) }
        await arrived.wait()
        // A second call waits for the only connection; cancelling it leaves the first alone.
        let waiting = Task { try await client.get(url, timeout: .seconds(60)) }
        waiting.cancel()
        await assertThrows(HTTPClientError.cancelled) { try await waiting.value }
        inFlight.cancel()
        await assertThrows(HTTPClientError.cancelled) { try await inFlight.value }
        XCTAssertEqual(client.connectionsOpened, 1)
        await client.shutdown()
        await server.stop()
    }

    func testResponseLargerThanTheLimitFails() async throws {
        let server = try await FakeServer { _ in HTTPServerResponse(status: .ok, body: [UInt8](repeating: 0x41, count: 4096)) }
        var configuration = pki.clientConfiguration()
        configuration.maxResponseBodySize = 1024
        let client = try HTTPSClient(configuration: configuration)
        await assertThrows(HTTPClientError.responseTooLarge(limit: 1024)) { try await client.get("https://127.0.0.1:\(server.port)/big") }
        await client.shutdown()
        await server.stop()
    }

    func testServerClosingWithoutAnswerIsConnectionClosedEarly() async throws {
        let server = try await FakeServer { _ in .dropConnection }
        let client = try HTTPSClient(configuration: pki.clientConfiguration())
        await assertThrows(HTTPClientError.connectionClosedEarly) { try await client.get("https://127.0.0.1:\(server.port)/drop") }
        await client.shutdown()
        await server.stop()
    }

    func testUnknownCertificateAuthorityFailsVerification() async throws {
        let server = try await FakeServer()
        let client = try HTTPSClient(configuration: pki.clientConfiguration(trusting: pki.otherCAPEM))
        let error = await thrownError { try await client.get("https://127.0.0.1:\(server.port)/") }
        guard case .tls(let tls)? = error as? HTTPClientError else { return XCTFail("expected a TLS error, got \(String(describing: error))") }
        XCTAssertEqual(tls.code, "TLS_PEER_VERIFICATION_FAILED")
        await client.shutdown()
        await server.stop()
    }

    func testCertificateForAnotherHostFailsVerification() async throws {
        let ca = try TestAuthority(name: "Name Check CA")
        let leaf = try ca.issue(commonName: "elsewhere", dnsNames: ["smdp.elsewhere.example"], ips: ["127.0.0.2"])
        let server = try await FakeServer(tls: .server(certificateChain: .pem(leaf.chainPEM), privateKey: .pem(leaf.keyPEM), trustRoots: nil, peerVerification: .none))
        let client = try HTTPSClient(configuration: pki.clientConfiguration(trusting: ca.pem))
        let error = await thrownError { try await client.get("https://127.0.0.1:\(server.port)/") }
        guard case .tls(.handshakeFailed(_, let verifyError?))? = error as? HTTPClientError else {
            return XCTFail("expected a verification failure, got \(String(describing: error))")
        }
        XCTAssertTrue(verifyError.localizedCaseInsensitiveContains("mismatch"), verifyError)
        await client.shutdown()
        await server.stop()
    }

    func testClientCertificateIsPresentedForMutualTLS() async throws {
        let server = try await FakeServer(tls: pki.serverTLS(requireClientCertificate: true)) { request in
            HTTPServerResponse(status: .ok, body: Array((request.tls?.peerSubjectValue("CN") ?? "none").utf8))
        }
        var configuration = pki.clientConfiguration()
        configuration.certificateChain = .pem(pki.clientChainPEM)
        configuration.privateKey = .pem(pki.clientKeyPEM)
        let client = try HTTPSClient(configuration: configuration)
        let response = try await client.get("https://127.0.0.1:\(server.port)/who")
        XCTAssertEqual(String(decoding: response.body, as: UTF8.self), "operator.test")
        await client.shutdown()
        await server.stop()
    }

    func testRequestBodyOverTheServerLimitGets413() async throws {
        let server = try await FakeServer(maxRequestBodySize: 100)
        let client = try HTTPSClient(configuration: pki.clientConfiguration())
        let response = try await client.post("https://127.0.0.1:\(server.port)/upload", body: [UInt8](repeating: 1, count: 1000))
        XCTAssertEqual(response.status, .payloadTooLarge)
        XCTAssertTrue(server.requests.isEmpty)
        await client.shutdown()
        await server.stop()
    }

    func testRefusedConnectionIsConnectFailed() async throws {
        let server = try await FakeServer(tls: nil)
        let port = server.port
        await server.stop()
        let client = try HTTPSClient(configuration: pki.clientConfiguration())
        let error = await thrownError { try await client.get("https://127.0.0.1:\(port)/") }
        guard case .connectFailed(let host, let failedPort, _)? = error as? HTTPClientError else {
            return XCTFail("expected connectFailed, got \(String(describing: error))")
        }
        XCTAssertEqual(host, "127.0.0.1")
        XCTAssertEqual(failedPort, port)
        await client.shutdown()
    }

    func testInvalidURLsAndCallsAfterShutdown() async throws {
        let client = try HTTPSClient(configuration: pki.clientConfiguration())
        let error = await thrownError { try await client.get("http://127.0.0.1/") }
        XCTAssertEqual((error as? HTTPClientError)?.code, "HTTP_INVALID_REQUEST")
        await client.shutdown()
        await assertThrows(HTTPClientError.shutDown) { try await client.get("https://127.0.0.1:1/") }
    }

    func testIdleConnectionsAreClosedAfterTheIdleTimeout() async throws {
        let server = try await FakeServer()
        var configuration = pki.clientConfiguration()
        configuration.idleTimeout = .milliseconds(50)
        let client = try HTTPSClient(configuration: configuration)
        _ = try await client.get("https://127.0.0.1:\(server.port)/")
        while client.openConnections > 0 { await Task.yield() }
        _ = try await client.get("https://127.0.0.1:\(server.port)/")
        XCTAssertEqual(client.connectionsOpened, 2)
        await client.shutdown()
        await server.stop()
    }

    func testMissingTrustRootsAreATLSConfigurationError() {
        XCTAssertThrowsError(try HTTPSClient(configuration: HTTPSClientConfiguration(trustRoots: .pem("not a certificate")))) { error in
            XCTAssertEqual((error as? HTTPClientError)?.code, "HTTP_TLS_FAILED")
        }
    }
}
