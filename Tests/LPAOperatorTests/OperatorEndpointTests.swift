import Foundation
import LPAHTTP
import LPAOperator
import XCTest

/// The endpoint configuration value: address parsing, decoding with defaults, and redaction.
final class OperatorEndpointTests: XCTestCase {
    func endpoint(_ address: String) -> OperatorEndpoint {
        OperatorEndpoint(smdpAddress: address, trustedRoots: .file("/etc/ca.pem"))
    }

    func testHostAndPort() throws {
        XCTAssertTrue(try endpoint("smdp.example.com").hostAndPort() == ("smdp.example.com", 443))
        XCTAssertTrue(try endpoint("smdp.example.com:8443").hostAndPort() == ("smdp.example.com", 8443))
        XCTAssertTrue(try endpoint("127.0.0.1:9000").hostAndPort() == ("127.0.0.1", 9000))
        XCTAssertTrue(try endpoint("[::1]:9000").hostAndPort() == ("::1", 9000))
        XCTAssertTrue(try endpoint("[2001:db8::1]").hostAndPort() == ("2001:db8::1", 443))
        for bad in ["", ":443", "host:", "host:0", "host:70000", "host:abc", "::1", "[::1", "[::1]x", "host/path"] {
            XCTAssertThrowsError(try endpoint(bad).hostAndPort(), "'\(bad)'") { error in
                XCTAssertEqual((error as? OperatorError)?.code, "OPERATOR_TRANSPORT")
            }
        }
    }

    func testDecodesWithDefaults() throws {
        let json = #"{"smdpAddress": "smdp.example.com", "trustedRoots": {"file": "/etc/gsma/ci.pem"}}"#
        let e = try JSONDecoder().decode(OperatorEndpoint.self, from: Data(json.utf8))
        XCTAssertEqual(e.smdpAddress, "smdp.example.com")
        XCTAssertEqual(e.trustedRoots, .file("/etc/gsma/ci.pem"))
        XCTAssertNil(e.clientCertificate)
        XCTAssertEqual(e.requestTimeoutSeconds, 30)
        XCTAssertEqual(e.adminProtocol, "gsma/rsp/v2.2.0")
        XCTAssertEqual(e.maxResponseBodyBytes, 4 * 1024 * 1024)
        let roundTripped = try JSONDecoder().decode(OperatorEndpoint.self, from: JSONEncoder().encode(e))
        XCTAssertEqual(roundTripped, e)
    }

    func testDecodesEveryField() throws {
        let json = #"""
        {"smdpAddress": "smdp.example.com:8443", "trustedRoots": {"pem": "-----BEGIN CERTIFICATE-----"},
         "clientCertificate": {"file": "/c.pem"}, "clientKey": {"file": "/k.pem"}, "requestTimeoutSeconds": 5,
         "connectTimeoutSeconds": 2, "adminProtocol": "gsma/rsp/v2.4.0", "maxResponseBodyBytes": 1000, "maxConnections": 2}
        """#
        let e = try JSONDecoder().decode(OperatorEndpoint.self, from: Data(json.utf8))
        XCTAssertEqual(e.clientKey, .file("/k.pem"))
        XCTAssertEqual(e.adminProtocol, "gsma/rsp/v2.4.0")
        let http = e.httpsClientConfiguration
        XCTAssertEqual(http.requestTimeout, .seconds(5))
        XCTAssertEqual(http.connectTimeout, .seconds(2))
        XCTAssertEqual(http.maxResponseBodySize, 1000)
        XCTAssertEqual(http.maxConnectionsPerHost, 2)
    }

    func testPEMNeedsExactlyOneSource() {
        for json in [#"{}"#, #"{"file": "/a", "pem": "b"}"#] {
            XCTAssertThrowsError(try JSONDecoder().decode(OperatorPEM.self, from: Data(json.utf8)), json)
        }
    }

    func testInlinePEMIsNeverPrinted() {
        let secret = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n"
        let e = OperatorEndpoint(smdpAddress: "smdp", trustedRoots: .file("/ca.pem"), clientCertificate: .pem("cert"), clientKey: .pem(secret))
        XCTAssertFalse("\(e)".contains("MIGHAgEA"))
        XCTAssertFalse(String(reflecting: e).contains("MIGHAgEA"))
        XCTAssertEqual("\(OperatorPEM.pem(secret))", "pem(\(secret.utf8.count) bytes)")
    }

    func testStatusCodesAreStable() {
        let data = StatusCodeData(subjectCode: "8.1", reasonCode: "4.2")
        XCTAssertEqual(
            [OperatorError.failed(data), .expired(data), .http(status: 500, body: ""), .malformedResponse("x"), .transport(.timeout), .timeout].map(\.code),
            ["OPERATOR_FUNCTION_FAILED", "OPERATOR_FUNCTION_EXPIRED", "OPERATOR_HTTP_STATUS", "OPERATOR_MALFORMED_RESPONSE", "OPERATOR_TRANSPORT", "OPERATOR_TIMEOUT"])
    }
}
