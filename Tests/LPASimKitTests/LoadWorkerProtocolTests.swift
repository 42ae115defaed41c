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
