import NIOCore

/// The frame length prefix: an unsigned LEB128 varint of one to three bytes.
///
/// Seven value bits per byte, least significant group first; the high bit of a byte says another
/// follows. Three bytes carry at most 2^21 − 1 (``maximumValue``). Encoders write the shortest form;
/// decoders also accept longer forms up to three bytes (a sender may reserve three bytes and fill in
/// the length afterwards), so `0x85 0x80 0x00` is 5. A fourth byte is never valid.
public enum LengthPrefix {
    /// The longest prefix: 3 bytes.
    public static let maximumByteCount = 3

    /// The largest value a prefix can carry: 2,097,151.
    public static let maximumValue = (1 << 21) - 1

    /// The outcome of reading a prefix from the start of some bytes.
    public enum DecodeResult: Hashable, Sendable {
        /// The bytes end inside the prefix.
        case needMoreData
        /// A complete prefix: the body length it announces and the prefix's own size in bytes.
        case value(length: Int, prefixByteCount: Int)
        /// Three bytes all with the continuation bit set: not a valid prefix.
        case invalid
    }

    /// Reads a prefix from the start of `bytes`. Never reads past the third byte.
    public static func decode(_ bytes: UnsafeRawBufferPointer) -> DecodeResult {
        var value = 0
        for index in 0..<min(bytes.count, maximumByteCount) {
            let byte = bytes[index]
            value |= Int(byte & 0x7F) << (7 * index)
            if byte & 0x80 == 0 {
                return .value(length: value, prefixByteCount: index + 1)
            }
        }
        return bytes.count >= maximumByteCount ? .invalid : .needMoreData
    }

    /// Reads a prefix from the start of `bytes`.
    public static func decode(_ bytes: [UInt8]) -> DecodeResult {
        bytes.withUnsafeBytes { decode($0) }
    }

    /// Reads a prefix from the start of `buffer`'s readable bytes without moving its reader index.
    public static func decode(from buffer: ByteBuffer) -> DecodeResult {
        buffer.withUnsafeReadableBytes { decode($0) }
    }

    /// The size of the shortest prefix for `value`: 1, 2 or 3.
    ///
    /// - Precondition: `value` is in `0...maximumValue`.
    public static func byteCount(for value: Int) -> Int {
        precondition((0...maximumValue).contains(value), "length \(value) does not fit a 3-byte prefix")
        return value < 1 << 7 ? 1 : value < 1 << 14 ? 2 : 3
    }

    /// The shortest prefix for `value`.
    ///
    /// - Precondition: `value` is in `0...maximumValue`.
    public static func encode(_ value: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(maximumByteCount)
        forEachByte(of: value) { bytes.append($0) }
        return bytes
    }

    /// Appends the shortest prefix for `value` to `buffer` and returns its size.
    ///
    /// - Precondition: `value` is in `0...maximumValue`.
    @discardableResult
    public static func write(_ value: Int, to buffer: inout ByteBuffer) -> Int {
        var written = 0
        forEachByte(of: value) { written += buffer.writeInteger($0) }
        return written
    }

    private static func forEachByte(of value: Int, _ body: (UInt8) -> Void) {
        let count = byteCount(for: value)
        for index in 0..<count {
            let group = UInt8(truncatingIfNeeded: value >> (7 * index)) & 0x7F
            body(index == count - 1 ? group : group | 0x80)
        }
    }
}
