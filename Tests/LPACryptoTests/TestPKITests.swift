import Foundation
import LPACrypto
import LPAIdentity
import LPASimKit
import XCTest

final class TestPKITests: XCTestCase {
    private var directory: URL!

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-testpki-\(UUID().uuidString)")
    }

    override func tearDownWithError() throws {
        try? FileManager.default.removeItem(at: directory)
    }

    func testCreatesAFleetWhoseCertificatesVerify() throws {
        let pki = try TestPKI.create(at: directory, devices: 5)
        XCTAssertEqual(pki.devices.count, 5)
        let ca = try Certificate(pem: String(contentsOf: pki.layout.fleetCACertificate, encoding: .utf8))
        XCTAssertTrue(ca.isCA)
        let verifier = try CertificateVerifier(trustRoots: [ca])

        for (index, device) in pki.devices.enumerated() {
            XCTAssertEqual(device.identity, try FleetIdentity.make(index: index))
            XCTAssertNil(EID.validate(device.identity.eid.value))
            XCTAssertNil(IMEI.validate(device.identity.imei.value))
            XCTAssertNil(ICCID.validate(device.identity.iccid.value))
            XCTAssertEqual(device.identity.model, "SIM-METER-1")
            XCTAssertEqual(device.certificate.lastPathComponent, "\(device.identity.eid).pem")

            let certificate = try Certificate(pem: String(contentsOf: device.certificate, encoding: .utf8))
            try verifier.verify(certificate, purpose: .tlsClient)
            XCTAssertEqual(certificate.subject.commonName, device.identity.eid.value)
            XCTAssertEqual(certificate.subject.value(for: .serialNumber), device.identity.imei.value)
            XCTAssertEqual(certificate.subject.value(for: .organizationName), "ServerLPA Test Fleet")
            XCTAssertEqual(certificate.extendedKeyUsage, [.clientAuth])
            let key = try PrivateKey(pem: String(contentsOf: device.key, encoding: .utf8))
            XCTAssertEqual(key.publicKey, certificate.publicKey)
            XCTAssertEqual(try permissions(device.key), 0o600)
        }

        let edge = try Certificate(pem: String(contentsOf: pki.layout.edgeCertificate, encoding: .utf8))
        try verifier.verify(edge, purpose: .tlsServer)
        XCTAssertEqual(edge.subjectAltNames.prefix(2), [.dnsName("localhost"), .ipAddress([127, 0, 0, 1])])
        XCTAssertThrowsError(try verifier.verify(edge, purpose: .tlsClient))
        // The edge–core link has a CA of its own: its certificates do not chain to the fleet CA, and
        // device certificates do not chain to it.
        let infra = try Certificate(pem: String(contentsOf: pki.layout.infrastructureCACertificate, encoding: .utf8))
        XCTAssertTrue(infra.isCA)
        XCTAssertNotEqual(infra, ca)
        let infraVerifier = try CertificateVerifier(trustRoots: [infra])
        let core = try Certificate(pem: String(contentsOf: pki.layout.coreCertificate, encoding: .utf8))
        try infraVerifier.verify(core, purpose: .tlsServer)
        XCTAssertThrowsError(try verifier.verify(core, purpose: .tlsServer))
        XCTAssertTrue(core.subjectAltNames.contains(.uri("urn:serverlpa:role:core")))
        let edgeClient = try Certificate(pem: String(contentsOf: pki.layout.edgeClientCertificate, encoding: .utf8))
        try infraVerifier.verify(edgeClient, purpose: .tlsClient)
        XCTAssertThrowsError(try verifier.verify(edgeClient, purpose: .tlsClient))
        XCTAssertEqual(edgeClient.subject.commonName, "lpa-edge")
        XCTAssertEqual(edgeClient.subjectAltNames, [.uri("urn:serverlpa:role:edge")])
        let firstDevice = try Certificate(pem: String(contentsOf: pki.devices[0].certificate, encoding: .utf8))
        XCTAssertThrowsError(try infraVerifier.verify(firstDevice, purpose: .tlsClient))
        XCTAssertEqual(try pki.infrastructureAuthority().certificate, infra)
        for key in [pki.layout.fleetCAKey, pki.layout.infrastructureCAKey, pki.layout.edgeKey, pki.layout.coreKey, pki.layout.edgeClientKey] {
            XCTAssertEqual(try permissions(key), 0o600, key.path)
        }

        let csv = try String(contentsOf: pki.layout.devicesCSV, encoding: .utf8).split(separator: "\n")
        XCTAssertEqual(csv.first, "eid,imei,iccid,model,cert,key")
        XCTAssertEqual(csv.count, 6)
        XCTAssertTrue(csv[1].hasSuffix(",SIM-METER-1,devices/\(pki.devices[0].identity.eid).pem,devices/\(pki.devices[0].identity.eid).key"))

        let loaded = try TestPKI.load(from: directory)
        XCTAssertEqual(loaded.devices, pki.devices)
        XCTAssertEqual(loaded.layout, pki.layout)
        XCTAssertEqual(try loaded.certificateAuthority().certificate, ca)
    }

    func testRefusesToOverwriteUnlessAsked() throws {
        try TestPKI.create(at: directory, devices: 3)
        let before = try String(contentsOf: directory.appendingPathComponent("fleet-ca.pem"), encoding: .utf8)
        XCTAssertThrowsError(try TestPKI.create(at: directory, devices: 1)) { error in
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.already_exists")
        }
        XCTAssertEqual(try String(contentsOf: directory.appendingPathComponent("fleet-ca.pem"), encoding: .utf8), before)

        let replaced = try TestPKI.create(at: directory, devices: 1, curve: .brainpoolP256r1, model: "TRACKER-2", overwrite: true)
        XCTAssertNotEqual(try String(contentsOf: directory.appendingPathComponent("fleet-ca.pem"), encoding: .utf8), before)
        let remaining = try FileManager.default.contentsOfDirectory(atPath: replaced.layout.devicesDirectory.path)
        XCTAssertEqual(remaining.count, 2, "stale device files of the old fleet are removed")
        let ca = try replaced.certificateAuthority()
        XCTAssertEqual(ca.key.curve, .brainpoolP256r1)
        let device = try Certificate(pem: String(contentsOf: replaced.devices[0].certificate, encoding: .utf8))
        try CertificateVerifier(trustRoots: [ca.certificate]).verify(device)
        XCTAssertEqual(try TestPKI.load(from: directory).devices.map(\.identity.model), ["TRACKER-2"])
    }

    func testRejectsBadParametersAndBrokenInventories() throws {
        XCTAssertThrowsError(try TestPKI.create(at: directory, devices: -1)) { error in
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.invalid_device_count")
        }
        XCTAssertThrowsError(try TestPKI.create(at: directory, devices: 1, model: "a,b")) { error in
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.invalid_parameter")
        }
        XCTAssertThrowsError(try TestPKI.load(from: directory)) { error in
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.file_system")
        }
        try TestPKI.create(at: directory, devices: 2)
        let csv = directory.appendingPathComponent("devices.csv")
        var text = try String(contentsOf: csv, encoding: .utf8)
        text = text.replacingOccurrences(of: "89049032", with: "89049033")
        try text.write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TestPKI.load(from: directory)) { error in
            guard case .identity(let what, let identityError)? = error as? TestPKIError else {
                return XCTFail("\(error)")
            }
            XCTAssertTrue(what.hasSuffix("devices.csv:2"), what)
            XCTAssertEqual(identityError.code, "eid.bad_check_digits")
        }
        try "eid,imei\n".write(to: csv, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try TestPKI.load(from: directory)) { error in
            XCTAssertEqual((error as? TestPKIError)?.code, "pki.malformed_inventory")
        }
    }

    private func permissions(_ url: URL) throws -> Int {
        let attributes = try FileManager.default.attributesOfItem(atPath: url.path)
        return (attributes[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }
}
