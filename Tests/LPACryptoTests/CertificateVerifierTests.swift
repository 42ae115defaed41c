import Foundation
import LPACrypto
import XCTest

final class CertificateVerifierTests: XCTestCase {
    func testValidChainVerifiesOnBothCurves() throws {
        for curve in EllipticCurve.allCases {
            let hierarchy = try TestHierarchy(curve: curve)
            let verifier = try CertificateVerifier(trustRoots: [hierarchy.root])
            let path = try verifier.verify(hierarchy.leaf, intermediates: [hierarchy.intermediate], purpose: .tlsClient)
            XCTAssertEqual(path, [hierarchy.leaf, hierarchy.intermediate, hierarchy.root])
        }
    }

    func testUnknownCA() throws {
        let hierarchy = try TestHierarchy()
        let stranger = try TestHierarchy()
        let verifier = try CertificateVerifier(trustRoots: [stranger.root])
        XCTAssertThrowsError(try verifier.verify(hierarchy.leaf, intermediates: [hierarchy.intermediate])) { error in
            let failure = error as? CertificateVerificationError
            XCTAssertEqual(failure?.reason, .unknownIssuer)
            XCTAssertEqual(failure?.message, "unable to get local issuer certificate")
        }
        XCTAssertThrowsError(try CertificateVerifier(trustRoots: [hierarchy.root]).verify(hierarchy.leaf)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.reason, .unknownIssuer)
            XCTAssertEqual((error as? CertificateVerificationError)?.depth, 0)
        }
    }

    func testExpiredLeaf() throws {
        let hierarchy = try TestHierarchy(leafNotAfter: Date(timeIntervalSinceNow: -3600))
        let verifier = try CertificateVerifier(trustRoots: [hierarchy.root])
        XCTAssertThrowsError(try verifier.verify(hierarchy.leaf, intermediates: [hierarchy.intermediate])) { error in
            let failure = error as? CertificateVerificationError
            XCTAssertEqual(failure?.reason, .expired)
            XCTAssertEqual(failure?.message, "certificate has expired")
            XCTAssertEqual(failure?.depth, 0)
            XCTAssertEqual(failure?.subject?.commonName, "leaf.example")
        }
        // The same path was valid while the leaf still was.
        XCTAssertNoThrow(
            try verifier.verify(hierarchy.leaf, intermediates: [hierarchy.intermediate], at: Date(timeIntervalSinceNow: -86400))
        )
    }

    func testNotYetValidAndWrongPurpose() throws {
        let hierarchy = try TestHierarchy()
        let verifier = try CertificateVerifier(trustRoots: [hierarchy.root])
        XCTAssertThrowsError(
            try verifier.verify(hierarchy.leaf, intermediates: [hierarchy.intermediate], at: Date(timeIntervalSinceNow: -86400 * 3))
        ) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.reason, .notYetValid)
        }
        XCTAssertThrowsError(try verifier.verify(hierarchy.leaf, intermediates: [hierarchy.intermediate], purpose: .tlsServer)) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.reason, .invalidPurpose)
        }
    }

    func testLeafSignedByANonCAIsRejected() throws {
        let hierarchy = try TestHierarchy()
        let key = try PrivateKey.generate(curve: .p256)
        let builder = CertificateBuilder(subject: DistinguishedName(commonName: "below a leaf"), subjectPublicKey: key.publicKey)
        let belowLeaf = try builder.build(issuer: .certificate(hierarchy.leaf, key: hierarchy.leafKey))
        let verifier = try CertificateVerifier(trustRoots: [hierarchy.root])
        XCTAssertThrowsError(try verifier.verify(belowLeaf, intermediates: [hierarchy.leaf, hierarchy.intermediate])) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.reason, .invalidCA)
        }
    }

    func testNameConstraintsAreEnforced() throws {
        let rootKey = try PrivateKey.generate(curve: .p256)
        var rootBuilder = CertificateBuilder(subject: DistinguishedName(commonName: "Constrained Root"), subjectPublicKey: rootKey.publicKey)
        rootBuilder.basicConstraints = .certificateAuthority()
        rootBuilder.keyUsage = [.keyCertSign]
        rootBuilder.nameConstraints = NameConstraints(permittedSubtrees: [.dnsName("allowed.example")])
        let root = try rootBuilder.build(issuer: .selfSigned(rootKey))
        let verifier = try CertificateVerifier(trustRoots: [root])

        let key = try PrivateKey.generate(curve: .p256)
        var leafBuilder = CertificateBuilder(subject: DistinguishedName(commonName: "server"), subjectPublicKey: key.publicKey)
        leafBuilder.subjectAltNames = [.dnsName("host.allowed.example")]
        XCTAssertNoThrow(try verifier.verify(try leafBuilder.build(issuer: .certificate(root, key: rootKey))))
        leafBuilder.subjectAltNames = [.dnsName("host.elsewhere.example")]
        XCTAssertThrowsError(try verifier.verify(try leafBuilder.build(issuer: .certificate(root, key: rootKey)))) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.reason, .nameConstraintViolation)
        }
    }
}
