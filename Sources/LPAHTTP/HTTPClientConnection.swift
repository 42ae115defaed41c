import LPATLS
import NIOCore
import NIOHTTP1
import NIOPosix

/// One keep-alive HTTPS connection to one `host:port`, owned by the ``HTTPConnectionPool``
/// and leased to one call at a time. Thread-safe: every operation hops to the channel's loop.
final class HTTPClientConnection: Sendable {
    /// Internal signal: the connection was no longer usable before anything was written, so the
    /// call may safely take another connection.
    struct Stale: Error {}

    let channel: Channel
    private let handler: NIOLoopBound<HTTPClientConnectionHandler>

    /// What the channel initializer made for one connection attempt.
    private struct Attempt: Sendable {
        var handler: NIOLoopBound<HTTPClientConnectionHandler>
        var established: EventLoopFuture<Void>
    }

    private init(channel: Channel, handler: NIOLoopBound<HTTPClientConnectionHandler>) {
        self.channel = channel
        self.handler = handler
    }

    /// Opens TCP, runs the TLS handshake (server verified against the context's roots and
    /// `host`) and returns once the connection can carry a request.
    ///
    /// - Throws: ``HTTPClientError`` only.
    static func connect(
        host: String, port: Int, tls: TLSContext, sessionCache: TLSClientSessionCache,
        connectTimeout: TimeAmount, idleTimeout: TimeAmount, deadline: NIODeadline, eventLoop: EventLoop
    ) async throws -> HTTPClientConnection {
        guard !Task.isCancelled else { throw HTTPClientError.cancelled }
        let remaining = deadline - .now()
        guard remaining.nanoseconds > 0 else { throw HTTPClientError.timeout }
        // One handler and one handshake promise per connection attempt (a host name may be tried
        // at several addresses); the winner's are taken once the connect succeeds.
        let attempts = ConnectAttempts<Attempt>()
        let channel: Channel
        do {
            channel = try await ClientBootstrap(group: eventLoop)
                .connectTimeout(min(connectTimeout, remaining))
                .channelOption(.tcpOption(.tcp_nodelay), value: 1)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let sync = channel.pipeline.syncOperations
                        try sync.addHandler(TLSHandler(context: tls, serverHostname: host, sessionCache: sessionCache, sessionKey: "\(host):\(port)"))
                        try sync.addHTTPClientHandlers(leftOverBytesStrategy: .fireError)
                        let established = channel.eventLoop.makePromise(of: Void.self)
                        let handler = HTTPClientConnectionHandler(established: established, idleTimeout: idleTimeout)
                        do { try sync.addHandler(handler) } catch { established.fail(error); throw error }
                        attempts.record(Attempt(handler: NIOLoopBound(handler, eventLoop: channel.eventLoop), established: established.futureResult), for: channel)
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            if let tlsError = error as? TLSError { throw HTTPClientError.tls(tlsError) }
            if case ChannelError.connectTimeout = error, NIODeadline.now() >= deadline { throw HTTPClientError.timeout }
            throw HTTPClientError.connectFailed(host: host, port: port, reason: "\(error)")
        }
        guard let attempt = attempts.take(for: channel) else {
            channel.close(promise: nil)
            throw HTTPClientError.connectionClosedEarly
        }
        let handler = attempt.handler
        let established = attempt.established
        let deadlineTask = eventLoop.scheduleTask(deadline: deadline) { handler.value.handshakeDeadlinePassed() }
        defer { deadlineTask.cancel() }
        do {
            try await withTaskCancellationHandler {
                try await established.get()
            } onCancel: {
                eventLoop.execute { handler.value.cancel() }
            }
        } catch {
            channel.close(promise: nil)
            throw error as? HTTPClientError ?? .connectionClosedEarly
        }
        return HTTPClientConnection(channel: channel, handler: handler)
    }

    /// Sends `request` and waits for its whole response until `deadline`.
    ///
    /// - Throws: ``Stale`` when the connection was already unusable (nothing was sent);
    ///   ``HTTPClientError`` otherwise.
    func execute(_ request: HTTPClientRequest, userAgent: String?, deadline: NIODeadline, maxBodySize: Int) async throws -> HTTPClientConnectionHandler.Outcome {
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: request.hostHeader)
        if let userAgent, !request.headers.contains(name: "User-Agent") {
            headers.add(name: "User-Agent", value: userAgent)
        }
        for (name, value) in request.headers where !Self.managedHeaders.contains(name.lowercased()) {
            headers.add(name: name, value: value)
        }
        if !request.body.isEmpty || request.method == .POST || request.method == .PUT {
            headers.add(name: "Content-Length", value: String(request.body.count))
        }
        let head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path, headers: headers)
        let body = channel.allocator.buffer(bytes: request.body)
        let eventLoop = channel.eventLoop
        let promise = eventLoop.makePromise(of: HTTPClientConnectionHandler.Outcome.self)
        let handler = self.handler
        eventLoop.execute {
            handler.value.execute(head: head, body: body, deadline: deadline, maxBodySize: maxBodySize, promise: promise)
        }
        // Cancellation is queued behind the request on the same loop, so it always finds it.
        return try await withTaskCancellationHandler {
            try await promise.futureResult.get()
        } onCancel: {
            eventLoop.execute { handler.value.cancel() }
        }
    }

    /// Closes the connection; pending calls fail.
    func close() {
        channel.close(promise: nil)
    }

    private static let managedHeaders: Set<String> = ["host", "content-length", "connection", "transfer-encoding"]
}
