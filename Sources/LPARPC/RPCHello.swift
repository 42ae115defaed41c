/// What each side announces in its HELLO frame: the protocol version it speaks, its node id and the
/// limits the peer must respect when sending to it.
public struct RPCHello: Sendable, Hashable {
    /// The protocol version this implementation speaks.
    public static let currentProtocolVersion: UInt16 = 1

    /// Protocol version of the sender.
    public var protocolVersion: UInt16
    /// Stable name of the sending process (for example `edge-1`), for logs and routing; at most
    /// 255 UTF-8 bytes.
    public var nodeID: String
    /// The largest frame (the value of its length field) the sender accepts.
    public var maxFrameLength: UInt32
    /// How many calls the sender serves at once; the peer keeps no more than this in flight to it.
    public var maxConcurrentCalls: UInt32

    public init(protocolVersion: UInt16 = RPCHello.currentProtocolVersion, nodeID: String, maxFrameLength: UInt32, maxConcurrentCalls: UInt32) {
        self.protocolVersion = protocolVersion
        self.nodeID = nodeID
        self.maxFrameLength = maxFrameLength
        self.maxConcurrentCalls = maxConcurrentCalls
    }
}
