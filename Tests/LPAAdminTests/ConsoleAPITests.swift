import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import LPADomain
import XCTest

/// The routes the console uses (`/v1/session`, `/v1/fleet/summary`, `/v1/fleet/presence-history`,
/// `/v1/jobs/failures`, `/v1/campaigns/preview`), the console's files and the security headers.
final class ConsoleAPITests: XCTestCase {
    var harness: AdminHarness!

    override func setUp() async throws {
        harness = try await AdminHarness()
    }

    override func tearDown() async throws {
        await harness.shutdown()
    }

    func testSessionNamesTheHolderAndRoleOfTheToken() async throws {
        for role in AdminRole.allCases {
            let response = try await harness.client(role).send(.GET, "/v1/session")
            XCTAssertEqual(response.status, 200, response.text)
            XCTAssertEqual(response.json["role"] as? String, role.rawValue)
            XCTAssertEqual(response.json["name"] as? String, "\(role.rawValue)-holder")
            XCTAssertEqual(response.json["roles"] as? [String], AdminRole.allCases.filter { $0 <= role }.map(\.rawValue))
        }
        let anonymous = try await harness.client(nil).send(.GET, "/v1/session")
        XCTAssertEqual(anonymous.status, 401)
        let wrong = try await harness.client(token: "not-a-token-of-this-core").send(.GET, "/v1/session")
        XCTAssertEqual(wrong.status, 401)
    }

    func testFleetSummaryCountsEveryDeviceAcrossStorePages() async throws {
        // More devices than one store page of the summary, so the count must follow the cursor.
        let total = AdminAPI.summaryPageSize + 7
        for i in 0..<total {
            try await harness.store.upsertDevice(DeviceRecord(
                terminalID: String(format: "T-%05d", i), model: i % 3 == 0 ? "SIM-METER-1" : "SIM-TRACKER-2", fields: ["eid": Fleet.eid(i)],
                ruleName: i % 2 == 0 ? "meters" : nil, heartbeatIntervalSeconds: 60, historyLimit: 10, firstSeen: 1, lastRegistered: 1))
        }
        for i in [1, 2, 500, total - 1] {
            try await harness.store.savePresence(PresenceRecord(terminalID: String(format: "T-%05d", i), state: .online, lastSeen: 9, consecutiveMisses: 0),
                                                 change: nil)
        }
        var job = ProvisioningJob(id: "job-x", terminalID: "T-00004", eid: Fleet.eid(4), smdpAddress: "smdp.example", profileType: "p",
                                  matchingID: nil, createdAt: 5, updatedAt: 5)
        job.state = .confirmed
        _ = try await harness.store.createJob(job)

        let response = try await harness.client(.read).send(.GET, "/v1/fleet/summary")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json["devices"] as? Int, total)
        XCTAssertEqual(response.json["byPresence"] as? [String: Int], ["online": 4, "offline": total - 4])
        let meters = (0..<total).filter { $0 % 3 == 0 }.count
        XCTAssertEqual(response.json["byModel"] as? [String: Int], ["SIM-METER-1": meters, "SIM-TRACKER-2": total - meters])
        let ruled = (0..<total).filter { $0 % 2 == 0 }.count
        XCTAssertEqual(response.json["byRule"] as? [String: Int], ["meters": ruled, "(none)": total - ruled])
        XCTAssertEqual(response.json["byJobState"] as? [String: Int], ["confirmed": 1, "(none)": total - 1])
        let refused = try await harness.client(.read).send(.GET, "/v1/fleet/summary?model=x")
        XCTAssertEqual(try refused.decode(ErrorBody.self).error.field, "model")
    }

    func testJobFailuresAreGroupedByCodeWithinThePeriod() async throws {
        func job(_ id: String, _ state: ProvisioningJob.State, code: String?, finishedAt: Int64) async throws {
            var job = ProvisioningJob(id: id, terminalID: "T-1", eid: Fleet.eid(1), smdpAddress: "smdp.example", profileType: "p",
                                      matchingID: nil, createdAt: finishedAt - 10, updatedAt: finishedAt)
            job.state = state
            job.errorCode = code
            job.errorText = code.map { "\($0) happened to \(id)" }
            job.finishedAt = finishedAt
            let created = try await harness.store.createJob(job)
            XCTAssertTrue(created)
        }
        try await job("old", .failed, code: "OPERATOR_FUNCTION_FAILED", finishedAt: 50)
        try await job("a1", .failed, code: "OPERATOR_FUNCTION_FAILED", finishedAt: 100)
        try await job("a2", .failed, code: "OPERATOR_FUNCTION_FAILED", finishedAt: 300)
        try await job("a3", .failed, code: "OPERATOR_FUNCTION_FAILED", finishedAt: 200)
        try await job("b1", .failed, code: "euicc.install_failed", finishedAt: 250)
        try await job("t1", .returnTimedOut, code: nil, finishedAt: 400)
        try await job("ok", .confirmed, code: nil, finishedAt: 150)

        let response = try await harness.client(.read).send(.GET, "/v1/jobs/failures?since=100")
        XCTAssertEqual(response.status, 200, response.text)
        XCTAssertEqual(response.json["total"] as? Int, 5)
        XCTAssertEqual(response.json["truncated"] as? Bool, false)
        let groups = try XCTUnwrap(response.json["groups"] as? [[String: Any]])
        XCTAssertEqual(groups.map { $0["code"] as? String }, ["OPERATOR_FUNCTION_FAILED", "euicc.install_failed", "job.return_timed_out"])
        XCTAssertEqual(groups.map { $0["count"] as? Int }, [3, 1, 1])
        XCTAssertEqual(groups[0]["lastAt"] as? Int, 300)
        XCTAssertEqual(groups[0]["exampleJobID"] as? String, "a2")
        XCTAssertEqual(groups[0]["exampleText"] as? String, "OPERATOR_FUNCTION_FAILED happened to a2")

        let later = try await harness.client(.read).send(.GET, "/v1/jobs/failures?since=301")
        XCTAssertEqual((later.json["groups"] as? [[String: Any]])?.map { $0["code"] as? String }, ["job.return_timed_out"])
        let missing = try await harness.client(.read).send(.GET, "/v1/jobs/failures")
        XCTAssertEqual(missing.status, 400)
        XCTAssertEqual(try missing.decode(ErrorBody.self).error.field, "since")
        let bad = try await harness.client(.read).send(.GET, "/v1/jobs/failures?since=yesterday")
        XCTAssertEqual(try bad.decode(ErrorBody.self).error.field, "since")
    }

    func testCampaignPreviewCountsTheSelectionWithoutCreatingACampaign() async throws {
        for i in 0..<5 {
            try await harness.store.upsertDevice(DeviceRecord(
                terminalID: String(format: "T-%02d", i), model: "SIM-METER-1", fields: ["eid": Fleet.eid(i)], tags: i < 3 ? ["pilot"] : [],
                heartbeatIntervalSeconds: 60, historyLimit: 10, firstSeen: 1, lastRegistered: 1))
        }
        func preview(_ json: String, role: AdminRole = .operate) async throws -> AdminHTTPClient.Response {
            try await harness.client(role).send(.POST, "/v1/campaigns/preview", contentType: "application/json", body: Array(json.utf8))
        }
        let pilots = try await preview(#"{"name":"Pilot","selection":{"tags":["pilot"]},"canaryShare":0.34}"#)
        XCTAssertEqual(pilots.status, 200, pilots.text)
        XCTAssertEqual(pilots.json["selected"] as? Int, 3)
        XCTAssertEqual(pilots.json["canary"] as? Int, 2)
        let two = try await preview(#"{"name":"Two","selection":{"terminalIDs":["T-00","T-04","T-99"]}}"#)
        XCTAssertEqual(two.json["selected"] as? Int, 2)
        let campaigns = try await harness.client(.read).send(.GET, "/v1/campaigns")
        XCTAssertEqual((campaigns.json["campaigns"] as? [Any])?.count, 0, "a preview creates nothing")

        let empty = try await preview(#"{"name":"Nothing","selection":{}}"#)
        XCTAssertEqual(empty.status, 400, empty.text)
        XCTAssertNotNil(try empty.decode(ErrorBody.self).error.field)
        let forbidden = try await preview(#"{"name":"Pilot","selection":{"tags":["pilot"]}}"#, role: .read)
        XCTAssertEqual(forbidden.status, 403)
    }

    func testPresenceSamplerKeepsTheNewestSamplesOfTheOnlineDictionary() async throws {
        let clock = Clock()
        let sampler = PresenceSampler(engine: harness.engine, interval: .seconds(10), capacity: 2, logger: .init(label: "test"),
                                      clock: { clock.now })
        let presence = await harness.engine.presence
        _ = try await presence.heard([("T-1", 1_800_000_000, 60, "registered"), ("T-2", 1_800_000_000, 60, "registered")])
        clock.now = 100
        await sampler.sample()
        clock.now = 110
        await sampler.sample()
        clock.now = 120
        await sampler.sample()
        let samples = await sampler.samples()
        XCTAssertEqual(samples.map(\.at), [110, 120], "the oldest is dropped past the capacity")
        XCTAssertEqual(samples.last?.online, 2)
        XCTAssertEqual(samples.last?.offline, 0)
        let since = await sampler.samples(since: 115)
        XCTAssertEqual(since.map(\.at), [120])

        let route = try await harness.client(.read).send(.GET, "/v1/fleet/presence-history?since=0")
        XCTAssertEqual(route.status, 200, route.text)
        XCTAssertEqual(route.json["intervalSeconds"] as? Int, 10)
        XCTAssertNotNil(route.json["samples"] as? [Any])
    }

    // MARK: Console files and headers

    func testConsoleIsServedWithoutTokenUnderStrictSecurityHeaders() async throws {
        let client = harness.client(nil)
        let root = try await client.send(.GET, "/")
        XCTAssertEqual(root.status, 303)
        XCTAssertEqual(root.header("Location"), "/console/")
        let page = try await client.send(.GET, "/console/")
        XCTAssertEqual(page.status, 200)
        XCTAssertEqual(page.header("Content-Type"), "text/html; charset=utf-8")
        let csp = try XCTUnwrap(page.header("Content-Security-Policy"))
        for directive in ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"] {
            XCTAssertTrue(csp.contains(directive), "\(directive) in \(csp)")
        }
        XCTAssertFalse(csp.contains("unsafe-inline"))
        XCTAssertEqual(page.header("X-Frame-Options"), "DENY")
        XCTAssertEqual(page.header("X-Content-Type-Options"), "nosniff")
        XCTAssertEqual(page.header("Referrer-Policy"), "no-referrer")
        XCTAssertNil(page.header("Set-Cookie"))
        // No inline script or style: every <script> has a src, no element has a style attribute.
        let html = page.text
        XCTAssertNil(html.range(of: #"<script(?![^>]*\bsrc=)[^>]*>"#, options: .regularExpression), "inline script")
        XCTAssertNil(html.range(of: #"\sstyle="#, options: .regularExpression), "inline style")
        XCTAssertNil(html.range(of: "<style"), "inline style sheet")

        for (path, type) in [("/console/console.js", "text/javascript; charset=utf-8"), ("/console/console.css", "text/css; charset=utf-8")] {
            let file = try await client.send(.GET, path)
            XCTAssertEqual(file.status, 200, path)
            XCTAssertEqual(file.header("Content-Type"), type, path)
            XCTAssertNotNil(file.header("Content-Security-Policy"), path)
            // Nothing is loaded from elsewhere: the only absolute URL is the SVG namespace name.
            let text = file.text.replacingOccurrences(of: "http://www.w3.org/2000/svg", with: "")
            XCTAssertNil(text.range(of: #"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}"#, options: .regularExpression), "\(path) refers to another origin")
            XCTAssertTrue(html.contains("\"\(path)\""), "\(path) is what the page loads")
        }
        let script = try await client.send(.GET, "/console/console.js").text
        XCTAssertFalse(script.contains("innerHTML"), "API data is inserted as text, never as HTML")
        XCTAssertFalse(script.contains("document.cookie"), "the token is never a cookie")
        XCTAssertTrue(script.contains("sessionStorage"))
        XCTAssertTrue(script.contains("\"Authorization\": \"Bearer \""))

        let missing = try await client.send(.GET, "/console/secrets.txt")
        XCTAssertEqual(missing.status, 404)
        let api = try await harness.client(.read).send(.GET, "/v1/session")
        XCTAssertEqual(api.header("Cache-Control"), "no-store")
        XCTAssertEqual(api.header("X-Frame-Options"), "DENY")
    }
}

/// A settable clock for samplers.
private final class Clock: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Int64 = 0
    var now: Int64 {
        get { lock.lock(); defer { lock.unlock() }; return value }
        set { lock.lock(); value = newValue; lock.unlock() }
    }
}
