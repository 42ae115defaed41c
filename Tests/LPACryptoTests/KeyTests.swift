import Foundation
import LPACrypto
import XCTest

final class KeyTests: XCTestCase {
    /// A P-256 key in SEC1 form, generated with `openssl ecparam -name prime256v1 -genkey -noout`.
    static let sec1PEM = """
        -----BEGIN EC PRIVATE KEY-----
        MHcCAQEEIOsAovuk3uf7wQ63V8LC9qwpyIoa8cP3HEBB+mZ9W24XoAoGCCqGSM49
        AwEHoUQDQgAETnVbg/+XT3AR3eXF73hHZabBsm9B8aoNu1tPj+8/glRMiJ91Zx+a
        zC1ZmuvzI3+362rYxql6olGqqkzPMPv3Hw==
        -----END EC PRIVATE KEY-----
        """
    /// The public point of `sec1PEM` (`openssl ec -pubout -conv_form uncompressed -outform DER | tail -c 65`).
    static let sec1Point = """
        044e755b83ff974f7011dde5c5ef784765a6c1b26f41f1aa0dbb5b4f8fef3f8254\
        4c889f75671f9acc2d599aebf3237fb7eb6ad8c6a97aa251aaaa4ccf30fbf71f
        """

    /// A brainpoolP256r1 key from `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:brainpoolP256r1`.
    static let brainpoolPKCS8PEM = """
        -----BEGIN PRIVATE KEY-----
        MIGIAgEAMBQGByqGSM49AgEGCSskAwMCCAEBBwRtMGsCAQEEIDEmYSNCC0sT4oKP
        56+aoGMY5AXjFqI9Kk8CZ3wx6BgPoUQDQgAEoO9EPiai9DSD3f8nLD7qZmSuNjEm
        YfEMiF8LjH0YJ9IISClCSfeU4mlhN3STvdAmVPFICQ9GJYRWWM+TB9J6/Q==
        -----END PRIVATE KEY-----
        """

    func testGenerateOnBothCurves() throws {
        for curve in EllipticCurve.allCases {
            let key = try PrivateKey.generate(curve: curve)
            XCTAssertEqual(key.curve, curve)
            XCTAssertEqual(key.publicKey.curve, curve)
            let point = try key.publicKey.uncompressedPoint
            XCTAssertEqual(point.count, 65)
            XCTAssertEqual(point.first, 0x04)
            XCTAssertNotEqual(try PrivateKey.generate(curve: curve).publicKey, key.publicKey)

            let generator = try KeyPairGenerator(curve: curve)
            let keys = try (0..<4).map { _ in try generator.generate() }
            XCTAssertEqual(Set(keys.map(\.publicKey)).count, 4)
            XCTAssertTrue(keys.allSatisfy { $0.curve == curve })
        }
    }

    func testPKCS8PEMRoundTrip() throws {
        for curve in EllipticCurve.allCases {
            let key = try PrivateKey.generate(curve: curve)
            let pem = try key.pemPKCS8
            XCTAssertTrue(pem.hasPrefix("-----BEGIN PRIVATE KEY-----\n"))
            let reread = try PrivateKey(pem: pem)
            XCTAssertEqual(reread.curve, curve)
            XCTAssertEqual(reread.publicKey, key.publicKey)
            let fromDER = try PrivateKey(derPKCS8: try key.derPKCS8)
            XCTAssertEqual(fromDER.publicKey, key.publicKey)
        }
    }

    func testReadsSEC1PEM() throws {
        let key = try PrivateKey(pem: Self.sec1PEM)
        XCTAssertEqual(key.curve, .p256)
        XCTAssertEqual(try key.publicKey.uncompressedPoint, [UInt8](hex: Self.sec1Point))
        XCTAssertTrue(try key.pemPKCS8.hasPrefix("-----BEGIN PRIVATE KEY-----"))
    }

    /// `openssl pkcs8 -topk8 -nocrypt` of `sec1PEM`, and a brainpool key written by `openssl genpkey`: the
    /// PKCS#8 encoder must reproduce OpenSSL's bytes exactly.
    func testPKCS8EncodingMatchesOpenSSL() throws {
        let expectedP256 = """
            -----BEGIN PRIVATE KEY-----
            MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg6wCi+6Te5/vBDrdX
            wsL2rCnIihrxw/ccQEH6Zn1bbhehRANCAAROdVuD/5dPcBHd5cXveEdlpsGyb0Hx
            qg27W0+P7z+CVEyIn3VnH5rMLVma6/Mjf7fratjGqXqiUaqqTM8w+/cf
            -----END PRIVATE KEY-----

            """
        XCTAssertEqual(try PrivateKey(pem: Self.sec1PEM).pemPKCS8, expectedP256)
        XCTAssertEqual(try PrivateKey(pem: Self.brainpoolPKCS8PEM).pemPKCS8, Self.brainpoolPKCS8PEM + "\n")
        let body = Self.brainpoolPKCS8PEM.split(separator: "\n").dropFirst().dropLast().joined()
        XCTAssertEqual(try PrivateKey(pem: Self.brainpoolPKCS8PEM).derPKCS8, Array(Data(base64Encoded: body)!))
    }

    func testPublicKeySPKIAndPointRoundTrip() throws {
        for curve in EllipticCurve.allCases {
            let key = try PrivateKey.generate(curve: curve).publicKey
            let fromSPKI = try PublicKey(spkiDER: key.spkiDER)
            XCTAssertEqual(fromSPKI, key)
            XCTAssertEqual(fromSPKI.curve, curve)
            let fromPoint = try PublicKey(uncompressedPoint: try key.uncompressedPoint, curve: curve)
            XCTAssertEqual(fromPoint, key)
            XCTAssertEqual(fromPoint.spkiDER, key.spkiDER)
        }
    }

    func testPointOnTheWrongCurveOrMalformedIsRejected() throws {
        let point = try PrivateKey.generate(curve: .p256).publicKey.uncompressedPoint
        XCTAssertThrowsError(try PublicKey(uncompressedPoint: point, curve: .brainpoolP256r1)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
        }
        var offCurve = point
        offCurve[64] ^= 0x01
        XCTAssertThrowsError(try PublicKey(uncompressedPoint: offCurve, curve: .p256))
        XCTAssertThrowsError(try PublicKey(uncompressedPoint: Array(point.dropLast()), curve: .p256))
        var compressedPrefix = point
        compressedPrefix[0] = 0x02
        XCTAssertThrowsError(try PublicKey(uncompressedPoint: compressedPrefix, curve: .p256))
    }

    func testECDHIsSymmetricOnBothCurves() throws {
        for curve in EllipticCurve.allCases {
            let alice = try PrivateKey.generate(curve: curve)
            let bob = try PrivateKey.generate(curve: curve)
            let one = try alice.sharedSecret(with: bob.publicKey)
            let two = try bob.sharedSecret(with: alice.publicKey)
            XCTAssertEqual(one, two)
            XCTAssertEqual(one.count, 32)
            XCTAssertNotEqual(one, try alice.sharedSecret(with: try PrivateKey.generate(curve: curve).publicKey))
        }
    }

    /// Known answer produced with `openssl pkeyutl -derive -inkey a.pem -peerkey b.pub` on brainpoolP256r1.
    func testECDHKnownAnswerBrainpool() throws {
        let privateKey = try PrivateKey(pem: Self.brainpoolPKCS8PEM)
        XCTAssertEqual(privateKey.curve, .brainpoolP256r1)
        let peer = try PublicKey(
            uncompressedPoint: [UInt8](hex: """
                041a870aaae1faa89ae999cbb776881ea88dfafdfe0ae7a6d1322f44fd37cce888\
                899ad0830747c98fe58685aba87539fce8028b3f8359807cc43f01cabac0fe1b
                """),
            curve: .brainpoolP256r1
        )
        XCTAssertEqual(
            try privateKey.sharedSecret(with: peer).hex,
            "07aecc512f3e2895f208db7458727cc8d36daec7311c89a0e05e99f7970113eb"
        )
    }

    func testECDHRejectsAPeerOnAnotherCurve() throws {
        let key = try PrivateKey.generate(curve: .p256)
        let peer = try PrivateKey.generate(curve: .brainpoolP256r1).publicKey
        XCTAssertThrowsError(try key.sharedSecret(with: peer)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .mismatchedInput)
        }
    }

    func testDescriptionsDoNotLeakKeyMaterial() throws {
        let key = try PrivateKey.generate(curve: .p256)
        XCTAssertEqual(String(describing: key), "PrivateKey(p256)")
    }
}
