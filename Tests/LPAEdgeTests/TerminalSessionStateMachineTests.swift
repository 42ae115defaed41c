@testable import LPAEdge
import LPATLS
import NIOCore
import TerminalProtocol
import XCTest

final class TerminalSessionStateMachineTests: XCTestCase {
    static let eid = "89049032123451234512345678901235"
    static let imei = "356938035643809"
    let t0 = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    func tls(cn: String? = eid, serial: String? = imei, resumed: Bool = false) -> TLSHandshakeCompleted {
        var subject: [TLSSubjectAttribute] = [TLSSubjectAttribute(name: "O", value: "Fleet")]
        if let cn { subject.append(TLSSubjectAttribute(name: "CN", value: cn)) }
        if let serial { subject.append(TLSSubjectAttribute(name: "serialNumber", value: serial)) }
        return TLSHandshakeCompleted(protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", group: "prime256v1",
                                     resumed: resumed, peerSubject: subject, peerCertificateDER: nil, serverName: nil)
    }

    func hello(eid: String = eid, imei: String = imei, version: UInt32 = 1) -> TerminalFrame {
        .hello(Hello(protocolVersion: version, identity: Identity(eid: eid, imei: imei, iccid: "89882110000000000010", model: "SIM-METER-1"),
                     agent: "test", maximumFrameLength: 0))
    }

    func machine(binding: Bool = true) -> TerminalSessionStateMachine {
        TerminalSessionStateMachine(policy: .init(bindingRules: IdentityBindingRule.defaults, requireCertificateBinding: binding, missedIntervalsBeforeDrop: 3))
    }

    func rejectCode(_ action: TerminalSessionStateMachine.Action) -> ReasonCode? {
        if case .rejectAndClose(let r) = action { return r.code }
        return nil
    }

    func activeMachine(interval: UInt32 = 60) -> TerminalSessionStateMachine {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        _ = m.frameReceived(hello(), now: t0)
        _ = m.registrationDecided(.accept(settings: TerminalSettings(heartbeatIntervalSeconds: interval, historyLimit: 10, version: 1),
                                          model: "SIM-METER-1", requiredFields: ["eid"]), sessionID: "s1", now: t0)
        return m
    }

    func testValidHelloRegistersThenWelcomeActivates() {
        var m = machine()
        XCTAssertEqual(m.handshakeCompleted(tls(resumed: true)), .none)
        guard case .register(let id, let h, let resumed) = m.frameReceived(hello(), now: t0) else { return XCTFail() }
        XCTAssertEqual(id, Self.eid)
        XCTAssertEqual(h.identity.imei, Self.imei)
        XCTAssertTrue(resumed)
        let settings = TerminalSettings(heartbeatIntervalSeconds: 30, historyLimit: 5, version: 2)
        guard case .welcome(let wid, let welcome) = m.registrationDecided(.accept(settings: settings, model: "SIM-METER-1", requiredFields: ["eid", "imei"]), sessionID: "abc", now: t0) else {
            return XCTFail()
        }
        XCTAssertEqual(wid, Self.eid)
        XCTAssertEqual(welcome.settings, settings)
        XCTAssertEqual(welcome.sessionID, "abc")
        XCTAssertEqual(welcome.requiredFields, ["eid", "imei"])
        XCTAssertTrue(m.isActive)
    }

    func testFirstFrameMustBeHello() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        XCTAssertEqual(rejectCode(m.frameReceived(.heartbeat(Heartbeat(seq: 1)), now: t0)), .protocolViolation)
        XCTAssertEqual(m.state, .closed)
    }

    func testUnknownProtocolVersionIsRejectedWithReason() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        let action = m.frameReceived(hello(version: 7), now: t0)
        guard case .rejectAndClose(let r) = action else { return XCTFail("\(action)") }
        XCTAssertEqual(r.code, .unsupportedVersion)
        XCTAssertTrue(r.text.contains("7"), r.text)
    }

    func testClaimingAnotherDevicesEIDIsRefused() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        let action = m.frameReceived(hello(eid: "89049032123451234512345678901300"), now: t0)
        guard case .rejectAndClose(let r) = action else { return XCTFail("\(action)") }
        XCTAssertEqual(r.code, .identityMismatch)
        XCTAssertTrue(r.text.contains("eid"), r.text)
    }

    func testClaimingAnotherIMEIIsRefusedWhenTheCertificateNamesOne() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        XCTAssertEqual(rejectCode(m.frameReceived(hello(imei: "490154203237518"), now: t0)), .identityMismatch)
        // Without serialNumber in the certificate the IMEI is not bound.
        var m2 = machine()
        _ = m2.handshakeCompleted(tls(serial: nil))
        guard case .register = m2.frameReceived(hello(imei: "490154203237518"), now: t0) else { return XCTFail() }
    }

    func testCertificateWithoutCommonNameCannotClaimAnything() {
        var m = machine()
        _ = m.handshakeCompleted(tls(cn: nil))
        XCTAssertEqual(rejectCode(m.frameReceived(hello(), now: t0)), .identityMismatch)
    }

    func testEmptyIdentityIsRefused() {
        var m = machine(binding: false)
        _ = m.handshakeCompleted(tls())
        XCTAssertEqual(rejectCode(m.frameReceived(hello(eid: "", imei: ""), now: t0)), .missingField)
    }

    func testBindingOffAcceptsClaimedIdentity() {
        var m = machine(binding: false)
        _ = m.handshakeCompleted(tls(cn: "something-else"))
        guard case .register = m.frameReceived(hello(), now: t0) else { return XCTFail() }
    }

    func testFramesBeforeWelcomeAreViolationsExceptGoodbye() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        _ = m.frameReceived(hello(), now: t0)
        XCTAssertEqual(rejectCode(m.frameReceived(.heartbeat(Heartbeat(seq: 1)), now: t0)), .protocolViolation)

        var m2 = machine()
        _ = m2.handshakeCompleted(tls())
        _ = m2.frameReceived(hello(), now: t0)
        XCTAssertEqual(m2.frameReceived(.goodbye(Goodbye(reason: .deviceRestart, text: "")), now: t0), .closeSilently(.deviceRestart))
    }

    func testCoreRejectionAndCoreFailure() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        _ = m.frameReceived(hello(), now: t0)
        XCTAssertEqual(m.registrationDecided(.reject(code: .unknownModel, text: "no model 'X'", retryAfterSeconds: 0), sessionID: "s", now: t0),
                       .rejectAndClose(Reject(code: .unknownModel, text: "no model 'X'", retryAfterSeconds: 0)))

        var m2 = machine()
        _ = m2.handshakeCompleted(tls())
        _ = m2.frameReceived(hello(), now: t0)
        guard case .rejectAndClose(let r) = m2.registrationFailed(TerminalSessionError.notConnected(terminalID: "x")) else { return XCTFail() }
        XCTAssertEqual(r.code, .coreUnavailable)
        XCTAssertGreaterThan(r.retryAfterSeconds, 0)
    }

    func testHeartbeatIsAcknowledgedWithItsSequence() {
        var m = activeMachine()
        XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: 42)), now: t0 + .seconds(1)),
                       .acknowledgeHeartbeat(HeartbeatAck(seq: 42)))
    }

    func testSilenceBeyondAllowedIntervalsDropsTheTerminal() {
        var m = activeMachine(interval: 60)
        _ = m.frameReceived(.heartbeat(Heartbeat(seq: 1)), now: t0 + .seconds(50))
        XCTAssertEqual(m.livenessCheck(now: t0 + .seconds(50 + 180)), .none)
        guard case .goodbyeAndClose(let bye) = m.livenessCheck(now: t0 + .seconds(50 + 181)) else { return XCTFail() }
        XCTAssertEqual(bye.reason, .heartbeatTimeout)
        XCTAssertEqual(m.state, .closed)
    }

    func testPushedSettingsChangeTheLivenessInterval() {
        var m = activeMachine(interval: 60)
        let faster = TerminalSettings(heartbeatIntervalSeconds: 10, historyLimit: 10, version: 2)
        XCTAssertEqual(m.settingsPushed(faster, now: t0 + .seconds(5)), .send(.settings(faster)))
        XCTAssertEqual(m.livenessCheck(now: t0 + .seconds(5 + 30)), .none)
        guard case .goodbyeAndClose = m.livenessCheck(now: t0 + .seconds(5 + 31)) else { return XCTFail() }
    }

    func testServerOnlyFramesFromTerminalEndTheSession() {
        var m = activeMachine()
        guard case .goodbyeAndClose(let bye) = m.frameReceived(.welcome(Welcome(protocolVersion: 1, sessionID: "", settings: TerminalSettings(), requiredFields: [], model: "")), now: t0) else {
            return XCTFail()
        }
        XCTAssertEqual(bye.reason, .protocolViolation)
    }

    func testAnswersAreRoutedToPendingRequests() {
        var m = activeMachine()
        let result = TerminalFrame.apduBatchResult(ApduBatchResult(batchID: 3, status: .ok, responses: [[0x90, 0x00]], detail: ""))
        XCTAssertEqual(m.frameReceived(result, now: t0), .completeRequest(result))
    }

    func testHelloTimeoutOnlyBeforeRegistrationAndAnsweredWithReject() {
        var m = machine()
        _ = m.handshakeCompleted(tls())
        XCTAssertEqual(rejectCode(m.helloTimedOut()), .protocolViolation)
        XCTAssertEqual(m.state, .closed)
        var active = activeMachine()
        XCTAssertEqual(active.helloTimedOut(), .none)
    }

    func testMalformedFrameIsRejectedBeforeWelcomeAndSaidGoodbyeToAfter() {
        var awaiting = machine()
        _ = awaiting.handshakeCompleted(tls())
        XCTAssertEqual(rejectCode(awaiting.frameMalformed("bad prefix")), .protocolViolation)
        var registering = machine()
        _ = registering.handshakeCompleted(tls())
        _ = registering.frameReceived(hello(), now: t0)
        XCTAssertEqual(rejectCode(registering.frameMalformed("bad prefix")), .protocolViolation)
        var active = activeMachine()
        guard case .goodbyeAndClose(let bye) = active.frameMalformed("bad prefix") else { return XCTFail() }
        XCTAssertEqual(bye.reason, .protocolViolation)
        XCTAssertEqual(active.frameMalformed("again"), .none, "a closed session answers nothing more")
    }

    func limitedMachine(perSecond: Double, burst: Double, excess: Int) -> TerminalSessionStateMachine {
        var m = TerminalSessionStateMachine(policy: .init(
            bindingRules: IdentityBindingRule.defaults, requireCertificateBinding: true, missedIntervalsBeforeDrop: 3,
            heartbeatsPerSecond: perSecond, heartbeatBurst: burst, excessHeartbeatsBeforeClose: excess))
        _ = m.handshakeCompleted(tls())
        _ = m.frameReceived(hello(), now: t0)
        _ = m.registrationDecided(.accept(settings: TerminalSettings(heartbeatIntervalSeconds: 60, historyLimit: 10, version: 1),
                                          model: "SIM-METER-1", requiredFields: ["eid"]), sessionID: "s1", now: t0)
        return m
    }

    func testHeartbeatsBeyondTheRateAreDroppedThenEndTheSession() {
        var m = limitedMachine(perSecond: 1, burst: 3, excess: 3)
        for seq in 1...3 {
            XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: UInt32(seq))), now: t0), .acknowledgeHeartbeat(HeartbeatAck(seq: UInt32(seq))))
        }
        XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: 4)), now: t0), .dropExcessHeartbeat)
        // One second refills one heartbeat.
        XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: 5)), now: t0 + .seconds(1)), .acknowledgeHeartbeat(HeartbeatAck(seq: 5)))
        XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: 6)), now: t0 + .seconds(1)), .dropExcessHeartbeat)
        XCTAssertEqual(m.excessHeartbeats, 2)
        guard case .goodbyeAndClose(let bye) = m.frameReceived(.heartbeat(Heartbeat(seq: 7)), now: t0 + .seconds(1)) else {
            return XCTFail("the third excess heartbeat ends the session")
        }
        XCTAssertEqual(bye.reason, .protocolViolation)
        XCTAssertEqual(m.state, .closed)
    }

    func testHeartbeatsAtTheirIntervalNeverHitTheRate() {
        var m = limitedMachine(perSecond: 1, burst: 3, excess: 1)
        for seq in 1...1_000 {
            XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: UInt32(seq))), now: t0 + .seconds(Int64(seq))),
                           .acknowledgeHeartbeat(HeartbeatAck(seq: UInt32(seq))))
        }
    }

    func testRateZeroMeansNoLimit() {
        var m = limitedMachine(perSecond: 0, burst: 1, excess: 1)
        for seq in 1...100 {
            XCTAssertEqual(m.frameReceived(.heartbeat(Heartbeat(seq: UInt32(seq))), now: t0), .acknowledgeHeartbeat(HeartbeatAck(seq: UInt32(seq))))
        }
    }
}
