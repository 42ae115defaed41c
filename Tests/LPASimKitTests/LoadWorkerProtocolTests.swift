import Foundation
import LPASimKit
import LPATLS
import XCTest

final class LoadWorkerProtocolTests: XCTestCase {
    func testEveryCommandSurvivesItsLine() {
        let commands: [LoadWorkerCommand] = [
            .launch, .counters, .closedLoop, .paced(ratePerSecond: 12_500.5), .stop, .record(true), .record(false), .latencies, .close,
        ]
        for command in commands {
            XCTAssertEqual(LoadWorkerCommand(line: command.line), command, command.line)
        }
    }

    func testMalformedCommandsAreRefused() {
        for line in ["", "launch now", "paced", "paced -5", "paced nan", "paced inf", "record maybe", "record", "CLOSE", "counters 1"] {
            XCTAssertNil(LoadWorkerCommand(line: line), line)
        }
    }

    func testCountersCrossTheProcessBoundaryUnchanged() throws {
        var counters = LoadCounters()
        counters.attempted = 10
        counters.welcomed = 9
        counters.launchFailures = ["TLS_HANDSHAKE_TIMEOUT": 1]
        counters.lost = ["closed by the server": 2]
        counters.heartbeatsSent = 1_000
        counters.acks = 998
        counters.inFlight = 2
        counters.firstConnectNanos = 123_456_789
        counters.lastWelcomeNanos = 987_654_321
        counters.tls = TLSHandshakeCompleted(
            protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", group: "secp256r1", resumed: false,
            peerSubject: [TLSSubjectAttribute(name: "CN", value: "edge")], peerCertificateDER: [0x30, 0x00], serverName: nil)
        let reply = LoadWorkerReply(counters: counters, latencies: [1, 2, UInt64.max])
        let decoded = try JSONDecoder().decode(LoadWorkerReply.self, from: JSONEncoder().encode(reply))
        XCTAssertEqual(decoded.counters, counters)
        XCTAssertEqual(decoded.latencies, [1, 2, UInt64.max])
        XCTAssertNil(decoded.error)
    }
}

final class EdgeBenchReportTests: XCTestCase {
    private func report(ours: [Double], peer: [Double]) -> EdgeBenchReport {
        var a = EdgeBenchFigures(server: "lpa-edge", version: nil)
        a.closedLoopWindows = ours
        var b = EdgeBenchFigures(server: "mosquitto", version: nil)
        b.closedLoopWindows = peer
        let conditions = EdgeBenchConditions(
            terminals: 1, durationS: 1, warmupS: 0, pacedS: 1, pacedRatePerS: 1, handshakeConcurrency: 1, cores: 1,
            openssl: "", network: "", sourceAddresses: 1, heartbeatBodyBytes: 1, system: "", loadAverage: "")
        return EdgeBenchReport(ours: a, peer: b, conditions: conditions)
    }

    func testRoundRatiosPairTheWindowsOfEachRound() throws {
        let r = report(ours: [110, 90, 100, 120], peer: [100, 100, 100, 100])
        XCTAssertEqual(try XCTUnwrap(r.throughputRatioRounds), [1.1, 0.9, 1.0, 1.2], accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(r.throughputRatioRoundsMedian), 1.05, accuracy: 1e-12)
        XCTAssertEqual(try XCTUnwrap(report(ours: [3, 1, 2], peer: [1, 1, 1]).throughputRatioRoundsMedian), 2, accuracy: 1e-12)
    }

    func testNoRoundRatiosWithoutMatchingWindows() {
        XCTAssertNil(report(ours: [100], peer: [100]).throughputRatioRounds)
        XCTAssertNil(report(ours: [100, 100, 100], peer: [100, 100]).throughputRatioRounds)
        XCTAssertNil(report(ours: [100, 100], peer: [100, 100, 100]).throughputRatioRoundsMedian)
    }
}

private func XCTAssertEqual(_ a: [Double], _ b: [Double], accuracy: Double, file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(a.count, b.count, file: file, line: line)
    for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: accuracy, file: file, line: line) }
}
