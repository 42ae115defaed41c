import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import LPADomain
import LPAStore
import NIOHTTP1
import TerminalProtocol
import XCTest
import Yams

final class AdminAPITests: XCTestCase {
    var harness: AdminHarness!

    override func setUp() async throws {
        harness = try await AdminHarness()
    }

    override func tearDown() async throws {
        await harness?.shutdown()
        harness = nil
    }

    /// `{name}` path parameters filled with a value.
    static func concrete(_ path: String) -> String {
        path.replacingOccurrences(of: #"\{[^}]+\}"#, with: "x", options: .regularExpression)
    }

    // MARK: OpenAPI

    func testEveryDocumentedRouteIsServedAndEveryServedRouteIsDocumented() async throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("proto/admin-openapi.yaml")
        let document = try XCTUnwrap(try Yams.load(yaml: String(contentsOf: url, encoding: .utf8)) as? [String: Any])
        let paths = try XCTUnwrap(document["paths"] as? [String: [String: Any]])
        var documented = Set<AdminRoute>()
        for (path, operations) in paths {
            for (method, operation) in operations {
                let role = ((operation as? [String: Any])?["x-role"] as? String).flatMap(AdminRole.init(rawValue:))
                documented.insert(AdminRoute(.init(method.uppercased())!, path, role))
            }
        }
        XCTAssertEqual(documented, Set(AdminAPI.routes), "proto/admin-openapi.yaml and AdminAPI.routes differ")
        // On the running server: each documented route exists (401 without a token, not 404).
        for route in documented {
            let response = try await harness.client(nil).send(HTTPMethod(rawValue: route.method.rawValue), Self.concrete(route.path))
            if route.role == nil {
                XCTAssertNotEqual(response.status, 404, "\(route.method) \(route.path)")
                XCTAssertNotEqual(response.status, 401, "\(route.method) \(route.path)")
            } else {
                XCTAssertEqual(response.status, 401, "\(route.method) \(route.path): \(response.text)")
            }
        }
        let unknown = try await harness.client(.admin).send(.GET, "/v1/nothing-here")
        XCTAssertEqual(unknown.status, 404)
        XCTAssertEqual(try unknown.decode(ErrorBody.self).error.code, "ROUTE_NOT_FOUND")
    }

    // MARK: Authentication and authorisation

    func testMissingMalformedAndUnknownTokensAre401() async throws {
        for client in [harness.client(token: nil), harness.client(token: "not-a-configured-token-at-all")] {
            let response = try await client.send(.GET, "/v1/device-models")
            XCTAssertEqual(response.status, 401)
            XCTAssertEqual(try response.decode(ErrorBody.self).error.code, "UNAUTHENTICATED")
            XCTAssertEqual(response.header("WWW-Authenticate")?.hasPrefix("Bearer"), true)
        }
        let basic = try await harness.client(token: nil).send(.GET, "/v1/device-models", headers: [("Authorization", "Basic YWRtaW46YWRtaW4=")])
        XCTAssertEqual(basic.status, 401)
        // A prefix of a real token is not the token.
        let prefix = try await harness.client(token: String(AdminHarness.tokens[.admin]!.dropLast())).send(.GET, "/v1/device-models")
        XCTAssertEqual(prefix.status, 401)
    }

    func testEachRoleReachesItsRoutesAndIsForbiddenAbove() async throws {
        for route in AdminAPI.routes {
            guard let needed = route.role else { continue }
            for role in AdminRole.allCases {
                let response = try await harness.client(role).send(HTTPMethod(rawValue: route.method.rawValue), Self.concrete(route.path))
                if role < needed {
                    XCTAssertEqual(response.status, 403, "\(role) on \(route.method) \(route.path)")
                    XCTAssertEqual(try response.decode(ErrorBody.self).error.code, "FORBIDDEN")
                } else {
                    XCTAssertFalse([401, 403].contains(response.status), "\(role) on \(route.method) \(route.path): \(response.text)")
                }
            }
        }
    }

    // MARK: Libraries

    func testLibraryChangesAreStoredAndTheCoreUsesThemAtOnce() async throws {
        let admin = harness.client(.admin)
        let model = #"{"code":"SIM-TRACKER-1","name":"Tracker","fields":[{"name":"eid","validation":"eid"}],"heartbeatIntervalSeconds":300,"historyLimit":20}"#
        let put = try await admin.send(.PUT, "/v1/device-models/SIM-TRACKER-1", contentType: "application/json", body: Array(model.utf8))
        XCTAssertEqual(put.status, 200, put.text)
        let rule = #"{"name":"trackers","priority":5,"match":{"models":["SIM-TRACKER-1"]},"requirement":{"smdpAddress":"smdp.trackers.example","profileType":"tracker-data"}}"#
        let putRule = try await admin.send(.PUT, "/v1/configuration-rules/trackers", contentType: "application/json", body: Array(rule.utf8))
        XCTAssertEqual(putRule.status, 200, putRule.text)
        let table = #"{"model":"SIM-TRACKER-1","bands":[{"minimumCount":0,"heartbeatIntervalSeconds":600,"historyLimit":10}]}"#
        let putTable = try await admin.send(.PUT, "/v1/count-settings/SIM-TRACKER-1", contentType: "application/json", body: Array(table.utf8))
        XCTAssertEqual(putTable.status, 200, putTable.text)

        let models = try await harness.client(.read).send(.GET, "/v1/device-models")
        XCTAssertEqual((models.json["deviceModels"] as? [[String: Any]])?.compactMap { $0["code"] as? String }, ["SIM-METER-1", "SIM-TRACKER-1"])
        let one = try await harness.client(.read).send(.GET, "/v1/configuration-rules/trackers")
        XCTAssertEqual(one.json["priority"] as? Int, 5)

        // The running engine uses the new model and rule without a restart.
        let outcome = try await harness.engine.register(RegistrationRequest(
            terminalID: "T-1", identity: Identity(eid: Fleet.eid(1), imei: "", iccid: "", model: "SIM-TRACKER-1", firmware: "1")))
        guard case .accepted(let accepted, _, _, let ruleName, _) = outcome else { return XCTFail("\(outcome)") }
        XCTAssertEqual(accepted, "SIM-TRACKER-1")
        XCTAssertEqual(ruleName, "trackers")

        // A model still named by a rule or a count-setting table cannot go.
        let inUse = try await admin.send(.DELETE, "/v1/device-models/SIM-TRACKER-1")
        XCTAssertEqual(inUse.status, 409)
        XCTAssertEqual(try inUse.decode(ErrorBody.self).error.code, "IN_USE")
        for path in ["/v1/configuration-rules/trackers", "/v1/count-settings/SIM-TRACKER-1", "/v1/device-models/SIM-TRACKER-1"] {
            let deleted = try await admin.send(.DELETE, path)
            XCTAssertEqual(deleted.status, 204, "\(path): \(deleted.text)")
            let again = try await admin.send(.DELETE, path)
            XCTAssertEqual(again.status, 404, path)
        }
        let rules = try await harness.store.configurationRules()
        XCTAssertEqual(rules.map(\.name), ["pilots", "meters"])
    }

    // MARK: Invalid input, endpoint by endpoint

    func testInvalidInputIsRefusedWithCodeAndField() async throws {
        struct Case {
            var method: HTTPMethod
            var path: String
            var body: String? = nil
            var contentType: String? = "application/json"
            var status: Int
            var code: String
            var field: String?
        }
        let cases: [Case] = [
            Case(method: .PUT, path: "/v1/device-models/M", body: "{", status: 400, code: "INVALID_JSON", field: nil),
            Case(method: .PUT, path: "/v1/device-models/M", body: #"{"name":"x"}"#, status: 400, code: "INVALID_JSON", field: "code"),
            Case(method: .PUT, path: "/v1/device-models/M", body: #"{"code":"N"}"#, status: 400, code: "INVALID_ARGUMENT", field: "code"),
            Case(method: .PUT, path: "/v1/device-models/M", body: #"{"code":"M","heartbeatIntervalSeconds":0}"#, status: 400, code: "LIBRARY_INVALID", field: "heartbeatIntervalSeconds"),
            Case(method: .PUT, path: "/v1/device-models/M", body: #"{"code":"M","heartbeatIntervalSeconds":"often"}"#, status: 400, code: "INVALID_JSON", field: "heartbeatIntervalSeconds"),
            Case(method: .PUT, path: "/v1/device-models/M", body: #"{"code":"M","match":{"imei":"("}}"#, status: 400, code: "LIBRARY_INVALID", field: "match.imei"),
            Case(method: .PUT, path: "/v1/device-models/M", body: #"{"code":"M"}"#, contentType: "text/plain", status: 415, code: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Type"),
            Case(method: .DELETE, path: "/v1/device-models/NOPE", status: 404, code: "NOT_FOUND", field: "code"),
            Case(method: .GET, path: "/v1/device-models/NOPE", status: 404, code: "NOT_FOUND", field: "code"),
            Case(method: .PUT, path: "/v1/configuration-rules/r", body: #"{"name":"r","requirement":{"smdpAddress":"","profileType":"p"}}"#, status: 400, code: "LIBRARY_INVALID", field: "requirement.smdpAddress"),
            Case(method: .PUT, path: "/v1/configuration-rules/r", body: #"{"name":"r","match":{"models":["GHOST"]},"requirement":{"smdpAddress":"s","profileType":"p"}}"#, status: 400, code: "LIBRARY_INVALID", field: "match.models[0]"),
            Case(method: .PUT, path: "/v1/configuration-rules/r", body: #"{"name":"r","match":{"imeiRanges":["1-2"]},"requirement":{"smdpAddress":"s","profileType":"p"}}"#, status: 400, code: "LIBRARY_INVALID", field: "match.imeiRanges[0]"),
            Case(method: .PUT, path: "/v1/configuration-rules/r", body: #"{"name":"r"}"#, status: 400, code: "INVALID_JSON", field: "requirement"),
            Case(method: .DELETE, path: "/v1/configuration-rules/none", status: 404, code: "NOT_FOUND", field: "name"),
            Case(method: .GET, path: "/v1/configuration-rules/none", status: 404, code: "NOT_FOUND", field: "name"),
            Case(method: .PUT, path: "/v1/count-settings/GHOST", body: #"{"model":"GHOST","bands":[]}"#, status: 400, code: "LIBRARY_INVALID", field: "model"),
            Case(method: .PUT, path: "/v1/count-settings/SIM-METER-1", body: #"{"model":"SIM-METER-1","bands":[{"minimumCount":-1,"heartbeatIntervalSeconds":60,"historyLimit":1}]}"#, status: 400, code: "LIBRARY_INVALID", field: "bands"),
            Case(method: .PUT, path: "/v1/count-settings/SIM-METER-1", body: #"{"model":"X","bands":[]}"#, status: 400, code: "INVALID_ARGUMENT", field: "model"),
            Case(method: .DELETE, path: "/v1/count-settings/SIM-METER-1", status: 404, code: "NOT_FOUND", field: "model"),
            Case(method: .GET, path: "/v1/count-settings/SIM-METER-1", status: 404, code: "NOT_FOUND", field: "model"),
            Case(method: .GET, path: "/v1/devices?limit=0", status: 400, code: "INVALID_ARGUMENT", field: "limit"),
            Case(method: .GET, path: "/v1/devices?limit=abc", status: 400, code: "INVALID_ARGUMENT", field: "limit"),
            Case(method: .GET, path: "/v1/devices?presence=sleeping", status: 400, code: "INVALID_ARGUMENT", field: "presence"),
            Case(method: .GET, path: "/v1/devices?jobState=done", status: 400, code: "INVALID_ARGUMENT", field: "jobState"),
            Case(method: .GET, path: "/v1/devices?colour=red", status: 400, code: "INVALID_ARGUMENT", field: "colour"),
            Case(method: .GET, path: "/v1/devices?cursor=", status: 400, code: "INVALID_ARGUMENT", field: "cursor"),
            Case(method: .GET, path: "/v1/devices/T-NONE", status: 404, code: "NOT_FOUND", field: "terminalID"),
            Case(method: .GET, path: "/v1/devices/T-NONE?limit=5000", status: 400, code: "INVALID_ARGUMENT", field: "limit"),
            Case(method: .GET, path: "/v1/jobs/none", status: 404, code: "NOT_FOUND", field: "id"),
            Case(method: .GET, path: "/v1/jobs/active?x=1", status: 400, code: "INVALID_ARGUMENT", field: "x"),
            Case(method: .GET, path: "/v1/jobs/counts?x=1", status: 400, code: "INVALID_ARGUMENT", field: "x"),
            Case(method: .POST, path: "/v1/fleet/imports", body: "eid,model\n", contentType: "application/json", status: 415, code: "UNSUPPORTED_MEDIA_TYPE", field: "Content-Type"),
            Case(method: .POST, path: "/v1/fleet/imports", body: "", contentType: "text/csv", status: 400, code: "INVALID_ARGUMENT", field: "header"),
            Case(method: .POST, path: "/v1/fleet/imports", body: "eid,colour\n", contentType: "text/csv", status: 400, code: "INVALID_ARGUMENT", field: "header"),
            Case(method: .POST, path: "/v1/fleet/imports", body: "eid,imei\n", contentType: "text/csv", status: 400, code: "INVALID_ARGUMENT", field: "header"),
            Case(method: .GET, path: "/v1/fleet/imports/none", status: 404, code: "NOT_FOUND", field: "id"),
            Case(method: .GET, path: "/v1/fleet/entries?limit=-3", status: 400, code: "INVALID_ARGUMENT", field: "limit"),
            Case(method: .GET, path: "/v1/fleet/entries/none", status: 404, code: "NOT_FOUND", field: "eid"),
        ]
        for c in cases {
            let response = try await harness.client(.admin).send(c.method, c.path, contentType: c.body == nil ? nil : c.contentType, body: c.body.map { Array($0.utf8) })
            let label = "\(c.method) \(c.path) \(c.body ?? ""): \(response.text)"
            XCTAssertEqual(response.status, c.status, label)
            guard let error = try? response.decode(ErrorBody.self).error else { XCTFail(label); continue }
            XCTAssertEqual(error.code, c.code, label)
            XCTAssertEqual(error.field, c.field, label)
            XCTAssertFalse(error.message.isEmpty, label)
        }
        // Nothing of the refused changes was stored.
        let models = try await harness.store.deviceModels()
        XCTAssertEqual(models.map(\.code), ["SIM-METER-1"])
        let tables = try await harness.store.countSettingTables()
        XCTAssertEqual(tables, [])
    }

    // MARK: Devices and jobs

    func testDevicesArePagedWithCursorsAndFiltered() async throws {
        for i in 1...25 {
            let id = String(format: "T-%03d", i)
            try await harness.store.upsertDevice(DeviceRecord(terminalID: id, model: "SIM-METER-1", fields: ["eid": Fleet.eid(i)],
                                                              tags: i <= 5 ? ["pilot"] : [], ruleName: i <= 5 ? "pilots" : "meters",
                                                              heartbeatIntervalSeconds: 60, historyLimit: 10, firstSeen: 1, lastRegistered: 2))
        }
        try await harness.store.savePresence(PresenceRecord(terminalID: "T-003", state: .online, lastSeen: 99, consecutiveMisses: 0), change: nil)
        try await harness.store.appendHeartbeatWindows([HeartbeatWindow(terminalID: "T-003", windowStart: 60, windowSeconds: 60, count: 2)])
        let job = ProvisioningJob(id: "job-3", terminalID: "T-003", eid: Fleet.eid(3), smdpAddress: "smdp.example", profileType: "p",
                                  matchingID: nil, createdAt: 5, updatedAt: 5)
        _ = try await harness.store.createJob(job)

        var seen: [String] = []
        var cursor: String?
        var pages = 0
        repeat {
            let response = try await harness.client(.read).send(.GET, "/v1/devices?limit=10" + (cursor.map { "&cursor=\($0)" } ?? ""))
            XCTAssertEqual(response.status, 200, response.text)
            seen += (response.json["devices"] as? [[String: Any]] ?? []).compactMap { $0["terminalID"] as? String }
            cursor = response.json["next"] as? String
            pages += 1
        } while cursor != nil && pages < 10
        XCTAssertEqual(pages, 3)
        XCTAssertEqual(seen, (1...25).map { String(format: "T-%03d", $0) })

        let pilots = try await harness.client(.read).send(.GET, "/v1/devices?tag=pilot&rule=pilots&model=SIM-METER-1")
        XCTAssertEqual((pilots.json["devices"] as? [[String: Any]])?.count, 5)
        let online = try await harness.client(.read).send(.GET, "/v1/devices?presence=online")
        XCTAssertEqual((online.json["devices"] as? [[String: Any]])?.compactMap { $0["terminalID"] as? String }, ["T-003"])
        let queued = try await harness.client(.read).send(.GET, "/v1/devices?jobState=queued")
        XCTAssertEqual((queued.json["devices"] as? [[String: Any]])?.first?["latestJobState"] as? String, "queued")

        let detail = try await harness.client(.read).send(.GET, "/v1/devices/T-003")
        XCTAssertEqual(detail.status, 200, detail.text)
        XCTAssertEqual((detail.json["presence"] as? [String: Any])?["lastSeen"] as? Int, 99)
        XCTAssertEqual((detail.json["heartbeats"] as? [Any])?.count, 1)
        XCTAssertEqual(((detail.json["jobs"] as? [[String: Any]])?.first)?["id"] as? String, "job-3")
        XCTAssertNotNil(detail.json["notifications"] as? [Any])

        let one = try await harness.client(.read).send(.GET, "/v1/jobs/job-3")
        XCTAssertEqual(one.json["state"] as? String, "queued")
        let active = try await harness.client(.read).send(.GET, "/v1/jobs/active")
        XCTAssertEqual((active.json["jobs"] as? [Any])?.count, 1)
        let counts = try await harness.client(.read).send(.GET, "/v1/jobs/counts")
        XCTAssertEqual((counts.json["counts"] as? [String: Int])?["queued"], 1)
        XCTAssertEqual((counts.json["counts"] as? [String: Int])?["failed"], 0)
    }
}
