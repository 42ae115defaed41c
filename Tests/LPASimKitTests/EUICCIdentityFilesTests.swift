import Foundation
import LPACrypto
import LPAIdentity
import LPASimKit
import RSP
import XCTest

/// A real eUICC identity from SGP.26-named files: certificate, key, EUM and CI certificates only.
final class EUICCIdentityFilesTests: XCTestCase {
    func testBothCurvesLoadWithoutCIOrSMDPKeysAndPresentTheCertificateUnchanged() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("euicc-identity-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var brainpool = RSPTestPKI.Parameters()
        brainpool.curve = .brainpoolP256r1
        brainpool.eumIIN = "89033023"
        let sets = [try RSPTestPKI.create(), try RSPTestPKI.create(brainpool)]
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for pki in sets { try pki.write(to: directory, overwrite: true) }
        // What an eUICC has: its own key only.
        for name in try FileManager.default.contentsOfDirectory(atPath: directory.path)
        where name.hasPrefix("SK_") && !name.hasPrefix("SK_EUICC_") {
            try FileManager.default.removeItem(at: directory.appendingPathComponent(name))
        }

        let identities = try VirtualEUICC.Identity.load(from: directory)
        XCTAssertEqual(identities.count, 2)
        for (identity, pki) in zip(identities, sets) {
            let euicc = try XCTUnwrap(pki.euicc)
            XCTAssertEqual(identity.euiccCertificate.der, euicc.certificate.der, "presented unchanged")
            XCTAssertEqual(identity.eid, euicc.certificate.subject.value(for: .serialNumber))
            XCTAssertEqual(identity.privateKey.curve, pki.curve)

            // The card answers with that certificate.
            let card = VirtualEUICC(identity: identity)
            XCTAssertEqual(card.eid, identity.eid)

            // A fleet numbered with the EID's first 30 digits gives device 0 exactly that EID.
            let numbering = FleetIdentity.Numbering(eidPrefix: String(identity.eid.prefix(30)), tac: "35000011", iccidIssuerPrefix: "8988247")
            XCTAssertEqual(try FleetIdentity.make(index: 0, numbering: numbering).eid.value, identity.eid)
        }
    }

    func testAFolderWithoutAnEUICCIsRefusedWithTheFileNames() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("euicc-identity-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        XCTAssertThrowsError(try VirtualEUICC.Identity.load(from: directory)) { error in
            XCTAssertTrue("\(error)".contains("CERT_EUICC_ECDSA_NIST"), "\(error)")
        }
    }
}
