import LPAIdentity
import XCTest

final class IdentityTests: XCTestCase {
    // MARK: EID

    func testEIDExampleFromSGP29IsValid() throws {
        let example = "89049032123451234512345678901235"
        XCTAssertNil(EID.validate(example))
        XCTAssertEqual(try EID(example).value, example)
        XCTAssertEqual(try EID.checkDigits(forPrefix: String(example.prefix(30))), "35")
    }

    func testEIDRejections() {
        XCTAssertEqual(EID.validate("8904903212345123451234567890123"), .wrongLength(.eid, expected: 32...32, actual: 31))
        XCTAssertEqual(EID.validate(""), .wrongLength(.eid, expected: 32...32, actual: 0))
        XCTAssertEqual(EID.validate("8904903212345123451234567890123A"), .nonDigit(.eid, position: 32, character: "A"))
        XCTAssertEqual(EID.validate("89049032123451234512345678901236"), .badCheckDigits(.eid, expected: "35", actual: "36"))
        // A transposition in the body changes the check digits.
        XCTAssertEqual(EID.validate("89049032123451234512345678910235")?.code, "eid.bad_check_digits")
        XCTAssertEqual(EID.validate("79049032123451234512345678901235")?.code, "eid.wrong_prefix")
        XCTAssertThrowsError(try EID("89049032 23451234512345678901235")) { error in
            XCTAssertEqual(error as? IdentityError, .nonDigit(.eid, position: 9, character: " "))
            XCTAssertTrue("\(error)".contains("position 9"))
        }
        XCTAssertThrowsError(try EID.checkDigits(forPrefix: "123"))
    }

    func testEIDGenerator() throws {
        var seen = Set<EID>()
        for index: UInt64 in [0, 1, 2, 97, 98, 12345, 9_999_999_999] {
            let eid = try EID.make(prefix: "89049032", index: index)
            XCTAssertNil(EID.validate(eid.value), eid.value)
            XCTAssertTrue(eid.value.hasPrefix("89049032"))
            XCTAssertTrue(seen.insert(eid).inserted)
        }
        XCTAssertEqual(try EID.make(prefix: "89049032", index: 7), try EID.make(prefix: "89049032", index: 7))
        XCTAssertEqual(try EID.make(prefix: "890490321234512345123456789012", index: 0).value, "89049032123451234512345678901235")
        XCTAssertThrowsError(try EID.make(prefix: "890490321234512345123456789012", index: 1)) { error in
            XCTAssertEqual((error as? IdentityError)?.code, "eid.index_out_of_range")
        }
        XCTAssertThrowsError(try EID.make(prefix: "12", index: 1)) { error in
            XCTAssertEqual((error as? IdentityError)?.code, "eid.invalid_prefix")
        }
        XCTAssertThrowsError(try EID.make(prefix: "89x", index: 1))
    }

    // MARK: IMEI

    func testIMEIValidation() throws {
        XCTAssertNil(IMEI.validate("490154203237518"))
        XCTAssertNil(IMEI.validate("356938035643809"))
        XCTAssertEqual(try IMEI("490154203237518").typeAllocationCode, "49015420")
        XCTAssertEqual(IMEI.validate("490154203237517"), .badCheckDigits(.imei, expected: "8", actual: "7"))
        XCTAssertEqual(IMEI.validate("49015420323751"), .wrongLength(.imei, expected: 15...15, actual: 14))
        XCTAssertEqual(IMEI.validate("4901542032375180"), .wrongLength(.imei, expected: 15...15, actual: 16))
        XCTAssertEqual(IMEI.validate("49015420323751-"), .nonDigit(.imei, position: 15, character: "-"))
        XCTAssertEqual(IMEI.validate("４90154203237518")?.code, "imei.non_digit")
    }

    func testIMEIGenerator() throws {
        let first = try IMEI.make(tac: "35000011", index: 0)
        XCTAssertEqual(first.value.count, 15)
        XCTAssertNil(IMEI.validate(first.value))
        for index: UInt64 in [1, 42, 999_999] {
            let imei = try IMEI.make(tac: "35000011", index: index)
            XCTAssertNil(IMEI.validate(imei.value))
            XCTAssertEqual(imei.typeAllocationCode, "35000011")
        }
        XCTAssertEqual(try IMEI.make(tac: "49015420", index: 323_751).value, "490154203237518")
        XCTAssertThrowsError(try IMEI.make(tac: "35000011", index: 1_000_000)) { error in
            XCTAssertEqual(error as? IdentityError, .indexOutOfRange(.imei, index: 1_000_000, maximum: 999_999))
        }
        XCTAssertThrowsError(try IMEI.make(tac: "3500001", index: 0)) { error in
            XCTAssertEqual((error as? IdentityError)?.code, "imei.invalid_prefix")
        }
    }

    // MARK: ICCID

    func testICCIDValidation() {
        XCTAssertNil(ICCID.validate("89014103211118510720"))
        XCTAssertNil(ICCID.validate("8944110068256270054"))
        XCTAssertEqual(ICCID.validate("89014103211118510721"), .badCheckDigits(.iccid, expected: "0", actual: "1"))
        XCTAssertEqual(ICCID.validate("89014103211118510"), .wrongLength(.iccid, expected: 18...20, actual: 17))
        XCTAssertEqual(ICCID.validate("890141032111185107200"), .wrongLength(.iccid, expected: 18...20, actual: 21))
        XCTAssertEqual(ICCID.validate("8901410321111851072F"), .nonDigit(.iccid, position: 20, character: "F"))
        XCTAssertEqual(ICCID.validate("99014103211118510720")?.code, "iccid.wrong_prefix")
    }

    func testICCIDGenerator() throws {
        for length in 18...20 {
            for index: UInt64 in [0, 1, 5555] {
                let iccid = try ICCID.make(issuerPrefix: "8988247", index: index, length: length)
                XCTAssertEqual(iccid.value.count, length)
                XCTAssertNil(ICCID.validate(iccid.value), iccid.value)
                XCTAssertTrue(iccid.value.hasPrefix("8988247"))
            }
        }
        XCTAssertNotEqual(try ICCID.make(issuerPrefix: "8988247", index: 1), try ICCID.make(issuerPrefix: "8988247", index: 2))
        XCTAssertThrowsError(try ICCID.make(issuerPrefix: "1988247", index: 1))
        XCTAssertThrowsError(try ICCID.make(issuerPrefix: "8988247", index: 1, length: 21))
        XCTAssertThrowsError(try ICCID.make(issuerPrefix: "898824712345678901", index: 10))
    }

    func testIdentifiersAreCodableAsStrings() throws {
        let eid = try EID("89049032123451234512345678901235")
        let data = try JSONEncoder().encode([eid])
        XCTAssertEqual(String(decoding: data, as: UTF8.self), "[\"89049032123451234512345678901235\"]")
        XCTAssertEqual(try JSONDecoder().decode([EID].self, from: data), [eid])
        XCTAssertThrowsError(try JSONDecoder().decode([IMEI].self, from: Data("[\"123\"]".utf8)))
    }
}
