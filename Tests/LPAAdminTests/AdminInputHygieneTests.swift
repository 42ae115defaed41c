import Foundation
import LPAAdminClient
import XCTest

/// Hostile or unusual input at the admin API: oversized bodies and percent-encoded path parameters.
final class AdminInputHygieneTests: XCTestCase {
    func testAnOversizedJSONBodyIsRefusedWith413() async throws {
        let harness = try await AdminHarness()
        let admin = harness.client(.admin)
        var body = Array(#"{"code":"M","name":""#.utf8)
        body += [UInt8](repeating: UInt8(ascii: "x"), count: 2 << 20)
        body += Array(#""}"#.utf8)
        let response = try await admin.send(.PUT, "/v1/device-models/M", contentType: "application/json", body: body)
        XCTAssertEqual(response.status, 413, response.text)
        XCTAssertTrue(response.text.contains("BODY_TOO_LARGE"), response.text)
        // The API still answers afterwards.
        let list = try await admin.send(.GET, "/v1/device-models")
        XCTAssertEqual(list.status, 200)
        await harness.shutdown()
    }

    func testPathParametersArePercentDecoded() async throws {
        let harness = try await AdminHarness()
        let admin = harness.client(.admin)
        let model = #"{"code":"METER A","name":"Meter with a space","fields":[{"name":"eid","validation":"eid"}],"heartbeatIntervalSeconds":300,"historyLimit":20}"#
        let put = try await admin.send(.PUT, "/v1/device-models/METER%20A", contentType: "application/json", body: Array(model.utf8))
        XCTAssertEqual(put.status, 200, put.text)
        let get = try await admin.send(.GET, "/v1/device-models/METER%20A")
        XCTAssertEqual(get.status, 200, get.text)
        XCTAssertTrue(get.text.contains(#""code":"METER A""#), get.text)
        let delete = try await admin.send(.DELETE, "/v1/device-models/METER%20A")
        XCTAssertEqual(delete.status, 204, delete.text)
        let gone = try await admin.send(.GET, "/v1/device-models/METER%20A")
        XCTAssertEqual(gone.status, 404, gone.text)
        let broken = try await admin.send(.GET, "/v1/device-models/%ZZ")
        XCTAssertEqual(broken.status, 400, broken.text)
        await harness.shutdown()
    }
}
