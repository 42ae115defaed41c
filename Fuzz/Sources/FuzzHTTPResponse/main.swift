// The HTTP/1.1 response path of the HTTPS client (ES9+/ES2+, webhooks): bytes from a server through the pipeline
// `HTTPClientConnection` builds after TLS — NIOHTTP1's response decoder and `HTTPClientConnectionHandler` — in an
// `EmbeddedChannel`.
//
// Input: byte 0 holds options (bits 0-3: where the stream is cut in two reads; bit 4: a second request is sent
// when the connection is reusable after the first response; bits 5-7: the largest accepted body, 2^(n+4) bytes);
// the rest is what the server sends. Every request's promise must be completed exactly once, with a response no
// larger than the limit or with an `HTTPClientError`.
import FuzzSupport
import LPATLS
@testable import LPAHTTP
import NIOCore
import NIOEmbedded
import NIOHTTP1

private let handshake = TLSHandshakeCompleted(
    protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", group: "prime256v1", resumed: false,
    peerSubject: [], peerCertificateDER: nil, serverName: "smdp.example")

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHTTPResponse(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let options = input[0]
    let stream = input[1...]
    let cut = min(stream.count, Int(options & 0x0F) * 8)
    let maxBodySize = 1 << (Int(options >> 5) + 4)

    let channel = EmbeddedChannel()
    let loop = channel.embeddedEventLoop
    let established = loop.makePromise(of: Void.self)
    let handler = HTTPClientConnectionHandler(established: established, idleTimeout: .seconds(60))
    do {
        try channel.pipeline.syncOperations.addHTTPClientHandlers(leftOverBytesStrategy: .fireError)
        try channel.pipeline.syncOperations.addHandler(handler)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 443)).wait()
    } catch {
        fatalError("pipeline: \(error)")
    }
    channel.pipeline.fireUserInboundEventTriggered(handshake)

    var outcomes: [Result<HTTPClientConnectionHandler.Outcome, any Error>] = []
    func send() -> EventLoopFuture<HTTPClientConnectionHandler.Outcome> {
        let promise = loop.makePromise(of: HTTPClientConnectionHandler.Outcome.self)
        var head = HTTPRequestHead(version: .http1_1, method: .POST, uri: "/gsma/rsp2/es9plus/initiateAuthentication")
        head.headers.add(name: "Host", value: "smdp.example")
        handler.execute(
            head: head, body: ByteBuffer(string: "{}"), deadline: .now() + .seconds(30), maxBodySize: maxBodySize,
            promise: promise)
        promise.futureResult.whenComplete { outcomes.append($0) }
        return promise.futureResult
    }

    let first = send()
    var second: EventLoopFuture<HTTPClientConnectionHandler.Outcome>?
    for chunk in [stream.prefix(cut), stream.dropFirst(cut)] where channel.isActive {
        do {
            try channel.writeInbound(ByteBuffer(bytes: chunk))
        } catch {
            // Decoder errors reach the handler through errorCaught too; EmbeddedChannel rethrows them.
        }
        if second == nil, options & 0x10 != 0, handler.isIdle {
            second = send()
        }
    }
    _ = try? channel.finish()
    loop.run()

    let expected = second == nil ? 1 : 2
    guard outcomes.count == expected else {
        fatalError("\(expected) requests, \(outcomes.count) completions")
    }
    _ = first
    for outcome in outcomes {
        switch outcome {
        case .success(let result):
            precondition(result.response.body.count <= maxBodySize, "a body over the limit was accepted")
        case .failure(let error):
            precondition(error is HTTPClientError || error is HTTPClientConnection.Stale, "unexpected error \(type(of: error))")
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// Responses as SM-DP+s and webhook receivers send them: sized, chunked, keep-alive and close-delimited, 204, and a
/// 100 Continue before the answer.
private func seeds() throws -> [[UInt8]] {
    let json = #"{"header":{"functionExecutionStatus":{"status":"Executed-Success"}},"transactionId":"0A0B"}"#
    let responses = [
        (0xE0, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Admin-Protocol: gsma/rsp/v2.2.0\r\nContent-Length: \(json.utf8.count)\r\n\r\n\(json)"),
        (0xF3, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}HTTP/1.1 204 No Content\r\n\r\n"),
        (0xE5, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\n{\"a\"\r\n3\r\n:1}\r\n0\r\n\r\n"),
        (0x40, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 500 Internal Server Error\r\nContent-Length: 5\r\nConnection: close\r\n\r\nerror"),
        (0xE2, "HTTP/1.0 200 OK\r\n\r\nuntil the connection closes"),
    ]
    return responses.map { [UInt8($0.0)] + Array($0.1.utf8) }
}
