import LPACrypto
import XCTest

final class ECDSATests: XCTestCase {
    let message = Array("ServerLPA known-answer test".utf8)

    func testSignAndVerifyRawAndDEROnBothCurves() throws {
        for curve in EllipticCurve.allCases {
            let key = try PrivateKey.generate(curve: curve)
            let raw = try ECDSA.sign(message, with: key, format: .raw)
            XCTAssertEqual(raw.count, 64, "\(curve)")
            XCTAssertTrue(try ECDSA.verify(raw, format: .raw, for: message, with: key.publicKey), "\(curve)")
            let der = try ECDSA.sign(message, with: key, format: .der)
            XCTAssertEqual(der.first, 0x30)
            XCTAssertTrue(try ECDSA.verify(der, format: .der, for: message, with: key.publicKey), "\(curve)")
            XCTAssertTrue(try ECDSA.verify(try ECDSA.derSignature(fromRaw: raw), format: .der, for: message, with: key.publicKey))
            XCTAssertTrue(try ECDSA.verify(try ECDSA.rawSignature(fromDER: der), format: .raw, for: message, with: key.publicKey))
        }
    }

    func testTamperedMessageSignatureOrKeyFails() throws {
        for curve in EllipticCurve.allCases {
            let key = try PrivateKey.generate(curve: curve)
            let raw = try ECDSA.sign(message, with: key)
            var tamperedMessage = message
            tamperedMessage[0] ^= 0x01
            XCTAssertFalse(try ECDSA.verify(raw, for: tamperedMessage, with: key.publicKey))
            var tamperedSignature = raw
            tamperedSignature[40] ^= 0x80
            XCTAssertFalse(try ECDSA.verify(tamperedSignature, for: message, with: key.publicKey))
            XCTAssertFalse(try ECDSA.verify(raw, for: message, with: try PrivateKey.generate(curve: curve).publicKey))
            XCTAssertFalse(try ECDSA.verify(Array(raw.dropLast()), for: message, with: key.publicKey))
            XCTAssertFalse(try ECDSA.verify([0x30, 0x00], format: .der, for: message, with: key.publicKey))
            XCTAssertFalse(try ECDSA.verify([UInt8](repeating: 0, count: 64), for: message, with: key.publicKey))
        }
    }

    func testRawDERConversionRoundTripWithLeadingZeros() throws {
        // r has a leading zero byte (so its DER INTEGER is short), s has its top bit set (so DER adds 00).
        let r = [UInt8](repeating: 0, count: 2) + [UInt8](repeating: 0x11, count: 30)
        let s = [0x80] + [UInt8](repeating: 0x22, count: 31)
        let raw = r + s
        let der = try ECDSA.derSignature(fromRaw: raw)
        XCTAssertEqual(Array(der.prefix(4)), [0x30, UInt8(der.count - 2), 0x02, 30])
        XCTAssertEqual(der[4 + 30], 0x02)
        XCTAssertEqual(der[4 + 30 + 1], 33)
        XCTAssertEqual(der[4 + 30 + 2], 0x00)
        XCTAssertEqual(try ECDSA.rawSignature(fromDER: der), raw)

        // Many real signatures: every one survives raw → DER → raw.
        let key = try PrivateKey.generate(curve: .p256)
        for index in 0..<64 {
            let signature = try ECDSA.sign(Array("message \(index)".utf8), with: key)
            XCTAssertEqual(try ECDSA.rawSignature(fromDER: try ECDSA.derSignature(fromRaw: signature)), signature)
        }
    }

    func testConversionRejectsMalformedInput() {
        XCTAssertThrowsError(try ECDSA.derSignature(fromRaw: []))
        XCTAssertThrowsError(try ECDSA.derSignature(fromRaw: [1, 2, 3]))
        XCTAssertThrowsError(try ECDSA.rawSignature(fromDER: []))
        XCTAssertThrowsError(try ECDSA.rawSignature(fromDER: [0x30, 0x06, 0x02, 0x01, 0x01]))
        // A valid DER signature followed by a stray byte.
        XCTAssertThrowsError(try ECDSA.rawSignature(fromDER: [0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00]))
        // r is 33 significant bytes: does not fit 32.
        let long = [0x30, 0x27, 0x02, 0x22, 0x01] + [UInt8](repeating: 0x55, count: 33) + [0x02, 0x01, 0x01]
        XCTAssertThrowsError(try ECDSA.rawSignature(fromDER: long)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
        }
    }

    /// Vectors produced with `openssl dgst -sha256 -sign key.pem` over "ServerLPA known-answer test"; the
    /// points are the signers' public keys (`openssl ec -pubout -conv_form uncompressed`).
    func testKnownAnswerVerification() throws {
        let vectors: [(EllipticCurve, String, String)] = [
            (
                .p256,
                "044e755b83ff974f7011dde5c5ef784765a6c1b26f41f1aa0dbb5b4f8fef3f82544c889f75671f9acc2d599aebf3237fb7eb6ad8c6a97aa251aaaa4ccf30fbf71f",
                "304402205d6f82d8445727fbf3265bd70c168d02311303cb0dfe5220d19a95b2b77ceaf5022002bfc54c74385424d507fa4d64eb682f70983facc7149447a06f8ca9dc831ecc"
            ),
            (
                .brainpoolP256r1,
                "048f6a86d2f13fdfde299e6fce2b28a84107bdf4fa765e5570718a366e50a561f420498ee8c4510e372e53535a5dc6c36bcdac29139e5b518d297e86f1dc70d1a5",
                "304502206a982553a0eea49b8272dc30a49a51cc8deb75245f4c84860b712e086b9a7c5302210093ed9cbd56b45b9662627846b18b3d746d353bc3fc739976c6e7dd5ad56007ac"
            ),
        ]
        for (curve, point, signature) in vectors {
            let key = try PublicKey(uncompressedPoint: [UInt8](hex: point), curve: curve)
            let der = [UInt8](hex: signature)
            XCTAssertTrue(try ECDSA.verify(der, format: .der, for: message, with: key), "\(curve)")
            let raw = try ECDSA.rawSignature(fromDER: der)
            XCTAssertEqual(raw.count, 64)
            XCTAssertTrue(try ECDSA.verify(raw, format: .raw, for: message, with: key), "\(curve)")
            XCTAssertFalse(try ECDSA.verify(raw, format: .raw, for: Array("other".utf8), with: key), "\(curve)")
        }
        // The P-256 vector's key is the SEC1 test key: its signatures verify against the same point.
        let signer = try PrivateKey(pem: KeyTests.sec1PEM)
        let fresh = try ECDSA.sign(message, with: signer)
        XCTAssertTrue(try ECDSA.verify(fresh, for: message, with: try PublicKey(uncompressedPoint: [UInt8](hex: vectors[0].1), curve: .p256)))
    }
}
