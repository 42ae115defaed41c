import LPATLS
import NIOCore
import NIOHTTP1

/// A complete request received by an ``HTTPSServer``: head and whole body.
public struct HTTPServerRequest: Sendable {
    public var method: HTTPMethod
    /// The request target as sent: path and query.
    public var uri: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// The client's address.
    public var remoteAddress: SocketAddress?
    /// The TLS session's details (peer certificate subject when the client sent one); nil on
    /// a plaintext server.
    public var tls: TLSHandshakeCompleted?

    public init(method: HTTPMethod, uri: String, headers: HTTPHeaders = [:], body: [UInt8] = [], remoteAddress: SocketAddress? = nil, tls: TLSHandshakeCompleted? = nil) {
        self.method = method
        self.uri = uri
        self.headers = headers
        self.body = body
        self.remoteAddress = remoteAddress
        self.tls = tls
    }

    /// The path part of ``uri``, without the query.
    public var path: String {
        uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? uri
    }
}
