import LPATLS
import NIOCore

/// Who is at the other end of a connection, as established by TLS and the HELLO exchange.
public struct RPCPeer: Sendable, Hashable {
    /// The node id from the peer's HELLO. Self-declared: trust it only as far as ``tls`` backs it.
    public var nodeID: String
    /// The peer's TLS identity (certificate subject and DER), or nil on a plaintext connection.
    public var tls: TLSHandshakeCompleted?
    /// The peer's socket address, when the transport has one.
    public var remoteAddress: SocketAddress?

    public init(nodeID: String, tls: TLSHandshakeCompleted? = nil, remoteAddress: SocketAddress? = nil) {
        self.nodeID = nodeID
        self.tls = tls
        self.remoteAddress = remoteAddress
    }
}
