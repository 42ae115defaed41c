import Foundation
import LPALab
import LPASimKit
import XCTest

/// `lpa-sim demo --euicc DIR --smdp-address … --smdp-roots … --matching-id …` as a user runs it against an
/// SM-DP+ of another PKI: the eUICC identity comes from SGP.26-named files (no CI or SM-DP+ keys), and the
/// SM-DP+ (our simulator, started with a separately generated PKI whose CI signed the eUICC's EUM) trusts it.
final class RealEUICCIdentityTests: XCTestCase {
    func testDemoProvisionsTheRealEUICCFromAnExternalSMDP() async throws {
        for brainpool in [false, true] {
            let root = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-real-euicc-\(UUID().uuidString)")
            defer { try? FileManager.default.removeItem(at: root) }
            var parameters = RSPTestPKI.Parameters()
            parameters.curve = brainpool ? .brainpoolP256r1 : .p256
            let operatorPKI = try RSPTestPKI.create(parameters)
            let smdpFolder = root.appendingPathComponent("smdp"), euiccFolder = root.appendingPathComponent("euicc")
            try FileManager.default.createDirectory(at: smdpFolder, withIntermediateDirectories: true)
            try operatorPKI.write(to: smdpFolder)
            // The eUICC's files: its certificate and key, its EUM's certificate, the CI certificate.
            try FileManager.default.createDirectory(at: euiccFolder, withIntermediateDirectories: true)
            let variant = brainpool ? "BRP" : "NIST"
            for name in ["CERT_EUICC_ECDSA_\(variant).pem", "SK_EUICC_ECDSA_\(variant).pem", "CERT_EUM_ECDSA_\(variant).pem", "CERT_CI_ECDSA_\(variant).pem"] {
                try FileManager.default.copyItem(at: smdpFolder.appendingPathComponent(name), to: euiccFolder.appendingPathComponent(name))
            }
            let identity = try XCTUnwrap(try VirtualEUICC.Identity.load(from: euiccFolder).first)

            let port = try LoopbackPort.free()
            var smdpConfiguration = SMDPConfiguration(address: "127.0.0.1:\(port)", profileTypes: [
                ProfileType(name: "operator-iot", serviceProviderName: "Operator", iccidPrefix: "8944100", packageSize: 6000),
            ])
            smdpConfiguration.autoOrderProfileType = "operator-iot"
            let simulator = try SMDPSimulator(pki: operatorPKI, configuration: smdpConfiguration)
            let server = try await SMDPServer.start(simulator: simulator, port: port, tls: try SMDPServer.tlsConfiguration(pki: operatorPKI))

            var configuration = LabConfiguration()
            configuration.workdir = root.appendingPathComponent("demo").path
            configuration.timeoutSeconds = 120
            configuration.euiccIdentity = identity
            configuration.externalSMDP = .init(
                address: "127.0.0.1:\(port)", trustedRootsFile: euiccFolder.appendingPathComponent("CERT_CI_ECDSA_\(variant).pem").path,
                matchingID: "OPERATOR-MATCHING-1")
            let lab = ProvisioningLab(configuration: configuration)
            try await lab.start()
            let summary = try await lab.waitForFleet()
            await lab.stop()
            await server.shutdown()

            XCTAssertEqual(summary.terminals, 1)
            XCTAssertEqual(summary.provisioned, 1, "\(variant): failures \(summary.failures)")
            let stats = await simulator.statistics
            XCTAssertEqual(stats.installsConfirmed, 1, variant)
        }
    }
}
