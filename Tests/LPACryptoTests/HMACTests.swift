import LPACrypto
import XCTest

/// Known-answer tests for `HMACSHA256`: the HMAC-SHA-256 results of RFC 4231 section 4.
final class HMACTests: XCTestCase {
    private func tag(_ message: [UInt8], _ key: [UInt8]) throws -> String {
        try HMACSHA256.tag(for: message, key: key).hex
    }

    /// RFC 4231 4.2, test case 1.
    func testRFC4231Case1() throws {
        XCTAssertEqual(try tag(Array("Hi There".utf8), [UInt8](repeating: 0x0b, count: 20)),
                       "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7")
    }

    /// RFC 4231 4.3, test case 2: a key shorter than the tag.
    func testRFC4231Case2() throws {
        XCTAssertEqual(try tag(Array("what do ya want for nothing?".utf8), Array("Jefe".utf8)),
                       "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    }

    /// RFC 4231 4.4, test case 3.
    func testRFC4231Case3() throws {
        XCTAssertEqual(try tag([UInt8](repeating: 0xdd, count: 50), [UInt8](repeating: 0xaa, count: 20)),
                       "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe")
    }

    /// RFC 4231 4.5, test case 4.
    func testRFC4231Case4() throws {
        XCTAssertEqual(try tag([UInt8](repeating: 0xcd, count: 50), Array(1...25)),
                       "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b")
    }

    /// RFC 4231 4.6, test case 5: the vector is the tag truncated to 128 bits.
    func testRFC4231Case5Truncated() throws {
        let full = try HMACSHA256.tag(for: Array("Test With Truncation".utf8), key: [UInt8](repeating: 0x0c, count: 20))
        XCTAssertEqual(Array(full.prefix(16)).hex, "a3b6167473100ee06e0c796c2955552b")
    }

    /// RFC 4231 4.7 and 4.8, test cases 6 and 7: a key longer than the block is hashed first.
    func testRFC4231Cases6And7LongKey() throws {
        let key = [UInt8](repeating: 0xaa, count: 131)
        XCTAssertEqual(try tag(Array("Test Using Larger Than Block-Size Key - Hash Key First".utf8), key),
                       "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54")
        let data = "This is a test using a larger than block-size key and a larger than block-size data. "
            + "The key needs to be hashed before being used by the HMAC algorithm."
        XCTAssertEqual(try tag(Array(data.utf8), key), "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2")
    }

    /// Empty keys and messages are valid input, not failures.
    func testEmptyKeyAndMessage() throws {
        // HMAC-SHA256 of an empty message under an empty key (computed independently with Python's hmac module).
        XCTAssertEqual(try tag([], []), "b613679a0814d9ec772f95d778c35fc5ff1697c493715653c6c712144292c5ad")
    }

    func testConstantTimeEqual() {
        XCTAssertTrue(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 3]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2, 4]))
        XCTAssertFalse(HMACSHA256.constantTimeEqual([1, 2, 3], [1, 2]))
        XCTAssertTrue(HMACSHA256.constantTimeEqual([], []))
    }
}
