import LPAHTTP
import LPAOperator
import NIOConcurrencyHelpers
import NIOHTTP1
import XCTest

/// ES2+ against a scripted SM-DP+ over mutual TLS on loopback.
final class ES2PlusClientTests: XCTestCase {
    let pki = TestPKI.shared

    func makeClient(_ server: FakeServer) throws -> ES2PlusClient {
        let endpoint = OperatorEndpoint(
            smdpAddress: "127.0.0.1:\(server.port)", trustedRoots: .pem(pki.caPEM),
            clientCertificate: .pem(pki.clientChainPEM), clientKey: .pem(pki.clientKeyPEM))
        let counter = Counter()
        return try ES2PlusClient(endpoint: endpoint, functionRequesterIdentifier: "operator-1") { "call-\(counter.next())" }
    }

    func testEveryFunctionSendsTheRequestHeaderAndDecodesItsResponse() async throws {
        let server = try await FakeServer(tls: pki.serverTLS(requireClientCertificate: true)) { request in
            guard request.tls?.peerSubjectValue("CN") == "operator.test" else { return HTTPServerResponse(status: .forbidden) }
            switch request.path {
            case "/gsma/rsp2/es2plus/downloadOrder":
                return .json(json(["header": header("Executed-Success"), "iccid": "8944500102198304826"]))
            case "/gsma/rsp2/es2plus/confirmOrder":
                return .json(json(["header": header("Executed-Success"), "eid": "89049032123451234512345678901235", "matchingId": "MATCH-1234"]))
            case "/gsma/rsp2/es2plus/cancelOrder", "/gsma/rsp2/es2plus/releaseProfile":
                return .json(json(["header": header("Executed-Success")]))
            default:
                return HTTPServerResponse(status: .notFound)
            }
        }
        let client = try makeClient(server)
        let iccid = try await client.downloadOrder(eid: "89049032123451234512345678901235", profileType: "iot-m2m")
        XCTAssertEqual(iccid, "8944500102198304826")
        let confirmed = try await client.confirmOrder(iccid: iccid, eid: "89049032123451234512345678901235", releaseFlag: true)
        XCTAssertEqual(confirmed, ConfirmOrderResponse(eid: "89049032123451234512345678901235", matchingId: "MATCH-1234"))
        XCTAssertEqual(confirmed.activationCode(defaultSMDPAddress: "smdp.test"), "1$smdp.test$MATCH-1234")
        try await client.cancelOrder(iccid: iccid, matchingId: "MATCH-1234", finalProfileStatusIndicator: .available)
        try await client.releaseProfile(iccid: iccid)

        let requests = server.requests
        XCTAssertEqual(requests.map(\.path), [
            "/gsma/rsp2/es2plus/downloadOrder", "/gsma/rsp2/es2plus/confirmOrder",
            "/gsma/rsp2/es2plus/cancelOrder", "/gsma/rsp2/es2plus/releaseProfile",
        ])
        for (index, request) in requests.enumerated() {
            XCTAssertEqual(request.headers.first(name: "Content-Type"), "application/json;charset=UTF-8")
            XCTAssertEqual(request.headers.first(name: "X-Admin-Protocol"), "gsma/rsp/v2.2.0")
            let header = jsonObject(request.body)["header"] as? [String: Any]
            XCTAssertEqual(header?["functionRequesterIdentifier"] as? String, "operator-1")
            XCTAssertEqual(header?["functionCallIdentifier"] as? String, "call-\(index)")
        }
        let download = jsonObject(requests[0].body)
        XCTAssertEqual(download["eid"] as? String, "89049032123451234512345678901235")
        XCTAssertEqual(download["profileType"] as? String, "iot-m2m")
        XCTAssertNil(download["iccid"], "absent optional fields are left out")
        let confirm = jsonObject(requests[1].body)
        XCTAssertEqual(confirm["iccid"] as? String, iccid)
        XCTAssertEqual(confirm["releaseFlag"] as? Bool, true)
        XCTAssertNil(confirm["matchingId"])
        let cancel = jsonObject(requests[2].body)
        XCTAssertEqual(cancel["finalProfileStatusIndicator"] as? String, "Available")
        XCTAssertEqual(cancel["matchingId"] as? String, "MATCH-1234")
        XCTAssertEqual(jsonObject(requests[3].body)["iccid"] as? String, iccid)
        XCTAssertEqual(server.server.acceptedConnections, 1)
        await client.shutdown()
        await server.stop()
    }

    func testFailedOrderCarriesTheSMDPReason() async throws {
        let server = try await FakeServer(tls: pki.serverTLS(requireClientCertificate: true)) { _ in
            .json(json(["header": header("Failed", subjectCode: "8.2.1", reasonCode: "3.9", message: "Unknown profile")]))
        }
        let client = try makeClient(server)
        await assertThrows(ES2PlusError.failed(StatusCodeData(subjectCode: "8.2.1", reasonCode: "3.9", message: "Unknown profile"))) {
            try await client.downloadOrder(iccid: "8944500102198304826")
        }
        await client.shutdown()
        await server.stop()
    }

    func testConfirmOrderWithoutMatchingIdIsMalformed() async throws {
        let server = try await FakeServer(tls: pki.serverTLS(requireClientCertificate: true)) { _ in
            .json(json(["header": header("Executed-Success")]))
        }
        let client = try makeClient(server)
        await assertThrows(ES2PlusError.malformedResponse("missing field 'matchingId'")) {
            try await client.confirmOrder(iccid: "8944500102198304826", releaseFlag: false)
        }
        await client.shutdown()
        await server.stop()
    }
}

/// A thread-safe counter for deterministic call identifiers.
final class Counter: Sendable {
    private let value = NIOLockedValueBox(0)

    func next() -> Int {
        value.withLockedValue { v in
            defer { v += 1 }
            return v
        }
    }
}
