import NIOCore
import NIOEmbedded
import TerminalProtocol
import XCTest

final class TerminalFrameDecoderTests: XCTestCase {
    private func makeChannel(limits: TerminalProtocolLimits = .default) throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(TerminalFrameDecoder(limits: limits)))
        return channel
    }

    private func frames(_ frames: [TerminalFrame]) throws -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames {
            try TerminalFrameCodec.encode(frame, into: &buffer)
        }
        return Array(buffer.readableBytesView)
    }

    private func readAll(_ channel: EmbeddedChannel) throws -> [TerminalFrame] {
        var frames: [TerminalFrame] = []
        while let frame = try channel.readInbound(as: TerminalFrame.self) {
            frames.append(frame)
        }
        return frames
    }

    private func assertFails(
        _ expected: TerminalProtocolError,
        file: StaticString = #filePath,
        line: UInt = #line,
        _ body: () throws -> Void
    ) {
        XCTAssertThrowsError(try body(), file: file, line: line) { error in
            XCTAssertEqual(error as? TerminalProtocolError, expected, file: file, line: line)
        }
    }

    // MARK: Splitting and joining

    func testFramesSplitAtEveryByteBoundary() throws {
        let sent = [SampleFrames.allFieldsSet[3], SampleFrames.allFieldsSet[6], SampleFrames.allFieldsSet[0]]
        let stream = try frames(sent)
        for split in 0...stream.count {
            let channel = try makeChannel()
            try channel.writeInbound(ByteBuffer(bytes: stream[..<split]))
            try channel.writeInbound(ByteBuffer(bytes: stream[split...]))
            XCTAssertEqual(try readAll(channel), sent, "split at \(split)")
            XCTAssertTrue(try channel.finish().isClean)
        }
    }

    func testFramesFedOneByteAtATime() throws {
        let sent = SampleFrames.allFieldsSet
        let channel = try makeChannel()
        var received: [TerminalFrame] = []
        for byte in try frames(sent) {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
            received += try readAll(channel)
        }
        XCTAssertEqual(received, sent)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testSeveralFramesInOneRead() throws {
        let sent = SampleFrames.allFieldsSet + SampleFrames.defaults
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: try frames(sent)))
        XCTAssertEqual(try readAll(channel), sent)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testHandDerivedHeartbeatFrame() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: KnownAnswerTests.heartbeatFrame + KnownAnswerTests.rejectFrame))
        XCTAssertEqual(try readAll(channel), [KnownAnswerTests.heartbeat, KnownAnswerTests.reject])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testFramesBeforeAnErrorAreDelivered() throws {
        let channel = try makeChannel()
        let stream = KnownAnswerTests.heartbeatFrame + [0x00]
        assertFails(.emptyFrame) { try channel.writeInbound(ByteBuffer(bytes: stream)) }
        XCTAssertEqual(try readAll(channel), [KnownAnswerTests.heartbeat])
        _ = try? channel.finish()
    }

    // MARK: Bad framing

    func testZeroLengthFrameIsRejected() throws {
        let channel = try makeChannel()
        assertFails(.emptyFrame) { try channel.writeInbound(ByteBuffer(bytes: [0x00])) }
        _ = try? channel.finish()

        let padded = try makeChannel()
        assertFails(.emptyFrame) { try padded.writeInbound(ByteBuffer(bytes: [0x80, 0x80, 0x00])) }
        _ = try? padded.finish()
    }

    func testOversizedPrefixIsRejectedBeforeTheBodyArrives() throws {
        let channel = try makeChannel(limits: TerminalProtocolLimits(maximumFrameLength: 1024))
        // 1025 = 0x401 → 0x81 0x08. Only the prefix is sent, in two pieces.
        try channel.writeInbound(ByteBuffer(bytes: [0x81]))
        XCTAssertNil(try channel.readInbound(as: TerminalFrame.self))
        assertFails(.frameTooLarge(length: 1025, limit: 1024)) { try channel.writeInbound(ByteBuffer(bytes: [0x08])) }
        _ = try? channel.finish()
    }

    func testPrefixAtTheLimitWaitsForTheBody() throws {
        let channel = try makeChannel(limits: TerminalProtocolLimits(maximumFrameLength: 1024))
        try channel.writeInbound(ByteBuffer(bytes: [0x80, 0x08]))  // exactly 1024
        XCTAssertNil(try channel.readInbound(as: TerminalFrame.self))
        assertFails(.truncatedFrame(expected: 1026, available: 2)) { _ = try channel.finish() }
    }

    func testDefaultLimitRejectsTheLargestPrefix() throws {
        let channel = try makeChannel()
        assertFails(.frameTooLarge(length: 2_097_151, limit: 262_144)) {
            try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0x7F]))
        }
        _ = try? channel.finish()
    }

    func testMalformedVarintIsRejected() throws {
        let channel = try makeChannel()
        assertFails(.malformedLengthPrefix) { try channel.writeInbound(ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 0x01])) }
        _ = try? channel.finish()

        // Rejected at the third continuation byte, without waiting for a fourth.
        let early = try makeChannel()
        try early.writeInbound(ByteBuffer(bytes: [0x80, 0x80]))
        assertFails(.malformedLengthPrefix) { try early.writeInbound(ByteBuffer(bytes: [0x80])) }
        _ = try? early.finish()
    }

    func testTruncatedFrameAtEndOfInput() throws {
        let frame = KnownAnswerTests.rejectFrame
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: KnownAnswerTests.heartbeatFrame + frame.prefix(5)))
        XCTAssertEqual(try readAll(channel), [KnownAnswerTests.heartbeat])
        assertFails(.truncatedFrame(expected: frame.count, available: 5)) { _ = try channel.finish() }
    }

    func testTruncatedPrefixAtEndOfInput() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0x80]))
        assertFails(.truncatedFrame(expected: nil, available: 1)) { _ = try channel.finish() }
    }

    func testTruncationReportedOnInputClosed() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: [0x05, 0x22]))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        assertFails(.truncatedFrame(expected: 6, available: 2)) { try channel.throwIfErrorCaught() }
        _ = try? channel.finish()
    }

    func testCleanEndOfInput() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: KnownAnswerTests.heartbeatFrame))
        XCTAssertEqual(try readAll(channel), [KnownAnswerTests.heartbeat])
        XCTAssertTrue(try channel.finish().isClean)
    }

    // MARK: Bad bodies

    func testInvalidUTF8InAStringField() throws {
        let body = WireBuilder.frame(member: 13) { $0.field(2, bytes: [0x68, 0x69, 0xFF]) }
        let channel = try makeChannel()
        assertFails(.invalidField(name: "goodbye.text", reason: "not valid UTF-8")) {
            try channel.writeInbound(ByteBuffer(bytes: LengthPrefix.encode(body.count) + body))
        }
        _ = try? channel.finish()
    }

    func testUnknownMessageKind() throws {
        let body = WireBuilder.frame(member: 14) { $0.field(1, varint: 7) }
        let channel = try makeChannel()
        assertFails(.unknownBody(fieldNumber: 14)) { try channel.writeInbound(ByteBuffer(bytes: LengthPrefix.encode(body.count) + body)) }
        _ = try? channel.finish()
    }

    func testUnknownFieldsInAKnownMessagePassThrough() throws {
        let body = WireBuilder.frame(member: 5) {
            $0.field(1, varint: 41)
            $0.field(9, bytes: Array("from a newer agent".utf8))
        }
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: LengthPrefix.encode(body.count) + body))
        XCTAssertEqual(try readAll(channel), [.heartbeatAck(HeartbeatAck(seq: 41))])
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testOverLimitCountsUseTheDecodersLimits() throws {
        let limits = TerminalProtocolLimits(maximumApdusPerBatch: 2)
        let channel = try makeChannel(limits: limits)
        let batch = TerminalFrame.apduBatch(ApduBatch(apdus: [[0x00], [0x01], [0x02]]))
        assertFails(.invalidField(name: "apdu_batch.apdus", reason: "3 entries; the limit is 2")) {
            try channel.writeInbound(ByteBuffer(bytes: try frames([batch])))
        }
        _ = try? channel.finish()
    }

    func testConvenienceInitialiserSetsTheFrameLimit() {
        XCTAssertEqual(TerminalFrameDecoder(maximumFrameLength: 4096).limits.maximumFrameLength, 4096)
        XCTAssertEqual(TerminalFrameDecoder().limits, .default)
    }
}
