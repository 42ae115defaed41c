import Foundation
import LPACrypto
import LPAIdentity
import LPASimKit
import XCTest

final class RSPTestPKITests: XCTestCase {
    func testHierarchyVerifiesAndFollowsTheSGP22Profiles() throws {
        let pki = try RSPTestPKI.create()
        let verifier = try pki.makeVerifier()
        let euicc = try XCTUnwrap(pki.euicc)

        let path = try verifier.verify(euicc.certificate, intermediates: [pki.eumCertificate])
        XCTAssertEqual(path, [euicc.certificate, pki.eum.certificate, pki.ci.certificate])
        for credential in [pki.dpAuth, pki.dpPb] {
            XCTAssertEqual(try verifier.verify(credential.certificate), [credential.certificate, pki.ci.certificate])
        }
        try verifier.verify(pki.dpTLS.certificate, purpose: .tlsServer)

        // Roles and policies.
        XCTAssertEqual(pki.ci.certificate.policies, ["2.23.146.1.2.1.0"])
        XCTAssertEqual(pki.eum.certificate.policies, ["2.23.146.1.2.1.2"])
        XCTAssertEqual(euicc.certificate.policies, ["2.23.146.1.2.1.1"])
        XCTAssertEqual(pki.dpTLS.certificate.policies, ["2.23.146.1.2.1.3"])
        XCTAssertEqual(pki.dpAuth.certificate.policies, ["2.23.146.1.2.1.4"])
        XCTAssertEqual(pki.dpPb.certificate.policies, ["2.23.146.1.2.1.5"])
        XCTAssertEqual(pki.dpAuth.certificate.rspRoles, [.dpAuth])

        // CA flags and key usage.
        XCTAssertEqual(pki.ci.certificate.basicConstraints, .certificateAuthority())
        XCTAssertEqual(pki.ci.certificate.keyUsage, [.keyCertSign, .cRLSign])
        XCTAssertEqual(pki.eum.certificate.basicConstraints, .certificateAuthority(pathLength: 0))
        XCTAssertEqual(pki.eum.certificate.keyUsage, [.keyCertSign])
        for leaf in [euicc, pki.dpAuth, pki.dpPb, pki.dpTLS] {
            XCTAssertEqual(leaf.certificate.keyUsage, [.digitalSignature])
            XCTAssertFalse(leaf.certificate.isCA)
        }
        XCTAssertEqual(pki.dpTLS.certificate.extendedKeyUsage, [.serverAuth])
        XCTAssertEqual(pki.dpTLS.certificate.subjectAltNames, [.dnsName("smdp.test"), .ipAddress([127, 0, 0, 1])])

        // Key identifiers: the CI has only its SKI, which every child names as AKI.
        let ciSKI = pki.ciSubjectKeyIdentifier
        XCTAssertEqual(ciSKI.count, 20)
        XCTAssertNil(pki.ci.certificate.authorityKeyIdentifier)
        for child in [pki.eum, pki.dpAuth, pki.dpPb, pki.dpTLS] {
            XCTAssertEqual(child.certificate.authorityKeyIdentifier, ciSKI)
            XCTAssertNotNil(child.certificate.subjectKeyIdentifier)
        }
        XCTAssertEqual(euicc.certificate.authorityKeyIdentifier, pki.eum.certificate.subjectKeyIdentifier)

        // The EUM's name constraint and the EID in the eUICC subject.
        XCTAssertEqual(
            pki.eum.certificate.nameConstraints?.permittedSubtrees,
            [.directoryName(DistinguishedName(organization: "ServerLPA Test EUM", serialNumber: "89049032"))]
        )
        let eid = try XCTUnwrap(euicc.certificate.subject.value(for: .serialNumber))
        XCTAssertNoThrow(try EID(eid))
        XCTAssertTrue(eid.hasPrefix(pki.eumIIN))

        // Serial numbers positive, validity sensible.
        let inFiveYears = Date(timeIntervalSinceNow: 5 * 365 * 86400)
        let inTwentyNineYears = Date(timeIntervalSinceNow: 29 * 365 * 86400)
        XCTAssertGreaterThan(pki.ci.certificate.notAfter, inTwentyNineYears)
        for credential in [pki.ci, pki.eum, euicc, pki.dpAuth, pki.dpPb, pki.dpTLS] {
            XCTAssertLessThan(credential.certificate.serialNumber.first ?? 0xFF, 0x80)
            XCTAssertTrue(credential.certificate.isValid(at: Date()))
            XCTAssertGreaterThan(credential.certificate.notAfter, inFiveYears)
            XCTAssertEqual(credential.privateKey.publicKey, credential.certificate.publicKey)
            XCTAssertEqual(try Certificate(der: credential.certificate.der), credential.certificate)
        }
    }

    /// OpenSSL's RFC 5280 matching rejects the SGP.22 EUM name constraint; the `.sgp22` verifier applies the
    /// GSMA rule instead, and still refuses an eUICC outside the EUM.
    func testNameConstraintMatching() throws {
        let pki = try RSPTestPKI.create()
        let euicc = try XCTUnwrap(pki.euicc)
        let rfcVerifier = try CertificateVerifier(trustRoots: [pki.ci.certificate])
        XCTAssertThrowsError(try rfcVerifier.verify(euicc.certificate, intermediates: [pki.eum.certificate])) { error in
            XCTAssertEqual((error as? CertificateVerificationError)?.reason, .nameConstraintViolation)
        }

        // An eUICC certificate the EUM signed for an EID outside its IIN (bypassing makeEUICC's check).
        let outsideEID = try EID.make(prefix: "89049033", index: 5)
        let key = try PrivateKey.generate(curve: .p256)
        var builder = CertificateBuilder(subject: pki.euiccSubject(for: outsideEID), subjectPublicKey: key.publicKey)
        builder.keyUsage = [.digitalSignature]
        builder.certificatePolicies = [RSPCertificateRole.euicc.policyOID]
        let rogue = try builder.build(issuer: .certificate(pki.eum.certificate, key: pki.eum.privateKey))
        XCTAssertThrowsError(try pki.makeVerifier().verify(rogue, intermediates: [pki.eum.certificate])) { error in
            let failure = error as? CertificateVerificationError
            XCTAssertEqual(failure?.reason, .nameConstraintViolation)
            XCTAssertEqual(failure?.depth, 0)
        }

        // The rule itself.
        let constraints = try XCTUnwrap(pki.eum.certificate.nameConstraints)
        XCTAssertTrue(constraints.permitsSGP22(pki.euiccSubject(for: try EID.make(prefix: "89049032", index: 9))))
        XCTAssertFalse(constraints.permitsSGP22(pki.euiccSubject(for: outsideEID)))
        XCTAssertFalse(constraints.permitsSGP22(DistinguishedName(organization: "Other EUM", serialNumber: "89049032000000000000000000000001")))
        XCTAssertTrue(NameConstraints().permitsSGP22(DistinguishedName(commonName: "anything")))
    }

    func testMakeEUICCMintsInRangeAndRefusesOutside() throws {
        let pki = try RSPTestPKI.create()
        let verifier = try pki.makeVerifier()
        let eid = try EID.make(prefix: "89049032", index: 42)
        let minted = try pki.makeEUICC(eid: eid)
        XCTAssertEqual(minted.certificate.subject.value(for: .serialNumber), eid.value)
        XCTAssertEqual(minted.certificate.subject.value(for: .organizationName), pki.eumOrganization)
        XCTAssertEqual(minted.certificate.notAfter, pki.eum.certificate.notAfter)
        try verifier.verify(minted.certificate, intermediates: [pki.eumCertificate])

        let outside = try EID.make(prefix: "89044045", index: 1)
        XCTAssertThrowsError(try pki.makeEUICC(eid: outside)) { error in
            guard case .eidOutsideEUM(let refused, _, let prefix)? = error as? TestPKIError else {
                return XCTFail("expected eidOutsideEUM, got \(error)")
            }
            XCTAssertEqual(refused, outside.value)
            XCTAssertEqual(prefix, "89049032")
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.eid_outside_eum")
            XCTAssertTrue("\(error)".contains("must begin with 89049032"), "\(error)")
        }
        // A batch with one EID outside mints nothing.
        XCTAssertThrowsError(try pki.makeEUICCs(eids: [eid, outside]))

        var parameters = RSPTestPKI.Parameters()
        parameters.euiccEID = outside
        XCTAssertThrowsError(try RSPTestPKI.create(parameters))
    }

    func testMintsAThousandEUICCsQuickly() throws {
        let pki = try RSPTestPKI.create()
        let eids = try (0..<1000).map { try EID.make(prefix: pki.eumIIN, index: UInt64($0)) }
        let start = Date()
        let credentials = try pki.makeEUICCs(eids: eids)
        let elapsed = Date().timeIntervalSince(start)
        XCTAssertEqual(credentials.count, 1000)
        XCTAssertEqual(Set(credentials.map { $0.certificate.serialNumber }).count, 1000)
        XCTAssertEqual(credentials[999].certificate.subject.value(for: .serialNumber), eids[999].value)
        try pki.makeVerifier().verify(credentials[500].certificate, intermediates: [pki.eumCertificate])
        // Generous bound for a shared machine; a key and a signature cost well under a millisecond.
        XCTAssertLessThan(elapsed, 20, "minting 1,000 eUICC identities took \(elapsed) s")
    }

    func testBrainpoolVariantBuildsAndVerifies() throws {
        var parameters = RSPTestPKI.Parameters()
        parameters.curve = .brainpoolP256r1
        parameters.eumIIN = "8904903"
        let pki = try RSPTestPKI.create(parameters)
        let euicc = try XCTUnwrap(pki.euicc)
        XCTAssertEqual(pki.ci.certificate.publicKey.curve, .brainpoolP256r1)
        XCTAssertEqual(euicc.privateKey.curve, .brainpoolP256r1)
        let verifier = try pki.makeVerifier()
        try verifier.verify(euicc.certificate, intermediates: [pki.eumCertificate])
        try verifier.verify(pki.dpAuth.certificate)
        try verifier.verify(pki.dpPb.certificate)
        try verifier.verify(pki.dpTLS.certificate, purpose: .tlsServer)
        let minted = try pki.makeEUICC(eid: try EID.make(prefix: "8904903", index: 77))
        try verifier.verify(minted.certificate, intermediates: [pki.eumCertificate])
    }

    func testWriteThenLoadRoundTrip() throws {
        let directory = try temporaryDirectory()
        for curve in EllipticCurve.allCases {
            var parameters = RSPTestPKI.Parameters()
            parameters.curve = curve
            let pki = try RSPTestPKI.create(parameters)
            try pki.write(to: directory)
            let variant = curve == .p256 ? "NIST" : "BRP"
            for name in ["CERT_CI_ECDSA_\(variant).pem", "SK_EUM_ECDSA_\(variant).pem", "CERT_S_SM_DP_TLS_\(variant).pem", "SK_EUICC_ECDSA_\(variant).pem"] {
                XCTAssertTrue(FileManager.default.fileExists(atPath: directory.appendingPathComponent(name).path), name)
            }
            let keyMode = try FileManager.default.attributesOfItem(atPath: directory.appendingPathComponent("SK_CI_ECDSA_\(variant).pem").path)[.posixPermissions] as? Int
            XCTAssertEqual(keyMode, 0o600)

            let loaded = try RSPTestPKI.load(from: directory, curve: curve)
            XCTAssertEqual(loaded.curve, curve)
            XCTAssertEqual(loaded.ci.certificate, pki.ci.certificate)
            XCTAssertEqual(loaded.eum.certificate, pki.eum.certificate)
            XCTAssertEqual(loaded.dpAuth.certificate, pki.dpAuth.certificate)
            XCTAssertEqual(loaded.dpPb.certificate, pki.dpPb.certificate)
            XCTAssertEqual(loaded.dpTLS.certificate, pki.dpTLS.certificate)
            XCTAssertEqual(loaded.euicc?.certificate, pki.euicc?.certificate)
            XCTAssertEqual(loaded.euicc?.privateKey.publicKey, pki.euicc?.privateKey.publicKey)
            XCTAssertEqual(loaded.ciSubjectKeyIdentifier, pki.ciSubjectKeyIdentifier)
            XCTAssertEqual(loaded.eumOrganization, pki.eumOrganization)
            XCTAssertEqual(loaded.eumIIN, pki.eumIIN)
            // A loaded set mints identities that verify against the same CI.
            let minted = try loaded.makeEUICC(eid: try EID.make(prefix: loaded.eumIIN, index: 3))
            try pki.makeVerifier().verify(minted.certificate, intermediates: [pki.eumCertificate])
        }
        // Writing again without overwrite is refused; with it, allowed.
        let pki = try RSPTestPKI.create()
        XCTAssertThrowsError(try pki.write(to: directory)) { error in
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.already_exists")
        }
        try pki.write(to: directory, overwrite: true)
        XCTAssertEqual(try RSPTestPKI.load(from: directory).ci.certificate, pki.ci.certificate)
    }

    func testLoadReadsTheSGP26FolderLayoutAndDER() throws {
        let directory = try temporaryDirectory()
        let pki = try RSPTestPKI.create()
        let flat = try temporaryDirectory()
        try pki.write(to: flat)
        for member in RSPTestPKI.Member.allCases {
            let folder = directory.appendingPathComponent(member.sgp26Folder)
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
            let pem = try String(contentsOf: flat.appendingPathComponent(member.certificateName(curve: .p256) + ".pem"), encoding: .utf8)
            try Data(try Certificate(pem: pem).der).write(to: folder.appendingPathComponent(member.certificateName(curve: .p256) + ".der"))
            try FileManager.default.copyItem(
                at: flat.appendingPathComponent(member.keyName(curve: .p256)),
                to: folder.appendingPathComponent(member.keyName(curve: .p256))
            )
        }
        let loaded = try RSPTestPKI.load(from: directory)
        XCTAssertEqual(loaded.eum.certificate, pki.eum.certificate)
        XCTAssertEqual(loaded.euicc?.certificate, pki.euicc?.certificate)
    }

    func testLoadRejectsMissingAndMismatchedFiles() throws {
        let directory = try temporaryDirectory()
        XCTAssertThrowsError(try RSPTestPKI.load(from: directory)) { error in
            guard case .inconsistentFiles(_, let reason)? = error as? TestPKIError else {
                return XCTFail("expected inconsistentFiles, got \(error)")
            }
            XCTAssertTrue(reason.contains("CERT_CI_ECDSA_NIST") && reason.contains("SK_S_SM_DP_TLS_NIST.pem"), reason)
            XCTAssertFalse(reason.contains("EUICC"), "the eUICC is optional: \(reason)")
        }

        let pki = try RSPTestPKI.create()
        try pki.write(to: directory)
        // A brainpool load of a NIST set finds nothing.
        XCTAssertThrowsError(try RSPTestPKI.load(from: directory, curve: .brainpoolP256r1))
        // A key that is not the certificate's.
        let other = try RSPTestPKI.create()
        try other.dpPb.privateKey.pemPKCS8.write(
            to: directory.appendingPathComponent("SK_S_SM_DPpb_ECDSA_NIST.pem"), atomically: true, encoding: .utf8
        )
        XCTAssertThrowsError(try RSPTestPKI.load(from: directory)) { error in
            XCTAssertTrue("\(error)".contains("is not the key of CERT_S_SM_DPpb_ECDSA_NIST.pem"), "\(error)")
        }
        // A certificate and key pair from another PKI: consistent, but not signed by this CI.
        try other.dpPb.certificate.pem.write(
            to: directory.appendingPathComponent("CERT_S_SM_DPpb_ECDSA_NIST.pem"), atomically: true, encoding: .utf8
        )
        XCTAssertThrowsError(try RSPTestPKI.load(from: directory)) { error in
            XCTAssertTrue("\(error)".contains("is not signed by"), "\(error)")
        }
    }

    func testRejectsBadParameters() {
        func assertInvalid(_ name: String, _ change: (inout RSPTestPKI.Parameters) -> Void) {
            var parameters = RSPTestPKI.Parameters()
            change(&parameters)
            XCTAssertThrowsError(try RSPTestPKI.create(parameters)) { error in
                guard case .invalidParameter(let reported, _)? = error as? TestPKIError else {
                    return XCTFail("expected invalidParameter(\(name)), got \(error)")
                }
                XCTAssertEqual(reported, name)
            }
        }
        assertInvalid("eumIIN") { $0.eumIIN = "12345678" }
        assertInvalid("eumIIN") { $0.eumIIN = "89a4" }
        assertInvalid("eumIIN") { $0.eumIIN = "" }
        assertInvalid("eumOrganization") { $0.eumOrganization = "" }
        assertInvalid("smdpAddress") { $0.smdpAddress = "smdp test" }
        assertInvalid("smdpIPAddresses") { $0.smdpIPAddresses = ["not-an-ip"] }
        assertInvalid("validityYears") { $0.validityYears = 0 }
        assertInvalid("validityYears") { $0.validityYears = 31 }
    }

    private func temporaryDirectory() throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("rsp-pki-\(UUID().uuidString)", isDirectory: true)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        addTeardownBlock { try? FileManager.default.removeItem(at: url) }
        return url
    }
}
