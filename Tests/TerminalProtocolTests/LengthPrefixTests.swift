import NIOCore
import TerminalProtocol
import XCTest

final class LengthPrefixTests: XCTestCase {
    // Unsigned LEB128: 7 bits per byte, least significant group first, high bit = more follows.
    static let vectors: [(Int, [UInt8])] = [
        (0, [0x00]),
        (1, [0x01]),
        (127, [0x7F]),
        (128, [0x80, 0x01]),
        (300, [0xAC, 0x02]),  // 300 = 2·128 + 44; 44 = 0x2C → 0xAC, 0x02
        (16_383, [0xFF, 0x7F]),
        (16_384, [0x80, 0x80, 0x01]),
        (262_144, [0x80, 0x80, 0x10]),  // 256 KiB = 16·16384
        (2_097_151, [0xFF, 0xFF, 0x7F]),
    ]

    func testEncodesTheShortestForm() {
        for (value, bytes) in Self.vectors {
            XCTAssertEqual(LengthPrefix.encode(value), bytes, "\(value)")
            XCTAssertEqual(LengthPrefix.byteCount(for: value), bytes.count, "\(value)")
            var buffer = ByteBuffer()
            XCTAssertEqual(LengthPrefix.write(value, to: &buffer), bytes.count)
            XCTAssertEqual(Array(buffer.readableBytesView), bytes)
        }
    }

    func testDecodesEveryVectorWithAndWithoutTrailingBytes() {
        for (value, bytes) in Self.vectors {
            XCTAssertEqual(LengthPrefix.decode(bytes), .value(length: value, prefixByteCount: bytes.count))
            XCTAssertEqual(LengthPrefix.decode(bytes + [0xFF, 0xFF]), .value(length: value, prefixByteCount: bytes.count))
        }
    }

    func testIncompletePrefixNeedsMoreData() {
        XCTAssertEqual(LengthPrefix.decode([]), .needMoreData)
        XCTAssertEqual(LengthPrefix.decode([0x80]), .needMoreData)
        XCTAssertEqual(LengthPrefix.decode([0xFF, 0xFF]), .needMoreData)
    }

    func testAFourthByteIsInvalid() {
        XCTAssertEqual(LengthPrefix.decode([0xFF, 0xFF, 0xFF]), .invalid)
        XCTAssertEqual(LengthPrefix.decode([0x80, 0x80, 0x80, 0x01]), .invalid)
        XCTAssertEqual(LengthPrefix.decode([0xFF, 0xFF, 0xFF, 0xFF, 0x7F]), .invalid)
    }

    func testAcceptsPaddedForms() {
        XCTAssertEqual(LengthPrefix.decode([0x85, 0x80, 0x00]), .value(length: 5, prefixByteCount: 3))
        XCTAssertEqual(LengthPrefix.decode([0x85, 0x00]), .value(length: 5, prefixByteCount: 2))
        XCTAssertEqual(LengthPrefix.decode([0x80, 0x00]), .value(length: 0, prefixByteCount: 2))
    }

    func testDecodeFromBufferDoesNotConsume() {
        let buffer = ByteBuffer(bytes: [0xAC, 0x02, 0x99])
        XCTAssertEqual(LengthPrefix.decode(from: buffer), .value(length: 300, prefixByteCount: 2))
        XCTAssertEqual(buffer.readableBytes, 3)
    }

    func testEveryValueRoundTrips() {
        for value in stride(from: 0, through: LengthPrefix.maximumValue, by: 97) {
            let bytes = LengthPrefix.encode(value)
            XCTAssertEqual(LengthPrefix.decode(bytes), .value(length: value, prefixByteCount: bytes.count))
        }
    }

    func testLimitsAgreeWithThePrefix() {
        XCTAssertEqual(LengthPrefix.maximumValue, 2_097_151)
        XCTAssertEqual(TerminalProtocolLimits.hardMaximumFrameLength, LengthPrefix.maximumValue)
        XCTAssertEqual(TerminalProtocolLimits.default.maximumFrameLength, 262_144)
    }
}
