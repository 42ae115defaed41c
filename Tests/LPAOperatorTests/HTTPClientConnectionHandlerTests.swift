import LPATLS
import NIOCore
import NIOEmbedded
import NIOHTTP1
import XCTest

@testable import LPAHTTP

/// The client connection handler on an `EmbeddedChannel` with the real HTTP codec below it:
/// every response shape and failure, deterministically and without sockets.
final class HTTPClientConnectionHandlerTests: XCTestCase {
    var channel: EmbeddedChannel!
    var loop: EmbeddedEventLoop!
    var handler: HTTPClientConnectionHandler!
    var established: EventLoopPromise<Void>!

    override func setUpWithError() throws {
        loop = EmbeddedEventLoop()
        channel = EmbeddedChannel(loop: loop)
        established = loop.makePromise()
        handler = HTTPClientConnectionHandler(established: established, idleTimeout: .seconds(60))
        try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .fireError)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
    }

    override func tearDown() {
        _ = try? channel.finish()
    }

    func completeHandshake() throws {
        channel.pipeline.fireUserInboundEventTriggered(TLSHandshakeCompleted(
            protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", group: nil, resumed: false,
            peerSubject: [], peerCertificateDER: nil, serverName: nil))
        try established.futureResult.wait()
    }

    /// Sends a POST and returns the future of its outcome, having checked the bytes written.
    func send(maxBodySize: Int = 1024, deadline: NIODeadline = .uptimeNanoseconds(UInt64.max)) throws -> EventLoopFuture<HTTPClientConnectionHandler.Outcome> {
        let promise = loop.makePromise(of: HTTPClientConnectionHandler.Outcome.self)
        let head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/gsma/rsp2/es9plus/x", headers: ["Host": "smdp", "Content-Length": "2"])
        handler.execute(head: head, body: ByteBuffer(string: "{}"), deadline: deadline, maxBodySize: maxBodySize, promise: promise)
        var written = ""
        while let part = try channel.readOutbound(as: ByteBuffer.self) { written += String(buffer: part) }
        XCTAssertTrue(written.hasPrefix("POST /gsma/rsp2/es9plus/x HTTP/1.1\r\n"), written)
        XCTAssertTrue(written.hasSuffix("\r\n\r\n{}"), written)
        return promise.futureResult
    }

    func feed(_ text: String) throws {
        try channel.writeInbound(ByteBuffer(string: text))
    }

    func error(of future: EventLoopFuture<HTTPClientConnectionHandler.Outcome>) -> Error? {
        do {
            _ = try future.wait()
            return nil
        } catch {
            return error
        }
    }

    func testKeptAliveResponseLeavesTheConnectionReusable() throws {
        try completeHandshake()
        let outcome = try send()
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-A: b\r\n\r\nhi")
        let result = try outcome.wait()
        XCTAssertEqual(result.response.status, .ok)
        XCTAssertEqual(result.response.body, Array("hi".utf8))
        XCTAssertEqual(result.response.headers.first(name: "X-A"), "b")
        XCTAssertTrue(result.reusable)
        XCTAssertTrue(handler.isIdle)
        // And a second request on the same connection.
        let second = try send()
        try feed("HTTP/1.1 204 No Content\r\n\r\n")
        XCTAssertEqual(try second.wait().response.status, .noContent)
    }

    func testConnectionCloseResponseIsNotReusableAndCloses() throws {
        try completeHandshake()
        let outcome = try send()
        try feed("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n")
        XCTAssertFalse(try outcome.wait().reusable)
        XCTAssertFalse(channel.isActive)
    }

    func testInterimResponsesAreSkipped() throws {
        try completeHandshake()
        let outcome = try send()
        try feed("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx")
        XCTAssertEqual(try outcome.wait().response.body, Array("x".utf8))
    }

    func testChunkedBodyIsCollected() throws {
        try completeHandshake()
        let outcome = try send()
        try feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n")
        XCTAssertEqual(try outcome.wait().response.body, Array("abcde".utf8))
    }

    func testGarbageIsAMalformedResponse() throws {
        try completeHandshake()
        let outcome = try send()
        try feed("SMTP ready\r\n\r\n")
        guard case .malformedResponse? = error(of: outcome) as? HTTPClientError else {
            return XCTFail("expected malformedResponse, got \(String(describing: error(of: outcome)))")
        }
        XCTAssertFalse(channel.isActive)
    }

    func testDeclaredLengthOverTheLimitFailsBeforeTheBody() throws {
        try completeHandshake()
        let outcome = try send(maxBodySize: 10)
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n")
        XCTAssertEqual(error(of: outcome) as? HTTPClientError, .responseTooLarge(limit: 10))
        XCTAssertFalse(channel.isActive)
    }

    func testChunkedBodyOverTheLimitFails() throws {
        try completeHandshake()
        let outcome = try send(maxBodySize: 4)
        try feed("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n3\r\ndef\r\n")
        XCTAssertEqual(error(of: outcome) as? HTTPClientError, .responseTooLarge(limit: 4))
    }

    func testCloseInTheMiddleOfTheBodyIsClosedEarly() throws {
        try completeHandshake()
        let outcome = try send()
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        channel.pipeline.fireChannelInactive()
        XCTAssertEqual(error(of: outcome) as? HTTPClientError, .connectionClosedEarly)
    }

    /// A body delimited by the end of the connection is complete only when the server ended its TLS session
    /// (close_notify); a ragged end may be a truncation.
    func testABodyDelimitedByACleanEndIsComplete() throws {
        try completeHandshake()
        let clean = try send()
        try feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"all\":1}")
        channel.pipeline.fireChannelInactive()
        XCTAssertEqual(try clean.wait().response.body, Array("{\"all\":1}".utf8))
    }

    func testABodyDelimitedByARaggedEndIsClosedEarly() throws {
        try completeHandshake()
        let ragged = try send()
        try feed("HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n{\"all\"")
        channel.pipeline.fireUserInboundEventTriggered(TLSUncleanShutdown())
        channel.pipeline.fireChannelInactive()
        XCTAssertEqual(error(of: ragged) as? HTTPClientError, .connectionClosedEarly)
    }

    func testDeadlineFailsTheCallAndClosesTheConnection() throws {
        try completeHandshake()
        let outcome = try send(deadline: loop.now + .milliseconds(100))
        loop.advanceTime(by: .milliseconds(99))
        XCTAssertTrue(channel.isActive)
        loop.advanceTime(by: .milliseconds(1))
        XCTAssertEqual(error(of: outcome) as? HTTPClientError, .timeout)
        XCTAssertFalse(channel.isActive)
    }

    func testTLSErrorFailsTheHandshake() throws {
        channel.pipeline.fireErrorCaught(TLSError.handshakeFailed(reasons: ["x"], verifyError: "hostname mismatch"))
        XCTAssertThrowsError(try established.futureResult.wait()) { error in
            XCTAssertEqual(error as? HTTPClientError, .tls(.handshakeFailed(reasons: ["x"], verifyError: "hostname mismatch")))
        }
    }

    func testHandshakeDeadline() throws {
        handler.handshakeDeadlinePassed()
        XCTAssertThrowsError(try established.futureResult.wait()) { XCTAssertEqual($0 as? HTTPClientError, .timeout) }
        XCTAssertFalse(channel.isActive)
    }

    func testRequestBeforeTheHandshakeOrAfterCloseIsStale() throws {
        let promise = loop.makePromise(of: HTTPClientConnectionHandler.Outcome.self)
        handler.execute(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: "/"), body: ByteBuffer(), deadline: .distantFuture, maxBodySize: 1, promise: promise)
        XCTAssertThrowsError(try promise.futureResult.wait()) { XCTAssertTrue($0 is HTTPClientConnection.Stale) }
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self))
    }

    func testUnsolicitedResponseClosesTheIdleConnection() throws {
        try completeHandshake()
        try feed("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        XCTAssertFalse(channel.isActive)
    }

    func testIdleConnectionClosesAfterTheIdleTimeout() throws {
        try completeHandshake()
        loop.advanceTime(by: .seconds(59))
        XCTAssertTrue(handler.isIdle)
        loop.advanceTime(by: .seconds(1))
        XCTAssertFalse(channel.isActive)
    }
}
