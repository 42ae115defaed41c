import LPAHTTP
import NIOCore
import NIOHTTP1
import NIOPosix
import XCTest

/// The server's HTTP behaviour seen byte for byte by a raw TCP client on a plaintext listener:
/// pipelined keep-alive requests, `Connection: close`, the body limit, graceful shutdown.
final class HTTPSServerTests: XCTestCase {
    /// Collects everything a raw connection receives until it closes.
    final class Collector: ChannelInboundHandler, @unchecked Sendable {
        typealias InboundIn = ByteBuffer
        private var received = ""
        let closed: EventLoopPromise<String>

        init(eventLoop: EventLoop) {
            closed = eventLoop.makePromise()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            received += String(buffer: unwrapInboundIn(data))
        }

        func channelInactive(context: ChannelHandlerContext) {
            closed.succeed(received)
        }
    }

    func connect(port: Int) async throws -> (Channel, Collector) {
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let collector = Collector(eventLoop: loop)
        let channel = try await ClientBootstrap(group: loop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(collector) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return (channel, collector)
    }

    func testPipelinedRequestsAreAnsweredInOrderAndConnectionCloseIsHonoured() async throws {
        let server = try await FakeServer(tls: nil) { request in
            HTTPServerResponse(status: .ok, body: Array("\(request.method) \(request.uri) \(request.body.count)".utf8))
        }
        let (channel, collector) = try await connect(port: server.port)
        try await channel.writeAndFlush(ByteBuffer(string:
            "POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
            + "GET /b?q=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
        let text = try await collector.closed.futureResult.get()
        let first = try XCTUnwrap(text.range(of: "POST /a 3"))
        let second = try XCTUnwrap(text.range(of: "GET /b?q=1 0"))
        XCTAssertLessThan(first.lowerBound, second.lowerBound)
        XCTAssertTrue(text.contains("Connection: keep-alive"), text)
        XCTAssertTrue(text.contains("Connection: close"), text)
        XCTAssertEqual(server.server.acceptedConnections, 1)
        await server.stop()
    }

    func testDeclaredBodyOverTheLimitIsRefusedWith413AndClosed() async throws {
        let server = try await FakeServer(tls: nil, maxRequestBodySize: 10)
        let (channel, collector) = try await connect(port: server.port)
        try await channel.writeAndFlush(ByteBuffer(string: "POST /big HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\n"))
        let text = try await collector.closed.futureResult.get()
        XCTAssertTrue(text.hasPrefix("HTTP/1.1 413 Payload Too Large\r\n"), text)
        XCTAssertTrue(server.requests.isEmpty)
        await server.stop()
    }

    func testShutdownLetsTheRequestInFlightFinishAndClosesIdleConnections() async throws {
        let gate = Gate()
        let arrived = Gate()
        let server = try await FakeServer(tls: nil) { _ in
            arrived.open()
            await gate.wait()
            return HTTPServerResponse(status: .ok, body: Array("done".utf8))
        }
        let (busy, busyCollector) = try await connect(port: server.port)
        let (_, idleCollector) = try await connect(port: server.port)
        try await busy.writeAndFlush(ByteBuffer(string: "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"))
        await arrived.wait()
        // Both connections must be registered with the server before it is told to stop.
        while server.server.acceptedConnections < 2 { await Task.yield() }

        async let stopped: Void = server.stop()
        let idleText = try await idleCollector.closed.futureResult.get()
        XCTAssertEqual(idleText, "", "an idle connection is closed without a response")
        gate.open()
        let busyText = try await busyCollector.closed.futureResult.get()
        XCTAssertTrue(busyText.hasPrefix("HTTP/1.1 200 OK\r\n"), busyText)
        XCTAssertTrue(busyText.hasSuffix("done"), busyText)
        await stopped
    }
}
