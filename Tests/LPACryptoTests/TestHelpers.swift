import Foundation
import LPACrypto

extension Array where Element == UInt8 {
    /// Bytes from hex text (whitespace ignored); traps on malformed hex, which only a broken test can contain.
    init(hex: String) {
        let digits = Array(hex.filter { !$0.isWhitespace }.utf8)
        precondition(digits.count % 2 == 0, "odd hex length")
        func value(_ digit: UInt8) -> UInt8 {
            switch digit {
            case 0x30...0x39: digit - 0x30
            case 0x61...0x66: digit - 0x61 + 10
            case 0x41...0x46: digit - 0x41 + 10
            default: preconditionFailure("not hex")
            }
        }
        self = stride(from: 0, to: digits.count, by: 2).map { value(digits[$0]) << 4 | value(digits[$0 + 1]) }
    }

    var hex: String { map { String(format: "%02x", $0) }.joined() }
}

/// A small CA hierarchy for certificate tests.
struct TestHierarchy {
    let rootKey: PrivateKey
    let root: Certificate
    let intermediateKey: PrivateKey
    let intermediate: Certificate
    let leafKey: PrivateKey
    let leaf: Certificate

    init(curve: EllipticCurve = .p256, leafNotAfter: Date = Date(timeIntervalSinceNow: 86400)) throws {
        rootKey = try PrivateKey.generate(curve: curve)
        var rootBuilder = CertificateBuilder(
            subject: DistinguishedName(country: "DE", organization: "ServerLPA Tests", commonName: "Test Root"),
            subjectPublicKey: rootKey.publicKey,
            notBefore: Date(timeIntervalSinceNow: -86400 * 30)
        )
        rootBuilder.basicConstraints = .certificateAuthority()
        rootBuilder.keyUsage = [.keyCertSign, .cRLSign]
        root = try rootBuilder.build(issuer: .selfSigned(rootKey))

        intermediateKey = try PrivateKey.generate(curve: curve)
        var intermediateBuilder = CertificateBuilder(
            subject: DistinguishedName(organization: "ServerLPA Tests", commonName: "Test Intermediate"),
            subjectPublicKey: intermediateKey.publicKey,
            notBefore: Date(timeIntervalSinceNow: -86400 * 30)
        )
        intermediateBuilder.basicConstraints = .certificateAuthority(pathLength: 0)
        intermediateBuilder.keyUsage = [.keyCertSign]
        intermediate = try intermediateBuilder.build(issuer: .certificate(root, key: rootKey))

        leafKey = try PrivateKey.generate(curve: curve)
        var leafBuilder = CertificateBuilder(
            subject: DistinguishedName(commonName: "leaf.example"),
            subjectPublicKey: leafKey.publicKey,
            notBefore: Date(timeIntervalSinceNow: -86400 * 2),
            notAfter: leafNotAfter
        )
        leafBuilder.basicConstraints = .endEntity
        leafBuilder.keyUsage = [.digitalSignature]
        leafBuilder.extendedKeyUsage = [.clientAuth]
        leaf = try leafBuilder.build(issuer: .certificate(intermediate, key: intermediateKey))
    }
}
