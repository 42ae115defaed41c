import NIOCore
import SwiftProtobuf

/// A handle on one established RPC connection (the HELLO exchange is done). Sendable: use it from
/// any task; every operation hops onto the connection's event loop.
///
/// Both sides hold one and both may call: the side that accepted the TCP connection calls the
/// other exactly like the side that opened it. Calls fail with ``RPCError`` only:
///
/// | status | when |
/// |---|---|
/// | ``RPCStatus/deadlineExceeded`` | the deadline passed (CANCEL is sent to the peer) |
/// | ``RPCStatus/cancelled`` | the calling task was cancelled (CANCEL is sent to the peer) |
/// | ``RPCStatus/resourceExhausted`` | too many calls in flight, or the request exceeds the peer's frame limit; nothing was sent |
/// | ``RPCStatus/unavailable`` | the connection is closing or closed, or the peer went away; after a connection loss the call's fate is unknown |
/// | ``RPCStatus/internal`` | the response body is not a valid response message |
/// | anything else | what the peer's handler answered |
public final class RPCConnection: RPCCaller, Hashable, CustomStringConvertible {
    /// The peer's node id, from its HELLO.
    public var remoteNodeID: String { peer.nodeID }
    /// This side's node id.
    public let localNodeID: String
    /// The peer: node id, TLS identity, address.
    public let peer: RPCPeer
    /// What the peer announced in its HELLO (version, limits).
    public let peerHello: RPCHello
    /// Whether this side opened the TCP connection.
    public let role: RPCConnectionRole
    /// The channel underneath, for transports; applications use the methods here.
    public let channel: Channel
    private let handler: NIOLoopBound<RPCConnectionHandler>

    init(channel: Channel, handler: NIOLoopBound<RPCConnectionHandler>, role: RPCConnectionRole, localNodeID: String, peer: RPCPeer, peerHello: RPCHello) {
        self.channel = channel
        self.handler = handler
        self.role = role
        self.localNodeID = localNodeID
        self.peer = peer
        self.peerHello = peerHello
    }

    /// The event loop the connection runs on.
    public var eventLoop: EventLoop { channel.eventLoop }

    /// Succeeds when the connection has closed, for whatever reason.
    public var onClose: EventLoopFuture<Void> { channel.closeFuture }

    /// False once the connection has closed.
    public var isActive: Bool { channel.isActive }

    /// Calls `method` on the peer with `request` and returns its response.
    ///
    /// - Parameters:
    ///   - deadline: when to give up; nil waits as long as the connection lives.
    /// - Throws: ``RPCError`` (see the type's table).
    public func call<Request: Message, Response: Message>(
        _ method: String, _ request: Request, responseType: Response.Type = Response.self, deadline: RPCDeadline? = nil
    ) async throws -> Response {
        let bytes: [UInt8]
        do {
            bytes = try request.serializedBytes()
        } catch {
            throw RPCError(.invalidArgument, "request \(Request.protoMessageName) could not be encoded: \(error)")
        }
        let body = try await call(method, body: ByteBuffer(bytes: bytes), deadline: deadline)
        do {
            return try Response(serializedBytes: Array(body.readableBytesView))
        } catch {
            throw RPCError(.internal, "response to \(method) is not a valid \(Response.protoMessageName): \(error)")
        }
    }

    /// Calls `method` with an encoded request body and returns the encoded response body.
    /// - Throws: ``RPCError``.
    public func call(_ method: String, body: ByteBuffer, deadline: RPCDeadline? = nil) async throws -> ByteBuffer {
        let loop = channel.eventLoop
        let handler = self.handler
        let promise = loop.makePromise(of: ByteBuffer.self)
        // The closures below keep the future alive, so its identity names this call only.
        let future = promise.futureResult
        return try await withTaskCancellationHandler {
            if loop.inEventLoop {
                handler.value.startCall(method: method, body: body, deadline: deadline, promise: promise)
            } else {
                loop.execute {
                    handler.value.startCall(method: method, body: body, deadline: deadline, promise: promise)
                }
            }
            if Task.isCancelled {
                // Cancellation may have raced ahead of the start; cancelling again is harmless.
                loop.execute { handler.value.cancelCall(ObjectIdentifier(future), error: Self.cancelled) }
            }
            return try await future.get()
        } onCancel: {
            loop.execute { handler.value.cancelCall(ObjectIdentifier(future), error: Self.cancelled) }
        }
    }

    private static let cancelled = RPCError(.cancelled, "the calling task was cancelled")

    /// Closes gracefully: sends GOAWAY, fails new calls with ``RPCStatus/unavailable``, lets calls in
    /// flight (both directions) finish, then closes — at the latest after the configured drain
    /// timeout. Returns once the connection has closed.
    public func close() async {
        beginGracefulClose()
        try? await channel.closeFuture.get()
    }

    /// Starts the graceful close described at ``close()`` and returns at once. Calls made after it
    /// returns fail with ``RPCStatus/unavailable``; ``onClose`` tells when the connection is closed.
    public func beginGracefulClose() {
        let handler = self.handler
        channel.eventLoop.execute { handler.value.closeGracefully() }
    }

    /// Closes at once; calls in flight fail with ``RPCStatus/unavailable``. Returns once closed.
    public func closeNow() async {
        let handler = self.handler
        channel.eventLoop.execute {
            handler.value.closeImmediately(reason: RPCError(.unavailable, "connection closed by this side"))
        }
        try? await channel.closeFuture.get()
    }

    /// Calls in flight on this connection: outgoing (this side's) and incoming (being served).
    public func callsInFlight() async -> (outgoing: Int, incoming: Int) {
        let handler = self.handler
        return (try? await channel.eventLoop.submit { handler.value.callsInFlight }.get()) ?? (0, 0)
    }

    public static func == (lhs: RPCConnection, rhs: RPCConnection) -> Bool { lhs === rhs }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(ObjectIdentifier(self))
    }

    public var description: String {
        "RPCConnection(\(localNodeID) ⇄ \(remoteNodeID)\(peer.remoteAddress.map { " at \($0)" } ?? ""))"
    }
}
