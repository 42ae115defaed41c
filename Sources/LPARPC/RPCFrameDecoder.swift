import NIOCore

/// Splits a byte stream into ``RPCFrame``s (see ``RPCFrame`` for the format).
///
/// The length field is checked against ``maxFrameLength`` as soon as its four bytes have arrived,
/// so an oversized frame is refused before any of its body is waited for or buffered. Every
/// violation throws an ``RPCFrameError``; a stream that ends inside a frame throws
/// ``RPCFrameError/truncated(bufferedBytes:)``. Use it through `ByteToMessageHandler`, which runs
/// it on the channel's event loop.
public struct RPCFrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = RPCFrame

    /// The default limit on a frame's length field: 4 MiB and a little room for the frame's header.
    public static let defaultMaxFrameLength: UInt32 = 4 * 1024 * 1024 + 1024

    /// The largest length field accepted.
    public let maxFrameLength: UInt32

    public init(maxFrameLength: UInt32 = RPCFrameDecoder.defaultMaxFrameLength) {
        self.maxFrameLength = maxFrameLength
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try decodeFrame(from: &buffer) else { return .needMoreData }
        context.fireChannelRead(Self.wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while let frame = try decodeFrame(from: &buffer) {
            context.fireChannelRead(Self.wrapInboundOut(frame))
        }
        if buffer.readableBytes > 0 {
            let bytes = buffer.readableBytes
            buffer.moveReaderIndex(forwardBy: bytes)
            throw RPCFrameError.truncated(bufferedBytes: bytes)
        }
        return .needMoreData
    }

    /// Decodes one frame from the front of `buffer`, consuming it; nil (consuming nothing) when the
    /// frame is not complete yet.
    public func decodeFrame(from buffer: inout ByteBuffer) throws -> RPCFrame? {
        guard let length = buffer.getInteger(at: buffer.readerIndex, as: UInt32.self) else { return nil }
        guard length <= maxFrameLength else { throw RPCFrameError.frameTooLarge(length: length, limit: maxFrameLength) }
        guard length >= UInt32(RPCFrame.headerSize) else { throw RPCFrameError.frameTooShort(length: length) }
        guard buffer.readableBytes >= RPCFrame.lengthFieldSize + Int(length) else { return nil }

        buffer.moveReaderIndex(forwardBy: RPCFrame.lengthFieldSize)
        let rawKind: UInt8 = buffer.readInteger()!
        let streamID: UInt32 = buffer.readInteger()!
        var payload = buffer.readSlice(length: Int(length) - RPCFrame.headerSize)!
        guard let kind = RPCFrame.Kind(rawValue: rawKind) else { throw RPCFrameError.unknownKind(rawKind) }
        guard kind.isConnectionLevel == (streamID == 0) else {
            throw RPCFrameError.invalidStreamID(kind: kind, streamID: streamID)
        }
        return RPCFrame(streamID: streamID, payload: try Self.decodePayload(kind, &payload))
    }

    private static func decodePayload(_ kind: RPCFrame.Kind, _ payload: inout ByteBuffer) throws -> RPCFrame.Payload {
        func malformed(_ reason: String) -> RPCFrameError { .malformed(kind: kind, reason: reason) }
        func integer<T: FixedWidthInteger>(_ what: String, as: T.Type = T.self) throws -> T {
            guard let value = payload.readInteger(as: T.self) else { throw malformed("payload ends before \(what)") }
            return value
        }
        func string(_ what: String) throws -> String {
            let length: UInt16 = try integer("\(what) length")
            guard let view = payload.readSlice(length: Int(length)) else { throw malformed("payload ends inside \(what)") }
            let bytes = view.readableBytesView
            let text = String(decoding: bytes, as: UTF8.self)
            guard text.utf8.elementsEqual(bytes) else { throw malformed("\(what) is not valid UTF-8") }
            return text
        }
        func requireEnd() throws {
            guard payload.readableBytes == 0 else { throw malformed("\(payload.readableBytes) unexpected bytes after the payload") }
        }

        switch kind {
        case .hello:
            let version: UInt16 = try integer("protocol version")
            let maxFrameLength: UInt32 = try integer("max frame length")
            let maxConcurrentCalls: UInt32 = try integer("max concurrent calls")
            let nodeID = try string("node id")
            // Fields appended by later protocol versions are ignored.
            return .hello(RPCHello(protocolVersion: version, nodeID: nodeID, maxFrameLength: maxFrameLength, maxConcurrentCalls: maxConcurrentCalls))
        case .request:
            let method = try string("method")
            guard !method.isEmpty else { throw malformed("empty method name") }
            let deadline: UInt32 = try integer("deadline")
            return .request(method: method, deadlineMilliseconds: deadline, body: payload)
        case .response:
            let status: UInt16 = try integer("status")
            let message = try string("message")
            return .response(status: RPCStatus(wireValue: status), message: message, body: payload)
        case .cancel:
            try requireEnd()
            return .cancel
        case .ping:
            let data: UInt64 = try integer("ping data")
            try requireEnd()
            return .ping(data)
        case .pong:
            let data: UInt64 = try integer("pong data")
            try requireEnd()
            return .pong(data)
        case .goAway:
            let last: UInt32 = try integer("last stream id")
            let status: UInt16 = try integer("status")
            let message = try string("message")
            try requireEnd()
            return .goAway(lastStreamID: last, status: RPCStatus(wireValue: status), message: message)
        }
    }
}
