import TerminalProtocol
import XCTest

final class ReasonCodeTests: XCTestCase {
    func testNamesAreTheProtoValueNames() {
        XCTAssertEqual(
            ReasonCode.allKnown.map(\.name),
            [
                "REASON_UNSPECIFIED", "UNSUPPORTED_VERSION", "IDENTITY_MISMATCH", "UNKNOWN_MODEL", "INVALID_FIELD",
                "MISSING_FIELD", "SERVER_BUSY", "RATE_LIMITED", "PROTOCOL_VIOLATION", "SHUTTING_DOWN",
                "HEARTBEAT_TIMEOUT", "DUPLICATE_SESSION", "ADMIN_DISCONNECT", "CORE_UNAVAILABLE", "DEVICE_RESTART",
                "PROFILE_SWITCH",
            ]
        )
        XCTAssertEqual(ReasonCode.allKnown.map(\.rawValue), Array(0...15))
    }

    func testConstantsMatchTheProtoNumbers() {
        XCTAssertEqual(ReasonCode.unsupportedVersion.rawValue, 1)
        XCTAssertEqual(ReasonCode.identityMismatch.rawValue, 2)
        XCTAssertEqual(ReasonCode.protocolViolation.rawValue, 8)
        XCTAssertEqual(ReasonCode.heartbeatTimeout.rawValue, 10)
        XCTAssertEqual(ReasonCode.profileSwitch.rawValue, 15)
        XCTAssertEqual(ReasonCode.serverBusy.description, "SERVER_BUSY")
    }

    func testUnknownValuesArePreservedAndNamed() {
        let future = ReasonCode(rawValue: 42)
        XCTAssertFalse(future.isKnown)
        XCTAssertEqual(future.rawValue, 42)
        XCTAssertEqual(future.name, "REASON_CODE_42")
        XCTAssertEqual(ReasonCode(rawValue: -3).name, "REASON_CODE_-3")
        XCTAssertTrue(ReasonCode.coreUnavailable.isKnown)
    }

    func testNamesParseBack() {
        for code in ReasonCode.allKnown + [ReasonCode(rawValue: 42), ReasonCode(rawValue: -3)] {
            XCTAssertEqual(ReasonCode(name: code.name), code)
        }
        XCTAssertNil(ReasonCode(name: "server_busy"))
        XCTAssertNil(ReasonCode(name: "REASON_CODE_8"), "a known value has only its proper name")
        XCTAssertNil(ReasonCode(name: "REASON_CODE_+42"))
        XCTAssertNil(ReasonCode(name: "REASON_CODE_"))
    }

    func testBatchStatusNames() {
        XCTAssertEqual(BatchStatus.allKnown.map(\.name), ["BATCH_OK", "BATCH_STOPPED", "BATCH_CARD_ERROR", "BATCH_REJECTED"])
        XCTAssertEqual(BatchStatus.cardError.rawValue, 2)
        XCTAssertEqual(BatchStatus(rawValue: 9).name, "BATCH_STATUS_9")
        XCTAssertEqual(BatchStatus.rejected.description, "BATCH_REJECTED")
    }

    func testEveryProtocolErrorIsAProtocolViolation() {
        let errors: [TerminalProtocolError] = [
            .frameTooLarge(length: 2, limit: 1), .emptyFrame, .malformedLengthPrefix,
            .truncatedFrame(expected: 4, available: 2), .truncatedFrame(expected: nil, available: 1),
            .malformedMessage(detail: "x"), .missingBody, .unknownBody(fieldNumber: 14),
            .invalidField(name: "a.b", reason: "c"),
        ]
        for error in errors {
            XCTAssertEqual(error.reasonCode, .protocolViolation)
            XCTAssertEqual(error.reasonCode.name, "PROTOCOL_VIOLATION")
        }
        XCTAssertEqual(Set(errors.map(\.description)).count, errors.count, "descriptions tell the cases apart")
        XCTAssertEqual(
            TerminalProtocolError.frameTooLarge(length: 300_000, limit: 262_144).description,
            "frame of 300000 bytes exceeds the limit of 262144 bytes"
        )
        XCTAssertEqual(
            TerminalProtocolError.invalidField(name: "apdu_batch.channel", reason: "logical channel 20 is above 19").description,
            "invalid apdu_batch.channel: logical channel 20 is above 19"
        )
    }

    func testProtocolVersion() {
        XCTAssertEqual(TerminalProtocolVersion.current, 1)
        XCTAssertEqual(protocolVersion, 1)
        XCTAssertEqual(Hello().protocolVersion, 1)
    }
}
