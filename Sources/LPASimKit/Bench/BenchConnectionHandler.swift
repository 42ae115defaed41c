import LPATLS
import NIOCore

/// One benchmark connection, above the ``TLSHandler``: sends the greeting once TLS is up, waits to
/// be let in, then sends heartbeats when its ``LoadShard`` says so and times their acks.
///
/// States: `connecting` (TCP and TLS) → `greeted` (greeting sent) → `ready` (welcomed) → `closed`.
/// The handler reports to its shard exactly once how the connection ended: before `ready` as a
/// failed launch, after it as a lost connection. A connection that never became active ends
/// through ``connectFailed(_:)`` (the shard passes on the connect failure); any other through
/// `channelInactive`.
///
/// Acks arrive in the order heartbeats were sent (one TCP stream, a server that answers in order),
/// so send times are kept in a FIFO and the oldest is matched with each ack.
///
/// Runs on its channel's event loop, which is its shard's loop.
final class BenchConnectionHandler<Format: BenchWireFormat>: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private enum State {
        case connecting
        case greeted
        case ready
        case closed
    }

    private let shard: LoadShard<Format>
    private var session: Format.Session
    private var state = State.connecting
    private var context: ChannelHandlerContext?
    /// Bytes of an incomplete message, kept until the rest arrives.
    private var cumulation: ByteBuffer?
    /// Send times (uptime nanoseconds) of heartbeats not yet acknowledged, oldest first.
    private var sentAt = CircularBuffer<UInt64>(initialCapacity: 4)
    /// Why the connection failed, when an error said so before it closed.
    private var failure: String?

    init(session: Format.Session, shard: LoadShard<Format>) {
        self.session = session
        self.shard = shard
    }

    var isReady: Bool { state == .ready }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let details = event as? TLSHandshakeCompleted, state == .connecting {
            shard.tlsEstablished(details)
            state = .greeted
            context.writeAndFlush(wrapOutboundOut(session.greeting), promise: nil)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if var pending = cumulation {
            cumulation = nil
            pending.writeBuffer(&incoming)
            drain(&pending, context: context)
            if pending.readableBytes > 0 {
                pending.discardReadBytes()
                cumulation = pending
            }
        } else {
            drain(&incoming, context: context)
            if incoming.readableBytes > 0 {
                cumulation = incoming
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if failure == nil { failure = Self.describe(error) }
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(reason: failure ?? (state == .ready ? "closed by the server" : "closed by the server before welcome"))
        context.fireChannelInactive()
    }

    // MARK: Calls from the shard (on the event loop)

    /// The connection attempt itself failed (refused, timed out, address in use).
    func connectFailed(_ error: Error) {
        finish(reason: Self.describe(error))
    }

    /// Sends one heartbeat if the connection is ready; returns whether it did.
    @discardableResult
    func sendHeartbeat(now: UInt64) -> Bool {
        guard state == .ready, let context else { return false }
        sentAt.append(now)
        shard.heartbeatSent()
        context.writeAndFlush(wrapOutboundOut(session.heartbeat), promise: nil)
        return true
    }

    /// Closes the connection as the client's own decision: it counts neither as lost nor as failed.
    func closeQuietly() -> EventLoopFuture<Void>? {
        state = .closed
        sentAt.removeAll()
        return close()
    }

    /// Closes the connection; the close future of the channel, if it is still open.
    func close() -> EventLoopFuture<Void>? {
        guard let context else { return nil }
        let channel = context.channel
        channel.close(promise: nil)
        return channel.closeFuture
    }

    // MARK: Inbound messages

    private func drain(_ buffer: inout ByteBuffer, context: ChannelHandlerContext) {
        while state != .closed {
            let event: BenchServerEvent?
            do {
                event = try session.nextEvent(in: &buffer)
            } catch {
                fail("\(Format.self): \(error)", context: context)
                return
            }
            guard let event else { return }
            handle(event, context: context)
        }
    }

    private func handle(_ event: BenchServerEvent, context: ChannelHandlerContext) {
        switch event {
        case .acknowledged:
            guard state == .ready, let sent = sentAt.popFirst() else {
                fail("ack without a heartbeat in flight", context: context)
                return
            }
            let now = NIODeadline.now().uptimeNanoseconds
            shard.acknowledged(latencyNanoseconds: now &- sent)
            if shard.mode == .closedLoop {
                sendHeartbeat(now: now)
            }
        case .welcomed:
            guard state == .greeted else { return }
            state = .ready
            shard.welcomed(self)
        case .ignored:
            return
        case .ended(let reason):
            fail(reason, context: context)
        }
    }

    private func fail(_ reason: String, context: ChannelHandlerContext) {
        if failure == nil { failure = reason }
        finish(reason: reason)
        context.close(promise: nil)
    }

    /// Reports the end of the connection to the shard, once.
    private func finish(reason: String) {
        switch state {
        case .connecting, .greeted:
            shard.launchFailed(reason: reason)
        case .ready:
            shard.lost(reason: reason, unanswered: sentAt.count)
            sentAt.removeAll()
        case .closed:
            return
        }
        state = .closed
    }

    /// A short, aggregatable reason for an error.
    static func describe(_ error: Error) -> String {
        if let tls = error as? TLSError {
            switch tls {
            case .handshakeFailed, .readFailed, .writeFailed:
                return String("\(tls.code): \(tls)".prefix(200))
            default:
                return tls.code
            }
        }
        return String("\(error)".prefix(200))
    }
}

@available(*, unavailable)
extension BenchConnectionHandler: Sendable {}
