import Foundation
import LPATLS
import Logging
import NIOCore
import TerminalProtocol

/// Serves one terminal connection above the TLS handler. It cuts the plaintext stream into
/// frames (``TerminalFrameCodec``, limit checked before a body is buffered), turns them and the
/// channel's events into calls on ``TerminalSessionStateMachine`` and carries out the actions it
/// returns: frames to send, registration with the core, session-table membership, heartbeat
/// counting, timers, and requests from the core waiting for the terminal's answer. Frames written
/// into the pipeline from outside are encoded the same way.
///
/// Back-pressure: while the channel is not writable (a slow terminal is not reading what it is
/// sent) the handler stops reading from it, so a slow terminal cannot make the edge buffer
/// without bound.
///
/// Runs on its channel's event loop only.
final class TerminalSessionHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = TerminalFrame
    typealias OutboundOut = ByteBuffer

    private enum Pending {
        case frame(EventLoopPromise<TerminalFrame>, Scheduled<Void>?)
    }

    private let env: EdgeEnvironment
    private var stateMachine: TerminalSessionStateMachine
    private var context: ChannelHandlerContext?
    private var logger: Logger
    private var remoteAddress = "unknown"
    private var helloTimer: Scheduled<Void>?
    private var livenessTimer: RepeatedTask?
    private var handle: TerminalSessionHandle?
    private var pending: [UInt32: Pending] = [:]
    private var nextRequestID: UInt32 = 1
    private var readPending = false
    private var needsFlush = false
    private var endReason: ReasonCode = .unspecified
    private var tlsDone = false
    /// Bytes of a frame not yet complete.
    private var partialFrame: ByteBuffer?
    private let limits: TerminalProtocolLimits
    /// The limits before Welcome, where a frame larger than the largest Hello is refused.
    private let helloLimits: TerminalProtocolLimits
    private var heartbeatCounter: HeartbeatCounter?
    /// The channel's allocator, taken once instead of through the channel on every frame.
    private var allocator = ByteBufferAllocator()
    /// The terminal whose registration is with the core (core requests for it wait meanwhile).
    private var registrationInFlight: String?
    static let maxPendingRequests = 64

    init(environment: EdgeEnvironment) {
        self.env = environment
        self.stateMachine = TerminalSessionStateMachine(policy: environment.policy)
        self.logger = environment.logger
        self.limits = TerminalProtocolLimits(maximumFrameLength: environment.configuration.limits.maxFrameBytes)
        self.helloLimits = TerminalProtocolLimits(maximumFrameLength: environment.configuration.limits.helloMaxFrameBytes)
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        if context.channel.isActive { armHelloTimer(context: context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        if let address = context.channel.remoteAddress {
            remoteAddress = "\(address.ipAddress ?? "?"):\(address.port ?? 0)"
        }
        logger[metadataKey: "remote"] = .string(remoteAddress)
        armHelloTimer(context: context)
        context.fireChannelActive()
    }

    private func armHelloTimer(context: ChannelHandlerContext) {
        guard helloTimer == nil else { return }
        let seconds = env.configuration.limits.helloTimeoutSeconds + env.configuration.tls.handshakeTimeoutSeconds
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        helloTimer = context.eventLoop.scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            let handler = bound.value
            handler.perform(handler.stateMachine.helloTimedOut())
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSHandshakeCompleted {
            tlsDone = true
            if tls.resumed { env.metrics.handshakesResumed.increment() } else { env.metrics.handshakes.increment() }
            if let cn = tls.peerSubjectValue("CN") { logger[metadataKey: "cert_cn"] = .string(cn) }
            perform(stateMachine.handshakeCompleted(tls))
        } else if event is TLSUncleanShutdown {
            env.metrics.uncleanShutdowns.increment()
            logger.debug("connection ended without close_notify")
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if var partial = partialFrame {
            partialFrame = nil
            partial.writeBuffer(&buffer)
            buffer = partial
        }
        var frames = 0
        defer { if frames > 0 { env.metrics.framesIn.increment(by: Int64(frames)) } }
        while self.context != nil, !stateMachine.isClosed {
            let frame: TerminalFrame?
            do {
                frame = try TerminalFrameCodec.readFrame(from: &buffer, limits: stateMachine.isActive ? limits : helloLimits)
            } catch {
                protocolViolation(error)
                return
            }
            guard let frame else { break }
            frames += 1
            perform(stateMachine.frameReceived(frame, now: .now()))
        }
        guard buffer.readableBytes > 0, !stateMachine.isClosed else { return }
        partialFrame = buffer.keptRemainder(allocator: allocator)
    }

    private func protocolViolation(_ error: TerminalProtocolError) {
        env.metrics.protocolError()
        logger.notice("malformed frame", metadata: ["error": "\(error)", "code": "\(ReasonCode.protocolViolation.name)"])
        partialFrame = nil
        // The frame stream cannot be resynchronised: say why and close.
        endReason = .protocolViolation
        perform(stateMachine.frameMalformed("\(error)"))
    }

    /// Encodes `frame` and writes it; a frame that cannot be encoded fails `promise`.
    private func send(_ frame: TerminalFrame, context: ChannelHandlerContext, flush: Bool, promise: EventLoopPromise<Void>?) {
        var buffer = allocator.buffer(capacity: 64)
        do {
            try TerminalFrameCodec.encode(frame, into: &buffer, maximumFrameLength: TerminalProtocolLimits.default.maximumFrameLength)
        } catch {
            logger.error("frame not sent", metadata: ["kind": "\(frame.kind)", "error": "\(error)"])
            promise?.fail(error)
            return
        }
        if flush {
            context.writeAndFlush(wrapOutboundOut(buffer), promise: promise)
        } else {
            context.write(wrapOutboundOut(buffer), promise: promise)
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        send(unwrapOutboundIn(data), context: context, flush: false, promise: promise)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let tlsError = error as? TLSError {
            if !tlsDone {
                env.metrics.handshakeFailed(code: tlsError.code)
                logger.info("TLS handshake failed", metadata: ["error": "\(tlsError)", "code": "\(tlsError.code)"])
            } else {
                logger.info("TLS error", metadata: ["error": "\(tlsError)", "code": "\(tlsError.code)"])
            }
            stateMachine.connectionClosed()
            context.close(promise: nil)
            return
        }
        if let protocolError = error as? TerminalProtocolError {
            protocolViolation(protocolError)
            return
        }
        logger.debug("connection error", metadata: ["error": "\(error)"])
        stateMachine.connectionClosed()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let partial = partialFrame, partial.readableBytes > 0, !stateMachine.isClosed {
            env.metrics.protocolError()
            let error = TerminalProtocolError.truncatedFrame(expected: nil, available: partial.readableBytes)
            logger.notice("malformed frame", metadata: ["error": "\(error)", "code": "\(ReasonCode.protocolViolation.name)"])
        }
        partialFrame = nil
        endRegistration()
        helloTimer?.cancel()
        helloTimer = nil
        livenessTimer?.cancel()
        livenessTimer = nil
        stateMachine.connectionClosed()
        let pendingRequests = pending
        pending.removeAll()
        for (_, p) in pendingRequests {
            if case .frame(let promise, let timer) = p {
                timer?.cancel()
                promise.fail(TerminalSessionError.sessionClosed(terminalID: handle?.terminalID ?? "?"))
            }
        }
        if let handle {
            self.handle = nil
            env.metrics.sessionsActive.decrement()
            let removed = env.sessions.remove(handle)
            let windowSeconds = Int32(env.configuration.heartbeat.countWindowSeconds)
            let partial = env.ledger.close(handle.terminalID, counter: heartbeatCounter, windowSeconds: windowSeconds)
            heartbeatCounter = nil
            if removed {
                let link = env.coreLink
                let reason = endReason
                let id = handle.terminalID
                let epoch = handle.sessionEpoch
                Task {
                    if let partial, partial.count > 0 { await link.report(heartbeats: [partial]) }
                    await link.terminalGone(terminalID: id, reason: reason, sessionEpoch: epoch)
                }
            }
            logger.info("session ended", metadata: ["reason": "\(endReason.name)"])
        }
        context.fireChannelInactive()
    }

    // MARK: Back-pressure

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            context.read()
        } else {
            readPending = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, readPending {
            readPending = false
            context.read()
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: Calls from TerminalSessionHandle (on the event loop)

    func push(settings: TerminalSettings, eventLoop: EventLoop) -> EventLoopFuture<Void> {
        guard let context else { return eventLoop.makeFailedFuture(TerminalSessionError.sessionClosed(terminalID: "?")) }
        guard stateMachine.isActive else {
            return context.eventLoop.makeFailedFuture(TerminalSessionError.notActive(terminalID: stateMachine.terminalID ?? "?"))
        }
        let action = stateMachine.settingsPushed(settings, now: .now())
        if case .send(let frame) = action {
            rearmLiveness(intervalSeconds: Int(settings.heartbeatIntervalSeconds))
            let promise = context.eventLoop.makePromise(of: Void.self)
            send(frame, context: context, flush: true, promise: promise)
            return promise.futureResult
        }
        perform(action)
        return context.eventLoop.makeSucceededVoidFuture()
    }

    func request(_ frame: TerminalFrame, timeout: TimeAmount, eventLoop: EventLoop) -> EventLoopFuture<TerminalFrame> {
        guard let context else { return eventLoop.makeFailedFuture(TerminalSessionError.sessionClosed(terminalID: "?")) }
        let terminalID = stateMachine.terminalID ?? "?"
        guard stateMachine.isActive else {
            return context.eventLoop.makeFailedFuture(TerminalSessionError.notActive(terminalID: terminalID))
        }
        guard pending.count < Self.maxPendingRequests else {
            return context.eventLoop.makeFailedFuture(TerminalSessionError.tooManyPendingRequests(terminalID: terminalID))
        }
        let id = nextRequestID
        nextRequestID = nextRequestID == UInt32.max ? 1 : nextRequestID + 1
        let outgoing: TerminalFrame
        let name: String
        switch frame {
        case .apduBatch(var b):
            b.batchID = id
            outgoing = .apduBatch(b)
            name = "ApduBatch"
        case .channelOpen(var o):
            o.requestID = id
            outgoing = .channelOpen(o)
            name = "ChannelOpen"
        case .channelClose(var c):
            c.requestID = id
            outgoing = .channelClose(c)
            name = "ChannelClose"
        default:
            return context.eventLoop.makeFailedFuture(TerminalSessionError.notActive(terminalID: terminalID))
        }
        let promise = context.eventLoop.makePromise(of: TerminalFrame.self)
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timer = context.eventLoop.scheduleTask(in: timeout) {
            let handler = bound.value
            if case .frame(let p, _) = handler.pending.removeValue(forKey: id) {
                p.fail(TerminalSessionError.timeout(terminalID: terminalID, request: name, seconds: Double(timeout.nanoseconds) / 1e9))
            }
        }
        pending[id] = .frame(promise, timer)
        let written = context.eventLoop.makePromise(of: Void.self)
        send(outgoing, context: context, flush: true, promise: written)
        written.futureResult.whenFailure { error in
            let handler = bound.value
            if case .frame(let p, let t) = handler.pending.removeValue(forKey: id) {
                t?.cancel()
                p.fail(error)
            }
        }
        return promise.futureResult
    }

    func serverClose(reason: ReasonCode, text: String) {
        endReason = reason
        perform(stateMachine.serverClose(reason: reason, text: text))
    }

    /// Ends the registration in flight, if any: after the session became active (requests that
    /// waited for it proceed), or without one (they fail).
    private func endRegistration() {
        guard let terminalID = registrationInFlight else { return }
        registrationInFlight = nil
        env.sessions.registrationEnded(terminalID)
    }

    // MARK: Actions

    private func perform(_ action: TerminalSessionStateMachine.Action) {
        guard let context else { return }
        switch action {
        case .none:
            return

        case .register(let terminalID, let hello, let resumed):
            helloTimer?.cancel()
            helloTimer = nil
            logger[metadataKey: "terminal"] = .string(terminalID)
            registeredIdentity = hello.identity
            announcedFrameLimit = hello.maximumFrameLength == 0 ? TerminalProtocolLimits.default.maximumFrameLength : Int(hello.maximumFrameLength)
            let registration = TerminalRegistration(
                terminalID: terminalID, identity: hello.identity, agent: hello.agent,
                remoteAddress: remoteAddress, edgeNodeID: env.configuration.nodeID, tlsResumed: resumed)
            let link = env.coreLink
            env.sessions.registrationStarted(terminalID)
            registrationInFlight = terminalID
            let promise = context.eventLoop.makePromise(of: RegistrationDecision.self)
            promise.completeWithTask { try await link.register(registration) }
            let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
            promise.futureResult.whenComplete { result in
                let handler = bound.value
                switch result {
                case .success(let decision):
                    if case .accept(_, _, _, let epoch) = decision { handler.registeredEpoch = epoch }
                    handler.perform(handler.stateMachine.registrationDecided(decision, sessionID: UUID().uuidString, now: .now()))
                case .failure(let error):
                    handler.logger.warning("registration failed", metadata: ["error": "\(error)"])
                    handler.perform(handler.stateMachine.registrationFailed(error))
                }
                handler.endRegistration()
            }

        case .welcome(let terminalID, let welcome):
            // The session is reachable (table, ledger) before the terminal learns it is welcome.
            let identity = registeredIdentity ?? Identity()
            let handle = TerminalSessionHandle(
                terminalID: terminalID, sessionID: welcome.sessionID, identity: identity,
                remoteAddress: remoteAddress, maximumFrameLength: announcedFrameLimit, sessionEpoch: registeredEpoch, handler: self,
                eventLoop: context.eventLoop)
            self.handle = handle
            env.metrics.sessionsActive.increment()
            heartbeatCounter = env.ledger.open(terminalID)
            if let replaced = env.sessions.insert(handle) {
                _ = replaced.disconnect(reason: .duplicateSession, text: "a newer session of \(terminalID) replaced this one")
            }
            send(.welcome(welcome), context: context, flush: true, promise: nil)
            rearmLiveness(intervalSeconds: Int(welcome.settings.heartbeatIntervalSeconds))
            logger.info("session started", metadata: ["model": "\(welcome.model)", "session": "\(welcome.sessionID)"])

        case .acknowledgeHeartbeat(let ack):
            env.metrics.heartbeats.increment()
            heartbeatCounter?.record(now: env.unixTime())
            send(.heartbeatAck(ack), context: context, flush: false, promise: nil)
            needsFlush = true

        case .dropExcessHeartbeat:
            env.metrics.heartbeatsExcess.increment()
            if stateMachine.excessHeartbeats == 1 {
                logger.notice("heartbeats beyond the allowed rate are dropped", metadata: [
                    "per_second": "\(env.configuration.heartbeat.maxPerSecond)", "burst": "\(env.configuration.heartbeat.burst)"])
            }

        case .completeRequest(let frame):
            let id: UInt32
            switch frame {
            case .apduBatchResult(let r): id = r.batchID
            case .channelOpenResult(let r): id = r.requestID
            case .channelCloseResult(let r): id = r.requestID
            default: return
            }
            guard case .frame(let promise, let timer) = pending.removeValue(forKey: id) else {
                logger.notice("answer to an unknown request", metadata: ["request": "\(id)", "kind": "\(frame.kind)"])
                return
            }
            timer?.cancel()
            promise.succeed(frame)

        case .rejectAndClose(let reject):
            endReason = reject.code
            env.metrics.sessionEnded(reason: reject.code, rejected: true)
            logger.notice("terminal rejected", metadata: ["code": "\(reject.code.name)", "reason": "\(reject.text)"])
            closeAfterSending(.reject(reject), context: context)

        case .goodbyeAndClose(let goodbye):
            endReason = goodbye.reason
            env.metrics.sessionEnded(reason: goodbye.reason, rejected: false)
            logger.info("closing session", metadata: ["code": "\(goodbye.reason.name)", "reason": "\(goodbye.text)"])
            closeAfterSending(.goodbye(goodbye), context: context)

        case .closeSilently(let reason):
            endReason = reason
            context.close(promise: nil)

        case .send(let frame):
            send(frame, context: context, flush: true, promise: nil)
        }
    }

    /// Sends the session's last frame and closes once it is written, or after
    /// `limits.closeTimeoutSeconds` when the terminal does not read (its queued output is dropped).
    private func closeAfterSending(_ frame: TerminalFrame, context: ChannelHandlerContext) {
        let written = context.eventLoop.makePromise(of: Void.self)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let timeout = TimeAmount.nanoseconds(Int64(env.configuration.limits.closeTimeoutSeconds * 1e9))
        let metrics = env.metrics
        let logger = self.logger
        let timer = context.eventLoop.scheduleTask(in: timeout) {
            let context = bound.value
            guard context.channel.isActive else { return }
            metrics.closeTimedOut()
            logger.notice("closing without the last frame written: the terminal does not read", metadata: ["kind": "\(frame.kind)"])
            context.close(promise: nil)
        }
        send(frame, context: context, flush: true, promise: written)
        written.futureResult.whenComplete { _ in
            timer.cancel()
            bound.value.close(promise: nil)
        }
    }

    private var registeredIdentity: Identity?
    /// The session epoch in the core's acceptance, kept for the session's handle.
    private var registeredEpoch: Int64?
    private var announcedFrameLimit = TerminalProtocolLimits.default.maximumFrameLength

    private func rearmLiveness(intervalSeconds: Int) {
        guard let context else { return }
        livenessTimer?.cancel()
        let period = TimeAmount.seconds(Int64(max(1, intervalSeconds)))
        let bound = NIOLoopBound(self, eventLoop: context.eventLoop)
        livenessTimer = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) { _ in
            let handler = bound.value
            handler.perform(handler.stateMachine.livenessCheck(now: .now()))
        }
    }
}
