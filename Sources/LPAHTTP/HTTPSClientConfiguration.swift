import LPATLS
import NIOCore

/// Settings of an ``HTTPSClient``. The server certificate is always verified against
/// ``trustRoots``, with the request's host checked against its names or IP addresses; there is
/// no setting that turns this off.
public struct HTTPSClientConfiguration: Sendable {
    /// CA certificates that anchor server verification.
    public var trustRoots: TLSConfiguration.PEMSource
    /// Client certificate chain (leaf first) presented when the server asks, with ``privateKey``.
    public var certificateChain: TLSConfiguration.PEMSource?
    public var privateKey: TLSConfiguration.PEMSource?
    /// Lowest TLS version offered.
    public var minimumTLSVersion: TLSConfiguration.ProtocolVersion = .tls12
    /// Open connections (busy or idle) per `host:port`; further calls wait for one to be free.
    public var maxConnectionsPerHost: Int = 8
    /// An idle keep-alive connection is closed after this long without a request.
    public var idleTimeout: TimeAmount = .seconds(60)
    /// Upper bound on opening TCP; the call's own deadline may cut it shorter.
    public var connectTimeout: TimeAmount = .seconds(10)
    /// Deadline of a call that names none: connect, handshake, request and whole response.
    public var requestTimeout: TimeAmount = .seconds(30)
    /// Largest response body accepted, in bytes; larger ones fail the call.
    public var maxResponseBodySize: Int = 4 * 1024 * 1024
    /// Sent as `User-Agent` unless the request sets one; nil sends none.
    public var userAgent: String? = "ServerLPA"

    public init(
        trustRoots: TLSConfiguration.PEMSource,
        certificateChain: TLSConfiguration.PEMSource? = nil,
        privateKey: TLSConfiguration.PEMSource? = nil
    ) {
        self.trustRoots = trustRoots
        self.certificateChain = certificateChain
        self.privateKey = privateKey
    }

    /// The TLS client configuration the connections use: peer verification is always required.
    var tlsConfiguration: TLSConfiguration {
        var c = TLSConfiguration.client(trustRoots: trustRoots, certificateChain: certificateChain, privateKey: privateKey)
        c.peerVerification = .required
        c.minimumVersion = minimumTLSVersion
        c.handshakeTimeout = .zero  // bounded by each call's deadline instead
        return c
    }
}
