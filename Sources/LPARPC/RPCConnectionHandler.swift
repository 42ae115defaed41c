import LPATLS
import Logging
import NIOCore

/// Runs one RPC connection on top of the frame codec: calls in both directions multiplexed by
/// stream id, deadlines, cancellation, the in-flight bounds, keepalive and graceful GOAWAY.
///
/// The decisions are ``RPCConnectionStateMachine``'s; this handler turns channel events into its
/// events and its actions into frames, timers, promises and tasks. Pipeline position: last, above
/// `ByteToMessageHandler(RPCFrameDecoder)` and `MessageToByteHandler(RPCFrameEncoder)` (and
/// ``TLSHandler`` below those, whose ``TLSHandshakeCompleted`` event it records as the peer's TLS
/// identity).
///
/// - Outgoing calls are started by ``RPCConnection``, which hops onto the channel's event loop; the
///   caller's deadline is a timer on that loop which fails the call with
///   ``RPCStatus/deadlineExceeded`` and sends CANCEL.
/// - Incoming calls run the ``RPCRouter`` in a new `Task` each; the task is cancelled on CANCEL, on
///   the caller's deadline (answered with ``RPCStatus/deadlineExceeded``) and when the connection
///   closes. Results hop back onto the event loop to be written.
/// - Writes are flushed once per event-loop turn, so bursts of calls share system calls.
/// - When the connection closes, every pending outgoing call fails with ``RPCStatus/unavailable``.
///
/// Everything here runs on the channel's event loop, and the handler is not `Sendable`.
public final class RPCConnectionHandler: ChannelDuplexHandler {
    public typealias InboundIn = RPCFrame
    public typealias InboundOut = Never
    public typealias OutboundIn = Never
    public typealias OutboundOut = RPCFrame

    /// Status messages longer than this are cut (at a character boundary) before sending.
    static let maxMessageBytes = 4096

    private struct OutgoingCall {
        var key: ObjectIdentifier
        var promise: EventLoopPromise<ByteBuffer>
        var timer: Scheduled<Void>?
    }

    private struct IncomingCall {
        var task: Task<Void, Never>
        var timer: Scheduled<Void>?
    }

    private let configuration: RPCConnectionConfiguration
    private let router: RPCRouter
    private var logger: Logger
    private var stateMachine: RPCConnectionStateMachine
    private var established: EventLoopPromise<RPCConnection>?
    private var context: ChannelHandlerContext?
    private var connection: RPCConnection?
    private var tls: TLSHandshakeCompleted?
    private var outgoing: [UInt32: OutgoingCall] = [:]
    private var outgoingByKey: [ObjectIdentifier: UInt32] = [:]
    private var incoming: [UInt32: IncomingCall] = [:]
    private var helloTimer: Scheduled<Void>?
    private var keepaliveTimer: Scheduled<Void>?
    private var keepaliveTimeoutTimer: Scheduled<Void>?
    private var drainTimer: Scheduled<Void>?
    private var closeReason: Error?
    private var closing = false
    private var needsFlush = false
    private var flushScheduled = false

    /// - Parameters:
    ///   - role: whether this side opened the TCP connection (it decides stream id parity).
    ///   - configuration: this side's node id, limits and timers.
    ///   - router: serves the peer's calls; an empty router answers every call with
    ///     ``RPCStatus/unimplemented``.
    ///   - logger: receives connection events, with `rpc.local` and `rpc.peer` metadata.
    ///   - established: succeeded with the connection's handle once the HELLO exchange is done;
    ///     failed with the reason when the connection closes before that.
    ///   - firstStreamID: the first stream id to open (tests).
    public init(
        role: RPCConnectionRole,
        configuration: RPCConnectionConfiguration,
        router: RPCRouter = RPCRouter(),
        logger: Logger = Logger(label: "serverlpa.rpc"),
        established: EventLoopPromise<RPCConnection>? = nil,
        firstStreamID: UInt32? = nil
    ) {
        self.configuration = configuration
        self.router = router
        self.logger = logger
        self.logger[metadataKey: "rpc.local"] = "\(configuration.nodeID)"
        self.established = established
        self.stateMachine = RPCConnectionStateMachine(
            role: role, localHello: configuration.hello,
            maxConcurrentOutgoingCalls: configuration.maxConcurrentOutgoingCalls, firstStreamID: firstStreamID)
    }

    /// The protocol state (tests and diagnostics).
    public var phase: RPCConnectionStateMachine.Phase { stateMachine.phase }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            activate(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        if let established {
            self.established = nil
            established.fail(closeReason ?? RPCError(.unavailable, "connection closed before the HELLO exchange completed"))
        }
        self.context = nil
    }

    public func channelActive(context: ChannelHandlerContext) {
        activate(context: context)
        context.fireChannelActive()
    }

    private func activate(context: ChannelHandlerContext) {
        guard case .sendHello(let hello) = stateMachine.channelActive() else { return }
        if let remote = context.channel.remoteAddress {
            logger[metadataKey: "rpc.remote"] = "\(remote)"
        }
        write(.hello(hello))
        flushNow()
        helloTimer = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.helloTimeout) {
            self.helloTimedOut()
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        stateMachine.channelInactive()
        let error = closeError()
        let calls = outgoing
        outgoing.removeAll()
        outgoingByKey.removeAll()
        for call in calls.values {
            call.timer?.cancel()
            call.promise.fail(error)
        }
        let served = incoming
        incoming.removeAll()
        for call in served.values {
            call.timer?.cancel()
            call.task.cancel()
        }
        if let established {
            self.established = nil
            established.fail(closeReason ?? RPCError(.unavailable, "connection closed before the HELLO exchange completed"))
        }
        if connection != nil {
            logger.debug("RPC connection closed", metadata: ["rpc.reason": "\(error.message)"])
        }
        connection = nil
        context.fireChannelInactive()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let handshake = event as? TLSHandshakeCompleted {
            tls = handshake
        }
        context.fireUserInboundEventTriggered(event)
    }

    public func errorCaught(context: ChannelHandlerContext, error: Error) {
        if closeReason == nil { closeReason = error }
        if let frameError = error as? RPCFrameError {
            logger.warning("RPC protocol violation by the peer", metadata: ["rpc.error": "\(frameError)"])
            perform(stateMachine.protocolViolation(frameError.description))
        } else {
            logger.debug("RPC connection error", metadata: ["rpc.error": "\(error)"])
            closeChannel()
        }
    }

    // MARK: Inbound frames

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .hello(let hello):
            receivedHello(hello, context: context)
        case .request(let method, let deadline, let body):
            switch stateMachine.requestReceived(streamID: frame.streamID) {
            case .dispatch:
                dispatch(streamID: frame.streamID, method: method, deadlineMilliseconds: deadline, body: body, context: context)
            case .reject(let error):
                writeResponse(streamID: frame.streamID, error: error)
            case .protocolViolation(let goAway, let error):
                violated(goAway, error)
            case .ignore:
                break
            }
        case .response(let status, let message, let body):
            switch stateMachine.responseReceived(streamID: frame.streamID) {
            case .complete(let closeNow):
                if let call = outgoing.removeValue(forKey: frame.streamID) {
                    outgoingByKey[call.key] = nil
                    call.timer?.cancel()
                    if status == .ok {
                        call.promise.succeed(body)
                    } else {
                        call.promise.fail(RPCError(status, message))
                    }
                }
                if closeNow { closeChannel() }
            case .ignore:
                break
            case .protocolViolation(let goAway, let error):
                violated(goAway, error)
            }
        case .cancel:
            endIncoming(frame.streamID, stateMachine.cancelReceived(streamID: frame.streamID))
        case .ping(let data):
            if stateMachine.pingReceived() {
                write(.pong(data))
                scheduleFlush()
            }
        case .pong:
            stateMachine.pongReceived()
            keepaliveTimeoutTimer?.cancel()
            keepaliveTimeoutTimer = nil
        case .goAway(let lastStreamID, let status, let message):
            logger.debug("RPC peer is going away", metadata: ["rpc.status": "\(status.name)", "rpc.message": "\(message)"])
            guard case .failCalls(let streams, let error, let closeNow) = stateMachine.goAwayReceived(
                lastStreamID: lastStreamID, status: status, message: message)
            else { return }
            for streamID in streams {
                guard let call = outgoing.removeValue(forKey: streamID) else { continue }
                outgoingByKey[call.key] = nil
                call.timer?.cancel()
                call.promise.fail(error)
            }
            if closeNow { closeChannel() }
        }
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush { flushNow() }
        context.fireChannelReadComplete()
    }

    private func receivedHello(_ hello: RPCHello, context: ChannelHandlerContext) {
        switch stateMachine.helloReceived(hello) {
        case .established(let peerHello):
            helloTimer?.cancel()
            helloTimer = nil
            logger[metadataKey: "rpc.peer"] = "\(peerHello.nodeID)"
            let peer = RPCPeer(nodeID: peerHello.nodeID, tls: tls, remoteAddress: context.channel.remoteAddress)
            let connection = RPCConnection(
                channel: context.channel, handler: NIOLoopBound(self, eventLoop: context.eventLoop),
                role: stateMachine.role, localNodeID: configuration.nodeID, peer: peer, peerHello: peerHello)
            self.connection = connection
            scheduleKeepalive()
            logger.debug("RPC connection established", metadata: [
                "rpc.peer.maxFrameLength": "\(peerHello.maxFrameLength)",
                "rpc.peer.maxConcurrentCalls": "\(peerHello.maxConcurrentCalls)",
            ])
            if let established {
                self.established = nil
                established.succeed(connection)
            }
        case .protocolViolation(let goAway, let error):
            violated(goAway, error)
        case .ignore:
            break
        }
    }

    // MARK: Incoming calls

    private func dispatch(streamID: UInt32, method: String, deadlineMilliseconds: UInt32, body: ByteBuffer, context: ChannelHandlerContext) {
        let deadline = RPCDeadline.fromWire(milliseconds: deadlineMilliseconds)
        var callLogger = logger
        callLogger[metadataKey: "rpc.method"] = "\(method)"
        callLogger[metadataKey: "rpc.stream"] = "\(streamID)"
        let callContext = RPCCallContext(
            method: method, streamID: streamID, deadline: deadline,
            peer: connection?.peer ?? RPCPeer(nodeID: stateMachine.peerHello?.nodeID ?? "", tls: tls),
            connection: connection, logger: callLogger)
        let loop = context.eventLoop
        let bound = NIOLoopBound(self, eventLoop: loop)
        let router = self.router
        let task = Task {
            let result = await router.handle(method: method, body: body, context: callContext)
            loop.execute {
                bound.value.handlerFinished(streamID: streamID, result: result)
            }
        }
        var timer: Scheduled<Void>?
        if let deadline {
            timer = loop.assumeIsolated().scheduleTask(deadline: deadline.nioDeadline) {
                self.endIncoming(streamID, self.stateMachine.incomingDeadlinePassed(streamID: streamID))
            }
        }
        incoming[streamID] = IncomingCall(task: task, timer: timer)
    }

    private func handlerFinished(streamID: UInt32, result: Result<ByteBuffer, RPCError>) {
        let frame: RPCFrame
        switch result {
        case .success(let body):
            frame = RPCFrame(streamID: streamID, payload: .response(status: .ok, message: "", body: body))
        case .failure(let error):
            frame = Self.responseFrame(streamID: streamID, error: error)
        }
        let action = stateMachine.handlerFinished(streamID: streamID, responseFrameLength: frame.encodedLength)
        if let call = incoming.removeValue(forKey: streamID) {
            call.timer?.cancel()
        }
        switch action {
        case .sendResponse(let closeNow):
            write(frame)
            scheduleFlush()
            if closeNow { closeChannel() }
        case .sendError(let error, let closeNow):
            writeResponse(streamID: streamID, error: error)
            if closeNow { closeChannel() }
        case .none:
            break
        }
    }

    private func endIncoming(_ streamID: UInt32, _ action: RPCConnectionStateMachine.IncomingEndAction) {
        switch action {
        case .cancelHandler(let respond, let closeNow):
            if let call = incoming.removeValue(forKey: streamID) {
                call.timer?.cancel()
                call.task.cancel()
            }
            if let respond {
                writeResponse(streamID: streamID, error: respond)
            }
            if closeNow { closeChannel() }
        case .none:
            break
        case .protocolViolation(let goAway, let error):
            violated(goAway, error)
        }
    }

    private func writeResponse(streamID: UInt32, error: RPCError) {
        write(Self.responseFrame(streamID: streamID, error: error))
        scheduleFlush()
    }

    private static func responseFrame(streamID: UInt32, error: RPCError) -> RPCFrame {
        let status = error.status == .ok ? RPCStatus.unknown : error.status
        return RPCFrame(
            streamID: streamID,
            payload: .response(status: status, message: truncated(error.message), body: ByteBuffer()))
    }

    // MARK: Outgoing calls (entered from RPCConnection, on the event loop)

    /// Starts a call; `promise` completes with the response body or fails with an ``RPCError``.
    /// `promise.futureResult` identifies the call for ``cancelCall(_:error:)``.
    func startCall(method: String, body: ByteBuffer, deadline: RPCDeadline?, promise: EventLoopPromise<ByteBuffer>) {
        var deadlineMilliseconds: UInt32 = 0
        if let deadline {
            guard let milliseconds = deadline.wireMilliseconds() else {
                promise.fail(RPCError(.deadlineExceeded, "deadline passed before the call was sent"))
                return
            }
            deadlineMilliseconds = milliseconds
        }
        guard !method.isEmpty, method.utf8.count <= Int(UInt16.max) else {
            promise.fail(RPCError(.invalidArgument, "method names are 1 to 65,535 UTF-8 bytes"))
            return
        }
        var frame = RPCFrame(streamID: 0, payload: .request(method: method, deadlineMilliseconds: deadlineMilliseconds, body: body))
        switch stateMachine.startCall(frameLength: frame.encodedLength) {
        case .send(let streamID):
            guard let context else {
                _ = stateMachine.cancelOutgoing(streamID: streamID)
                promise.fail(RPCError(.unavailable, "connection is closed"))
                return
            }
            frame.streamID = streamID
            var timer: Scheduled<Void>?
            if let deadline {
                timer = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline.nioDeadline) {
                    self.abandonCall(streamID: streamID, error: RPCError(.deadlineExceeded, "deadline passed after \(method) was sent"))
                }
            }
            let key = ObjectIdentifier(promise.futureResult)
            outgoing[streamID] = OutgoingCall(key: key, promise: promise, timer: timer)
            outgoingByKey[key] = streamID
            write(frame)
            scheduleFlush()
        case .fail(let error):
            promise.fail(error)
        case .failAndGoAway(let error, let goAway):
            promise.fail(error)
            perform(.sendGoAway(goAway))
        }
    }

    /// Gives up on the call whose promise's future is `key`: fails it with `error` and sends
    /// CANCEL. Does nothing when the call has completed or was never started.
    func cancelCall(_ key: ObjectIdentifier, error: RPCError) {
        guard let streamID = outgoingByKey[key] else { return }
        abandonCall(streamID: streamID, error: error)
    }

    private func abandonCall(streamID: UInt32, error: RPCError) {
        guard let call = outgoing.removeValue(forKey: streamID) else { return }
        outgoingByKey[call.key] = nil
        call.timer?.cancel()
        call.promise.fail(error)
        switch stateMachine.cancelOutgoing(streamID: streamID) {
        case .sendCancel(let closeNow):
            write(.cancel(streamID))
            scheduleFlush()
            if closeNow { closeChannel() }
        case .none:
            break
        }
    }

    /// Starts a graceful close: GOAWAY, no new calls, close once in-flight calls are done (or
    /// after the drain timeout).
    func closeGracefully() {
        perform(stateMachine.closeGracefully(status: .ok, message: "closing"))
    }

    /// Closes at once; pending calls fail with ``RPCStatus/unavailable``.
    func closeImmediately(reason: RPCError) {
        if closeReason == nil { closeReason = reason }
        closeChannel()
    }

    /// Number of outgoing and incoming calls in flight (tests and diagnostics).
    var callsInFlight: (outgoing: Int, incoming: Int) {
        (outgoing.count, incoming.count)
    }

    // MARK: Timers

    private func helloTimedOut() {
        helloTimer = nil
        if case .close = stateMachine.helloTimedOut() {
            let error = RPCError(.unavailable, "no HELLO from the peer within \(configuration.helloTimeout)")
            logger.warning("RPC connection closed", metadata: ["rpc.reason": "\(error.message)"])
            closeImmediately(reason: error)
        }
    }

    private func scheduleKeepalive() {
        guard let keepalive = configuration.keepalive, let context else { return }
        keepaliveTimer = context.eventLoop.assumeIsolated().scheduleTask(in: keepalive.interval) {
            self.keepaliveIntervalElapsed()
        }
    }

    private func keepaliveIntervalElapsed() {
        keepaliveTimer = nil
        guard let keepalive = configuration.keepalive, let context else { return }
        switch stateMachine.keepaliveIntervalElapsed() {
        case .sendPing(let data):
            write(.ping(data))
            flushNow()
            keepaliveTimeoutTimer = context.eventLoop.assumeIsolated().scheduleTask(in: keepalive.timeout) {
                self.keepaliveTimeoutElapsed(data: data)
            }
        case .closeDeadPeer, .none:
            break
        }
        scheduleKeepalive()
    }

    private func keepaliveTimeoutElapsed(data: UInt64) {
        keepaliveTimeoutTimer = nil
        guard case .closeDeadPeer = stateMachine.keepaliveTimeoutElapsed(pingData: data),
              let keepalive = configuration.keepalive
        else { return }
        let error = RPCError(.unavailable, "peer did not answer a keepalive PING within \(keepalive.timeout)")
        logger.warning("RPC connection closed", metadata: ["rpc.reason": "\(error.message)"])
        closeImmediately(reason: error)
    }

    private func cancelTimers() {
        helloTimer?.cancel()
        helloTimer = nil
        keepaliveTimer?.cancel()
        keepaliveTimer = nil
        keepaliveTimeoutTimer?.cancel()
        keepaliveTimeoutTimer = nil
        drainTimer?.cancel()
        drainTimer = nil
    }

    // MARK: Carrying out actions

    private func violated(_ goAway: RPCConnectionStateMachine.GoAway, _ error: RPCError) {
        if closeReason == nil { closeReason = error }
        logger.warning("RPC protocol violation", metadata: ["rpc.error": "\(error)"])
        perform(.sendGoAway(goAway))
    }

    private func perform(_ action: RPCConnectionStateMachine.CloseAction) {
        switch action {
        case .sendGoAway(let goAway):
            write(.goAway(lastStreamID: goAway.lastStreamID, status: goAway.status, message: Self.truncated(goAway.message)))
            flushNow()
            if goAway.closeNow {
                closeChannel()
            } else if drainTimer == nil, let context {
                drainTimer = context.eventLoop.assumeIsolated().scheduleTask(in: configuration.drainTimeout) {
                    self.drainTimer = nil
                    self.closeImmediately(reason: RPCError(.unavailable, "calls still in flight after the drain timeout of \(self.configuration.drainTimeout)"))
                }
            }
        case .close:
            closeChannel()
        case .none:
            break
        }
    }

    private func write(_ frame: RPCFrame) {
        guard let context else { return }
        context.write(wrapOutboundOut(frame), promise: nil)
        needsFlush = true
    }

    private func flushNow() {
        guard let context else { return }
        needsFlush = false
        context.flush()
    }

    /// Flushes once the event loop has run everything already queued, so that writes from many
    /// calls share one flush.
    private func scheduleFlush() {
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            if self.needsFlush { self.flushNow() }
        }
    }

    private func closeChannel() {
        guard !closing, let context else { return }
        closing = true
        if needsFlush { flushNow() }
        context.close(promise: nil)
    }

    private func closeError() -> RPCError {
        switch closeReason {
        case let error as RPCError:
            return RPCError(.unavailable, error.message)
        case let error?:
            return RPCError(.unavailable, "connection closed: \(error)")
        case nil:
            return RPCError(.unavailable, "connection closed")
        }
    }

    /// `message` cut to ``maxMessageBytes`` UTF-8 bytes at a character boundary.
    static func truncated(_ message: String) -> String {
        guard message.utf8.count > maxMessageBytes else { return message }
        var result = ""
        var count = 0
        for character in message {
            let size = character.utf8.count
            guard count + size <= maxMessageBytes - 3 else { break }
            result.append(character)
            count += size
        }
        return result + "…"
    }
}

@available(*, unavailable)
extension RPCConnectionHandler: Sendable {}
