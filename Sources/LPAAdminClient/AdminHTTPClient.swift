import LPATLS
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 client for the admin API, over HTTPS (LPATLS, when `tls` is set) or plain
/// TCP (loopback): one connection per call, request bodies sent whole or streamed with chunked
/// encoding.
public struct AdminHTTPClient: Sendable {
    public struct Response: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: [UInt8]

        public var text: String { String(decoding: body, as: UTF8.self) }
    }

    public var host: String
    public var port: Int
    /// Sent as `Authorization: Bearer …` when set.
    public var token: String?
    /// HTTPS: a client context that verifies the server (see ``tlsContext(trustRoots:certificate:privateKey:)``); nil: plain HTTP.
    public var tls: TLSContext?

    public init(host: String, port: Int, token: String?, tls: TLSContext? = nil) {
        self.host = host
        self.port = port
        self.token = token
        self.tls = tls
    }

    /// A client TLS context trusting the CAs in the PEM file `trustRoots` (nil: OpenSSL's default
    /// trust store), optionally presenting a client certificate.
    public static func tlsContext(trustRoots: String?, certificate: String? = nil, privateKey: String? = nil) throws -> TLSContext {
        var configuration = TLSConfiguration.client(trustRoots: trustRoots.map { .file($0) },
                                                    certificateChain: certificate.map { .file($0) }, privateKey: privateKey.map { .file($0) })
        configuration.sessionResumption = false
        return try TLSContext(configuration: configuration)
    }

    /// One request with a body held in memory.
    public func send(_ method: HTTPMethod, _ path: String, contentType: String? = nil, body: [UInt8]? = nil,
                     headers extra: [(String, String)] = []) async throws -> Response {
        try await stream(method, path, contentType: contentType, headers: extra, chunked: false, body: body.map { bytes in
            AsyncStream<ByteBuffer> { c in
                c.yield(ByteBuffer(bytes: bytes))
                c.finish()
            }
        }, length: body?.count)
    }

    /// One request whose body comes from `body` chunk by chunk (chunked transfer encoding).
    public func stream<Body: AsyncSequence & Sendable>(_ method: HTTPMethod, _ path: String, contentType: String?, body: Body,
                                                       headers extra: [(String, String)] = []) async throws -> Response
        where Body.Element == ByteBuffer {
        try await stream(method, path, contentType: contentType, headers: extra, chunked: true, body: body, length: nil)
    }

    private func stream<Body: AsyncSequence & Sendable>(_ method: HTTPMethod, _ path: String, contentType: String?, headers extra: [(String, String)],
                                                        chunked: Bool, body: Body?, length: Int?) async throws -> Response
        where Body.Element == ByteBuffer {
        let (tls, host) = (self.tls, self.host)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(10))
            .connect(host: host, port: port) { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try channel.pipeline.syncOperations.addHandler(TLSHandler(context: tls, serverHostname: host)) }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    return try NIOAsyncChannel<HTTPClientResponsePart, HTTPClientRequestPart>(wrappingChannelSynchronously: channel)
                }
            }
        var headers = HTTPHeaders([("Host", "\(host):\(port)"), ("Connection", "close")])
        if let token { headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let contentType { headers.add(name: "Content-Type", value: contentType) }
        if chunked { headers.add(name: "Transfer-Encoding", value: "chunked") } else { headers.add(name: "Content-Length", value: "\(length ?? 0)") }
        for (name, value) in extra { headers.add(name: name, value: value) }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: path, headers: headers)
        return try await channel.executeThenClose { inbound, outbound in
            // The server may answer (and close) before the whole body is sent, e.g. 401: read its answer anyway.
            do {
                try await outbound.write(.head(head))
                if let body {
                    for try await chunk in body where chunk.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(chunk))) }
                }
                try await outbound.write(.end(nil))
            } catch {}
            var status = 0
            var responseHeaders: [(String, String)] = []
            var bytes: [UInt8] = []
            for try await part in inbound {
                switch part {
                case .head(let h):
                    status = Int(h.status.code)
                    responseHeaders = h.headers.map { ($0.name, $0.value) }
                case .body(var buffer):
                    bytes += buffer.readBytes(length: buffer.readableBytes) ?? []
                case .end:
                    return Response(status: status, headers: responseHeaders, body: bytes)
                }
            }
            throw AdminHTTPClientError(detail: status == 0 ? "the server closed the connection without answering" : "the answer was cut short")
        }
    }
}

public struct AdminHTTPClientError: Error, CustomStringConvertible {
    public var detail: String
    public var description: String { detail }
}
