@testable import LPATLS
import XCTest

/// The TLS handler's decisions as a plain value: every phase against every event.
final class TLSHandlerStateMachineTests: XCTestCase {
    func active() -> TLSHandlerStateMachine {
        var m = TLSHandlerStateMachine()
        XCTAssertEqual(m.channelActive(), .startHandshake)
        XCTAssertEqual(m.handshakeCompleted(), .announceAndFlushQueued)
        XCTAssertEqual(m.state, .active)
        return m
    }

    func testHandshakeThenDataThenCleanClose() {
        var m = TLSHandlerStateMachine()
        XCTAssertEqual(m.state, .idle)
        XCTAssertEqual(m.write(), .queue, "writes before the transport is up wait for the handshake")
        XCTAssertEqual(m.channelActive(), .startHandshake)
        XCTAssertEqual(m.channelActive(), .none, "a second activation starts nothing")
        XCTAssertEqual(m.write(), .queue)
        XCTAssertEqual(m.handshakeCompleted(), .announceAndFlushQueued)
        XCTAssertEqual(m.handshakeCompleted(), .none, "completion is announced once")
        XCTAssertEqual(m.write(), .encrypt)
        XCTAssertEqual(m.closeRequested(), .sendCloseNotifyThenClose)
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.write(), .fail(.closed))
        XCTAssertEqual(m.closeRequested(), .alreadyClosing)
        XCTAssertEqual(m.channelInactive(), .failQueuedSilently)
        XCTAssertEqual(m.state, .closed)
    }

    func testHandshakeFailureAndTimeoutCloseOnceAndOnlyBeforeCompletion() {
        var failing = TLSHandlerStateMachine()
        _ = failing.channelActive()
        XCTAssertEqual(failing.handshakeFailed(.handshakeTimeout), .failAndClose(.handshakeTimeout))
        XCTAssertEqual(failing.state, .closed)
        XCTAssertEqual(failing.handshakeFailed(.closed), .none)
        XCTAssertEqual(failing.write(), .fail(.closed))

        var timing = TLSHandlerStateMachine()
        _ = timing.channelActive()
        XCTAssertEqual(timing.handshakeTimedOut(), .failAndClose(.handshakeTimeout))
        XCTAssertEqual(timing.handshakeTimedOut(), .none)

        var idleTimeout = TLSHandlerStateMachine()
        XCTAssertEqual(idleTimeout.handshakeTimedOut(), .failAndClose(.handshakeTimeout), "a transport that never came up times out too")

        var done = active()
        XCTAssertEqual(done.handshakeTimedOut(), .none, "a late timer does nothing to an established connection")
        XCTAssertEqual(done.handshakeFailed(.handshakeTimeout), .none)
        XCTAssertEqual(done.state, .active)
    }

    func testPeerCloseNotifyIsAnsweredAfterTheHandshakeAndAnErrorBeforeIt() {
        var m = active()
        XCTAssertEqual(m.peerClosed(), .answerCloseNotifyAndClose)
        XCTAssertEqual(m.state, .closing)
        XCTAssertEqual(m.peerClosed(), .none)

        var early = TLSHandlerStateMachine()
        _ = early.channelActive()
        XCTAssertEqual(early.peerClosed(), .failAndClose(.closedDuringHandshake))
        XCTAssertEqual(early.state, .closed)
    }

    func testCloseBeforeTheHandshakeClosesTheTransportWithoutCloseNotify() {
        var idle = TLSHandlerStateMachine()
        XCTAssertEqual(idle.closeRequested(), .closeTransport)
        var handshaking = TLSHandlerStateMachine()
        _ = handshaking.channelActive()
        XCTAssertEqual(handshaking.closeRequested(), .closeTransport)
        XCTAssertEqual(handshaking.state, .closed)
    }

    func testReadFailuresCloseOnlyEstablishedConnections() {
        var m = active()
        XCTAssertEqual(m.connectionFailed(.closed), .failAndClose(.closed))
        XCTAssertEqual(m.state, .closed)
        XCTAssertEqual(m.connectionFailed(.closed), .none)

        var closing = active()
        _ = closing.closeRequested()
        XCTAssertEqual(closing.connectionFailed(.closed), .failAndClose(.closed))

        var handshaking = TLSHandlerStateMachine()
        _ = handshaking.channelActive()
        XCTAssertEqual(handshaking.connectionFailed(.closed), .none, "handshake errors arrive as handshakeFailed")
    }

    func testTransportLossReportsAHandshakeThatNeverFinished() {
        var handshaking = TLSHandlerStateMachine()
        _ = handshaking.channelActive()
        XCTAssertEqual(handshaking.channelInactive(), .failQueued(reportHandshakeError: true))
        var established = active()
        XCTAssertEqual(established.channelInactive(), .failQueuedAndReportUncleanShutdown, "a ragged EOF")
        XCTAssertEqual(established.channelInactive(), .failQueuedSilently, "reported once")
        var idle = TLSHandlerStateMachine()
        XCTAssertEqual(idle.channelInactive(), .failQueuedSilently)
        XCTAssertEqual(idle.state, .closed)
    }

    func testAWriteFailureClosesOnceAndRefusesLaterWrites() {
        var m = TLSHandlerStateMachine()
        XCTAssertEqual(m.connectionFailed(.writeFailed(reasons: ["x"])), .none, "nothing established to fail")
        _ = m.channelActive()
        _ = m.handshakeCompleted()
        XCTAssertEqual(m.connectionFailed(.writeFailed(reasons: ["x"])), .failAndClose(.writeFailed(reasons: ["x"])))
        XCTAssertEqual(m.state, .closed)
        XCTAssertEqual(m.write(), .fail(.closed))
        XCTAssertEqual(m.connectionFailed(.writeFailed(reasons: ["y"])), .none, "reported once")
    }
}
