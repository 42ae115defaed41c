import LPATLS
import NIOCore
import NIOHTTP1

/// The top of one server connection's pipeline ([`TLSHandler`] → HTTP server codec and
/// pipelining handler → this). Collects each request with its body, runs the server's handler
/// in a task, and writes the response back; one request at a time (NIO's pipelining handler
/// holds back the next request until the response is written).
///
/// Runs on the channel's event loop; only the user's handler runs elsewhere, in its own task,
/// which is cancelled when the connection closes.
final class HTTPServerConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart
    typealias Handler = @Sendable (HTTPServerRequest) async -> HTTPServerResponse

    private enum State {
        /// Waiting for a request head.
        case idle
        /// Head received, body being collected.
        case receiving(HTTPRequestHead, ByteBuffer)
        /// The request was too large; a 413 was sent and the connection is closing.
        case rejecting
        /// The handler is running for a complete request.
        case processing(keepAlive: Bool, task: Task<Void, Never>?)
        case closed
    }

    private var state = State.idle
    private var tls: TLSHandshakeCompleted?
    private let handler: Handler
    private let maxBodySize: Int

    init(maxBodySize: Int, handler: @escaping Handler) {
        self.maxBodySize = maxBodySize
        self.handler = handler
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let event = event as? TLSHandshakeCompleted { tls = event }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch (unwrapInboundIn(data), state) {
        case (.head(let head), .idle):
            if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > maxBodySize {
                reject(context: context)
                return
            }
            state = .receiving(head, context.channel.allocator.buffer(capacity: 0))
        case (.body(var part), .receiving(let head, var body)):
            guard body.readableBytes + part.readableBytes <= maxBodySize else {
                reject(context: context)
                return
            }
            state = .idle  // release `body` from the state before appending (no copy)
            body.writeBuffer(&part)
            state = .receiving(head, body)
        case (.end, .receiving(let head, let body)):
            let request = HTTPServerRequest(
                method: head.method, uri: head.uri, headers: head.headers, body: Array(buffer: body),
                remoteAddress: context.channel.remoteAddress, tls: tls)
            let keepAlive = head.isKeepAlive
            let handler = self.handler
            let eventLoop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: eventLoop)
            state = .processing(keepAlive: keepAlive, task: nil)
            let task = Task {
                let response = await handler(request)
                eventLoop.execute {
                    let (this, context) = bound.value
                    this.respond(response, context: context)
                }
            }
            if case .processing = state { state = .processing(keepAlive: keepAlive, task: task) }
        case (_, .rejecting), (_, .closed):
            return
        default:
            state = .closed
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if case .processing(_, let task) = state { task?.cancel() }
        state = .closed
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if case .processing(_, let task) = state { task?.cancel() }
        state = .closed
        context.close(promise: nil)
    }

    private func respond(_ response: HTTPServerResponse, context: ChannelHandlerContext) {
        guard case .processing(let keepAlive, _) = state else { return }
        if response.dropsConnection {
            state = .closed
            context.close(promise: nil)
            return
        }
        var headers = response.headers
        headers.remove(name: "Content-Length")
        headers.remove(name: "Connection")
        headers.remove(name: "Transfer-Encoding")
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Connection", value: keepAlive ? "keep-alive" : "close")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: response.status, headers: headers))), promise: nil)
        if !response.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: response.body)))), promise: nil)
        }
        if keepAlive {
            state = .idle
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            state = .closed
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
        }
    }

    private func reject(context: ChannelHandlerContext) {
        state = .rejecting
        let headers: HTTPHeaders = ["Content-Length": "0", "Connection": "close"]
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .payloadTooLarge, headers: headers))), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in context.close(promise: nil) }
    }
}

@available(*, unavailable)
extension HTTPServerConnectionHandler: Sendable {}
