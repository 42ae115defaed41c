import Foundation
import LPAAdminClient
import LPAMetricsExport
import Logging
import NIOConcurrencyHelpers
import XCTest

final class HealthEndpointTests: XCTestCase {
    func testCoreLivenessAndReadinessNeedNoTokenAndReportTheStore() async throws {
        let harness = try await AdminHarness()
        let client = harness.client(nil)
        let live = try await client.send(.GET, "/health/live")
        XCTAssertEqual(live.status, 200)
        XCTAssertEqual(live.text, #"{"status":"live"}"#)
        let ready = try await client.send(.GET, "/health/ready")
        XCTAssertEqual(ready.status, 200, ready.text)
        XCTAssertEqual(ready.text, #"{"checks":{"store":"ok"},"status":"ready"}"#)

        // A store that no longer answers makes the core unready, not dead.
        try await harness.store.close()
        let unready = try await client.send(.GET, "/health/ready")
        XCTAssertEqual(unready.status, 503, unready.text)
        XCTAssertEqual(unready.text, #"{"checks":{"store":"store unreachable"},"status":"unready"}"#)
        let stillLive = try await client.send(.GET, "/health/live")
        XCTAssertEqual(stillLive.status, 200)
        await harness.shutdown()
    }

    func testListenerReadinessFollowsItsChecks() async throws {
        let state = ReadyState()
        var logger = Logger(label: "health-test")
        logger.logLevel = .warning
        let listener = try await PrometheusExport().startListener(host: "127.0.0.1", port: 0, logger: logger) {
            HealthReport(checks: [.init(name: "terminals", ok: true, detail: "listening"),
                                  .init(name: "core", ok: state.coreLinked, detail: state.coreLinked ? "1 linked" : "no lpa-core linked")])
        }
        let client = AdminHTTPClient(host: "127.0.0.1", port: listener.port, token: nil)
        let before = try await client.send(.GET, "/health/ready")
        XCTAssertEqual(before.status, 503)
        XCTAssertEqual(before.text, #"{"checks":{"core":"no lpa-core linked","terminals":"listening"},"status":"unready"}"#)
        state.coreLinked = true
        let after = try await client.send(.GET, "/health/ready")
        XCTAssertEqual(after.status, 200)
        XCTAssertEqual(after.text, #"{"checks":{"core":"1 linked","terminals":"listening"},"status":"ready"}"#)
        let live = try await client.send(.GET, "/health/live")
        XCTAssertEqual(live.status, 200)
        await listener.stop()
    }
}

private final class ReadyState: Sendable {
    private let linked = NIOLockedValueBox(false)
    var coreLinked: Bool {
        get { linked.withLockedValue { $0 } }
        set { linked.withLockedValue { $0 = newValue } }
    }
}
