/// Which side of the TCP connection a peer is; it decides the parity of the stream ids it opens.
public enum RPCConnectionRole: Sendable, Hashable {
    /// Opened the TCP connection (the client); numbers its calls 1, 3, 5, ….
    case initiator
    /// Accepted the TCP connection (the server); numbers its calls 2, 4, 6, ….
    case acceptor

    /// The id of the first call this side opens.
    public var firstStreamID: UInt32 {
        switch self {
        case .initiator: return 1
        case .acceptor: return 2
        }
    }

    /// Whether `streamID` is one this side opens.
    public func opens(_ streamID: UInt32) -> Bool {
        streamID != 0 && (streamID % 2 == 1) == (self == .initiator)
    }
}
