import Foundation
import LPACrypto
import LPAHTTP
import LPAIdentity
import LPAOperator
import LPASimKit
import NIOHTTP1
import RSP
import XCTest

/// The SM-DP+ over real TLS on 127.0.0.1, driven by the platform's own ES9+ and ES2+ clients.
final class SMDPServerTests: XCTestCase {
    let pki = SMDPTestFixture.pki

    private struct Harness {
        let smdp: SMDPSimulator
        let server: SMDPServer
        let es9: ES9PlusClient
        let es2: ES2PlusClient
        let http: HTTPSClient

        func shutdown() async {
            await es9.shutdown()
            await es2.shutdown()
            await http.shutdown()
            await server.shutdown()
        }
    }

    /// Starts the SM-DP+ with its DPtls certificate; the clients trust the CI and connect to 127.0.0.1 (in
    /// the DPtls certificate's names) while the session names the SM-DP+ by its address, smdp.test.
    private func start(_ configuration: SMDPConfiguration = SMDPTestFixture.configuration()) async throws -> Harness {
        let smdp = try SMDPSimulator(pki: pki, configuration: configuration)
        let server = try await SMDPServer.start(simulator: smdp, tls: try SMDPServer.tlsConfiguration(pki: pki))
        let endpoint = OperatorEndpoint(smdpAddress: "127.0.0.1:\(server.port)", trustedRoots: .pem(pki.ci.certificate.pem))
        let http = try HTTPSClient(configuration: HTTPSClientConfiguration(trustRoots: .pem(pki.ci.certificate.pem)))
        return Harness(
            smdp: smdp, server: server, es9: try ES9PlusClient(endpoint: endpoint),
            es2: try ES2PlusClient(endpoint: endpoint, functionRequesterIdentifier: "test-operator"), http: http)
    }

    func testOrderConfirmAndDownloadOverHTTPS() async throws {
        let h = try await start()
        do {
            let euicc = try SMDPTestEUICC(pki: pki)
            let iccid = try await h.es2.downloadOrder(eid: euicc.eid, profileType: "iot-data")
            let confirmed = try await h.es2.confirmOrder(iccid: iccid, eid: euicc.eid, releaseFlag: true)
            XCTAssertEqual(confirmed.smdpAddress, "smdp.test")
            XCTAssertEqual(confirmed.activationCode(defaultSMDPAddress: "x"), "1$smdp.test$\(confirmed.matchingId)")

            let initiated = try await h.es9.initiateAuthentication(
                euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
            let authenticated = try await h.es9.authenticateClient(
                transactionId: initiated.transactionId,
                authenticateServerResponse: try euicc.authenticateServer(initiated, matchingId: confirmed.matchingId))
            XCTAssertEqual(try StoreMetadataRequest(der: authenticated.profileMetadata).iccid, iccid)
            let bpp = try await h.es9.getBoundProfilePackage(
                transactionId: initiated.transactionId, prepareDownloadResponse: try euicc.prepareDownload(authenticated))
            let installed = try euicc.load(bpp.boundProfilePackage)
            XCTAssertEqual(installed.iccid, iccid)
            try await h.es9.handleNotification(pendingNotification: try euicc.installationResult(iccid: iccid))

            let stats = await h.smdp.statistics
            XCTAssertEqual(stats.installsConfirmed, 1)
            XCTAssertEqual(stats.calls[.handleNotification], 1)
            let installedICCIDs = await h.smdp.installedICCIDs
            XCTAssertEqual(installedICCIDs[euicc.eid], [iccid])

            // ES2+ refusals arrive as typed errors.
            await assertSMDPError("8.2.1", "1.2") { try await h.es2.releaseProfile(iccid: iccid) }
            await assertSMDPError("8.2.5", "3.9") { try await h.es2.downloadOrder(profileType: "unknown-type") }
        } catch {
            await h.shutdown()
            throw error
        }
        await h.shutdown()
    }

    func testRefusalsAndInjectedFailuresSurfaceAsES9PlusErrors() async throws {
        let h = try await start()
        do {
            let euicc = try SMDPTestEUICC(pki: pki)
            // Unknown matchingId.
            let initiated = try await h.es9.initiateAuthentication(
                euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
            await assertSMDPError("8.2.6", "3.8") {
                try await h.es9.authenticateClient(
                    transactionId: initiated.transactionId,
                    authenticateServerResponse: try euicc.authenticateServer(initiated, matchingId: "UNKNOWN"))
            }
            // The failed session is gone.
            await assertSMDPError("8.10.1", "3.9") {
                try await h.es9.cancelSession(transactionId: initiated.transactionId, cancelSessionResponse: [0xBF, 0x41, 0x00])
            }
            await h.smdp.failNext(2, of: .initiateAuthentication, with: .failed("8.8.4", "3.7", "scripted"))
            for _ in 0..<2 {
                await assertSMDPError("8.8.4", "3.7") {
                    try await h.es9.initiateAuthentication(
                        euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
                }
            }
            _ = try await h.es9.initiateAuthentication(
                euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
        } catch {
            await h.shutdown()
            throw error
        }
        await h.shutdown()
    }

    func testMalformedRequestsGetStatusCodesAndUnknownPathsGet404() async throws {
        let h = try await start()
        do {
            let base = "https://127.0.0.1:\(h.server.port)"
            let headers: HTTPHeaders = ["Content-Type": "application/json", "X-Admin-Protocol": "gsma/rsp/v2.2.0"]
            func post(_ path: String, _ body: String, headers: HTTPHeaders = headers) async throws -> (HTTPResponseStatus, [String: Any]) {
                let response = try await h.http.post(base + path, headers: headers, body: Array(body.utf8))
                let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) as? [String: Any] ?? [:]
                return (response.status, object)
            }
            func codes(_ object: [String: Any]) -> String? {
                let status = (object["header"] as? [String: Any])?["functionExecutionStatus"] as? [String: Any]
                let data = status?["statusCodeData"] as? [String: Any]
                guard status?["status"] as? String == "Failed", let s = data?["subjectCode"], let r = data?["reasonCode"] else { return nil }
                return "\(s)/\(r)"
            }
            var (status, object) = try await post("/gsma/rsp2/es9plus/initiateAuthentication", "{not json")
            XCTAssertEqual(status, .ok)
            XCTAssertEqual(codes(object), "1.3.1/2.1")
            (status, object) = try await post("/gsma/rsp2/es9plus/initiateAuthentication", "[1,2]")
            XCTAssertEqual(codes(object), "1.3.1/2.1")
            (status, object) = try await post("/gsma/rsp2/es9plus/authenticateClient", #"{"transactionId":"ABCD"}"#)
            XCTAssertEqual(codes(object), "1.3.1/2.2")
            (status, object) = try await post(
                "/gsma/rsp2/es9plus/authenticateClient", #"{"transactionId":"ABCD","authenticateServerResponse":"%%%"}"#)
            XCTAssertEqual(codes(object), "1.3.1/2.1")
            (status, object) = try await post(
                "/gsma/rsp2/es9plus/getBoundProfilePackage", #"{"transactionId":"zz","prepareDownloadResponse":"AAAA"}"#)
            XCTAssertEqual(codes(object), "1.3.1/2.1")
            (status, object) = try await post("/gsma/rsp2/es9plus/handleNotification", #"{"pendingNotification":"AAAA"}"#)
            XCTAssertEqual(codes(object), "1.3.1/2.1")
            (status, object) = try await post("/gsma/rsp2/es2plus/downloadOrder", #"{"profileType":"iot-data"}"#)
            XCTAssertEqual(codes(object), "1.3.1/2.2")
            (status, object) = try await post("/gsma/rsp2/es9plus/initiateAuthentication", "{}", headers: ["Content-Type": "application/json"])
            XCTAssertEqual(codes(object), "1.2.2/2.1")
            (status, _) = try await post("/gsma/rsp2/es9plus/nothingHere", "{}")
            XCTAssertEqual(status, .notFound)
            (status, _) = try await post("/other", "{}")
            XCTAssertEqual(status, .notFound)
            let get = try await h.http.get(base + "/gsma/rsp2/es9plus/initiateAuthentication", headers: headers)
            XCTAssertEqual(get.status, .methodNotAllowed)
            // Still serving after all that.
            let iccid = try await h.es2.downloadOrder(profileType: "iot-data")
            XCTAssertNil(ICCID.validate(iccid))
        } catch {
            await h.shutdown()
            throw error
        }
        await h.shutdown()
    }
}
