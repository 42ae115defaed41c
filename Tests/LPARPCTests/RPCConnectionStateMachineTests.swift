import LPARPC
import XCTest

final class RPCConnectionStateMachineTests: XCTestCase {
    typealias Machine = RPCConnectionStateMachine

    private let peerHello = RPCHello(nodeID: "peer", maxFrameLength: 1000, maxConcurrentCalls: 3)

    private func open(_ role: RPCConnectionRole = .initiator, maxIncoming: UInt32 = 2, maxOutgoing: Int = 10, firstStreamID: UInt32? = nil) -> Machine {
        var machine = Machine(
            role: role, localHello: RPCHello(nodeID: "me", maxFrameLength: 2000, maxConcurrentCalls: maxIncoming),
            maxConcurrentOutgoingCalls: maxOutgoing, firstStreamID: firstStreamID)
        XCTAssertEqual(machine.channelActive(), .sendHello(machine.localHello))
        XCTAssertEqual(machine.helloReceived(peerHello), .established(peerHello))
        XCTAssertEqual(machine.phase, .open)
        return machine
    }

    private func isViolation<T>(_ action: T) -> Bool {
        "\(action)".hasPrefix("protocolViolation")
    }

    // MARK: HELLO

    func testHelloExchange() {
        var machine = Machine(role: .acceptor, localHello: RPCHello(nodeID: "core", maxFrameLength: 2000, maxConcurrentCalls: 5), maxConcurrentOutgoingCalls: 5)
        XCTAssertEqual(machine.phase, .idle)
        XCTAssertEqual(machine.channelActive(), .sendHello(RPCHello(nodeID: "core", maxFrameLength: 2000, maxConcurrentCalls: 5)))
        XCTAssertEqual(machine.channelActive(), .none)
        XCTAssertEqual(machine.phase, .awaitingHello)
        XCTAssertFalse(machine.acceptsNewCalls)
        XCTAssertEqual(machine.helloReceived(peerHello), .established(peerHello))
        XCTAssertEqual(machine.peerHello, peerHello)
        XCTAssertTrue(machine.acceptsNewCalls)
    }

    func testSecondHelloIsAViolation() {
        var machine = open()
        XCTAssertTrue(isViolation(machine.helloReceived(peerHello)))
        XCTAssertEqual(machine.phase, .closed)
    }

    func testUnsupportedVersionIsRefused() {
        var machine = Machine(role: .initiator, localHello: RPCHello(nodeID: "me", maxFrameLength: 2000, maxConcurrentCalls: 5), maxConcurrentOutgoingCalls: 5)
        _ = machine.channelActive()
        var hello = peerHello
        hello.protocolVersion = 2
        guard case .protocolViolation(let goAway, let error) = machine.helloReceived(hello) else { return XCTFail() }
        XCTAssertEqual(goAway.status, .failedPrecondition)
        XCTAssertTrue(goAway.closeNow)
        XCTAssertEqual(error.status, .failedPrecondition)
        XCTAssertEqual(machine.phase, .closed)
    }

    func testFramesBeforeHelloAreViolations() {
        var machine = Machine(role: .initiator, localHello: RPCHello(nodeID: "me", maxFrameLength: 2000, maxConcurrentCalls: 5), maxConcurrentOutgoingCalls: 5)
        _ = machine.channelActive()
        XCTAssertTrue(isViolation(machine.requestReceived(streamID: 2)))
        XCTAssertEqual(machine.phase, .closed)
        XCTAssertEqual(machine.requestReceived(streamID: 4), .ignore, "nothing more after closing")
    }

    func testHelloTimeout() {
        var machine = Machine(role: .initiator, localHello: RPCHello(nodeID: "me", maxFrameLength: 2000, maxConcurrentCalls: 5), maxConcurrentOutgoingCalls: 5)
        _ = machine.channelActive()
        XCTAssertEqual(machine.helloTimedOut(), .close)
        var established = open()
        XCTAssertEqual(established.helloTimedOut(), .none)
    }

    func testCallsBeforeHelloFail() {
        var machine = Machine(role: .initiator, localHello: RPCHello(nodeID: "me", maxFrameLength: 2000, maxConcurrentCalls: 5), maxConcurrentOutgoingCalls: 5)
        _ = machine.channelActive()
        guard case .fail(let error) = machine.startCall(frameLength: 10) else { return XCTFail() }
        XCTAssertEqual(error.status, .unavailable)
    }

    // MARK: Stream ids

    func testInitiatorOpensOddAcceptorEven() {
        var initiator = open(.initiator)
        XCTAssertEqual(initiator.startCall(frameLength: 10), .send(streamID: 1))
        XCTAssertEqual(initiator.startCall(frameLength: 10), .send(streamID: 3))
        var acceptor = open(.acceptor)
        XCTAssertEqual(acceptor.startCall(frameLength: 10), .send(streamID: 2))
        XCTAssertEqual(acceptor.startCall(frameLength: 10), .send(streamID: 4))
        XCTAssertTrue(RPCConnectionRole.initiator.opens(7))
        XCTAssertFalse(RPCConnectionRole.initiator.opens(0))
        XCTAssertTrue(RPCConnectionRole.acceptor.opens(8))
    }

    func testPeerStreamIDsMustHaveItsParityAndGrow() {
        var machine = open(.initiator)
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        XCTAssertEqual(machine.requestReceived(streamID: 6), .dispatch)
        XCTAssertTrue(isViolation(machine.requestReceived(streamID: 4)), "ids only grow")
        var parity = open(.initiator)
        XCTAssertTrue(isViolation(parity.requestReceived(streamID: 1)), "odd ids are the initiator's")
    }

    func testResponsesToUnknownStreams() {
        var machine = open(.initiator)
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 1))
        XCTAssertEqual(machine.responseReceived(streamID: 1), .complete(closeNow: false))
        XCTAssertEqual(machine.responseReceived(streamID: 1), .ignore, "late duplicate of a finished call")
        XCTAssertTrue(isViolation(machine.responseReceived(streamID: 5)), "never opened")
        var parity = open(.initiator)
        XCTAssertTrue(isViolation(parity.responseReceived(streamID: 2)), "a stream the peer opened")
    }

    func testStreamIDExhaustionDrains() {
        var machine = open(.initiator, firstStreamID: UInt32.max - 2)
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: UInt32.max - 2))
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: UInt32.max))
        guard case .failAndGoAway(let error, let goAway) = machine.startCall(frameLength: 10) else { return XCTFail() }
        XCTAssertEqual(error.status, .unavailable)
        XCTAssertFalse(goAway.closeNow, "two calls are still in flight")
        XCTAssertEqual(machine.phase, .draining)
        XCTAssertEqual(machine.responseReceived(streamID: UInt32.max - 2), .complete(closeNow: false))
        XCTAssertEqual(machine.responseReceived(streamID: UInt32.max), .complete(closeNow: true))
        XCTAssertEqual(machine.phase, .closed)
    }

    // MARK: Limits

    func testOutgoingBoundIsTheSmallerOfBothLimits() {
        var machine = open(maxOutgoing: 10)  // the peer serves 3 at once
        for id in [1, 3, 5] as [UInt32] { XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: id)) }
        guard case .fail(let error) = machine.startCall(frameLength: 10) else { return XCTFail() }
        XCTAssertEqual(error.status, .resourceExhausted)
        XCTAssertEqual(machine.cancelOutgoing(streamID: 3), .sendCancel(closeNow: false))
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 7))

        var local = open(maxOutgoing: 1)
        XCTAssertEqual(local.startCall(frameLength: 10), .send(streamID: 1))
        guard case .fail(let localError) = local.startCall(frameLength: 10) else { return XCTFail() }
        XCTAssertEqual(localError.status, .resourceExhausted)
    }

    func testRequestLargerThanThePeerAcceptsFails() {
        var machine = open()
        guard case .fail(let error) = machine.startCall(frameLength: 1001) else { return XCTFail() }
        XCTAssertEqual(error.status, .resourceExhausted)
        XCTAssertEqual(machine.startCall(frameLength: 1000), .send(streamID: 1))
    }

    func testIncomingBoundRejects() {
        var machine = open(.initiator, maxIncoming: 2)
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        XCTAssertEqual(machine.requestReceived(streamID: 4), .dispatch)
        guard case .reject(let error) = machine.requestReceived(streamID: 6) else { return XCTFail() }
        XCTAssertEqual(error.status, .resourceExhausted)
        XCTAssertEqual(machine.handlerFinished(streamID: 2, responseFrameLength: 10), .sendResponse(closeNow: false))
        XCTAssertEqual(machine.requestReceived(streamID: 8), .dispatch)
    }

    func testResponseLargerThanThePeerAcceptsBecomesAnError() {
        var machine = open()
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        guard case .sendError(let error, closeNow: false) = machine.handlerFinished(streamID: 2, responseFrameLength: 1001) else { return XCTFail() }
        XCTAssertEqual(error.status, .resourceExhausted)
    }

    // MARK: Cancellation and deadlines

    func testCancelReceivedCancelsTheHandlerOnce() {
        var machine = open()
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        XCTAssertEqual(machine.cancelReceived(streamID: 2), .cancelHandler(respond: nil, closeNow: false))
        XCTAssertEqual(machine.cancelReceived(streamID: 2), .none)
        XCTAssertEqual(machine.handlerFinished(streamID: 2, responseFrameLength: 10), .none, "no response after CANCEL")
        XCTAssertTrue(isViolation(machine.cancelReceived(streamID: 1)), "CANCEL for this side's stream")
    }

    func testIncomingDeadlineAnswersDeadlineExceeded() {
        var machine = open()
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        guard case .cancelHandler(let respond?, closeNow: false) = machine.incomingDeadlinePassed(streamID: 2) else { return XCTFail() }
        XCTAssertEqual(respond.status, .deadlineExceeded)
        XCTAssertEqual(machine.incomingDeadlinePassed(streamID: 2), .none)
    }

    func testCancellingAFinishedCallDoesNothing() {
        var machine = open()
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 1))
        XCTAssertEqual(machine.responseReceived(streamID: 1), .complete(closeNow: false))
        XCTAssertEqual(machine.cancelOutgoing(streamID: 1), .none)
    }

    // MARK: GOAWAY

    func testLocalGoAwayDrainsThenCloses() {
        var machine = open(.acceptor)
        XCTAssertEqual(machine.requestReceived(streamID: 1), .dispatch)
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 2))
        guard case .sendGoAway(let goAway) = machine.closeGracefully() else { return XCTFail() }
        XCTAssertEqual(goAway.lastStreamID, 1)
        XCTAssertFalse(goAway.closeNow)
        XCTAssertEqual(machine.phase, .draining)
        XCTAssertEqual(machine.closeGracefully(), .none, "one GOAWAY")
        guard case .fail(let error) = machine.startCall(frameLength: 10) else { return XCTFail() }
        XCTAssertEqual(error.status, .unavailable)
        guard case .reject(let late) = machine.requestReceived(streamID: 3) else { return XCTFail() }
        XCTAssertEqual(late.status, .unavailable, "above the GOAWAY's last stream id")
        XCTAssertEqual(machine.handlerFinished(streamID: 1, responseFrameLength: 10), .sendResponse(closeNow: false))
        XCTAssertEqual(machine.responseReceived(streamID: 2), .complete(closeNow: true))
        XCTAssertEqual(machine.phase, .closed)
    }

    func testGoAwayWithNothingInFlightClosesAtOnce() {
        var machine = open()
        guard case .sendGoAway(let goAway) = machine.closeGracefully() else { return XCTFail() }
        XCTAssertTrue(goAway.closeNow)
    }

    func testPeerGoAwayFailsCallsAboveItsLastStream() {
        var machine = open(.initiator)
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 1))
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 3))
        XCTAssertEqual(machine.startCall(frameLength: 10), .send(streamID: 5))
        guard case .failCalls(let refused, let error, let closeNow) = machine.goAwayReceived(lastStreamID: 1, status: .ok, message: "bye") else { return XCTFail() }
        XCTAssertEqual(refused, [3, 5])
        XCTAssertEqual(error.status, .unavailable)
        XCTAssertFalse(closeNow)
        XCTAssertEqual(machine.phase, .draining)
        guard case .fail = machine.startCall(frameLength: 10) else { return XCTFail("no new calls after GOAWAY") }
        XCTAssertEqual(machine.responseReceived(streamID: 1), .complete(closeNow: true))
    }

    func testCloseBeforeHelloClosesWithoutGoAway() {
        var machine = Machine(role: .initiator, localHello: RPCHello(nodeID: "me", maxFrameLength: 2000, maxConcurrentCalls: 5), maxConcurrentOutgoingCalls: 5)
        _ = machine.channelActive()
        XCTAssertEqual(machine.closeGracefully(), .close)
    }

    func testProtocolViolationSendsGoAwayAndCloses() {
        var machine = open()
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        guard case .sendGoAway(let goAway) = machine.protocolViolation("bad frame") else { return XCTFail() }
        XCTAssertEqual(goAway.status, .internal)
        XCTAssertEqual(goAway.lastStreamID, 2)
        XCTAssertTrue(goAway.closeNow)
        XCTAssertEqual(machine.protocolViolation("again"), .none)
    }

    // MARK: Keepalive

    func testKeepalivePingsOnlyWhenSilent() {
        var machine = open()
        // The HELLO counted as traffic in the first interval.
        XCTAssertEqual(machine.keepaliveIntervalElapsed(), .none)
        XCTAssertEqual(machine.keepaliveIntervalElapsed(), .sendPing(1))
        XCTAssertEqual(machine.keepaliveIntervalElapsed(), .none, "one PING at a time")
        machine.pongReceived()
        XCTAssertEqual(machine.keepaliveTimeoutElapsed(pingData: 1), .none, "answered in time")
        XCTAssertEqual(machine.keepaliveIntervalElapsed(), .none, "the PONG was traffic")
        XCTAssertEqual(machine.keepaliveIntervalElapsed(), .sendPing(2))
        XCTAssertEqual(machine.keepaliveTimeoutElapsed(pingData: 2), .closeDeadPeer)
        XCTAssertEqual(machine.phase, .closed)
    }

    func testAnyFrameAnswersAPing() {
        var machine = open()
        _ = machine.keepaliveIntervalElapsed()
        XCTAssertEqual(machine.keepaliveIntervalElapsed(), .sendPing(1))
        XCTAssertEqual(machine.requestReceived(streamID: 2), .dispatch)
        XCTAssertEqual(machine.keepaliveTimeoutElapsed(pingData: 1), .none)
        XCTAssertTrue(machine.pingReceived(), "PINGs are answered")
    }

    func testChannelInactiveForgetsEverything() {
        var machine = open()
        _ = machine.startCall(frameLength: 10)
        _ = machine.requestReceived(streamID: 2)
        machine.channelInactive()
        XCTAssertEqual(machine.phase, .closed)
        XCTAssertTrue(machine.outgoing.isEmpty)
        XCTAssertTrue(machine.incoming.isEmpty)
        XCTAssertFalse(machine.pingReceived())
    }
}
