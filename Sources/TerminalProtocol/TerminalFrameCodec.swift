import CProtobufC
import CTerminalProto
import NIOCore

/// Encodes and decodes terminal protocol frames through libprotobuf-c and the descriptors generated
/// from `proto/terminal.proto`.
///
/// A frame on the wire is a ``LengthPrefix`` followed by a body: one encoded
/// `serverlpa.terminal.v1.Frame`. ``encode(_:)`` and ``decode(_:limits:)`` deal in bodies;
/// ``encode(_:into:maximumFrameLength:)`` and ``readFrame(from:limits:)`` in whole frames.
///
/// All functions are pure and thread-safe. The C structures live only for the duration of a call,
/// in a per-call arena, and never reach the caller.
public enum TerminalFrameCodec {
    /// The protobuf body of `frame`, without a length prefix.
    ///
    /// Does not validate: a string holding a NUL character is cut short there (see
    /// ``TerminalFrame/validate(limits:)``), and a body over a peer's limit is the caller's to avoid.
    public static func encode(_ frame: TerminalFrame) -> [UInt8] {
        packing(frame) { message, size in
            [UInt8](unsafeUninitializedCapacity: size) { bytes, count in
                count = serverlpa__terminal__v1__frame__pack(message, bytes.baseAddress)
            }
        }
    }

    /// Appends `frame` to `buffer` as a whole frame: the shortest length prefix, then the body.
    ///
    /// - Throws: ``TerminalProtocolError/frameTooLarge(length:limit:)`` when the body exceeds
    ///   `maximumFrameLength` (at most ``TerminalProtocolLimits/hardMaximumFrameLength``); `buffer` is
    ///   then unchanged.
    public static func encode(
        _ frame: TerminalFrame,
        into buffer: inout ByteBuffer,
        maximumFrameLength: Int = TerminalProtocolLimits.hardMaximumFrameLength
    ) throws(TerminalProtocolError) {
        let limit = min(maximumFrameLength, TerminalProtocolLimits.hardMaximumFrameLength)
        try packing(frame) { (message, size) throws(TerminalProtocolError) in
            guard size <= limit else {
                throw .frameTooLarge(length: size, limit: limit)
            }
            LengthPrefix.write(size, to: &buffer)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: size) { out in
                serverlpa__terminal__v1__frame__pack(message, out.baseAddress!.assumingMemoryBound(to: UInt8.self))
            }
        }
    }

    /// Decodes one frame body.
    ///
    /// Checks the body's size against `limits.maximumFrameLength`, the protobuf encoding, that a known
    /// message is set, string encoding (UTF-8, no NUL), channels and status words, then
    /// ``TerminalFrame/validate(limits:)``. Fields unknown to this version inside a known message are
    /// ignored.
    public static func decode(
        _ body: UnsafeRawBufferPointer,
        limits: TerminalProtocolLimits = .default
    ) throws(TerminalProtocolError) -> TerminalFrame {
        guard body.count <= limits.maximumFrameLength else {
            throw .frameTooLarge(length: body.count, limit: limits.maximumFrameLength)
        }
        guard let base = body.baseAddress, body.count > 0 else {
            throw .missingBody
        }
        let frame = try ScratchArena.withArena { (arena) throws(TerminalProtocolError) -> TerminalFrame in
            var allocator = ScratchArena.protobufAllocator(arena)
            // Everything unpacked lives in the arena, which is released as a whole; no *__free_unpacked.
            guard
                let message = serverlpa__terminal__v1__frame__unpack(
                    &allocator,
                    body.count,
                    base.assumingMemoryBound(to: UInt8.self)
                )
            else {
                throw .malformedMessage(detail: "\(body.count) bytes are not a serverlpa.terminal.v1.Frame")
            }
            return try CMessageReader().frame(message)
        }
        try frame.validate(limits: limits)
        return frame
    }

    /// Decodes one frame body held in any byte collection (`[UInt8]`, `ArraySlice<UInt8>`,
    /// `ByteBufferView`); contiguous collections are read in place.
    public static func decode(
        _ body: some Collection<UInt8>,
        limits: TerminalProtocolLimits = .default
    ) throws(TerminalProtocolError) -> TerminalFrame {
        let inPlace = body.withContiguousStorageIfAvailable { bytes in
            Result { () throws(TerminalProtocolError) in try decode(UnsafeRawBufferPointer(bytes), limits: limits) }
        }
        if let inPlace {
            return try inPlace.get()
        }
        return try decode(Array(body), limits: limits)
    }

    /// Reads one whole frame from the front of `buffer`'s readable bytes.
    ///
    /// Returns nil, consuming nothing, while the frame is incomplete. The prefix is checked as soon
    /// as it is complete, so an oversized frame is refused before its body arrives.
    ///
    /// - Throws: ``TerminalProtocolError/malformedLengthPrefix``, ``TerminalProtocolError/emptyFrame``,
    ///   ``TerminalProtocolError/frameTooLarge(length:limit:)``, or any error of ``decode(_:limits:)``;
    ///   `buffer` is then unchanged and the stream cannot be resynchronised.
    public static func readFrame(
        from buffer: inout ByteBuffer,
        limits: TerminalProtocolLimits = .default
    ) throws(TerminalProtocolError) -> TerminalFrame? {
        switch LengthPrefix.decode(from: buffer) {
        case .needMoreData:
            return nil
        case .invalid:
            throw .malformedLengthPrefix
        case .value(let length, let prefixByteCount):
            guard length > 0 else {
                throw .emptyFrame
            }
            guard length <= limits.maximumFrameLength else {
                throw .frameTooLarge(length: length, limit: limits.maximumFrameLength)
            }
            guard buffer.readableBytes - prefixByteCount >= length else {
                return nil
            }
            let frame = try buffer.withUnsafeReadableBytes { raw in
                Result { () throws(TerminalProtocolError) in
                    try decode(UnsafeRawBufferPointer(rebasing: raw[prefixByteCount..<prefixByteCount + length]), limits: limits)
                }
            }.get()
            buffer.moveReaderIndex(forwardBy: prefixByteCount + length)
            return frame
        }
    }

    /// Builds `frame`'s C structures in a scratch arena and hands them, with their packed size, to `body`.
    private static func packing<Value, Failure: Error>(
        _ frame: TerminalFrame,
        _ body: (UnsafeMutablePointer<Serverlpa__Terminal__V1__Frame>, Int) throws(Failure) -> Value
    ) throws(Failure) -> Value {
        try ScratchArena.withArena { (arena) throws(Failure) -> Value in
            let message = CMessageWriter(arena: arena).frame(frame)
            return try body(message, serverlpa__terminal__v1__frame__get_packed_size(message))
        }
    }
}
