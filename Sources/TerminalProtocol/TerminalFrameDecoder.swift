import NIOCore

/// Splits an inbound byte stream into ``TerminalFrame``s: use as
/// `ByteToMessageHandler(TerminalFrameDecoder())`.
///
/// Runs on the channel's event loop. Each complete frame is decoded straight from the cumulation
/// buffer (no copy of the body) and fired as one `TerminalFrame`. The length prefix is judged as
/// soon as its last byte arrives: a zero length, a prefix longer than three bytes, or a length over
/// ``TerminalProtocolLimits/maximumFrameLength`` fails the stream at once, before any of the body is
/// buffered. At end of input, bytes of an unfinished frame fail it with
/// ``TerminalProtocolError/truncatedFrame(expected:available:)``.
///
/// Every failure is a ``TerminalProtocolError`` fired through `errorCaught`; the stream cannot be
/// resynchronised after one, so the owner answers with ``ReasonCode/protocolViolation`` and closes.
///
/// The decoder keeps no state between calls: the prefix (at most three bytes) is re-read each time,
/// which is cheaper than remembering it.
public struct TerminalFrameDecoder: ByteToMessageDecoder, Sendable {
    public typealias InboundOut = TerminalFrame

    public let limits: TerminalProtocolLimits

    public init(limits: TerminalProtocolLimits = .default) {
        self.limits = limits
    }

    /// The default limits with a different largest frame body.
    ///
    /// - Precondition: `maximumFrameLength` is in `1...TerminalProtocolLimits.hardMaximumFrameLength`.
    public init(maximumFrameLength: Int) {
        self.init(limits: TerminalProtocolLimits(maximumFrameLength: maximumFrameLength))
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let frame = try TerminalFrameCodec.readFrame(from: &buffer, limits: limits) else {
            return .needMoreData
        }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(
        context: ChannelHandlerContext,
        buffer: inout ByteBuffer,
        seenEOF: Bool
    ) throws -> DecodingState {
        if try decode(context: context, buffer: &buffer) == .continue {
            return .continue
        }
        if seenEOF, buffer.readableBytes > 0 {
            throw TerminalProtocolError.truncatedFrame(expected: expectedFrameSize(buffer), available: buffer.readableBytes)
        }
        return .needMoreData
    }

    /// Prefix plus body of the frame at the front of `buffer`, if its prefix is complete.
    private func expectedFrameSize(_ buffer: ByteBuffer) -> Int? {
        if case .value(let length, let prefixByteCount) = LengthPrefix.decode(from: buffer) {
            return prefixByteCount + length
        }
        return nil
    }
}
