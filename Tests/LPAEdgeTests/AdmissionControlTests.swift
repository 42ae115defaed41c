@testable import LPAEdge
import LPAConfig
import NIOCore
import XCTest

final class AdmissionControlTests: XCTestCase {
    func testConnectionCapAndRelease() {
        let control = AdmissionControl(maxConnections: 2, handshakesPerSecondPerAddress: 1000, burstPerAddress: 1000)
        XCTAssertEqual(control.admit(address: "127.0.0.1"), .admit)
        XCTAssertEqual(control.admit(address: "127.0.0.2"), .admit)
        XCTAssertEqual(control.admit(address: "127.0.0.3"), .refuse(limit: "max_connections"))
        control.release()
        XCTAssertEqual(control.admit(address: "127.0.0.3"), .admit)
        XCTAssertEqual(control.openConnections, 2)
    }

    func testPerAddressRateRefillsOverTime() {
        let control = AdmissionControl(maxConnections: 100, handshakesPerSecondPerAddress: 2, burstPerAddress: 3)
        let t0 = NIODeadline.uptimeNanoseconds(5_000_000_000)
        for _ in 0..<3 { XCTAssertEqual(control.admit(address: "10.0.0.1", now: t0), .admit) }
        XCTAssertEqual(control.admit(address: "10.0.0.1", now: t0), .refuse(limit: "handshake_rate"))
        // Another address has its own bucket.
        XCTAssertEqual(control.admit(address: "10.0.0.2", now: t0), .admit)
        // Half a second refills one token at 2/s.
        XCTAssertEqual(control.admit(address: "10.0.0.1", now: t0 + .milliseconds(500)), .admit)
        XCTAssertEqual(control.admit(address: "10.0.0.1", now: t0 + .milliseconds(500)), .refuse(limit: "handshake_rate"))
    }
}

final class HeartbeatLedgerTests: XCTestCase {
    func testWindowsCountPerTerminalIncludingSilentOnes() {
        let ledger = HeartbeatLedger(shardCount: 4, windowStart: 1000)
        let a = ledger.open("a")
        let b = ledger.open("b")
        for t in 0..<5 { a.record(now: 1000 + Int64(t)) }
        let w1 = ledger.closeWindow(newStart: 1060).sorted { $0.terminalID < $1.terminalID }
        XCTAssertEqual(w1.map(\.terminalID), ["a", "b"])
        XCTAssertEqual(w1.map(\.count), [5, 0])
        XCTAssertEqual(w1[0].lastSeen, 1004)
        XCTAssertEqual(w1[0].windowStart, 1000)
        XCTAssertEqual(w1[0].windowSeconds, 60)
        b.record(now: 1070)
        let partial = ledger.close("b", windowSeconds: 60)
        XCTAssertEqual(partial?.count, 1)
        XCTAssertEqual(ledger.closeWindow(newStart: 1120).map(\.terminalID), ["a"])
    }

    /// A reconnecting terminal: the newer session opens before the older one has closed. The older
    /// session's close must not stop the count of the newer one.
    func testReplacedSessionClosingLateKeepsTheNewerOneCounted() {
        let ledger = HeartbeatLedger(shardCount: 4, windowStart: 1000)
        let old = ledger.open("a")
        old.record(now: 1001)
        old.record(now: 1002)
        let new = ledger.open("a")
        XCTAssertFalse(old === new)
        old.record(now: 1003)
        let residual = ledger.close("a", counter: old, windowSeconds: 60)
        XCTAssertEqual(residual?.count, 1, "what the older session counted after the hand-over")
        new.record(now: 1010)
        let window = ledger.closeWindow(newStart: 1060)
        XCTAssertEqual(window.map(\.terminalID), ["a"])
        XCTAssertEqual(window.first?.count, 3, "two carried over from the older session, one of its own")
        XCTAssertEqual(window.first?.lastSeen, 1010)
        XCTAssertEqual(ledger.close("a", counter: new, windowSeconds: 60)?.count, 0)
        XCTAssertEqual(ledger.terminalCount, 0)
    }
}

final class EdgeConfigurationTests: XCTestCase {
    func testPartialYAMLKeepsDefaultsAndValidates() throws {
        let c = try EdgeConfiguration.parse(yaml: "listen:\n  port: 9443\nheartbeat:\n  defaultIntervalSeconds: 30\n")
        XCTAssertEqual(c.listen.port, 9443)
        XCTAssertEqual(c.listen.host, "127.0.0.1")
        XCTAssertEqual(c.heartbeat.defaultIntervalSeconds, 30)
        XCTAssertEqual(c.heartbeat.missedIntervalsBeforeDrop, 3)
        XCTAssertTrue(c.tls.requireClientCertificate)
    }

    func testEventLoopThreadsAndCompactSessionsAreConfigurable() throws {
        let defaults = try EdgeConfiguration.parse(yaml: "listen:\n  port: 9443\n")
        XCTAssertEqual(defaults.eventLoopThreads, 0)
        XCTAssertTrue(try defaults.tlsConfiguration().compactSessions)
        let c = try EdgeConfiguration.parse(yaml: "eventLoopThreads: 2\ntls:\n  compactSessions: false\n")
        XCTAssertEqual(c.eventLoopThreads, 2)
        XCTAssertFalse(try c.tlsConfiguration().compactSessions)
        XCTAssertThrowsError(try EdgeConfiguration.parse(yaml: "eventLoopThreads: -1\n", file: "edge.yaml")) { error in
            XCTAssertTrue("\(error)".contains("eventLoopThreads"), "\(error)")
        }
    }

    func testErrorsNameFileAndKey() {
        XCTAssertThrowsError(try EdgeConfiguration.parse(yaml: "listen:\n  port: seventy\n", file: "edge.yaml")) { error in
            let text = "\(error)"
            XCTAssertTrue(text.hasPrefix("edge.yaml: listen.port"), text)
        }
        XCTAssertThrowsError(try EdgeConfiguration.parse(yaml: "limits:\n  maxFrameBytes: 10\n", file: "edge.yaml")) { error in
            XCTAssertTrue("\(error)".contains("limits.maxFrameBytes"), "\(error)")
        }
        XCTAssertThrowsError(try EdgeConfiguration.parse(yaml: "tls:\n  minimumVersion: TLSv1.1\n", file: "e.yaml")) { error in
            XCTAssertTrue("\(error)".contains("tls.minimumVersion"), "\(error)")
        }
    }
}

final class EdgeConfigurationUnknownKeyTests: XCTestCase {
    func testMisspeltKeyIsReportedWithItsPath() {
        XCTAssertThrowsError(try EdgeConfiguration.parse(yaml: "heartbeat:\n  defaultIntervalSecs: 5\n", file: "edge.yaml")) { error in
            XCTAssertTrue("\(error)".hasPrefix("edge.yaml: heartbeat.defaultIntervalSecs: unknown key"), "\(error)")
        }
    }
}
