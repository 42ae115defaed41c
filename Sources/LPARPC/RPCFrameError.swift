/// Why a byte stream is not a valid sequence of RPC frames. Any of these ends the connection: the
/// receiver sends GOAWAY with ``RPCStatus/internal`` and the description, then closes.
public enum RPCFrameError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The length field exceeds the receiver's limit; detected before any of the body is buffered.
    case frameTooLarge(length: UInt32, limit: UInt32)
    /// The length field is smaller than the kind byte and stream id.
    case frameTooShort(length: UInt32)
    /// The kind byte names no frame kind of this protocol version.
    case unknownKind(UInt8)
    /// A connection-level frame on a call's stream, or a call frame on stream 0.
    case invalidStreamID(kind: RPCFrame.Kind, streamID: UInt32)
    /// The payload does not match its kind's layout.
    case malformed(kind: RPCFrame.Kind, reason: String)
    /// The stream ended inside a frame.
    case truncated(bufferedBytes: Int)
    /// A frame to be sent cannot be encoded (a string field longer than its length field holds).
    case unencodable(kind: RPCFrame.Kind, reason: String)

    /// A stable code for logs and metrics.
    public var code: String {
        switch self {
        case .frameTooLarge: return "RPC_FRAME_TOO_LARGE"
        case .frameTooShort: return "RPC_FRAME_TOO_SHORT"
        case .unknownKind: return "RPC_FRAME_UNKNOWN_KIND"
        case .invalidStreamID: return "RPC_FRAME_INVALID_STREAM_ID"
        case .malformed: return "RPC_FRAME_MALFORMED"
        case .truncated: return "RPC_FRAME_TRUNCATED"
        case .unencodable: return "RPC_FRAME_UNENCODABLE"
        }
    }

    public var description: String {
        switch self {
        case .frameTooLarge(let length, let limit):
            return "\(code): frame length \(length) exceeds the limit of \(limit) bytes"
        case .frameTooShort(let length):
            return "\(code): frame length \(length) is below the \(RPCFrame.headerSize)-byte header"
        case .unknownKind(let kind):
            return "\(code): unknown frame kind \(kind)"
        case .invalidStreamID(let kind, let streamID):
            return "\(code): \(kind) frame on stream \(streamID)"
        case .malformed(let kind, let reason):
            return "\(code): \(kind) frame: \(reason)"
        case .truncated(let bytes):
            return "\(code): connection ended inside a frame (\(bytes) bytes buffered)"
        case .unencodable(let kind, let reason):
            return "\(code): \(kind) frame: \(reason)"
        }
    }
}
