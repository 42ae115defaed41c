@testable import LPARPC
import NIOCore
import NIOEmbedded
import XCTest

/// The connection handler on an `EmbeddedChannel`, frames in and out, with virtual time.
final class RPCConnectionHandlerTests: XCTestCase {
    private var channel: EmbeddedChannel!
    private var handler: RPCConnectionHandler!
    private var established: EventLoopPromise<RPCConnection>!

    private let peerHello = RPCHello(nodeID: "core-1", maxFrameLength: 4096, maxConcurrentCalls: 100)

    private func makeChannel(
        role: RPCConnectionRole = .initiator, firstStreamID: UInt32? = nil,
        configure: (inout RPCConnectionConfiguration) -> Void = { _ in }
    ) throws {
        var configuration = RPCConnectionConfiguration(nodeID: "edge-1")
        configuration.keepalive = .init(interval: .seconds(10), timeout: .seconds(5))
        configure(&configuration)
        channel = EmbeddedChannel()
        established = channel.eventLoop.makePromise()
        handler = RPCConnectionHandler(role: role, configuration: configuration, established: established, firstStreamID: firstStreamID)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 9)).wait()
    }

    override func tearDown() {
        _ = try? channel?.finish()
        channel = nil
        handler = nil
        established = nil
    }

    private func outbound() throws -> [RPCFrame] {
        channel.embeddedEventLoop.run()
        var frames: [RPCFrame] = []
        while let frame = try channel.readOutbound(as: RPCFrame.self) { frames.append(frame) }
        return frames
    }

    /// Completes the HELLO exchange and returns the connection handle.
    @discardableResult
    private func establish() throws -> RPCConnection {
        let hello = try outbound()
        XCTAssertEqual(hello.count, 1)
        guard case .hello(let ours)? = hello.first?.payload else {
            XCTFail("first frame is not HELLO: \(hello)")
            throw RPCError(.internal, "no HELLO")
        }
        XCTAssertEqual(ours.nodeID, "edge-1")
        XCTAssertEqual(ours.protocolVersion, RPCHello.currentProtocolVersion)
        try channel.writeInbound(RPCFrame(streamID: 0, payload: .hello(peerHello)))
        let connection = try established.futureResult.wait()
        XCTAssertEqual(connection.remoteNodeID, "core-1")
        XCTAssertEqual(connection.peerHello, peerHello)
        return connection
    }

    private func startCall(_ method: String = "core.Test", body: [UInt8] = [1]) -> EventLoopFuture<ByteBuffer> {
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        handler.startCall(method: method, body: ByteBuffer(bytes: body), deadline: nil, promise: promise)
        return promise.futureResult
    }

    private func error(of future: EventLoopFuture<ByteBuffer>) -> RPCError? {
        channel.embeddedEventLoop.run()
        var result: RPCError?
        future.assumeIsolated().whenFailure { result = $0 as? RPCError }
        return result
    }

    func testHelloExchangeEstablishes() throws {
        try makeChannel()
        try establish()
        XCTAssertEqual(handler.phase, .open)
    }

    func testCallAndResponse() throws {
        try makeChannel()
        try establish()
        let call = startCall(body: [4, 5])
        let frames = try outbound()
        XCTAssertEqual(frames, [RPCFrame(streamID: 1, payload: .request(method: "core.Test", deadlineMilliseconds: 0, body: ByteBuffer(bytes: [4, 5])))])
        try channel.writeInbound(RPCFrame(streamID: 1, payload: .response(status: .ok, message: "", body: ByteBuffer(bytes: [9]))))
        XCTAssertEqual(try call.wait(), ByteBuffer(bytes: [9]))

        let failing = startCall()
        _ = try outbound()
        try channel.writeInbound(RPCFrame(streamID: 3, payload: .response(status: .notFound, message: "no such terminal", body: ByteBuffer())))
        XCTAssertEqual(error(of: failing), RPCError(.notFound, "no such terminal"))
    }

    func testResponsesMatchTheirStreamsInAnyOrder() throws {
        try makeChannel()
        try establish()
        let calls = (0..<5).map { _ in startCall() }
        XCTAssertEqual(try outbound().map(\.streamID), [1, 3, 5, 7, 9])
        for (index, streamID) in [7, 1, 9, 3, 5].enumerated() {
            try channel.writeInbound(RPCFrame(streamID: UInt32(streamID), payload: .response(status: .ok, message: "", body: ByteBuffer(bytes: [UInt8(index)]))))
        }
        XCTAssertEqual(try calls.map { try $0.wait().getInteger(at: 0, as: UInt8.self) }, [1, 3, 4, 0, 2])
    }

    func testCallsBeyondThePeersLimitFailAtOnce() throws {
        try makeChannel()
        try channel.writeInbound(RPCFrame(streamID: 0, payload: .hello(RPCHello(nodeID: "core-1", maxFrameLength: 4096, maxConcurrentCalls: 2))))
        _ = try outbound()
        let first = startCall()
        let second = startCall()
        let third = startCall()
        XCTAssertEqual(error(of: third)?.status, .resourceExhausted)
        XCTAssertEqual(try outbound().count, 2, "the refused call was not sent")
        _ = (first, second)
    }

    func testIncomingCallBeyondTheLimitIsRefusedWithoutRunning() throws {
        try makeChannel { $0.maxConcurrentIncomingCalls = 0 }
        try establish()
        try channel.writeInbound(RPCFrame(streamID: 2, payload: .request(method: "edge.Anything", deadlineMilliseconds: 0, body: ByteBuffer())))
        let frames = try outbound()
        guard case .response(let status, _, _)? = frames.first?.payload else { return XCTFail("\(frames)") }
        XCTAssertEqual(status, .resourceExhausted)
        XCTAssertEqual(frames.first?.streamID, 2)
    }

    func testKeepaliveClosesASilentPeerAndFailsPendingCalls() throws {
        try makeChannel()
        let connection = try establish()
        let pending = startCall()
        _ = try outbound()
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        XCTAssertEqual(try outbound(), [], "the peer's HELLO arrived within the first interval")
        channel.embeddedEventLoop.advanceTime(by: .seconds(10))
        XCTAssertEqual(try outbound(), [RPCFrame(streamID: 0, payload: .ping(1))])
        channel.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertTrue(channel.isActive)
        channel.embeddedEventLoop.advanceTime(by: .seconds(1))
        XCTAssertFalse(channel.isActive, "no answer within the timeout")
        let error = error(of: pending)
        XCTAssertEqual(error?.status, .unavailable)
        XCTAssertTrue(error?.message.contains("keepalive") ?? false, "\(String(describing: error))")
        XCTAssertNoThrow(try connection.onClose.wait())
    }

    func testKeepaliveIsSatisfiedByPong() throws {
        try makeChannel()
        try establish()
        channel.embeddedEventLoop.advanceTime(by: .seconds(20))
        XCTAssertEqual(try outbound(), [RPCFrame(streamID: 0, payload: .ping(1))])
        try channel.writeInbound(RPCFrame(streamID: 0, payload: .pong(1)))
        channel.embeddedEventLoop.advanceTime(by: .seconds(5))
        XCTAssertTrue(channel.isActive)
    }

    func testPingIsAnsweredWithPong() throws {
        try makeChannel()
        try establish()
        try channel.writeInbound(RPCFrame(streamID: 0, payload: .ping(77)))
        XCTAssertEqual(try outbound(), [RPCFrame(streamID: 0, payload: .pong(77))])
    }

    func testNoHelloInTimeCloses() throws {
        try makeChannel { $0.helloTimeout = .seconds(3) }
        _ = try outbound()
        channel.embeddedEventLoop.advanceTime(by: .seconds(3))
        XCTAssertFalse(channel.isActive)
        XCTAssertThrowsError(try established.futureResult.wait()) { error in
            XCTAssertEqual((error as? RPCError)?.status, .unavailable)
        }
    }

    func testUnsupportedVersionGetsGoAway() throws {
        try makeChannel()
        _ = try outbound()
        var hello = peerHello
        hello.protocolVersion = 9
        try channel.writeInbound(RPCFrame(streamID: 0, payload: .hello(hello)))
        let frames = try outbound()
        guard case .goAway(_, let status, let message)? = frames.first?.payload else { return XCTFail("\(frames)") }
        XCTAssertEqual(status, .failedPrecondition)
        XCTAssertTrue(message.contains("9"))
        XCTAssertFalse(channel.isActive)
        XCTAssertThrowsError(try established.futureResult.wait())
    }

    func testDecoderErrorGetsGoAwayAndCloses() throws {
        try makeChannel()
        try establish()
        let pending = startCall()
        _ = try outbound()
        channel.pipeline.fireErrorCaught(RPCFrameError.unknownKind(99))
        let frames = try outbound()
        guard case .goAway(_, let status, let message)? = frames.first?.payload else { return XCTFail("\(frames)") }
        XCTAssertEqual(status, .internal)
        XCTAssertTrue(message.contains("RPC_FRAME_UNKNOWN_KIND"))
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(error(of: pending)?.status, .unavailable)
    }

    func testPeerGoAwayFailsUnservedCallsAndClosesWhenDrained() throws {
        try makeChannel()
        try establish()
        let kept = startCall()
        let refused = startCall()
        _ = try outbound()
        try channel.writeInbound(RPCFrame(streamID: 0, payload: .goAway(lastStreamID: 1, status: .ok, message: "restarting")))
        XCTAssertEqual(error(of: refused)?.status, .unavailable)
        XCTAssertEqual(error(of: startCall())?.status, .unavailable, "no new calls")
        XCTAssertTrue(channel.isActive, "stream 1 is still in flight")
        try channel.writeInbound(RPCFrame(streamID: 1, payload: .response(status: .ok, message: "", body: ByteBuffer())))
        XCTAssertNoThrow(try kept.wait())
        XCTAssertFalse(channel.isActive, "closed once drained")
    }

    func testGracefulCloseWaitsForCallsThenCloses() throws {
        try makeChannel { $0.drainTimeout = .seconds(30) }
        try establish()
        let pending = startCall()
        _ = try outbound()
        handler.closeGracefully()
        XCTAssertEqual(try outbound(), [RPCFrame(streamID: 0, payload: .goAway(lastStreamID: 0, status: .ok, message: "closing"))])
        XCTAssertTrue(channel.isActive)
        try channel.writeInbound(RPCFrame(streamID: 1, payload: .response(status: .ok, message: "", body: ByteBuffer())))
        XCTAssertNoThrow(try pending.wait())
        XCTAssertFalse(channel.isActive)
    }

    func testDrainTimeoutClosesAnyway() throws {
        try makeChannel { $0.drainTimeout = .seconds(2) }
        try establish()
        let pending = startCall()
        handler.closeGracefully()
        _ = try outbound()
        channel.embeddedEventLoop.advanceTime(by: .seconds(2))
        XCTAssertFalse(channel.isActive)
        XCTAssertEqual(error(of: pending)?.status, .unavailable)
    }

    func testCancelSendsCancelFrameAndFailsTheCall() throws {
        try makeChannel()
        try establish()
        let call = startCall()
        _ = try outbound()
        handler.cancelCall(ObjectIdentifier(call), error: RPCError(.cancelled, "test"))
        XCTAssertEqual(try outbound(), [RPCFrame(streamID: 1, payload: .cancel)])
        XCTAssertEqual(error(of: call)?.status, .cancelled)
        // A late response is dropped quietly.
        try channel.writeInbound(RPCFrame(streamID: 1, payload: .response(status: .ok, message: "", body: ByteBuffer())))
        XCTAssertTrue(channel.isActive)
    }

    func testExpiredDeadlineFailsWithoutSending() throws {
        try makeChannel()
        try establish()
        let promise = channel.eventLoop.makePromise(of: ByteBuffer.self)
        handler.startCall(method: "core.Test", body: ByteBuffer(), deadline: RPCDeadline(.now() - .milliseconds(1)), promise: promise)
        XCTAssertEqual(error(of: promise.futureResult)?.status, .deadlineExceeded)
        XCTAssertEqual(try outbound(), [])
    }

    func testStreamIDExhaustionSendsGoAway() throws {
        try makeChannel(firstStreamID: UInt32.max)
        try establish()
        let last = startCall()
        XCTAssertEqual(try outbound().map(\.streamID), [UInt32.max])
        XCTAssertEqual(error(of: startCall())?.status, .unavailable)
        let frames = try outbound()
        guard case .goAway(_, let status, _)? = frames.first?.payload else { return XCTFail("\(frames)") }
        XCTAssertEqual(status, .unavailable)
        try channel.writeInbound(RPCFrame(streamID: UInt32.max, payload: .response(status: .ok, message: "", body: ByteBuffer())))
        XCTAssertNoThrow(try last.wait())
        XCTAssertFalse(channel.isActive)
    }

    func testProtocolViolationOnWrongParity() throws {
        try makeChannel(role: .acceptor)
        try establish()
        try channel.writeInbound(RPCFrame(streamID: 2, payload: .request(method: "core.Test", deadlineMilliseconds: 0, body: ByteBuffer())))
        let frames = try outbound()
        guard case .goAway(_, let status, _)? = frames.first?.payload else { return XCTFail("\(frames)") }
        XCTAssertEqual(status, .internal)
        XCTAssertFalse(channel.isActive)
    }

    func testTruncatesLongMessages() {
        let long = String(repeating: "é", count: 5000)
        let cut = RPCConnectionHandler.truncated(long)
        XCTAssertLessThanOrEqual(cut.utf8.count, RPCConnectionHandler.maxMessageBytes)
        XCTAssertTrue(cut.hasSuffix("…"))
        XCTAssertEqual(RPCConnectionHandler.truncated("short"), "short")
    }
}
