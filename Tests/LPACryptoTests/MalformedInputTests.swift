import Foundation
import LPACrypto
import XCTest

/// Truncated, damaged and random inputs: every decoder must throw `CryptoError`, never crash.
final class MalformedInputTests: XCTestCase {
    func testGarbageAndTruncatedPEMCertificates() throws {
        let pem = try TestHierarchy().leaf.pem
        let inputs = [
            "", "garbage", "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
            String(pem.prefix(pem.count / 2)),
            pem.replacingOccurrences(of: "-----END CERTIFICATE-----", with: ""),
            pem.replacingOccurrences(of: "M", with: "*"),
        ]
        for input in inputs {
            XCTAssertThrowsError(try Certificate(pem: input), input) { error in
                XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
            }
            XCTAssertThrowsError(try Certificate.chain(pem: input), input) { error in
                XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
            }
        }
        XCTAssertThrowsError(try Certificate.chain(pem: pem + String(pem.prefix(100)))) { error in
            XCTAssertTrue((error as? CryptoError)?.context.contains("certificate 2") ?? false, "\(error)")
        }
    }

    func testTruncatedAndExtendedDERCertificates() throws {
        let der = try TestHierarchy().leaf.der
        for length in [0, 1, 2, 10, der.count / 2, der.count - 1] {
            XCTAssertThrowsError(try Certificate(der: Array(der.prefix(length))), "length \(length)") { error in
                XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
            }
        }
        XCTAssertThrowsError(try Certificate(der: der + [0x00])) { error in
            XCTAssertTrue((error as? CryptoError)?.context.contains("unexpected bytes") ?? false)
        }
    }

    func testDamagedDERCertificatesNeverCrash() throws {
        let der = try TestHierarchy().leaf.der
        var generator = SplitMix64(seed: 42)
        for _ in 0..<500 {
            var damaged = der
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                damaged[Int(generator.next() % UInt64(damaged.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            if let certificate = try? Certificate(der: damaged) {
                _ = certificate.subject
                _ = certificate.subjectAltNames
                _ = certificate.policies
                _ = certificate.notAfter
            }
        }
        for length in 0..<64 {
            let random = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            XCTAssertThrowsError(try Certificate(der: random))
            XCTAssertThrowsError(try PublicKey(spkiDER: random))
        }
    }

    func testGarbagePrivateKeysAndPublicKeys() throws {
        let pem = try PrivateKey.generate(curve: .p256).pemPKCS8
        for input in ["", "garbage", String(pem.prefix(pem.count / 2)), pem.replacingOccurrences(of: "A", with: "B")] {
            XCTAssertThrowsError(try PrivateKey(pem: input)) { error in
                XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
            }
        }
        XCTAssertThrowsError(try PrivateKey(pem: "")) { error in
            XCTAssertFalse((error as? CryptoError)?.openSSLReasons.isEmpty ?? true, "\(error)")
        }
        XCTAssertThrowsError(try PrivateKey(derPKCS8: [0x30, 0x03, 0x02, 0x01, 0x00]))
        let spki = try PrivateKey.generate(curve: .p256).publicKey.spkiDER
        XCTAssertThrowsError(try PublicKey(spkiDER: Array(spki.dropLast())))
        XCTAssertThrowsError(try PublicKey(spkiDER: spki + [0]))
    }

    func testEncryptedPrivateKeyIsRejectedWithoutPrompting() throws {
        // `openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -aes-128-cbc -pass pass:test`
        let encrypted = """
            -----BEGIN ENCRYPTED PRIVATE KEY-----
            MIHsMFcGCSqGSIb3DQEFDTBKMCkGCSqGSIb3DQEFDDAcBAh+q4PpkiEAQAICCAAw
            DAYIKoZIhvcNAgkFADAdBglghkgBZQMEAQIEEKxKDfG4GdP7vwFNV9yBlD0EgZCa
            wQdnEeBQY1cOKy6dVG570EnV7f652u0K1gcexY4aOZm24yRYwvqVKePV79unU31E
            0V9XvVaFzfjXs/Xcr4QBH7O6eYhpkMAjG0A4KeMsqtPPC3mMkR+/HAXOU3hdgDbr
            6VxCyL6weVFCLznbMIziMPS8renpz7BdU/PcPXaLbMeTV1mIfIP0oYbaxj6HIGE=
            -----END ENCRYPTED PRIVATE KEY-----
            """
        XCTAssertThrowsError(try PrivateKey(pem: encrypted)) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
        }
    }
}

/// A deterministic pseudo-random generator for reproducible damage.
struct SplitMix64 {
    var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
