import LPACrypto
import XCTest

/// Known-answer and bad-input tests for `AES`, `AESCMAC` and `X963KDF`.
final class SymmetricCryptoTests: XCTestCase {
    /// The AES-128 key of NIST SP 800-38A appendix F and RFC 4493.
    private let key = [UInt8](hex: "2b7e151628aed2a6abf7158809cf4f3c")

    /// The four plaintext blocks of NIST SP 800-38A appendix F (also the RFC 4493 messages).
    private let plaintext = [UInt8](hex: """
        6bc1bee22e409f96e93d7e117393172a ae2d8a571e03ac9c9eb76fac45af8e51
        30c81c46a35ce411e5fbc1191a0a52ef f69f2445df4f9b17ad2b417be66c3710
        """)

    // MARK: AES

    /// NIST SP 800-38A F.2.1 (CBC-AES128.Encrypt) and F.2.2 (CBC-AES128.Decrypt).
    func testAES128CBCKnownAnswer() throws {
        let iv = [UInt8](hex: "000102030405060708090a0b0c0d0e0f")
        let ciphertext = [UInt8](hex: """
            7649abac8119b246cee98e9b12e9197d 5086cb9b507219ee95db113a917678b2
            73bed6b8e3c1743b7116e69e22229516 3ff1caa1681fac09120eca307586e1a7
            """)
        XCTAssertEqual(try AES.encryptCBC(plaintext, key: key, iv: iv), ciphertext)
        XCTAssertEqual(try AES.decryptCBC(ciphertext, key: key, iv: iv), plaintext)
        XCTAssertEqual(try AES.encryptCBC([UInt8](), key: key, iv: iv), [])
        XCTAssertEqual(try AES.decryptCBC([UInt8](), key: key, iv: iv), [])
    }

    /// NIST SP 800-38A F.1.1 (ECB-AES128.Encrypt), one block at a time.
    func testAES128ECBBlockKnownAnswer() throws {
        let ciphertext = [UInt8](hex: """
            3ad77bb40d7a3660a89ecaf32466ef97 f5d3d58503b9699de785895a96fdbaaf
            43b1cd7f598ece23881b00e3ed030688 7b0c785e27e8ad3f8223207104725dd4
            """)
        for block in 0..<4 {
            let range = block * 16..<(block + 1) * 16
            XCTAssertEqual(try AES.encryptBlock(Array(plaintext[range]), key: key), Array(ciphertext[range]), "block \(block + 1)")
        }
    }

    /// The other key sizes round-trip (their known answers are OpenSSL's own tests; here only the plumbing).
    func testAES192And256RoundTrip() throws {
        let iv = [UInt8](repeating: 0x5A, count: 16)
        for keyCount in [24, 32] {
            let longKey = [UInt8]((0..<keyCount).map { UInt8($0) })
            let ciphertext = try AES.encryptCBC(plaintext, key: longKey, iv: iv)
            XCTAssertNotEqual(ciphertext, plaintext)
            XCTAssertEqual(try AES.decryptCBC(ciphertext, key: longKey, iv: iv), plaintext)
            XCTAssertEqual(try AES.encryptBlock(Array(plaintext.prefix(16)), key: longKey).count, 16)
        }
    }

    func testAESRejectsBadInput() {
        let iv = [UInt8](repeating: 0, count: 16)
        for badKey in [[], [UInt8](repeating: 1, count: 15), [UInt8](repeating: 1, count: 17), [UInt8](repeating: 1, count: 64)] {
            assertInvalidInput(try AES.encryptCBC(plaintext, key: badKey, iv: iv), mentioning: "16, 24 or 32 bytes")
            assertInvalidInput(try AES.decryptCBC(plaintext, key: badKey, iv: iv), mentioning: "16, 24 or 32 bytes")
            assertInvalidInput(try AES.encryptBlock(Array(plaintext.prefix(16)), key: badKey), mentioning: "16, 24 or 32 bytes")
        }
        for length in [1, 15, 17, 63] {
            let data = Array(plaintext.prefix(length))
            assertInvalidInput(try AES.encryptCBC(data, key: key, iv: iv), mentioning: "multiple of 16")
            assertInvalidInput(try AES.decryptCBC(data, key: key, iv: iv), mentioning: "multiple of 16")
        }
        for length in [0, 15, 17, 32] {
            assertInvalidInput(try AES.encryptBlock(Array(plaintext.prefix(length)), key: key), mentioning: "16 bytes")
        }
        for badIV in [[], [UInt8](repeating: 0, count: 8), [UInt8](repeating: 0, count: 32)] {
            assertInvalidInput(try AES.encryptCBC(plaintext, key: key, iv: badIV), mentioning: "IV")
        }
    }

    // MARK: AES-CMAC

    /// RFC 4493 §4, examples 1 to 4 (messages of 0, 16, 40 and 64 bytes).
    func testAESCMACKnownAnswers() throws {
        let expected: [(Int, String)] = [
            (0, "bb1d6929e95937287fa37d129b756746"),
            (16, "070a16b46b4d4144f79bdd9dd04a287c"),
            (40, "dfa66747de9ae63030ca32611497c827"),
            (64, "51f0bebf7e3b9d92fc49741779363cfe"),
        ]
        for (length, tag) in expected {
            XCTAssertEqual(try AESCMAC.tag(for: Array(plaintext.prefix(length)), key: key).hex, tag, "Mlen = \(length)")
        }
    }

    func testAESCMACRejectsBadKeys() throws {
        for badKey in [[], [UInt8](repeating: 1, count: 8), [UInt8](repeating: 1, count: 20)] {
            assertInvalidInput(try AESCMAC.tag(for: plaintext, key: badKey), mentioning: "16, 24 or 32 bytes")
        }
        XCTAssertEqual(try AESCMAC.tag(for: plaintext, key: [UInt8](repeating: 7, count: 32)).count, 16)
    }

    // MARK: X9.63 KDF

    /// NIST CAVS "ansx963_2001.rsp", SHA-256 section: the first vector without and the first with SharedInfo.
    func testX963KDFCAVSVectors() throws {
        XCTAssertEqual(
            try X963KDF.deriveKey(
                sharedSecret: [UInt8](hex: "96c05619d56c328ab95fe84b18264b08725b85e33fd34f08"),
                byteCount: 16
            ).hex,
            "443024c3dae66b95e6f5670601558f71"
        )
        XCTAssertEqual(
            try X963KDF.deriveKey(
                sharedSecret: [UInt8](hex: "22518b10e70f2a3f243810ae3254139efbee04aa57c7af7d"),
                sharedInfo: [UInt8](hex: "75eef81aa3041e33b80971203d2c0c52"),
                byteCount: 128
            ).hex,
            "c498af77161cc59f2962b9a713e2b215152d139766ce34a776df11866a69bf2e"
                + "52a13d9c7c6fc878c50c5ea0bc7b00e0da2447cfd874f6cf92f30d0097111485"
                + "500c90c3af8b487872d04685d14c8d1dc8d7fa08beb0ce0ababc11f0bd496269"
                + "142d43525a78e5bc79a17f59676a5706dc54d54d4d1f0bd7e386128ec26afc21"
        )
    }

    /// The SGP.22 shape (32-byte Z, 48 bytes out: S-ENC ‖ S-MAC ‖ initial MAC chaining value), cross-checked with
    /// `openssl kdf -keylen 48 -kdfopt digest:SHA256 -kdfopt hexsecret:<Z> -kdfopt hexinfo:<info> X963KDF`.
    func testX963KDFSessionKeyShape() throws {
        let derived = try X963KDF.deriveKey(
            sharedSecret: [UInt8]((0..<32).map { UInt8($0) }),
            sharedInfo: [UInt8](hex: "88020001950104"),
            byteCount: 48
        )
        XCTAssertEqual(
            derived.hex,
            "5a24ef8f81824ab73b5ef03c791c440219537d28c47734100262f722eab2c130"
                + "8fc5df2b841651f8a5e45bcb86207701"
        )
        // Truncation keeps the prefix; a zero-length request is empty.
        XCTAssertEqual(
            try X963KDF.deriveKey(sharedSecret: [UInt8]((0..<32).map { UInt8($0) }), sharedInfo: [UInt8](hex: "88020001950104"), byteCount: 33),
            Array(derived.prefix(33))
        )
        XCTAssertEqual(try X963KDF.deriveKey(sharedSecret: [1, 2, 3], byteCount: 0), [])
    }

    func testX963KDFRejectsBadLengths() {
        assertInvalidInput(try X963KDF.deriveKey(sharedSecret: [1], byteCount: -1), mentioning: "length")
        assertInvalidInput(
            try X963KDF.deriveKey(sharedSecret: [1], byteCount: X963KDF.maximumByteCount + 1),
            mentioning: "length"
        )
    }

    // MARK: Helpers

    private func assertInvalidInput<T>(
        _ expression: @autoclosure () throws -> T,
        mentioning words: String,
        file: StaticString = #filePath,
        line: UInt = #line
    ) {
        XCTAssertThrowsError(try expression(), file: file, line: line) { error in
            guard let error = error as? CryptoError else {
                return XCTFail("expected a CryptoError, got \(error)", file: file, line: line)
            }
            XCTAssertEqual(error.code, .invalidInput, file: file, line: line)
            XCTAssertTrue(error.context.contains(words), "\(error) should mention \(words)", file: file, line: line)
        }
    }
}
