import LPACrypto
import XCTest

final class DigestAndRandomTests: XCTestCase {
    /// FIPS 180-4 examples (also in NIST's "SHA256.pdf" example set).
    func testSHA256KnownAnswers() {
        XCTAssertEqual(
            SHA256.hash(Array("abc".utf8)).hex,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        )
        XCTAssertEqual(
            SHA256.hash([UInt8]()).hex,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        )
        XCTAssertEqual(
            SHA256.hash(Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)).hex,
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
        )
    }

    func testSecureRandom() throws {
        XCTAssertEqual(try SecureRandom.bytes(count: 0), [])
        let one = try SecureRandom.bytes(count: 32)
        let two = try SecureRandom.bytes(count: 32)
        XCTAssertEqual(one.count, 32)
        XCTAssertNotEqual(one, two)
        XCTAssertThrowsError(try SecureRandom.bytes(count: -1))
    }
}
