import NIOCore

/// One frame of the edge–core RPC protocol.
///
/// Wire format (all integers big-endian):
///
/// ```
/// frame   = u32 length | u8 kind | u32 stream id | payload      length counts kind, id and payload
///
/// kind 1 HELLO     stream 0    u16 protocol version | u32 max frame length | u32 max concurrent calls
///                              | u16 node id length | node id UTF-8 | (later versions may append fields)
/// kind 2 REQUEST   stream ≠ 0  u16 method length | method UTF-8 | u32 deadline (ms remaining, 0 = none) | body
/// kind 3 RESPONSE  stream ≠ 0  u16 status | u16 message length | message UTF-8 | body
/// kind 4 CANCEL    stream ≠ 0  (empty)
/// kind 5 PING      stream 0    u64 opaque data
/// kind 6 PONG      stream 0    u64 opaque data of the PING answered
/// kind 7 GOAWAY    stream 0    u32 last stream id | u16 status | u16 message length | message UTF-8
/// ```
///
/// A call is one REQUEST and one RESPONSE on the same stream id. The side that opened the TCP
/// connection numbers its calls 1, 3, 5, …; the other side 2, 4, 6, …; ids only grow. `body` is a
/// serialized protobuf message and runs to the end of the frame.
public struct RPCFrame: Sendable, Hashable {
    /// The `kind` byte.
    public enum Kind: UInt8, Sendable, Hashable, CaseIterable {
        case hello = 1
        case request = 2
        case response = 3
        case cancel = 4
        case ping = 5
        case pong = 6
        case goAway = 7

        /// Whether frames of this kind belong to the connection (stream id 0) rather than to a call.
        public var isConnectionLevel: Bool {
            switch self {
            case .hello, .ping, .pong, .goAway: return true
            case .request, .response, .cancel: return false
            }
        }
    }

    /// The contents of a frame, by kind.
    public enum Payload: Sendable, Hashable {
        case hello(RPCHello)
        /// `deadlineMilliseconds` is the time remaining when the frame was written; 0 = no deadline.
        case request(method: String, deadlineMilliseconds: UInt32, body: ByteBuffer)
        case response(status: RPCStatus, message: String, body: ByteBuffer)
        case cancel
        case ping(UInt64)
        case pong(UInt64)
        /// The sender stops: it starts no new calls and serves none of the receiver's calls above
        /// `lastStreamID`. Calls at or below it are completed.
        case goAway(lastStreamID: UInt32, status: RPCStatus, message: String)

        public var kind: Kind {
            switch self {
            case .hello: return .hello
            case .request: return .request
            case .response: return .response
            case .cancel: return .cancel
            case .ping: return .ping
            case .pong: return .pong
            case .goAway: return .goAway
            }
        }
    }

    /// Bytes of the length field.
    public static let lengthFieldSize = 4
    /// Bytes the length field counts before the payload: kind and stream id.
    public static let headerSize = 5

    public var streamID: UInt32
    public var payload: Payload

    public init(streamID: UInt32, payload: Payload) {
        self.streamID = streamID
        self.payload = payload
    }

    public var kind: Kind { payload.kind }

    /// The value of this frame's length field once encoded.
    public var encodedLength: Int {
        let payloadLength: Int
        switch payload {
        case .hello(let hello):
            payloadLength = 2 + 4 + 4 + 2 + hello.nodeID.utf8.count
        case .request(let method, _, let body):
            payloadLength = 2 + method.utf8.count + 4 + body.readableBytes
        case .response(_, let message, let body):
            payloadLength = 2 + 2 + message.utf8.count + body.readableBytes
        case .cancel:
            payloadLength = 0
        case .ping, .pong:
            payloadLength = 8
        case .goAway(_, _, let message):
            payloadLength = 4 + 2 + 2 + message.utf8.count
        }
        return Self.headerSize + payloadLength
    }
}

extension RPCFrame {
    static func hello(_ hello: RPCHello) -> RPCFrame {
        RPCFrame(streamID: 0, payload: .hello(hello))
    }

    static func ping(_ data: UInt64) -> RPCFrame {
        RPCFrame(streamID: 0, payload: .ping(data))
    }

    static func pong(_ data: UInt64) -> RPCFrame {
        RPCFrame(streamID: 0, payload: .pong(data))
    }

    static func goAway(lastStreamID: UInt32, status: RPCStatus, message: String) -> RPCFrame {
        RPCFrame(streamID: 0, payload: .goAway(lastStreamID: lastStreamID, status: status, message: message))
    }

    static func cancel(_ streamID: UInt32) -> RPCFrame {
        RPCFrame(streamID: streamID, payload: .cancel)
    }
}
