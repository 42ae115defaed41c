import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import LPADomain
import LPAEdge
import LPAMetricsExport
import Logging
import Metrics
import NIOHTTP1
import TerminalProtocol
import XCTest

final class MetricsEndpointTests: XCTestCase {
    func testCoreAndEdgeMetricsAreExportedForPrometheus() async throws {
        // The process-wide backend, as lpa-core and lpa-edge install it at start.
        let export = PrometheusExport.shared
        let harness = try await AdminHarness(metrics: export)

        // Metrics the code emits: the edge's, the provisioning service's, the ES9+ client's.
        let edge = EdgeMetrics()
        edge.heartbeats.increment()
        edge.handshakes.increment()
        edge.handshakeFailed(code: "tls.bad_certificate")
        edge.sessionEnded(reason: ReasonCode(rawValue: 1), rejected: true)
        edge.refused(limit: "max_connections")
        edge.protocolError()
        edge.connectionsOpen.increment()
        edge.handshakeLatency.recordMilliseconds(3)
        _ = ProvisioningService(store: harness.store, es9: OperatorDirectory(endpoints: []), links: { _ in nil })
        let job = ProvisioningJob(id: "job-m", terminalID: "T-m", eid: Fleet.eid(1), smdpAddress: "smdp.example", profileType: "p",
                                  matchingID: nil, createdAt: 1, updatedAt: 1)
        _ = try await harness.store.createJob(job)

        let response = try await harness.client(nil).send(.GET, "/metrics")
        XCTAssertEqual(response.status, 200)
        XCTAssertEqual(response.header("Content-Type"), PrometheusExport.contentType)
        let text = response.text
        /// The value of one series, e.g. `lpa_core_jobs{state="queued"}`.
        func value(_ series: String) -> Double? {
            text.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last ?? "") }
        }
        for series in ["lpa_edge_heartbeats_total", #"lpa_edge_tls_handshakes_total{result="ok"}"#,
                       #"lpa_edge_tls_handshakes_total{result="tls.bad_certificate"}"#, #"lpa_edge_connections_refused_total{limit="max_connections"}"#,
                       "lpa_edge_protocol_errors_total", "lpa_edge_connections_open"] {
            XCTAssertGreaterThanOrEqual(value(series) ?? 0, 1, "\(series) in:\n\(text)")
        }
        XCTAssertTrue(text.contains("lpa_edge_rejects_total{code="), text)
        XCTAssertTrue(text.contains("lpa_edge_tls_handshake_seconds_bucket"), text)
        XCTAssertEqual(value(#"lpa_provisioning_jobs_total{outcome="installed"}"#), 0, text)
        XCTAssertEqual(value("lpa_core_terminals_online"), 0, text)
        XCTAssertEqual(value(#"lpa_core_jobs{state="queued"}"#), 1, text)
        XCTAssertEqual(value(#"lpa_core_jobs{state="failed"}"#), 0, text)

        // The edge's own listener serves the same registry.
        var logger = Logger(label: "metrics-test")
        logger.logLevel = .warning
        let listener = try await export.startListener(host: "127.0.0.1", port: 0, logger: logger)
        let edgeScrape = try await AdminHTTPClient(host: "127.0.0.1", port: listener.port, token: nil).send(.GET, "/metrics")
        await listener.stop()
        XCTAssertEqual(edgeScrape.status, 200)
        XCTAssertTrue(edgeScrape.text.contains("lpa_edge_heartbeats_total"))
        await harness.shutdown()
    }
}
