import TerminalProtocol
import XCTest

/// Bodies a well-behaved encoder never produces, written by hand.
final class TerminalFrameValidationTests: XCTestCase {
    private func assertDecodeFails(
        _ body: [UInt8],
        limits: TerminalProtocolLimits = .default,
        with expected: TerminalProtocolError,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try TerminalFrameCodec.decode(body, limits: limits), file: file, line: line) { error in
            XCTAssertEqual(error as? TerminalProtocolError, expected, file: file, line: line)
        }
    }

    private func hello(eid: [UInt8]) -> [UInt8] {
        WireBuilder.frame(member: 1) {
            $0.field(1, varint: 1)
            $0.field(2, message: .message { $0.field(1, bytes: eid) })
        }
    }

    // MARK: Strings

    func testInvalidUTF8IsRejectedWithTheFieldName() {
        assertDecodeFails(hello(eid: [0x38, 0x39, 0xC3, 0x28]), with: .invalidField(name: "hello.identity.eid", reason: "not valid UTF-8"))
        // An overlong encoding of "/" and a lone surrogate are not UTF-8 either.
        assertDecodeFails(hello(eid: [0xC0, 0xAF]), with: .invalidField(name: "hello.identity.eid", reason: "not valid UTF-8"))
        assertDecodeFails(hello(eid: [0xED, 0xA0, 0x80]), with: .invalidField(name: "hello.identity.eid", reason: "not valid UTF-8"))
    }

    func testInvalidUTF8AfterANulIsStillSeen() {
        // A C string would end at the NUL and hide the bytes after it.
        assertDecodeFails(hello(eid: [0x31, 0x00, 0xFF]), with: .invalidField(name: "hello.identity.eid", reason: "contains a NUL character"))
    }

    func testControlCharactersInIdentityFieldsAreRefusedAsInvalidField() {
        // A newline would forge a log line; C1, DEL and the Unicode line separator as well.
        let cases: [([UInt8], String)] = [([0x38, 0x39, 0x0A, 0x31], "U+000A"), ([0x38, 0x0D], "U+000D"), ([0x1B, 0x5B], "U+001B"),
                                          ([0x7F], "U+007F"), ([0xC2, 0x85], "U+0085"), ([0xE2, 0x80, 0xA8], "U+2028")]
        for (bytes, scalar) in cases {
            let expected = TerminalProtocolError.invalidField(name: "hello.identity.eid", reason: "contains the control character \(scalar)")
            assertDecodeFails(hello(eid: bytes), with: expected)
            XCTAssertEqual(expected.reasonCode, .invalidField)
        }
        // Tabs and newlines elsewhere are no identity and stay a protocol matter.
        XCTAssertEqual(TerminalProtocolError.invalidField(name: "apdu_batch.apdus[0]", reason: "x").reasonCode, .protocolViolation)
        // Printable non-ASCII text is fine.
        XCTAssertNoThrow(try TerminalFrameCodec.decode(hello(eid: Array("8904é".utf8)), limits: .default))
    }

    func testNulCharactersAreRejected() {
        let body = WireBuilder.frame(member: 13) { $0.field(2, bytes: Array("bye\u{0}now".utf8)) }
        assertDecodeFails(body, with: .invalidField(name: "goodbye.text", reason: "contains a NUL character"))
        let leading = WireBuilder.frame(member: 13) { $0.field(2, bytes: [0x00]) }
        assertDecodeFails(leading, with: .invalidField(name: "goodbye.text", reason: "contains a NUL character"))
    }

    func testStringsInRepeatedAndNestedFieldsAreChecked() {
        let extra = WireBuilder.frame(member: 1) {
            $0.field(2, message: .message {
                $0.field(6, message: .message { $0.field(1, bytes: Array("ok".utf8)) })
                $0.field(6, message: .message { $0.field(2, bytes: [0xFE]) })
            })
        }
        assertDecodeFails(extra, with: .invalidField(name: "hello.identity.extra[1].value", reason: "not valid UTF-8"))

        let required = WireBuilder.frame(member: 2) {
            $0.field(4, bytes: Array("eid".utf8))
            $0.field(4, bytes: [0x80])
        }
        assertDecodeFails(required, with: .invalidField(name: "welcome.required_fields[1]", reason: "not valid UTF-8"))
    }

    func testStringLengthLimits() {
        let atLimit = hello(eid: Array(repeating: 0x39, count: 256))
        XCTAssertNoThrow(try TerminalFrameCodec.decode(atLimit))
        assertDecodeFails(
            hello(eid: Array(repeating: 0x39, count: 257)),
            with: .invalidField(name: "hello.identity.eid", reason: "257 bytes long; the limit is 256")
        )
        // Lengths count UTF-8 bytes, not characters: 129 × "é" is 258 bytes.
        assertDecodeFails(
            hello(eid: Array(String(repeating: "é", count: 129).utf8)),
            with: .invalidField(name: "hello.identity.eid", reason: "258 bytes long; the limit is 256")
        )
        let longText = TerminalFrameCodec.encode(.reject(Reject(text: String(repeating: "x", count: 1025))))
        assertDecodeFails(longText, with: .invalidField(name: "reject.text", reason: "1025 bytes long; the limit is 1024"))
    }

    // MARK: Counts and ranges

    func testOverLimitCountsAreRejected() {
        let limits = TerminalProtocolLimits(
            maximumApdusPerBatch: 3,
            maximumApduLength: 8,
            maximumAcceptedStatusWords: 2,
            maximumExtraFields: 1,
            maximumRequiredFields: 2
        )
        let apdus = TerminalFrameCodec.encode(.apduBatch(ApduBatch(apdus: Array(repeating: [0x00, 0xA4], count: 4))))
        assertDecodeFails(apdus, limits: limits, with: .invalidField(name: "apdu_batch.apdus", reason: "4 entries; the limit is 3"))

        let longApdu = TerminalFrameCodec.encode(.apduBatch(ApduBatch(apdus: [[], Array(repeating: 0, count: 9)])))
        assertDecodeFails(longApdu, limits: limits, with: .invalidField(name: "apdu_batch.apdus[1]", reason: "9 bytes long; the limit is 8"))

        let sws = TerminalFrameCodec.encode(.apduBatch(ApduBatch(acceptSW: [0x9000, 0x6A88, 0x6A80])))
        assertDecodeFails(sws, limits: limits, with: .invalidField(name: "apdu_batch.accept_sw", reason: "3 entries; the limit is 2"))

        let responses = TerminalFrameCodec.encode(.apduBatchResult(ApduBatchResult(responses: Array(repeating: [0x90, 0x00], count: 4))))
        assertDecodeFails(
            responses,
            limits: limits,
            with: .invalidField(name: "apdu_batch_result.responses", reason: "4 entries; the limit is 3")
        )

        let extra = TerminalFrameCodec.encode(
            .hello(Hello(identity: Identity(extra: [Identity.Field(key: "a", value: "1"), Identity.Field(key: "b", value: "2")])))
        )
        assertDecodeFails(extra, limits: limits, with: .invalidField(name: "hello.identity.extra", reason: "2 entries; the limit is 1"))

        let required = TerminalFrameCodec.encode(.welcome(Welcome(requiredFields: ["eid", "imei", "iccid"])))
        assertDecodeFails(required, limits: limits, with: .invalidField(name: "welcome.required_fields", reason: "3 entries; the limit is 2"))
    }

    func testDefaultApduCountLimit() {
        let body = TerminalFrameCodec.encode(.apduBatch(ApduBatch(apdus: Array(repeating: [0x00], count: 4097))))
        assertDecodeFails(body, with: .invalidField(name: "apdu_batch.apdus", reason: "4097 entries; the limit is 4096"))
    }

    func testLogicalChannelsAboveNineteenAreRejected() {
        for (member, field, name) in [
            (UInt32(7), UInt32(2), "apdu_batch.channel"), (10, 2, "channel_open_result.channel"), (11, 2, "channel_close.channel"),
        ] {
            let nineteen = WireBuilder.frame(member: member) { $0.field(field, varint: 19) }
            XCTAssertNoThrow(try TerminalFrameCodec.decode(nineteen), name)
            let twenty = WireBuilder.frame(member: member) { $0.field(field, varint: 20) }
            assertDecodeFails(twenty, with: .invalidField(name: name, reason: "logical channel 20 is above 19"))
            let huge = WireBuilder.frame(member: member) { $0.field(field, varint: 0xFFFF_FFFF) }
            assertDecodeFails(huge, with: .invalidField(name: name, reason: "logical channel 4294967295 is above 19"))
        }
        XCTAssertThrowsError(try TerminalFrame.channelClose(ChannelClose(channel: 20)).validate())
    }

    func testStatusWordsAboveSixteenBitsAreRejected() {
        let result = WireBuilder.frame(member: 12) { $0.field(2, varint: 0x1_0000) }
        assertDecodeFails(result, with: .invalidField(name: "channel_close_result.sw", reason: "status word 65536 is above 0xFFFF"))

        let open = WireBuilder.frame(member: 10) { $0.field(3, varint: 0x1_9000) }
        assertDecodeFails(open, with: .invalidField(name: "channel_open_result.sw", reason: "status word 102400 is above 0xFFFF"))

        var packed = WireBuilder()
        packed.varint(0x9000)
        packed.varint(0x2_0000)
        let batch = WireBuilder.frame(member: 7) { $0.field(4, message: packed) }
        assertDecodeFails(batch, with: .invalidField(name: "apdu_batch.accept_sw[1]", reason: "status word 131072 is above 0xFFFF"))
    }

    func testAidLongerThanSixteenBytesIsRejected() {
        let body = TerminalFrameCodec.encode(.channelOpen(ChannelOpen(aid: Array(repeating: 0xA0, count: 17))))
        assertDecodeFails(body, with: .invalidField(name: "channel_open.aid", reason: "17 bytes long; the limit is 16"))
    }

    // MARK: Structure

    func testBodyWithoutAMessageIsRejected() {
        assertDecodeFails([], with: .missingBody)
    }

    func testUnknownOneofMemberIsReportedByNumber() {
        // Field 14 would be a message kind from a newer protocol version.
        assertDecodeFails(WireBuilder.frame(member: 14) { $0.field(1, varint: 1) }, with: .unknownBody(fieldNumber: 14))
        var varintOnly = WireBuilder()
        varintOnly.field(99, varint: 5)
        assertDecodeFails(varintOnly.bytes, with: .unknownBody(fieldNumber: 99))
    }

    func testUnknownFieldsInsideKnownMessagesAreIgnored() throws {
        let body = WireBuilder.frame(member: 4) {
            $0.field(1, varint: 12)
            $0.field(15, varint: 99)
            $0.field(16, bytes: [0xFF, 0x00, 0xC3])
            $0.field(3, varint: 13)  // zigzag 13 = -7
        }
        XCTAssertEqual(try TerminalFrameCodec.decode(body), .heartbeat(Heartbeat(seq: 12, rssiDBm: -7)))

        // An unknown frame-level field next to a known member does not hide the member.
        var frame = WireBuilder()
        frame.field(20, varint: 1)
        frame.field(5, message: .message { $0.field(1, varint: 3) })
        XCTAssertEqual(try TerminalFrameCodec.decode(frame.bytes), .heartbeatAck(HeartbeatAck(seq: 3)))
    }

    func testTheLastOneofMemberWins() throws {
        var frame = WireBuilder()
        frame.field(4, message: .message { $0.field(1, varint: 1) })
        frame.field(5, message: .message { $0.field(1, varint: 2) })
        XCTAssertEqual(try TerminalFrameCodec.decode(frame.bytes), .heartbeatAck(HeartbeatAck(seq: 2)))
    }

    func testWrongWireTypesAndBadLengthsAreMalformed() {
        func isMalformed(_ body: [UInt8], file: StaticString = #filePath, line: UInt = #line) {
            XCTAssertThrowsError(try TerminalFrameCodec.decode(body), file: file, line: line) { error in
                guard case .malformedMessage = error as? TerminalProtocolError else {
                    return XCTFail("expected malformedMessage, got \(error)", file: file, line: line)
                }
            }
        }
        isMalformed([0x08, 0x01])  // hello as a varint
        isMalformed([0x22, 0x05, 0x08, 0x01])  // heartbeat length past the end
        isMalformed([0x22, 0x02, 0x0A, 0x00])  // heartbeat.seq as a string
        isMalformed([0x22, 0x02, 0x08, 0x80])  // unterminated varint inside
        isMalformed([0x07])  // wire type 7 does not exist
        isMalformed([0x22])  // key without a length
    }

    func testUnknownEnumValuesAreKept() throws {
        let body = WireBuilder.frame(member: 3) { $0.field(1, varint: 77) }
        XCTAssertEqual(try TerminalFrameCodec.decode(body), .reject(Reject(code: ReasonCode(rawValue: 77))))
        let status = WireBuilder.frame(member: 8) { $0.field(2, varint: UInt64(bitPattern: -2)) }
        XCTAssertEqual(try TerminalFrameCodec.decode(status), .apduBatchResult(ApduBatchResult(status: BatchStatus(rawValue: -2))))
    }
}
