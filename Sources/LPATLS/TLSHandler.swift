import COpenSSL
import NIOCore

/// A SwiftNIO channel handler that runs TLS through system OpenSSL: ciphertext below, plaintext
/// above. The same handler serves both roles; the ``TLSContext`` decides which.
///
/// - Inbound: decrypted application data as `ByteBuffer`; a ``TLSHandshakeCompleted`` user event
///   once the peer is authenticated; ``TLSError`` through `errorCaught` on failure, after which the
///   handler closes the channel.
/// - Outbound: writes before the handshake completes are queued and sent, in order and with their
///   promises, once it does. Each write's promise completes with the write of its ciphertext, so the
///   transport's back-pressure reaches the writer.
/// - Close: sends close_notify before closing the transport; a peer's close_notify is answered.
///
/// Runs entirely on its channel's event loop; it owns its OpenSSL object exclusively.
public final class TLSHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = ByteBuffer
    public typealias OutboundOut = ByteBuffer

    private let connection: TLSConnection
    private let handshakeTimeout: TimeAmount
    private let sessionCache: TLSClientSessionCache?
    private let sessionKey: String?
    private var stateMachine = TLSHandlerStateMachine()
    private var queuedWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var flushAfterHandshake = false
    private var timeoutTask: Scheduled<Void>?
    private var storedSession: UnsafeRawPointer?
    private var ciphertextWrittenSinceFlush = false
    /// The channel's allocator, taken once instead of through the channel on every record.
    private var allocator = ByteBufferAllocator()

    /// - Parameters:
    ///   - context: the shared OpenSSL context (server or client).
    ///   - serverHostname: client only: the name sent as SNI and checked against the server certificate
    ///     (an IP address is checked against the certificate's IP SANs and not sent as SNI).
    ///   - sessionCache: client only: where resumable sessions are kept between connections.
    ///   - sessionKey: client only: cache key, usually `host:port`; defaults to `serverHostname`.
    ///   - credentials: a certificate and key for this connection only, overriding the context's.
    public init(
        context: TLSContext,
        serverHostname: String? = nil,
        sessionCache: TLSClientSessionCache? = nil,
        sessionKey: String? = nil,
        credentials: TLSCredentials? = nil
    ) throws {
        self.connection = try TLSConnection(context: context, serverHostname: serverHostname, credentials: credentials)
        self.handshakeTimeout = context.configuration.handshakeTimeout
        let resumes = context.configuration.role == .client && context.configuration.sessionResumption
        self.sessionCache = resumes ? sessionCache : nil
        self.sessionKey = sessionKey ?? serverHostname
        if let cache = self.sessionCache, let key = self.sessionKey, let session = cache.retainSession(for: key) {
            connection.offer(session: session)
            SSL_SESSION_free(session)
        }
    }

    /// Whether the connection left OpenSSL's record layer for ``TLS13RecordLayer`` after its
    /// handshake (``TLSConfiguration/compactSessions``).
    public var usesCompactRecordLayer: Bool { connection.usesCompactRecordLayer }

    // MARK: Lifecycle

    public func handlerAdded(context: ChannelHandlerContext) {
        allocator = context.channel.allocator
        if context.channel.isActive {
            start(context: context)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        timeoutTask = nil
        failQueuedWrites(with: TLSError.closed)
    }

    public func channelActive(context: ChannelHandlerContext) {
        start(context: context)
        context.fireChannelActive()
    }

    private func start(context: ChannelHandlerContext) {
        guard stateMachine.channelActive() == .startHandshake else { return }
        let timeout = handshakeTimeout
        if timeout.nanoseconds > 0 {
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            timeoutTask = context.eventLoop.scheduleTask(in: timeout) {
                let (handler, context) = bound.value
                handler.apply(handler.stateMachine.handshakeTimedOut(), context: context)
            }
        }
        if connection.role == .client {
            advanceHandshake(context: context)
            flushCiphertext(context: context)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        timeoutTask?.cancel()
        timeoutTask = nil
        switch stateMachine.channelInactive() {
        case .failQueued(let report):
            failQueuedWrites(with: TLSError.closedDuringHandshake)
            if report { context.fireErrorCaught(TLSError.closedDuringHandshake) }
        case .failQueuedAndReportUncleanShutdown:
            failQueuedWrites(with: TLSError.closed)
            context.fireUserInboundEventTriggered(TLSUncleanShutdown())
        case .failQueuedSilently:
            failQueuedWrites(with: TLSError.closed)
        }
        context.fireChannelInactive()
    }

    // MARK: Inbound

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let ciphertext = unwrapInboundIn(data)
        switch stateMachine.state {
        case .closed:
            return
        case .idle:
            start(context: context)
        case .handshaking, .active, .closing:
            break
        }
        do {
            try connection.feed(ciphertext)
        } catch {
            if stateMachine.state == .handshaking {
                apply(stateMachine.handshakeFailed(error), context: context)
            } else {
                apply(stateMachine.connectionFailed(error), context: context)
            }
            return
        }
        if stateMachine.state == .handshaking {
            advanceHandshake(context: context)
        }
        if stateMachine.state == .active || stateMachine.state == .closing {
            readApplicationData(context: context)
        }
        flushCiphertext(context: context)
    }

    public func channelReadComplete(context: ChannelHandlerContext) {
        flushCiphertext(context: context)
        context.fireChannelReadComplete()
    }

    public func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? ChannelEvent, event == .inputClosed {
            switch stateMachine.peerClosed() {
            case .failAndClose(let error):
                failQueuedWrites(with: error)
                context.fireErrorCaught(error)
                context.close(promise: nil)
                return
            case .answerCloseNotifyAndClose:
                sendCloseNotifyAndClose(context: context, promise: nil)
            case .none:
                break
            }
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func advanceHandshake(context: ChannelHandlerContext) {
        switch connection.doHandshake() {
        case .wantMore:
            return
        case .failed(let error):
            flushCiphertext(context: context)  // deliver OpenSSL's alert before closing
            apply(stateMachine.handshakeFailed(error), context: context)
        case .complete:
            apply(stateMachine.handshakeCompleted(), context: context)
        }
    }

    private func apply(_ action: TLSHandlerStateMachine.HandshakeOutcomeAction, context: ChannelHandlerContext) {
        switch action {
        case .none:
            return
        case .failAndClose(let error):
            timeoutTask?.cancel()
            timeoutTask = nil
            if case .handshakeFailed = error, let cache = sessionCache, let key = sessionKey {
                cache.remove(key)
            }
            failQueuedWrites(with: error)
            flushCiphertext(context: context)
            context.fireErrorCaught(error)
            context.close(promise: nil)
        case .announceAndFlushQueued:
            timeoutTask?.cancel()
            timeoutTask = nil
            let details = connection.handshakeDetails()
            rememberSession()
            // The handshake's last flight (with TLS 1.3 tickets) goes out first, so that the
            // buffers it occupied can be returned.
            flushCiphertext(context: context)
            do {
                try connection.finishHandshake()
            } catch {
                apply(stateMachine.connectionFailed(error), context: context)
                return
            }
            context.fireUserInboundEventTriggered(details)
            let queued = queuedWrites
            queuedWrites.removeAll()
            for (buffer, promise) in queued {
                encryptAndWrite(buffer, promise: promise, context: context)
            }
            if flushAfterHandshake || !queued.isEmpty {
                flushAfterHandshake = false
                ciphertextWrittenSinceFlush = true
            }
        }
    }

    private func readApplicationData(context: ChannelHandlerContext) {
        var plaintext = allocator.buffer(capacity: connection.plaintextCapacityHint)
        let result = connection.readPlaintext(into: &plaintext)
        if plaintext.readableBytes > 0 {
            context.fireChannelRead(wrapInboundOut(plaintext))
        }
        rememberSession()
        switch result {
        case .data, .wantMore:
            break
        case .closeNotify:
            if stateMachine.peerClosed() == .answerCloseNotifyAndClose {
                sendCloseNotifyAndClose(context: context, promise: nil)
            }
        case .failed(let error):
            apply(stateMachine.connectionFailed(error), context: context)
        }
    }

    /// Client side: keeps the newest resumable session (TLS 1.3 tickets arrive after the handshake).
    private func rememberSession() {
        guard let cache = sessionCache, let key = sessionKey else { return }
        let current = connection.currentSessionIdentity
        guard current != nil, current != storedSession, let session = connection.resumableSession() else { return }
        storedSession = current
        cache.store(session, for: key)
    }

    // MARK: Outbound

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let buffer = unwrapOutboundIn(data)
        switch stateMachine.write() {
        case .queue:
            queuedWrites.append((buffer, promise))
        case .encrypt:
            encryptAndWrite(buffer, promise: promise, context: context)
        case .fail(let error):
            promise?.fail(error)
        }
    }

    public func flush(context: ChannelHandlerContext) {
        switch stateMachine.state {
        case .idle, .handshaking:
            flushAfterHandshake = true
        case .active:
            // Every ciphertext write sets the flag: with nothing written since the last flush
            // there is nothing for the transport to do.
            guard ciphertextWrittenSinceFlush else { return }
            ciphertextWrittenSinceFlush = false
            context.flush()
        case .closing, .closed:
            ciphertextWrittenSinceFlush = false
            context.flush()
        }
    }

    public func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        guard mode != .input else {
            context.close(mode: mode, promise: promise)
            return
        }
        switch stateMachine.closeRequested() {
        case .sendCloseNotifyThenClose:
            sendCloseNotifyAndClose(context: context, promise: promise, mode: mode)
        case .closeTransport, .alreadyClosing:
            failQueuedWrites(with: TLSError.closed)
            context.close(mode: mode, promise: promise)
        }
    }

    private func sendCloseNotifyAndClose(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?, mode: CloseMode = .all) {
        connection.shutdown()
        if let alert = connection.drainCiphertext(allocator: allocator) {
            context.write(wrapOutboundOut(alert), promise: nil)
        }
        context.flush()
        context.close(mode: mode, promise: promise)
    }

    private func encryptAndWrite(_ buffer: ByteBuffer, promise: EventLoopPromise<Void>?, context: ChannelHandlerContext) {
        if let error = connection.writePlaintext(buffer) {
            promise?.fail(error)
            apply(stateMachine.connectionFailed(error), context: context)
            return
        }
        if let ciphertext = connection.drainCiphertext(allocator: allocator) {
            context.write(wrapOutboundOut(ciphertext), promise: promise)
            ciphertextWrittenSinceFlush = true
        } else {
            promise?.succeed(())
        }
    }

    private func flushCiphertext(context: ChannelHandlerContext) {
        if let ciphertext = connection.drainCiphertext(allocator: allocator) {
            context.write(wrapOutboundOut(ciphertext), promise: nil)
            ciphertextWrittenSinceFlush = true
        }
        if ciphertextWrittenSinceFlush {
            ciphertextWrittenSinceFlush = false
            context.flush()
        }
    }

    private func failQueuedWrites(with error: Error) {
        guard !queuedWrites.isEmpty else { return }
        let queued = queuedWrites
        queuedWrites.removeAll()
        for (_, promise) in queued { promise?.fail(error) }
    }
}

@available(*, unavailable)
extension TLSHandler: Sendable {}
