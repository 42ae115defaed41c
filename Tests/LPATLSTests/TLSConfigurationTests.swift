import LPATLS
import XCTest

/// Configuration errors are reported precisely, before any connection exists.
final class TLSConfigurationTests: XCTestCase {
    func testBadCipherListIsRejected() throws {
        let ca = try TestAuthority(name: "CA")
        let leaf = try ca.issue(commonName: "edge")
        var c = TLSConfiguration.server(certificateChain: leaf.chain, privateKey: leaf.privateKey, trustRoots: ca.pem)
        c.cipherList = "NOT-A-CIPHER"
        XCTAssertThrowsError(try TLSContext(configuration: c)) { error in
            guard case TLSError.invalidConfiguration(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.contains("NOT-A-CIPHER"), text)
        }
    }

    func testUnknownGroupIsRejected() throws {
        var c = TLSConfiguration.client(trustRoots: nil)
        c.peerVerification = .none
        c.groups = "P-999"
        XCTAssertThrowsError(try TLSContext(configuration: c)) { error in
            guard case TLSError.invalidConfiguration = error else { return XCTFail("\(error)") }
        }
    }

    func testMissingFilesAndMismatchedKeysAreNamed() throws {
        let ca = try TestAuthority(name: "CA")
        let a = try ca.issue(commonName: "a")
        let b = try ca.issue(commonName: "b")
        let missing = TLSConfiguration.server(certificateChain: .file("/nonexistent/edge.pem"), privateKey: a.privateKey, trustRoots: ca.pem)
        XCTAssertThrowsError(try TLSContext(configuration: missing)) { error in
            guard case TLSError.credentialLoadFailed(let what, _) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(what.contains("/nonexistent/edge.pem"), what)
        }
        let mismatched = TLSConfiguration.server(certificateChain: a.chain, privateKey: b.privateKey, trustRoots: ca.pem)
        XCTAssertThrowsError(try TLSContext(configuration: mismatched)) { error in
            guard case TLSError.credentialLoadFailed(let what, _) = error else { return XCTFail("\(error)") }
            XCTAssertEqual(what, "private key")
        }
        let garbage = TLSConfiguration.server(certificateChain: .pem("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"), privateKey: a.privateKey, trustRoots: ca.pem)
        XCTAssertThrowsError(try TLSContext(configuration: garbage))
    }

    func testABundleOfRootsLoadsWholeAndADamagedBlockInItIsAnError() throws {
        let first = try TestAuthority(name: "CA 1")
        let second = try TestAuthority(name: "CA 2")
        let leaf = try first.issue(commonName: "edge")
        let bundle = first.certificate.pem + second.certificate.pem
        XCTAssertNoThrow(try TLSContext(configuration: .server(certificateChain: leaf.chain, privateKey: leaf.privateKey, trustRoots: .pem(bundle))))
        let damaged = first.certificate.pem + "-----BEGIN CERTIFICATE-----\nMIIB####\n-----END CERTIFICATE-----\n"
        XCTAssertThrowsError(try TLSContext(configuration: .server(certificateChain: leaf.chain, privateKey: leaf.privateKey, trustRoots: .pem(damaged)))) { error in
            guard case TLSError.credentialLoadFailed(_, let reasons) = error else { return XCTFail("\(error)") }
            XCTAssertFalse(reasons.isEmpty)
        }
    }

    func testServerWithoutCredentialsAndVerificationWithoutRootsAreRejected() {
        XCTAssertThrowsError(try TLSContext(configuration: TLSConfiguration(role: .server)))
        XCTAssertThrowsError(try TLSContext(configuration: .client(trustRoots: nil))) { error in
            guard case TLSError.invalidConfiguration(let text) = error else { return XCTFail("\(error)") }
            XCTAssertTrue(text.contains("trust roots"), text)
        }
    }

    func testVersionOrderIsChecked() throws {
        var c = TLSConfiguration.client(trustRoots: nil)
        c.peerVerification = .none
        c.minimumVersion = .tls13
        c.maximumVersion = .tls12
        XCTAssertThrowsError(try TLSContext(configuration: c))
    }
}
