import LPAHTTP
import LPAOperator
import LPATLS
import MetricsTestKit
import NIOCore
import NIOHTTP1
import XCTest

/// ES9+ against a scripted SM-DP+ over real TLS on loopback: the request format of each
/// function, response decoding, and every kind of failure the client must type.
final class ES9PlusClientTests: XCTestCase {
    let pki = TestPKI.shared
    let transactionId = sessionTransactionId
    let challenge: [UInt8] = Array(0..<16)
    let euiccInfo1: [UInt8] = [0xBF, 0x20, 0x03, 0x82, 0x01, 0x02]

    func endpoint(_ server: FakeServer, roots: String? = nil, configure: (inout OperatorEndpoint) -> Void = { _ in }) -> OperatorEndpoint {
        var e = OperatorEndpoint(smdpAddress: "127.0.0.1:\(server.port)", trustedRoots: .pem(roots ?? pki.caPEM))
        configure(&e)
        return e
    }

    func testEveryFunctionOfADownloadSessionOverOneConnection() async throws {
        let server = try await FakeServer()
        server.respond { scriptedSMDP($0) }
        let client = try ES9PlusClient(endpoint: endpoint(server))

        let auth = try await client.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1, smdpAddress: "smdp.test")
        XCTAssertEqual(auth.transactionId, transactionId)
        XCTAssertEqual(auth.serverSigned1, [0x30, 0x03, 0x80, 0x01, 0x01])
        XCTAssertEqual(auth.serverSignature1, [0x5F, 0x37, 0x01, 0x00])
        XCTAssertEqual(auth.euiccCiPKIdToBeUsed, [0x04, 0x01, 0xAA])
        XCTAssertEqual(auth.serverCertificate, [0x30, 0x00])

        let client2 = try await client.authenticateClient(transactionId: auth.transactionId, authenticateServerResponse: [0xBF, 0x38, 0x00])
        XCTAssertEqual(client2.transactionId, transactionId)
        XCTAssertEqual(client2.profileMetadata, [0xBF, 0x25, 0x00])
        XCTAssertEqual(client2.smdpSigned2, [0x30, 0x01, 0x02])
        XCTAssertEqual(client2.smdpSignature2, [0x5F, 0x37, 0x00])
        XCTAssertEqual(client2.smdpCertificate, [0x30, 0x02, 0x05, 0x00])

        let bpp = try await client.getBoundProfilePackage(transactionId: transactionId, prepareDownloadResponse: [0xBF, 0x21, 0x00])
        XCTAssertEqual(bpp.boundProfilePackage, [0xBF, 0x36, 0x02, 0xBF, 0x23])

        try await client.handleNotification(pendingNotification: [0xBF, 0x37, 0x00])
        try await client.cancelSession(transactionId: transactionId, cancelSessionResponse: [0xBF, 0x41, 0x00])

        let requests = server.requests
        XCTAssertEqual(requests.map(\.path), [
            "/gsma/rsp2/es9plus/initiateAuthentication", "/gsma/rsp2/es9plus/authenticateClient",
            "/gsma/rsp2/es9plus/getBoundProfilePackage", "/gsma/rsp2/es9plus/handleNotification",
            "/gsma/rsp2/es9plus/cancelSession",
        ])
        for request in requests {
            XCTAssertEqual(request.method, .POST)
            XCTAssertEqual(request.headers.first(name: "Content-Type"), "application/json;charset=UTF-8")
            XCTAssertEqual(request.headers.first(name: "User-Agent"), "gsma-rsp-lpad")
            XCTAssertEqual(request.headers.first(name: "X-Admin-Protocol"), "gsma/rsp/v2.2.0")
            XCTAssertNil(jsonObject(request.body)["header"], "ES9+ requests carry no header")
        }
        let initiate = jsonObject(requests[0].body)
        XCTAssertEqual(initiate["euiccChallenge"] as? String, base64(challenge))
        XCTAssertEqual(initiate["euiccInfo1"] as? String, base64(euiccInfo1))
        XCTAssertEqual(initiate["smdpAddress"] as? String, "smdp.test")
        XCTAssertEqual(Set(initiate.keys), ["euiccChallenge", "euiccInfo1", "smdpAddress"])
        let authenticate = jsonObject(requests[1].body)
        XCTAssertEqual(authenticate["transactionId"] as? String, transactionId)
        XCTAssertEqual(authenticate["authenticateServerResponse"] as? String, base64([0xBF, 0x38, 0x00]))
        XCTAssertEqual(jsonObject(requests[2].body)["prepareDownloadResponse"] as? String, base64([0xBF, 0x21, 0x00]))
        XCTAssertEqual(jsonObject(requests[3].body)["pendingNotification"] as? String, base64([0xBF, 0x37, 0x00]))
        XCTAssertEqual(jsonObject(requests[4].body)["cancelSessionResponse"] as? String, base64([0xBF, 0x41, 0x00]))

        XCTAssertEqual(server.server.acceptedConnections, 1, "five sequential calls reuse one connection")
        await client.shutdown()
        await server.stop()
    }

    func testEachCallIsTimedByFunctionAndStatus() async throws {
        let server = try await FakeServer()
        server.respond { request in
            request.path.hasSuffix("/cancelSession")
                ? .json(json(["header": header("Failed", subjectCode: "8.10.1", reasonCode: "3.9")]))
                : scriptedSMDP(request)
        }
        let metrics = TestMetrics()
        let client = try ES9PlusClient(endpoint: endpoint(server), metrics: metrics)
        _ = try await client.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1)
        _ = try? await client.cancelSession(transactionId: transactionId, cancelSessionResponse: [0xBF, 0x41, 0x00])
        let label = "lpa_es9_request_duration_seconds"
        XCTAssertEqual(metrics.timers(label: label, dimensions: [("function", "initiateAuthentication"), ("status", "Executed-Success")]).first?.values.count, 1)
        XCTAssertEqual(metrics.timers(label: label, dimensions: [("function", "cancelSession"), ("status", "Failed")]).first?.values.count, 1)
        await client.shutdown()
        await server.stop()
    }

    func testAdminProtocolHeaderAndDefaultSMDPAddressComeFromTheEndpoint() async throws {
        let server = try await FakeServer()
        server.respond { scriptedSMDP($0) }
        let endpoint = endpoint(server) { $0.adminProtocol = "gsma/rsp/v2.5.0" }
        let client = try ES9PlusClient(endpoint: endpoint)
        _ = try await client.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1)
        XCTAssertEqual(server.requests[0].headers.first(name: "X-Admin-Protocol"), "gsma/rsp/v2.5.0")
        XCTAssertEqual(jsonObject(server.requests[0].body)["smdpAddress"] as? String, endpoint.smdpAddress)
        await client.shutdown()
        await server.stop()
    }

    func testASharedHTTPClientOutlivesTheES9PlusClient() async throws {
        let server = try await FakeServer()
        server.respond { scriptedSMDP($0) }
        let http = try HTTPSClient(configuration: pki.clientConfiguration())
        let first = try ES9PlusClient(endpoint: endpoint(server), httpClient: http)
        _ = try await first.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1)
        await first.shutdown()
        let second = try ES9PlusClient(endpoint: endpoint(server), httpClient: http)
        try await second.handleNotification(pendingNotification: [0xBF, 0x37, 0x00])
        XCTAssertEqual(http.connectionsOpened, 1, "both ES9+ clients used the shared client's connection")
        await http.shutdown()
        await server.stop()
    }

    func testHandleNotificationAccepts200WithExecutedSuccess() async throws {
        let server = try await FakeServer { _ in .json(json(["header": header("Executed-Success")])) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        try await client.handleNotification(pendingNotification: [0xBF, 0x37, 0x00])
        await client.shutdown()
        await server.stop()
    }

    func testExecutedWithWarningIsASuccess() async throws {
        let server = try await FakeServer()
        server.respond { _ in .json(initiateAuthenticationBody(["header": header("Executed-WithWarning", subjectCode: "8.1", reasonCode: "1.1")])) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        let auth = try await client.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1)
        XCTAssertEqual(auth.transactionId, transactionId)
        await client.shutdown()
        await server.stop()
    }

    func testFailedStatusCarriesSubjectAndReasonCodes() async throws {
        let server = try await FakeServer { _ in
            .json(json(["header": header("Failed", subjectCode: "8.8.5", reasonCode: "4.10", message: "Download order expired")]))
        }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        let expected = ES9PlusError.failed(StatusCodeData(subjectCode: "8.8.5", reasonCode: "4.10", message: "Download order expired"))
        await assertThrows(expected) { try await client.initiateAuthentication(euiccChallenge: challenge, euiccInfo1: euiccInfo1) }
        XCTAssertEqual(expected.code, "OPERATOR_FUNCTION_FAILED")
        await client.shutdown()
        await server.stop()
    }

    func testFailedStatusWithoutStatusCodeDataIsMalformed() async throws {
        let server = try await FakeServer { _ in .json(json(["header": header("Failed")])) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        await assertThrows(ES9PlusError.malformedResponse("status 'Failed' without 'header.functionExecutionStatus.statusCodeData'")) {
            try await client.cancelSession(transactionId: self.transactionId, cancelSessionResponse: [0xBF, 0x41, 0x00])
        }
        await client.shutdown()
        await server.stop()
    }

    func testExpiredStatus() async throws {
        let server = try await FakeServer { _ in .json(json(["header": header("Expired")])) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        await assertThrows(ES9PlusError.expired(nil)) {
            try await client.getBoundProfilePackage(transactionId: self.transactionId, prepareDownloadResponse: [0xBF, 0x21, 0x00])
        }
        XCTAssertEqual(ES9PlusError.expired(nil).code, "OPERATOR_FUNCTION_EXPIRED")
        await client.shutdown()
        await server.stop()
    }

    func testHTTPErrorStatus() async throws {
        let server = try await FakeServer { _ in HTTPServerResponse(status: .internalServerError, body: Array("boom".utf8)) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        await assertThrows(ES9PlusError.http(status: 500, body: "boom")) {
            try await client.handleNotification(pendingNotification: [0xBF, 0x37, 0x00])
        }
        await client.shutdown()
        await server.stop()
    }

    func testServerThatNeverAnswersIsATimeoutWithinTheDeadline() async throws {
        let gate = Gate()
        defer { gate.open() }
        let server = try await FakeServer { _ in
            await gate.wait()
            return HTTPServerResponse(status: .ok)
        }
        let client = try ES9PlusClient(endpoint: endpoint(server) { $0.requestTimeoutSeconds = 0.3 })
        let started = NIODeadline.now()
        await assertThrows(ES9PlusError.timeout) { try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1) }
        XCTAssertLessThan(NIODeadline.now() - started, .seconds(5))
        XCTAssertEqual(ES9PlusError.timeout.code, "OPERATOR_TIMEOUT")
        await client.shutdown()
        await server.stop()
    }

    func testBodyThatIsNotJSON() async throws {
        let server = try await FakeServer { _ in .json(Array("{\"header\": ".utf8)) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        await assertThrows(ES9PlusError.malformedResponse("response body is not JSON")) {
            try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1)
        }
        await client.shutdown()
        await server.stop()
    }

    func testMissingHeaderAndMissingFields() async throws {
        let server = try await FakeServer()
        let client = try ES9PlusClient(endpoint: endpoint(server))
        server.respond { _ in .json(initiateAuthenticationBody(["header": NSNull()])) }
        await assertThrows(ES9PlusError.malformedResponse("missing field 'header'")) {
            try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1)
        }
        server.respond { _ in .json(initiateAuthenticationBody(["serverCertificate": NSNull()])) }
        await assertThrows(ES9PlusError.malformedResponse("missing field 'serverCertificate'")) {
            try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1)
        }
        server.respond { _ in .json(initiateAuthenticationBody(["header": ["functionExecutionStatus": ["status": 7]]])) }
        await assertThrows(ES9PlusError.malformedResponse("field 'header.functionExecutionStatus.status' is not a string")) {
            try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1)
        }
        server.respond { _ in .json(initiateAuthenticationBody(["transactionId": "not hex"])) }
        await assertThrows(ES9PlusError.malformedResponse("field 'transactionId' is not a hex transactionId of 1 to 16 octets")) {
            try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1)
        }
        await client.shutdown()
        await server.stop()
    }

    func testBadBase64() async throws {
        let server = try await FakeServer()
        server.respond { _ in .json(initiateAuthenticationBody(["serverSigned1": "%%not base64%%"])) }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        await assertThrows(ES9PlusError.malformedResponse("field 'serverSigned1' is not valid base64")) {
            try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1)
        }
        await client.shutdown()
        await server.stop()
    }

    func testTransactionIdOfAnotherSession() async throws {
        let server = try await FakeServer()
        server.respond { request in
            var response = scriptedSMDP(request)
            let other = String(decoding: response.body, as: UTF8.self).replacingOccurrences(of: sessionTransactionId, with: "FFFF")
            response.body = Array(other.utf8)
            return response
        }
        let client = try ES9PlusClient(endpoint: endpoint(server))
        await assertThrows(ES9PlusError.malformedResponse("transactionId 'FFFF' does not match the session's '\(transactionId)'")) {
            try await client.authenticateClient(transactionId: self.transactionId, authenticateServerResponse: [0xBF, 0x38, 0x00])
        }
        await client.shutdown()
        await server.stop()
    }

    func testUnknownCertificateAuthority() async throws {
        let server = try await FakeServer()
        let client = try ES9PlusClient(endpoint: endpoint(server, roots: pki.otherCAPEM))
        let error = await thrownError { try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1) }
        guard case .transport(.tls(let tls))? = error as? ES9PlusError else { return XCTFail("expected a TLS failure, got \(String(describing: error))") }
        XCTAssertEqual(tls.code, "TLS_PEER_VERIFICATION_FAILED")
        XCTAssertEqual((error as? ES9PlusError)?.code, "OPERATOR_TRANSPORT")
        XCTAssertTrue(server.requests.isEmpty)
        await client.shutdown()
        await server.stop()
    }

    func testCertificateNotNamingTheSMDPAddress() async throws {
        let ca = try TestAuthority(name: "Wrong Name CA")
        let leaf = try ca.issue(commonName: "smdp.other", dnsNames: ["smdp.other.example"], ips: [])
        let server = try await FakeServer(tls: .server(certificateChain: .pem(leaf.chainPEM), privateKey: .pem(leaf.keyPEM), trustRoots: nil, peerVerification: .none))
        let client = try ES9PlusClient(endpoint: endpoint(server, roots: ca.pem))
        let error = await thrownError { try await client.initiateAuthentication(euiccChallenge: self.challenge, euiccInfo1: self.euiccInfo1) }
        guard case .transport(.tls(let tls))? = error as? ES9PlusError else { return XCTFail("expected a TLS failure, got \(String(describing: error))") }
        XCTAssertEqual(tls.code, "TLS_PEER_VERIFICATION_FAILED")
        await client.shutdown()
        await server.stop()
    }

    func testBoundProfilePackageLargerThanTheLimit() async throws {
        let server = try await FakeServer()
        server.respond { _ in
            .json(json(["header": header("Executed-Success"), "transactionId": sessionTransactionId, "boundProfilePackage": base64([UInt8](repeating: 7, count: 4096))]))
        }
        let client = try ES9PlusClient(endpoint: endpoint(server) { $0.maxResponseBodyBytes = 1024 })
        await assertThrows(ES9PlusError.transport(.responseTooLarge(limit: 1024))) {
            try await client.getBoundProfilePackage(transactionId: self.transactionId, prepareDownloadResponse: [0xBF, 0x21, 0x00])
        }
        await client.shutdown()
        await server.stop()
    }
}

let sessionTransactionId = "0123456789ABCDEF0123456789ABCDEF"

/// A well-formed InitiateAuthentication response with `overrides` applied (NSNull removes a field).
func initiateAuthenticationBody(_ overrides: [String: Any] = [:]) -> [UInt8] {
    var object: [String: Any] = [
        "header": header("Executed-Success"),
        "transactionId": sessionTransactionId,
        "serverSigned1": base64([0x30, 0x03, 0x80, 0x01, 0x01]),
        "serverSignature1": base64([0x5F, 0x37, 0x01, 0x00]),
        "euiccCiPKIdToBeUsed": base64([0x04, 0x01, 0xAA]),
        "serverCertificate": base64([0x30, 0x00]),
    ]
    for (key, value) in overrides {
        if value is NSNull { object[key] = nil } else { object[key] = value }
    }
    return json(object)
}

func scriptedSMDP(_ request: HTTPServerRequest) -> HTTPServerResponse {
    let body = jsonObject(request.body)
    switch request.path {
    case "/gsma/rsp2/es9plus/initiateAuthentication":
        return .json(initiateAuthenticationBody())
    case "/gsma/rsp2/es9plus/authenticateClient":
        return .json(json([
            "header": header("Executed-Success"),
            "transactionId": body["transactionId"] as? String ?? "",
            "profileMetadata": base64([0xBF, 0x25, 0x00]),
            "smdpSigned2": base64([0x30, 0x01, 0x02]),
            "smdpSignature2": base64([0x5F, 0x37, 0x00]),
            "smdpCertificate": base64([0x30, 0x02, 0x05, 0x00]),
        ]))
    case "/gsma/rsp2/es9plus/getBoundProfilePackage":
        return .json(json([
            "header": header("Executed-Success"),
            "transactionId": body["transactionId"] as? String ?? "",
            "boundProfilePackage": base64([0xBF, 0x36, 0x02, 0xBF, 0x23]),
        ]))
    case "/gsma/rsp2/es9plus/handleNotification":
        return HTTPServerResponse(status: .noContent)
    case "/gsma/rsp2/es9plus/cancelSession":
        return .json(json(["header": header("Executed-Success")]))
    default:
        return HTTPServerResponse(status: .notFound)
    }
}
