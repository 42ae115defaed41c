import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Serves one simulated card over the C device agent's loopback card protocol (`u32` big-endian length and
/// a command APDU in, `u32` length and the response out; logical channels through ordinary MANAGE CHANNEL
/// APDUs), so `lpa-agent` with its loopback driver can carry a virtual eUICC. Test and development use only;
/// binds loopback addresses.
public final class CardServer: Sendable {
    private let channel: Channel
    public var port: Int { channel.localAddress?.port ?? 0 }

    private init(channel: Channel) {
        self.channel = channel
    }

    /// The card and the lock every use of it takes (cards are not thread-safe).
    final class GuardedCard: @unchecked Sendable {
        private let card: any SimulatedCard
        private let lock = NIOLock()
        init(_ card: any SimulatedCard) { self.card = card }
        func transmit(_ apdu: [UInt8]) -> [UInt8] { lock.withLock { card.transmit(apdu) } }
    }

    /// Starts serving `card` on `host:port` (0: the OS chooses). The server owns the card from now on and uses
    /// it under a lock, one APDU at a time.
    public static func start(card: any SimulatedCard, host: String = "127.0.0.1", port: Int = 0,
                             group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> CardServer {
        let guarded = GuardedCard(card)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { child in
                child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.addHandler(Handler(card: guarded))
                }
            }
            .bind(host: host, port: port).get()
        return CardServer(channel: channel)
    }

    public func stop() async {
        try? await channel.close()
    }

    final class Handler: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        static let maximumCommand = 65_544
        private let card: GuardedCard
        private var pending = ByteBuffer()

        init(card: GuardedCard) {
            self.card = card
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var incoming = unwrapInboundIn(data)
            pending.writeBuffer(&incoming)
            while let length = pending.getInteger(at: pending.readerIndex, as: UInt32.self) {
                guard length >= 4, length <= Self.maximumCommand else {
                    context.close(promise: nil)
                    return
                }
                guard pending.readableBytes >= 4 + Int(length) else { break }
                pending.moveReaderIndex(forwardBy: 4)
                let apdu = pending.readBytes(length: Int(length)) ?? []
                let response = card.transmit(apdu)
                var out = context.channel.allocator.buffer(capacity: 4 + response.count)
                out.writeInteger(UInt32(response.count))
                out.writeBytes(response)
                context.writeAndFlush(wrapOutboundOut(out), promise: nil)
            }
            pending.discardReadBytes()
        }
    }
}
