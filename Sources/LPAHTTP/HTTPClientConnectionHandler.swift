import LPATLS
import NIOCore
import NIOHTTP1

/// The top of one client connection's pipeline (`TLSHandler` → HTTP codec → this). It reports
/// when the TLS handshake is done, then carries one request at a time and collects its response.
///
/// All methods run on the channel's event loop. The handler owns the promises it is given and
/// completes each exactly once: with the response, or with an ``HTTPClientError``; whenever a
/// call fails, the connection is closed, so a failed connection is never reused.
final class HTTPClientConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    /// A response and whether the connection may carry another request.
    struct Outcome {
        var response: HTTPClientResponse
        var reusable: Bool
    }

    private struct InFlight {
        var promise: EventLoopPromise<Outcome>
        var maxBodySize: Int
        var keepAlive: Bool
        var timeout: Scheduled<Void>?
    }

    private enum State {
        /// Waiting for the TLS handshake.
        case handshaking(EventLoopPromise<Void>)
        /// Ready for a request.
        case idle
        /// A request was sent; no response head yet.
        case awaitingHead(InFlight)
        /// Response head received; body being collected.
        case receivingBody(InFlight, HTTPResponseHead, ByteBuffer)
        /// Closed or closing; nothing more happens.
        case closed
    }

    private var state: State
    private var context: ChannelHandlerContext?
    private var idleTimer: Scheduled<Void>?
    private let idleTimeout: TimeAmount

    /// - Parameter established: completed when the handshake finishes, failed when it cannot.
    init(established: EventLoopPromise<Void>, idleTimeout: TimeAmount) {
        self.state = .handshaking(established)
        self.idleTimeout = idleTimeout
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        fail(.connectionClosedEarly, close: false)
        self.context = nil
    }

    /// True when a request can be sent now.
    var isIdle: Bool {
        if case .idle = state, context?.channel.isActive == true { return true }
        return false
    }

    // MARK: Calls from the connection

    /// Sends `head` and `body`; completes `promise` with the response. Fails with
    /// ``HTTPClientConnection/Stale`` without writing anything when the connection is not idle.
    func execute(head: HTTPRequestHead, body: ByteBuffer, deadline: NIODeadline, maxBodySize: Int, promise: EventLoopPromise<Outcome>) {
        guard case .idle = state, let context, context.channel.isActive else {
            promise.fail(HTTPClientConnection.Stale())
            return
        }
        idleTimer?.cancel()
        idleTimer = nil
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        let timeout = context.eventLoop.scheduleTask(deadline: deadline) {
            loopBound.value.fail(.timeout, close: true)
        }
        state = .awaitingHead(InFlight(promise: promise, maxBodySize: maxBodySize, keepAlive: head.isKeepAlive, timeout: timeout))
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    /// The calling task was cancelled: fails whatever is pending and closes the connection.
    /// Does nothing while the connection is idle.
    func cancel() {
        switch state {
        case .handshaking, .awaitingHead, .receivingBody:
            fail(.cancelled, close: true)
        case .idle, .closed:
            break
        }
    }

    /// The handshake did not finish before the call's deadline.
    func handshakeDeadlinePassed() {
        if case .handshaking = state {
            fail(.timeout, close: true)
        }
    }

    // MARK: Channel events

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is TLSHandshakeCompleted, case .handshaking(let promise) = state {
            state = .idle
            armIdleTimer()
            promise.succeed(())
        } else if event is TLSUncleanShutdown, case .receivingBody = state {
            // The server did not end its TLS session: a body delimited by the end of the connection may be cut
            // short by anyone on the path, so it is not taken as complete.
            fail(.connectionClosedEarly, close: false)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .awaitingHead(let inFlight)):
            if head.status.code < 200 { return }  // interim (1xx) responses carry nothing for us
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > inFlight.maxBodySize {
                fail(.responseTooLarge(limit: inFlight.maxBodySize), close: true)
                return
            }
            state = .receivingBody(inFlight, head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var part), .receivingBody(let inFlight, let head, var body)):
            guard body.readableBytes + part.readableBytes <= inFlight.maxBodySize else {
                fail(.responseTooLarge(limit: inFlight.maxBodySize), close: true)
                return
            }
            state = .closed  // avoid a copy-on-write of `body` while it is held by `state`
            body.writeBuffer(&part)
            state = .receivingBody(inFlight, head, body)
        case (.end, .receivingBody(let inFlight, let head, let body)):
            inFlight.timeout?.cancel()
            let reusable = inFlight.keepAlive && head.isKeepAlive
            let response = HTTPClientResponse(status: head.status, headers: head.headers, body: Array(buffer: body))
            if reusable {
                state = .idle
                armIdleTimer()
            } else {
                state = .closed
                context.close(promise: nil)
            }
            inFlight.promise.succeed(Outcome(response: response, reusable: reusable))
        case (_, .closed):
            return
        default:
            fail(.malformedResponse("response data that belongs to no request"), close: true)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        fail(Self.classify(error), close: true)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosedEarly, close: false)
        context.fireChannelInactive()
    }

    // MARK: Transitions

    /// Fails whatever is pending with `error` and moves to `.closed`.
    private func fail(_ error: HTTPClientError, close: Bool) {
        let previous = state
        var wasClosed = false
        if case .closed = previous { wasClosed = true }
        state = .closed
        idleTimer?.cancel()
        idleTimer = nil
        switch previous {
        case .handshaking(let promise):
            promise.fail(error)
        case .awaitingHead(let inFlight), .receivingBody(let inFlight, _, _):
            inFlight.timeout?.cancel()
            inFlight.promise.fail(error)
        case .idle, .closed:
            break
        }
        if close, !wasClosed {
            context?.close(promise: nil)
        }
    }

    private func armIdleTimer() {
        guard let context, idleTimeout.nanoseconds > 0 else { return }
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        idleTimer = context.eventLoop.scheduleTask(in: idleTimeout) {
            let handler = loopBound.value
            if case .idle = handler.state {
                handler.state = .closed
                handler.context?.close(promise: nil)
            }
        }
    }

    private static func classify(_ error: Error) -> HTTPClientError {
        switch error {
        case let e as HTTPClientError: return e
        case let e as TLSError: return .tls(e)
        case HTTPParserError.invalidEOFState: return .connectionClosedEarly  // closed inside a response
        case let e as HTTPParserError: return .malformedResponse("HTTP parser: \(e)")
        case let e as NIOHTTPDecoderError: return .malformedResponse("HTTP decoder: \(e)")
        case is ByteToMessageDecoderError: return .malformedResponse("\(error)")
        default: return .connectionClosedEarly
        }
    }
}

@available(*, unavailable)
extension HTTPClientConnectionHandler: Sendable {}
