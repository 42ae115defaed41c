import NIOCore

/// Writes ``RPCFrame``s in the wire format documented on ``RPCFrame``.
///
/// It checks only what the format itself limits (string fields fit their `u16` length and no frame
/// exceeds `u32`); respecting the peer's frame limit is the caller's job (``RPCConnectionHandler``
/// refuses such calls before they are written). Use it through `MessageToByteHandler`, which runs it
/// on the channel's event loop.
public struct RPCFrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = RPCFrame

    public init() {}

    public func encode(data frame: RPCFrame, out: inout ByteBuffer) throws {
        try Self.encode(frame, into: &out)
    }

    /// Appends `frame` to `out`.
    public static func encode(_ frame: RPCFrame, into out: inout ByteBuffer) throws {
        let length = frame.encodedLength
        guard length <= Int(UInt32.max) else {
            throw RPCFrameError.unencodable(kind: frame.kind, reason: "frame of \(length) bytes exceeds the u32 length field")
        }
        switch frame.payload {
        case .hello(let hello): try checkString(hello.nodeID, "node id", frame.kind)
        case .request(let method, _, _): try checkString(method, "method", frame.kind)
        case .response(_, let message, _), .goAway(_, _, let message): try checkString(message, "message", frame.kind)
        case .cancel, .ping, .pong: break
        }
        out.reserveCapacity(minimumWritableBytes: RPCFrame.lengthFieldSize + length)
        out.writeInteger(UInt32(length))
        out.writeInteger(frame.kind.rawValue)
        out.writeInteger(frame.streamID)
        switch frame.payload {
        case .hello(let hello):
            out.writeInteger(hello.protocolVersion)
            out.writeInteger(hello.maxFrameLength)
            out.writeInteger(hello.maxConcurrentCalls)
            writeString(hello.nodeID, &out)
        case .request(let method, let deadline, var body):
            writeString(method, &out)
            out.writeInteger(deadline)
            out.writeBuffer(&body)
        case .response(let status, let message, var body):
            out.writeInteger(status.rawValue)
            writeString(message, &out)
            out.writeBuffer(&body)
        case .cancel:
            break
        case .ping(let data), .pong(let data):
            out.writeInteger(data)
        case .goAway(let last, let status, let message):
            out.writeInteger(last)
            out.writeInteger(status.rawValue)
            writeString(message, &out)
        }
    }

    private static func checkString(_ string: String, _ what: String, _ kind: RPCFrame.Kind) throws {
        let count = string.utf8.count
        guard count <= Int(UInt16.max) else {
            throw RPCFrameError.unencodable(kind: kind, reason: "\(what) of \(count) bytes exceeds 65,535")
        }
    }

    private static func writeString(_ string: String, _ out: inout ByteBuffer) {
        out.writeInteger(UInt16(truncatingIfNeeded: string.utf8.count))
        out.writeString(string)
    }
}
