import NIOCore
import TerminalProtocol
import XCTest

/// Byte vectors derived by hand from the protobuf encoding rules, not from the encoder.
///
/// Rules used: a field key is the varint `(field_number << 3) | wire_type`, wire type 0 for varints
/// and 2 for length-delimited (strings, bytes, submessages, packed repeated scalars). Varints are
/// little-endian groups of 7 bits, high bit set on every byte but the last. `sint32` is zigzag
/// encoded: n ≥ 0 → 2n, n < 0 → −2n − 1. proto3 omits fields equal to their default; fields are
/// written in field-number order; repeated scalars are packed.
final class KnownAnswerTests: XCTestCase {
    // Heartbeat { seq: 1, uptime_s: 300, rssi_dbm: -70 }
    //   seq       field 1, varint: key 1<<3|0 = 0x08, value 1 → 08 01
    //   uptime_s  field 2, varint: key 0x10; 300 = 0b10_0101100 → low 7 bits 0x2C|0x80 = 0xAC,
    //             then 300>>7 = 2 → 10 AC 02
    //   rssi_dbm  field 3, sint32: key 0x18; zigzag(-70) = 139 = 0b1_0001011 → 0x0B|0x80 = 0x8B,
    //             then 1 → 18 8B 01
    //   Heartbeat = 8 bytes. Frame.heartbeat is field 4, length-delimited: key 4<<3|2 = 0x22, length 08.
    //   Body = 10 bytes, so the length prefix is the single byte 0x0A.
    static let heartbeatFrame: [UInt8] = [0x0A, 0x22, 0x08, 0x08, 0x01, 0x10, 0xAC, 0x02, 0x18, 0x8B, 0x01]
    static let heartbeat = TerminalFrame.heartbeat(Heartbeat(seq: 1, uptimeSeconds: 300, rssiDBm: -70))

    // Reject { code: UNSUPPORTED_VERSION (1), text: "v1", retry_after_s: 0 }
    //   code  field 1, varint (enum): 08 01
    //   text  field 2, length-delimited: key 0x12, length 02, "v1" = 76 31
    //   retry_after_s is 0 and omitted. Reject = 6 bytes.
    //   Frame.reject is field 3: key 3<<3|2 = 0x1A, length 06. Body = 8 bytes, prefix 0x08.
    static let rejectFrame: [UInt8] = [0x08, 0x1A, 0x06, 0x08, 0x01, 0x12, 0x02, 0x76, 0x31]
    static let reject = TerminalFrame.reject(Reject(code: .unsupportedVersion, text: "v1"))

    // ApduBatch { batch_id: 7, channel: 1, apdus: [81 E2 91 00 00], accept_sw: [0x9000, 0x6A88] }
    //   batch_id   08 07
    //   channel    10 01
    //   apdus      field 3, length-delimited: key 0x1A, length 05, 81 E2 91 00 00
    //   accept_sw  field 4, packed: key 0x22, then the varints
    //              0x9000 = 36864 = 2·16384 + 32·128 + 0 → 80 A0 02
    //              0x6A88 = 27272 = 1·16384 + 85·128 + 8 → 88 D5 01
    //              length 6 → 22 06 80 A0 02 88 D5 01
    //   ApduBatch = 2 + 2 + 7 + 8 = 19 = 0x13 bytes.
    //   Frame.apdu_batch is field 7: key 7<<3|2 = 0x3A, length 13. Body = 21 = 0x15 bytes.
    static let apduBatchFrame: [UInt8] = [
        0x15, 0x3A, 0x13, 0x08, 0x07, 0x10, 0x01, 0x1A, 0x05, 0x81, 0xE2, 0x91, 0x00, 0x00,
        0x22, 0x06, 0x80, 0xA0, 0x02, 0x88, 0xD5, 0x01,
    ]
    static let apduBatch = TerminalFrame.apduBatch(
        ApduBatch(batchID: 7, channel: 1, apdus: [[0x81, 0xE2, 0x91, 0x00, 0x00]], acceptSW: [0x9000, 0x6A88])
    )

    static let vectors: [(TerminalFrame, [UInt8])] = [
        (heartbeat, heartbeatFrame),
        (reject, rejectFrame),
        (apduBatch, apduBatchFrame),
    ]

    func testEncoderProducesTheHandDerivedBytes() throws {
        for (frame, bytes) in Self.vectors {
            XCTAssertEqual(TerminalFrameCodec.encode(frame), Array(bytes.dropFirst()), frame.kind)
            var buffer = ByteBuffer()
            try TerminalFrameCodec.encode(frame, into: &buffer)
            XCTAssertEqual(Array(buffer.readableBytesView), bytes, frame.kind)
        }
    }

    func testDecoderReadsTheHandDerivedBytes() throws {
        for (frame, bytes) in Self.vectors {
            var buffer = ByteBuffer(bytes: bytes)
            XCTAssertEqual(try TerminalFrameCodec.readFrame(from: &buffer), frame)
            XCTAssertEqual(buffer.readableBytes, 0)
        }
    }

    func testNonCanonicalEncodingsDecodeToTheSameValue() throws {
        // Zero fields written explicitly, the fields out of order, and accept_sw unpacked
        // (one key per value): all legal protobuf a small device encoder may produce.
        var batch = WireBuilder()
        batch.field(4, varint: 0x9000)
        batch.field(2, varint: 1)
        batch.field(3, bytes: [0x81, 0xE2, 0x91, 0x00, 0x00])
        batch.field(4, varint: 0x6A88)
        batch.field(1, varint: 7)
        var frame = WireBuilder()
        frame.field(7, message: batch)
        XCTAssertEqual(try TerminalFrameCodec.decode(frame.bytes), Self.apduBatch)

        let zeros = WireBuilder.frame(member: 4) {
            $0.field(1, varint: 0)
            $0.field(2, varint: 0)
        }
        XCTAssertEqual(try TerminalFrameCodec.decode(zeros), .heartbeat(Heartbeat()))
    }
}
