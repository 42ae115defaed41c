import LPATLS
import NIOCore
import NIOEmbedded
import XCTest

/// ``TLSHandler`` on `EmbeddedChannel`s: a client and a server whose ciphertext the test carries
/// from one to the other by hand, so every step (handshake flights, records, alerts, closes) is
/// observed in order and on one thread.
final class TLSHandlerEmbeddedTests: XCTestCase {
    /// What reaches the application above a TLS handler.
    final class Events: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        var handshakes: [TLSHandshakeCompleted] = []
        var received = ByteBuffer()
        var errors: [Error] = []
        var inactive = false
        var uncleanShutdowns = 0

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received.writeBuffer(&buffer)
        }

        func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
            if let done = event as? TLSHandshakeCompleted { handshakes.append(done) }
            if event is TLSUncleanShutdown {
                XCTAssertFalse(inactive, "reported before channelInactive")
                uncleanShutdowns += 1
            }
            context.fireUserInboundEventTriggered(event)
        }

        func errorCaught(context: ChannelHandlerContext, error: Error) { errors.append(error) }

        func channelInactive(context: ChannelHandlerContext) {
            inactive = true
            context.fireChannelInactive()
        }
    }

    struct Pair {
        let client: EmbeddedChannel
        let server: EmbeddedChannel
        let clientEvents = Events()
        let serverEvents = Events()
    }

    static let authority = try! TestAuthority(name: "Embedded CA")

    func makePair(compact: Bool = true, handshakeTimeout: TimeAmount = .seconds(10)) throws -> Pair {
        let leaf = try Self.authority.issue(commonName: "localhost")
        var serverConfig = TLSConfiguration.server(certificateChain: leaf.chain, privateKey: leaf.privateKey, trustRoots: nil, peerVerification: .none)
        serverConfig.compactSessions = compact
        serverConfig.handshakeTimeout = handshakeTimeout
        var clientConfig = TLSConfiguration.client(trustRoots: Self.authority.pem)
        clientConfig.handshakeTimeout = handshakeTimeout
        let pair = Pair(client: EmbeddedChannel(), server: EmbeddedChannel())
        try pair.server.pipeline.syncOperations.addHandlers([TLSHandler(context: try TLSContext(configuration: serverConfig)), pair.serverEvents])
        try pair.client.pipeline.syncOperations.addHandlers([
            TLSHandler(context: try TLSContext(configuration: clientConfig), serverHostname: "localhost"), pair.clientEvents,
        ])
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 8443)
        try pair.server.connect(to: address).wait()
        try pair.client.connect(to: address).wait()
        return pair
    }

    /// Moves ciphertext between the two channels until neither has anything left to send.
    @discardableResult
    func shuttle(_ pair: Pair) throws -> Int {
        var moved = 0
        while true {
            var progressed = false
            for (from, to) in [(pair.client, pair.server), (pair.server, pair.client)] {
                while let bytes = try from.readOutbound(as: ByteBuffer.self) {
                    progressed = true
                    moved += bytes.readableBytes
                    if to.isActive { try to.writeInbound(bytes) }
                }
            }
            if !progressed { return moved }
        }
    }

    func handshake(_ pair: Pair) throws {
        try shuttle(pair)
        XCTAssertEqual(pair.clientEvents.handshakes.count, 1)
        XCTAssertEqual(pair.serverEvents.handshakes.count, 1)
    }

    func testHandshakeAndDataBothWaysWithEitherRecordLayer() throws {
        for compact in [true, false] {
            let pair = try makePair(compact: compact)
            try handshake(pair)
            XCTAssertEqual(pair.serverEvents.handshakes.first?.protocolVersion, "TLSv1.3")
            pair.client.writeAndFlush(ByteBuffer(string: "hello from the terminal"), promise: nil)
            pair.server.writeAndFlush(ByteBuffer(string: "hello from the edge"), promise: nil)
            try shuttle(pair)
            XCTAssertEqual(String(buffer: pair.serverEvents.received), "hello from the terminal", "compact \(compact)")
            XCTAssertEqual(String(buffer: pair.clientEvents.received), "hello from the edge", "compact \(compact)")
            XCTAssertTrue(pair.clientEvents.errors.isEmpty && pair.serverEvents.errors.isEmpty)
        }
    }

    func testWritesBeforeTheHandshakeAreSentAfterItInOrder() throws {
        let pair = try makePair()
        let first = pair.client.eventLoop.makePromise(of: Void.self)
        let second = pair.client.eventLoop.makePromise(of: Void.self)
        pair.client.write(ByteBuffer(string: "one,"), promise: first)
        pair.client.writeAndFlush(ByteBuffer(string: "two"), promise: second)
        try handshake(pair)
        try first.futureResult.wait()
        try second.futureResult.wait()
        XCTAssertEqual(String(buffer: pair.serverEvents.received), "one,two")
    }

    func testCloseNotifyFromEitherSideIsAnsweredAndClosesBothCleanly() throws {
        for clientCloses in [true, false] {
            let pair = try makePair()
            try handshake(pair)
            let (closer, peer) = clientCloses ? (pair.client, pair.server) : (pair.server, pair.client)
            let (closerEvents, peerEvents) = clientCloses ? (pair.clientEvents, pair.serverEvents) : (pair.serverEvents, pair.clientEvents)
            let closed = closer.close()
            // The closer's close_notify reaches the peer, which answers with its own and closes.
            let alert = try XCTUnwrap(try closer.readOutbound(as: ByteBuffer.self), "close_notify written before the transport closes")
            XCTAssertEqual(alert.getInteger(at: 0, as: UInt8.self), 0x17, "an encrypted alert record")
            try peer.writeInbound(alert)
            XCTAssertNotNil(try peer.readOutbound(as: ByteBuffer.self), "the peer's answering close_notify")
            XCTAssertFalse(peer.isActive)
            try closed.wait()
            XCTAssertTrue(closerEvents.inactive && peerEvents.inactive)
            XCTAssertTrue(closerEvents.errors.isEmpty, "\(closerEvents.errors)")
            XCTAssertTrue(peerEvents.errors.isEmpty, "\(peerEvents.errors)")
            XCTAssertEqual(closerEvents.uncleanShutdowns + peerEvents.uncleanShutdowns, 0, "a close_notify close is clean")
            // Nothing may be written once closing began.
            let late = closer.eventLoop.makePromise(of: Void.self)
            closer.writeAndFlush(ByteBuffer(string: "late"), promise: late)
            XCTAssertThrowsError(try late.futureResult.wait())
        }
    }

    func testTamperedRecordFailsTheConnectionWithAReadError() throws {
        for compact in [true, false] {
            let pair = try makePair(compact: compact)
            try handshake(pair)
            pair.client.writeAndFlush(ByteBuffer(string: "payload"), promise: nil)
            var record = try XCTUnwrap(try pair.client.readOutbound(as: ByteBuffer.self))
            let last = record.writerIndex - 1
            record.setInteger(record.getInteger(at: last, as: UInt8.self)! ^ 0x01, at: last)
            try? pair.server.writeInbound(record)
            XCTAssertEqual(pair.serverEvents.received.readableBytes, 0, "no plaintext from a tampered record")
            XCTAssertEqual((pair.serverEvents.errors.first as? TLSError)?.code, "TLS_READ_FAILED", "compact \(compact): \(pair.serverEvents.errors)")
            XCTAssertEqual(pair.serverEvents.errors.count, 1)
            XCTAssertFalse(pair.server.isActive)
        }
    }

    func testHandshakeTimeoutClosesWithItsErrorAndFailsQueuedWrites() throws {
        let pair = try makePair(handshakeTimeout: .seconds(5))
        let queued = pair.client.eventLoop.makePromise(of: Void.self)
        pair.client.writeAndFlush(ByteBuffer(string: "never sent"), promise: queued)
        // The server never answers: the client's ClientHello is dropped.
        _ = try pair.client.readOutbound(as: ByteBuffer.self)
        pair.client.embeddedEventLoop.advanceTime(by: .seconds(4))
        XCTAssertTrue(pair.client.isActive)
        pair.client.embeddedEventLoop.advanceTime(by: .seconds(2))
        XCTAssertFalse(pair.client.isActive)
        XCTAssertEqual(pair.clientEvents.errors.compactMap { $0 as? TLSError }, [.handshakeTimeout])
        XCTAssertThrowsError(try queued.futureResult.wait())
    }

    func testTransportLossDuringTheHandshakeIsReported() throws {
        let pair = try makePair()
        _ = try pair.client.readOutbound(as: ByteBuffer.self)
        pair.client.pipeline.fireChannelInactive()
        XCTAssertTrue(pair.clientEvents.inactive)
        XCTAssertEqual(pair.clientEvents.errors.compactMap { $0 as? TLSError }, [.closedDuringHandshake])
        XCTAssertEqual(pair.clientEvents.uncleanShutdowns, 0)
    }

    /// The transport ends in an established session without close_notify (a device losing its link): reported
    /// as ``TLSUncleanShutdown`` before channelInactive, not as an error; the data before it was delivered.
    func testARaggedEndOfAnEstablishedSessionIsReported() throws {
        let pair = try makePair()
        try handshake(pair)
        pair.client.writeAndFlush(ByteBuffer(string: "last words"), promise: nil)
        try shuttle(pair)
        pair.server.pipeline.fireChannelInactive()
        XCTAssertEqual(String(buffer: pair.serverEvents.received), "last words")
        XCTAssertEqual(pair.serverEvents.uncleanShutdowns, 1)
        XCTAssertTrue(pair.serverEvents.inactive)
        XCTAssertTrue(pair.serverEvents.errors.isEmpty, "\(pair.serverEvents.errors)")
        let late = pair.server.eventLoop.makePromise(of: Void.self)
        pair.server.writeAndFlush(ByteBuffer(string: "late"), promise: late)
        XCTAssertThrowsError(try late.futureResult.wait())
    }
}
