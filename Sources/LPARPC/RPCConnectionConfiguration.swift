import NIOCore

/// Settings for one RPC connection, on either side. The defaults suit one edge–core link on one
/// machine; every value can be overridden.
public struct RPCConnectionConfiguration: Sendable, Hashable {
    /// How a connection notices a peer that stopped answering.
    public struct Keepalive: Sendable, Hashable {
        /// A PING is sent when nothing arrived from the peer for this long.
        public var interval: TimeAmount
        /// The connection is closed when nothing arrives this long after a PING; every pending call
        /// then fails with ``RPCStatus/unavailable``.
        public var timeout: TimeAmount

        public init(interval: TimeAmount = .seconds(10), timeout: TimeAmount = .seconds(5)) {
            self.interval = interval
            self.timeout = timeout
        }
    }

    /// This process's node id, sent in HELLO (for example `edge-1`, `core-a`); at most 255 UTF-8 bytes.
    public var nodeID: String
    /// The largest frame accepted from the peer (its length field); announced in HELLO.
    public var maxFrameLength: UInt32 = RPCFrameDecoder.defaultMaxFrameLength
    /// How many of the peer's calls are served at once; announced in HELLO. A call beyond it is
    /// answered with ``RPCStatus/resourceExhausted`` at once, without running.
    public var maxConcurrentIncomingCalls: Int = 10_000
    /// How many of this side's calls may be in flight at once (further bounded by the peer's
    /// announced limit). A call beyond it fails with ``RPCStatus/resourceExhausted`` at once.
    public var maxConcurrentOutgoingCalls: Int = 10_000
    /// Keepalive pings; nil disables them.
    public var keepalive: Keepalive? = Keepalive()
    /// Time allowed for the peer's HELLO after the connection became active (TLS included).
    public var helloTimeout: TimeAmount = .seconds(10)
    /// After a graceful close starts (GOAWAY), how long in-flight calls may take before the
    /// connection is closed anyway.
    public var drainTimeout: TimeAmount = .seconds(30)

    public init(nodeID: String) {
        self.nodeID = nodeID
    }

    /// The HELLO this configuration announces.
    public var hello: RPCHello {
        RPCHello(
            nodeID: nodeID, maxFrameLength: maxFrameLength,
            maxConcurrentCalls: UInt32(clamping: maxConcurrentIncomingCalls))
    }
}
