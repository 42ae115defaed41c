import NIOCore

/// Writes outbound ``TerminalFrame``s as length-prefixed frames: use as
/// `MessageToByteHandler(TerminalFrameEncoder())`.
///
/// Runs on the channel's event loop. A frame whose body exceeds ``maximumFrameLength`` writes
/// nothing, fails its write promise with ``TerminalProtocolError/frameTooLarge(length:limit:)`` and
/// fires that error through `errorCaught`; NIO's `MessageToByteHandler` then fails every later write
/// with it too, so the connection is finished. Senders that may exceed a peer's limit (large APDU
/// batches) size their frames before writing.
public struct TerminalFrameEncoder: MessageToByteEncoder, Sendable {
    public typealias OutboundIn = TerminalFrame

    /// The largest body this encoder writes: the peer's limit. Defaults to the protocol default
    /// (``TerminalProtocolLimits/default``), which every peer accepts.
    public let maximumFrameLength: Int

    /// - Precondition: `maximumFrameLength` is in `1...TerminalProtocolLimits.hardMaximumFrameLength`.
    public init(maximumFrameLength: Int = TerminalProtocolLimits.default.maximumFrameLength) {
        precondition(
            (1...TerminalProtocolLimits.hardMaximumFrameLength).contains(maximumFrameLength),
            "maximumFrameLength \(maximumFrameLength) is outside 1...\(TerminalProtocolLimits.hardMaximumFrameLength)"
        )
        self.maximumFrameLength = maximumFrameLength
    }

    public func encode(data: TerminalFrame, out: inout ByteBuffer) throws {
        try TerminalFrameCodec.encode(data, into: &out, maximumFrameLength: maximumFrameLength)
    }
}
