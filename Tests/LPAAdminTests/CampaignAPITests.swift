import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import LPADomain
import XCTest

/// `/v1/campaigns`: create, list, show with per-device outcomes, pause, resume, cancel, and their refusals.
final class CampaignAPITests: XCTestCase {
    var harness: AdminHarness!

    override func setUp() async throws {
        harness = try await AdminHarness()
        for i in 0..<5 {
            try await harness.store.upsertDevice(DeviceRecord(
                terminalID: String(format: "T-%02d", i), model: "SIM-METER-1", fields: ["eid": Fleet.eid(i)], tags: i < 3 ? ["pilot"] : [],
                heartbeatIntervalSeconds: 60, historyLimit: 10, firstSeen: 1, lastRegistered: 1))
        }
    }

    override func tearDown() async throws {
        await harness.shutdown()
    }

    private func post(_ path: String, _ json: String? = nil, role: AdminRole = .operate) async throws -> AdminHTTPClient.Response {
        try await harness.client(role).send(.POST, path, contentType: json == nil ? nil : "application/json", body: json.map { Array($0.utf8) })
    }

    func testCreateListShowAndControl() async throws {
        let body = #"{"id":"pilot-wave","name":"Pilot wave","selection":{"tags":["pilot"]},"canaryShare":0.34,"startsPerMinute":10,"#
            + #""requirement":{"smdpAddress":"smdp.pilot.example","profileType":"pilot-data","matchingID":"M-1"}}"#
        let created = try await post("/v1/campaigns", body)
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertEqual(created.json["state"] as? String, "running")
        let progress = created.json["progress"] as? [String: Any]
        XCTAssertEqual(progress?["total"] as? Int, 3)
        XCTAssertEqual((progress?["canary"] as? [String: Int])?["pending"], 2)

        let again = try await post("/v1/campaigns", body)
        XCTAssertEqual(again.status, 400, "the id is taken")

        let list = try await harness.client(.read).send(.GET, "/v1/campaigns?state=running")
        XCTAssertEqual(list.status, 200, list.text)
        XCTAssertEqual((list.json["campaigns"] as? [[String: Any]])?.map { $0["id"] as? String }, ["pilot-wave"])

        let show = try await harness.client(.read).send(.GET, "/v1/campaigns/pilot-wave?limit=2")
        XCTAssertEqual(show.status, 200, show.text)
        let targets = show.json["targets"] as? [[String: Any]]
        XCTAssertEqual(targets?.map { $0["terminalID"] as? String }, ["T-00", "T-01"])
        XCTAssertEqual(targets?.first?["phase"] as? String, "canary")
        XCTAssertEqual(show.json["next"] as? String, "T-01")

        let paused = try await post("/v1/campaigns/pilot-wave/pause")
        XCTAssertEqual(paused.status, 200, paused.text)
        XCTAssertEqual(paused.json["pauseReason"] as? String, "operator")
        let twice = try await post("/v1/campaigns/pilot-wave/pause")
        XCTAssertEqual(twice.status, 409)
        XCTAssertEqual(try twice.decode(ErrorBody.self).error.code, "CAMPAIGN_WRONG_STATE")
        let resumed = try await post("/v1/campaigns/pilot-wave/resume")
        XCTAssertEqual(resumed.json["state"] as? String, "running")
        let canceled = try await post("/v1/campaigns/pilot-wave/cancel")
        XCTAssertEqual(canceled.json["state"] as? String, "canceled")
        XCTAssertEqual((canceled.json["progress"] as? [String: Any])?["skipped"] as? Int, 3)
    }

    func testDraftsStartOnRequest() async throws {
        let created = try await post("/v1/campaigns", #"{"id":"later","name":"Later","selection":{"terminalIDs":["T-03","T-04"]},"start":false}"#)
        XCTAssertEqual(created.status, 201, created.text)
        XCTAssertEqual(created.json["state"] as? String, "draft")
        XCTAssertEqual((created.json["progress"] as? [String: Any])?["total"] as? Int, 0)
        let started = try await post("/v1/campaigns/later/start")
        XCTAssertEqual(started.status, 200, started.text)
        XCTAssertEqual((started.json["progress"] as? [String: Any])?["total"] as? Int, 2)
    }

    func testInvalidInputAndUnknownCampaigns() async throws {
        let cases: [(String, String)] = [
            (#"{"name":"x","selection":{}}"#, "selection"),
            (#"{"name":"x","selection":{"tags":["pilot"]},"canaryShare":2}"#, "canaryShare"),
            (#"{"name":"x","selection":{"tags":["pilot"]},"startsPerMinute":0}"#, "startsPerMinute"),
            (#"{"name":"x","selection":{"tags":["pilot"]},"window":{"startMinute":1500,"endMinute":10}}"#, "window.startMinute"),
            (#"{"name":"x","selection":{"importID":"nope"}}"#, "selection.importID"),
            (#"{"selection":{"tags":["pilot"]}}"#, "name"),
        ]
        for (body, field) in cases {
            let response = try await post("/v1/campaigns", body)
            XCTAssertEqual(response.status, 400, "\(body): \(response.text)")
            XCTAssertEqual(try response.decode(ErrorBody.self).error.field, field, body)
        }
        let forbidden = try await post("/v1/campaigns", #"{"name":"x","selection":{"tags":["pilot"]}}"#, role: .read)
        XCTAssertEqual(forbidden.status, 403)
        for path in ["/v1/campaigns/none/pause", "/v1/campaigns/none/cancel"] {
            let missing = try await post(path)
            XCTAssertEqual(missing.status, 404, path)
        }
        let show = try await harness.client(.read).send(.GET, "/v1/campaigns/none")
        XCTAssertEqual(show.status, 404)
        let badState = try await harness.client(.read).send(.GET, "/v1/campaigns?state=sleeping")
        XCTAssertEqual(badState.status, 400)
    }
}
