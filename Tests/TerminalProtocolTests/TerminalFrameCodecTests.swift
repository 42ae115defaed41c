import NIOCore
import TerminalProtocol
import XCTest

final class TerminalFrameCodecTests: XCTestCase {
    func testEveryMessageWithAllFieldsSetRoundTrips() throws {
        XCTAssertEqual(Set(SampleFrames.allFieldsSet.map(\.kind)).count, 13, "one sample per oneof member")
        for frame in SampleFrames.allFieldsSet {
            let body = TerminalFrameCodec.encode(frame)
            XCTAssertEqual(try TerminalFrameCodec.decode(body), frame, frame.kind)
        }
    }

    func testEveryMessageWithDefaultsRoundTrips() throws {
        for frame in SampleFrames.defaults {
            let body = TerminalFrameCodec.encode(frame)
            XCTAssertEqual(try TerminalFrameCodec.decode(body), frame, frame.kind)
        }
    }

    func testDefaultValuedMessagesEncodeAsAnEmptyMember() {
        // proto3 leaves zero values off the wire: only the member's tag and a zero length remain.
        // Hello and Welcome default to protocol version 1 and always carry their submessages.
        let expected: [String: [UInt8]] = [
            "reject": [0x1A, 0x00],
            "heartbeat": [0x22, 0x00],
            "heartbeat_ack": [0x2A, 0x00],
            "settings": [0x32, 0x00],
            "apdu_batch": [0x3A, 0x00],
            "apdu_batch_result": [0x42, 0x00],
            "channel_open": [0x4A, 0x00],
            "channel_open_result": [0x52, 0x00],
            "channel_close": [0x5A, 0x00],
            "channel_close_result": [0x62, 0x00],
            "goodbye": [0x6A, 0x00],
            // hello: member 1 { protocol_version = 1, identity = {} }
            "hello": [0x0A, 0x04, 0x08, 0x01, 0x12, 0x00],
            // welcome: member 2 { protocol_version = 1, settings = {} }
            "welcome": [0x12, 0x04, 0x08, 0x01, 0x1A, 0x00],
        ]
        for frame in SampleFrames.defaults {
            XCTAssertEqual(TerminalFrameCodec.encode(frame), expected[frame.kind], frame.kind)
        }
    }

    func testWholeFramesRoundTripThroughAByteBuffer() throws {
        var buffer = ByteBuffer()
        for frame in SampleFrames.allFieldsSet + SampleFrames.defaults {
            try TerminalFrameCodec.encode(frame, into: &buffer)
        }
        var decoded: [TerminalFrame] = []
        while let frame = try TerminalFrameCodec.readFrame(from: &buffer) {
            decoded.append(frame)
        }
        XCTAssertEqual(decoded, SampleFrames.allFieldsSet + SampleFrames.defaults)
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testFramePrefixAnnouncesTheBodyLength() throws {
        let frame = SampleFrames.allFieldsSet[6]  // a 300-byte APDU batch: two-byte prefix
        let body = TerminalFrameCodec.encode(frame)
        var buffer = ByteBuffer()
        try TerminalFrameCodec.encode(frame, into: &buffer)
        XCTAssertGreaterThan(body.count, 127)
        XCTAssertEqual(LengthPrefix.decode(from: buffer), .value(length: body.count, prefixByteCount: 2))
        XCTAssertEqual(Array(buffer.readableBytesView.dropFirst(2)), body)
    }

    func testExtremeValuesRoundTrip() throws {
        let frames: [TerminalFrame] = [
            .heartbeat(Heartbeat(seq: .max, uptimeSeconds: .max, rssiDBm: .min)),
            .heartbeat(Heartbeat(seq: 0, uptimeSeconds: 0, rssiDBm: .max)),
            .reject(Reject(code: ReasonCode(rawValue: .max), text: "", retryAfterSeconds: .max)),
            .goodbye(Goodbye(reason: ReasonCode(rawValue: -1), text: "negative codes travel as 10-byte varints")),
            .apduBatchResult(ApduBatchResult(batchID: .max, status: BatchStatus(rawValue: .min))),
            .apduBatch(ApduBatch(batchID: .max, channel: 19, apdus: [[], [0x00]], acceptSW: [0, 0xFFFF])),
            .channelOpenResult(ChannelOpenResult(requestID: .max, channel: 19, statusWord: 0xFFFF)),
            .hello(Hello(identity: Identity(eid: String(repeating: "9", count: 256), extra: [Identity.Field(key: "", value: "")]))),
        ]
        for frame in frames {
            XCTAssertEqual(try TerminalFrameCodec.decode(TerminalFrameCodec.encode(frame)), frame, "\(frame)")
        }
    }

    func testLargeFramesRoundTrip() throws {
        // Exercises the scratch arena's overflow chunks on both sides.
        let apdu = (0..<65_544).map { UInt8(truncatingIfNeeded: $0) }
        let batch = TerminalFrame.apduBatch(ApduBatch(batchID: 1, channel: 1, apdus: [apdu, apdu, apdu]))
        let body = TerminalFrameCodec.encode(batch)
        XCTAssertGreaterThan(body.count, 3 * 65_544)
        XCTAssertEqual(try TerminalFrameCodec.decode(body), batch)

        let many = TerminalFrame.apduBatch(ApduBatch(apdus: Array(repeating: [0x80, 0xCA, 0x00, 0x5A], count: 4096)))
        XCTAssertEqual(try TerminalFrameCodec.decode(TerminalFrameCodec.encode(many)), many)

        let extra = (0..<32).map { Identity.Field(key: "k\($0)", value: String(repeating: "v", count: 256)) }
        let hello = TerminalFrame.hello(Hello(identity: Identity(extra: extra)))
        XCTAssertEqual(try TerminalFrameCodec.decode(TerminalFrameCodec.encode(hello)), hello)
    }

    func testDecodeAcceptsAnyByteCollection() throws {
        let frame = SampleFrames.allFieldsSet[3]
        let body = TerminalFrameCodec.encode(frame)
        XCTAssertEqual(try TerminalFrameCodec.decode(body[...]), frame)
        XCTAssertEqual(try TerminalFrameCodec.decode(ByteBuffer(bytes: body).readableBytesView), frame)
        XCTAssertEqual(try TerminalFrameCodec.decode(AnyCollection(body)), frame)
    }

    func testEncodeIntoRefusesABodyOverTheLimitAndWritesNothing() {
        var buffer = ByteBuffer(bytes: [0xEE])
        let frame = TerminalFrame.goodbye(Goodbye(text: String(repeating: "x", count: 100)))
        let size = TerminalFrameCodec.encode(frame).count
        XCTAssertThrowsError(try TerminalFrameCodec.encode(frame, into: &buffer, maximumFrameLength: size - 1)) { error in
            XCTAssertEqual(error as? TerminalProtocolError, .frameTooLarge(length: size, limit: size - 1))
        }
        XCTAssertEqual(Array(buffer.readableBytesView), [0xEE])
        XCTAssertNoThrow(try TerminalFrameCodec.encode(frame, into: &buffer, maximumFrameLength: size))
        XCTAssertEqual(buffer.readableBytes, 1 + 1 + size)
    }

    func testEncodeIntoNeverExceedsTheThreeBytePrefix() {
        let apdu = [UInt8](repeating: 0x42, count: 65_000)
        let frame = TerminalFrame.apduBatch(ApduBatch(apdus: Array(repeating: apdu, count: 33)))
        var buffer = ByteBuffer()
        XCTAssertThrowsError(try TerminalFrameCodec.encode(frame, into: &buffer, maximumFrameLength: .max)) { error in
            guard case .frameTooLarge(let length, let limit) = error as? TerminalProtocolError else {
                return XCTFail("\(error)")
            }
            XCTAssertGreaterThan(length, 2_097_151)
            XCTAssertEqual(limit, 2_097_151)
        }
        XCTAssertEqual(buffer.readableBytes, 0)
    }

    func testDecodeRefusesABodyOverTheLimit() {
        let body = TerminalFrameCodec.encode(SampleFrames.allFieldsSet[0])
        XCTAssertThrowsError(try TerminalFrameCodec.decode(body, limits: TerminalProtocolLimits(maximumFrameLength: body.count - 1))) {
            XCTAssertEqual($0 as? TerminalProtocolError, .frameTooLarge(length: body.count, limit: body.count - 1))
        }
    }

    func testKindIsTheProtoMemberName() {
        XCTAssertEqual(
            SampleFrames.allFieldsSet.map(\.kind),
            [
                "hello", "welcome", "reject", "heartbeat", "heartbeat_ack", "settings", "apdu_batch",
                "apdu_batch_result", "channel_open", "channel_open_result", "channel_close",
                "channel_close_result", "goodbye",
            ]
        )
    }

    func testFramesFitInAnExistentialsInlineBuffer() {
        // Keeps NIOAny from boxing every heartbeat on its way through the pipeline.
        XCTAssertLessThanOrEqual(MemoryLayout<TerminalFrame>.size, 3 * MemoryLayout<Int>.size)
    }

    func testValidateReportsWhatEncodingWouldLose() {
        let frame = TerminalFrame.goodbye(Goodbye(text: "before\u{0}after"))
        XCTAssertThrowsError(try frame.validate()) {
            XCTAssertEqual($0 as? TerminalProtocolError, .invalidField(name: "goodbye.text", reason: "contains a NUL character"))
        }
        XCTAssertEqual(try TerminalFrameCodec.decode(TerminalFrameCodec.encode(frame)), .goodbye(Goodbye(text: "before")))
    }

    func testAcceptedStatusWords() {
        let defaultBatch = ApduBatch()
        XCTAssertTrue(defaultBatch.accepts(statusWord: 0x9000))
        XCTAssertTrue(defaultBatch.accepts(statusWord: 0x9100))
        XCTAssertTrue(defaultBatch.accepts(statusWord: 0x91FF))
        XCTAssertFalse(defaultBatch.accepts(statusWord: 0x6A88))
        XCTAssertFalse(defaultBatch.accepts(statusWord: 0x6110))
        XCTAssertFalse(defaultBatch.accepts(statusWord: 0x9200))

        let listed = ApduBatch(acceptSW: [0x6A88])
        XCTAssertTrue(listed.accepts(statusWord: 0x6A88))
        XCTAssertTrue(listed.accepts(statusWord: 0x9143))
        XCTAssertFalse(listed.accepts(statusWord: 0x9000), "a non-empty list replaces the default")
    }
}
