import Foundation
import LPACrypto
import XCTest

final class CertificateTests: XCTestCase {
    func testBuilderFieldsRoundTripThroughDERAndPEM() throws {
        for curve in EllipticCurve.allCases {
            let caKey = try PrivateKey.generate(curve: curve)
            var caBuilder = CertificateBuilder(
                subject: DistinguishedName(country: "FR", organization: "ServerLPA", commonName: "Fleet CA"),
                subjectPublicKey: caKey.publicKey,
                notBefore: Date(timeIntervalSince1970: 1_700_000_000),
                notAfter: Date(timeIntervalSince1970: 2_700_000_000)
            )
            caBuilder.serialNumber = [0x01, 0x02, 0x03]
            caBuilder.basicConstraints = .certificateAuthority(pathLength: 1)
            caBuilder.keyUsage = [.keyCertSign, .cRLSign]
            caBuilder.certificatePolicies = ["2.23.146.1.2.1.0"]
            caBuilder.certificatePoliciesAreCritical = true
            caBuilder.nameConstraints = NameConstraints(
                permittedSubtrees: [
                    .dnsName("example.net"),
                    .directoryName(DistinguishedName(organization: "ServerLPA", serialNumber: "89049032")),
                ],
                excludedSubtrees: [.dnsName("bad.example.net")]
            )
            let ca = try caBuilder.build(issuer: .selfSigned(caKey))

            let leafKey = try PrivateKey.generate(curve: curve)
            var subject = DistinguishedName(organization: "ServerLPA Test Fleet", commonName: "leaf, \"quoted\"")
            subject.append(.serialNumber, "490154203237518")
            var leafBuilder = CertificateBuilder(
                subject: subject,
                subjectPublicKey: leafKey.publicKey,
                notBefore: Date(timeIntervalSince1970: 1_750_000_000),
                notAfter: Date(timeIntervalSince1970: 1_850_000_000)
            )
            leafBuilder.basicConstraints = .endEntity
            leafBuilder.keyUsage = [.digitalSignature, .keyAgreement]
            leafBuilder.extendedKeyUsage = [.serverAuth, .clientAuth]
            leafBuilder.subjectAltNames = [.dnsName("localhost"), try .ip("127.0.0.1"), try .ip("::1")]
            leafBuilder.certificatePolicies = ["2.23.146.1.2.1.1", "1.3.6.1.4.1.99999.1"]
            let built = try leafBuilder.build(issuer: .certificate(ca, key: caKey))

            for leaf in [built, try Certificate(der: built.der), try Certificate(pem: built.pem)] {
                XCTAssertEqual(leaf, built)
                XCTAssertEqual(leaf.subject, subject)
                XCTAssertEqual(leaf.subject.value(for: .serialNumber), "490154203237518")
                XCTAssertEqual(leaf.subject.value(for: .organizationName), "ServerLPA Test Fleet")
                XCTAssertEqual(leaf.issuer, ca.subject)
                XCTAssertEqual(leaf.notBefore, Date(timeIntervalSince1970: 1_750_000_000))
                XCTAssertEqual(leaf.notAfter, Date(timeIntervalSince1970: 1_850_000_000))
                XCTAssertEqual(leaf.subjectAltNames, [.dnsName("localhost"), .ipAddress([127, 0, 0, 1]), .ipAddress([UInt8](repeating: 0, count: 15) + [1])])
                XCTAssertEqual(leaf.subjectAltNames.map(\.description), ["DNS:localhost", "IP:127.0.0.1", "IP:::1"])
                XCTAssertEqual(leaf.extendedKeyUsage, [.serverAuth, .clientAuth])
                XCTAssertEqual(leaf.keyUsage, [.digitalSignature, .keyAgreement])
                XCTAssertEqual(leaf.basicConstraints, .endEntity)
                XCTAssertFalse(leaf.isCA)
                XCTAssertEqual(leaf.policies, ["2.23.146.1.2.1.1", "1.3.6.1.4.1.99999.1"])
                XCTAssertEqual(leaf.publicKey, leafKey.publicKey)
                XCTAssertEqual(leaf.publicKey.curve, curve)
                XCTAssertEqual(leaf.authorityKeyIdentifier, ca.subjectKeyIdentifier)
                XCTAssertEqual(leaf.subjectKeyIdentifier?.count, 20)
                XCTAssertEqual(leaf.fingerprintSHA256, SHA256.hash(built.der))
                XCTAssertTrue(leaf.isSignature(validBy: caKey.publicKey))
                XCTAssertFalse(leaf.isSignature(validBy: leafKey.publicKey))
            }

            XCTAssertEqual(ca.serialNumber, [0x01, 0x02, 0x03])
            XCTAssertEqual(ca.serialNumberHex, "010203")
            XCTAssertEqual(ca.basicConstraints, BasicConstraints(isCA: true, pathLengthConstraint: 1, isCritical: true))
            XCTAssertTrue(ca.isCA)
            XCTAssertEqual(ca.keyUsage, [.keyCertSign, .cRLSign])
            XCTAssertEqual(ca.subject, ca.issuer)
            XCTAssertEqual(ca.authorityKeyIdentifier, ca.subjectKeyIdentifier)
            XCTAssertEqual(ca.policies, ["2.23.146.1.2.1.0"])
            XCTAssertEqual(ca.nameConstraints, caBuilder.nameConstraints)
            XCTAssertTrue(ca.isSignature(validBy: caKey.publicKey))
            XCTAssertEqual(ca.subject.description, "CN=Fleet CA,O=ServerLPA,C=FR")
            XCTAssertEqual(built.subject.description, "serialNumber=490154203237518,CN=leaf\\, \\\"quoted\\\",O=ServerLPA Test Fleet")
        }
    }

    func testRandomSerialNumbersArePositiveAndDistinct() throws {
        let key = try PrivateKey.generate(curve: .p256)
        let builder = CertificateBuilder(subject: DistinguishedName(commonName: "serials"), subjectPublicKey: key.publicKey)
        let serials = try (0..<16).map { _ in try builder.build(issuer: .selfSigned(key)).serialNumber }
        XCTAssertEqual(Set(serials).count, serials.count)
        for serial in serials {
            XCTAssertFalse(serial.isEmpty)
            XCTAssertLessThanOrEqual(serial.count, 16)
            XCTAssertEqual(serial[0] & 0x80, 0)
        }
    }

    func testBuildRejectsMismatchedKeysAndBadFields() throws {
        let key = try PrivateKey.generate(curve: .p256)
        let other = try PrivateKey.generate(curve: .p256)
        var builder = CertificateBuilder(subject: DistinguishedName(commonName: "x"), subjectPublicKey: key.publicKey)
        XCTAssertThrowsError(try builder.build(issuer: .selfSigned(other))) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .mismatchedInput)
        }
        let ca = try builder.build(issuer: .selfSigned(key))
        XCTAssertThrowsError(try builder.build(issuer: .certificate(ca, key: other))) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .mismatchedInput)
        }
        builder.serialNumber = [0, 0]
        XCTAssertThrowsError(try builder.build(issuer: .selfSigned(key))) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
        }
        builder.serialNumber = nil
        builder.certificatePolicies = ["not an oid"]
        XCTAssertThrowsError(try builder.build(issuer: .selfSigned(key))) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
        }
        builder.certificatePolicies = []
        builder.subject = DistinguishedName(country: "France")
        XCTAssertThrowsError(try builder.build(issuer: .selfSigned(key))) { error in
            XCTAssertEqual((error as? CryptoError)?.code, .invalidInput)
            XCTAssertFalse((error as? CryptoError)?.openSSLReasons.isEmpty ?? true)
        }
        XCTAssertThrowsError(try GeneralName.ip("localhost"))
    }

    func testChainFromSeveralPEMBlocks() throws {
        let hierarchy = try TestHierarchy()
        let bundle = "junk before\n" + hierarchy.leaf.pem + (try hierarchy.leafKey.pemPKCS8) + hierarchy.intermediate.pem
            + "\n" + hierarchy.root.pem
        let chain = try Certificate.chain(pem: bundle)
        XCTAssertEqual(chain, [hierarchy.leaf, hierarchy.intermediate, hierarchy.root])
        XCTAssertEqual(try Certificate(pem: bundle), hierarchy.leaf)
    }

    func testDistinguishedNameLookupAndEscaping() {
        var name = DistinguishedName(country: "DE", organization: "A+B", organizationalUnit: "Unit", commonName: " padded ")
        name.append(DistinguishedName.AttributeType(oid: "1.2.3.4"), "#x")
        XCTAssertEqual(name.value(for: .countryName), "DE")
        XCTAssertEqual(name.value(for: .organizationalUnitName), "Unit")
        XCTAssertNil(name.value(for: .serialNumber))
        XCTAssertEqual(name.commonName, " padded ")
        XCTAssertEqual(name.description, "1.2.3.4=\\#x,CN=\\ padded\\ ,OU=Unit,O=A\\+B,C=DE")
        XCTAssertEqual(DistinguishedName.AttributeType.serialNumber.shortName, "serialNumber")
    }
}
