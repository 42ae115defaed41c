import Foundation
import LPACore
import LPADomain
import LPAOperator
import LPASimKit
import Logging
import NIOConcurrencyHelpers
import RSP
import XCTest

/// Downloads over real HTTPS from an SM-DP+ simulator that reproduces a deviation met in the field: the LPA
/// carries what it can and lets the eUICC judge, so each still installs (or fails cleanly and recovers).
final class FieldDeviationProvisioningTests: XCTestCase {
    /// An ES9+ directory of one `ES9PlusClient` over HTTPS that keeps the last Bound Profile Package.
    final class RecordingES9: ES9PlusCalls, ES9PlusDirectory, @unchecked Sendable {
        let client: ES9PlusClient
        private let lastPackage = NIOLockedValueBox<[UInt8]?>(nil)
        var package: [UInt8]? { lastPackage.withLockedValue { $0 } }

        init(client: ES9PlusClient) { self.client = client }

        func client(for smdpAddress: String) throws -> any ES9PlusCalls { self }
        func initiateAuthentication(euiccChallenge: [UInt8], euiccInfo1: [UInt8], smdpAddress: String?) async throws -> InitiateAuthenticationResponse {
            try await client.initiateAuthentication(euiccChallenge: euiccChallenge, euiccInfo1: euiccInfo1, smdpAddress: smdpAddress)
        }
        func authenticateClient(transactionId: String, authenticateServerResponse: [UInt8]) async throws -> AuthenticateClientResponse {
            try await client.authenticateClient(transactionId: transactionId, authenticateServerResponse: authenticateServerResponse)
        }
        func getBoundProfilePackage(transactionId: String, prepareDownloadResponse: [UInt8]) async throws -> GetBoundProfilePackageResponse {
            let response = try await client.getBoundProfilePackage(transactionId: transactionId, prepareDownloadResponse: prepareDownloadResponse)
            lastPackage.withLockedValue { $0 = response.boundProfilePackage }
            return response
        }
        func handleNotification(pendingNotification: [UInt8]) async throws {
            try await client.handleNotification(pendingNotification: pendingNotification)
        }
        func cancelSession(transactionId: String, cancelSessionResponse: [UInt8]) async throws {
            try await client.cancelSession(transactionId: transactionId, cancelSessionResponse: cancelSessionResponse)
        }
    }

    private func provision(
        _ deviations: SMDPFieldDeviations, failFirst: SMDPFunction? = nil, file: StaticString = #filePath, line: UInt = #line
    ) async throws -> (first: ProvisioningJob, last: ProvisioningJob, harness: ProvisioningHarness, es9: RecordingES9) {
        let h = try await ProvisioningHarness.make(packageSize: 12_000, deviations: deviations)
        let server = try await SMDPServer.start(simulator: h.simulator, tls: try SMDPServer.tlsConfiguration(pki: h.pki))
        let endpoint = OperatorEndpoint(smdpAddress: "127.0.0.1:\(server.port)", trustedRoots: .pem(h.pki.ci.certificate.pem))
        let client = try ES9PlusClient(endpoint: endpoint)
        let es9 = RecordingES9(client: client)
        let runner = DownloadRunner(store: h.store, es9: es9, logger: Logger(label: "test.deviation"))
        if let failFirst { await h.simulator.failNext(1, of: failFirst, with: .failed("8.1", "4.2", "injected")) }
        let first = try await runner.run(try await h.newJob(), device: h.device, link: h.link)
        var last = first
        if failFirst != nil {
            last = try await runner.run(try await h.newJob(), device: h.device, link: h.link)
        }
        await client.shutdown()
        await server.shutdown()
        return (first, last, h, es9)
    }

    func testOversizedProfileElementSegmentsAreCarriedToTheEUICC() async throws {
        var deviations = SMDPFieldDeviations()
        deviations.profileElementsPlaintextPerSegment = 1008
        let (_, job, h, es9) = try await provision(deviations)
        XCTAssertEqual(job.state, .awaitingReturn, "\(job.errorText ?? "")")
        XCTAssertEqual(h.card.profiles.count, 1)
        let package = try BoundProfilePackage(der: try XCTUnwrap(es9.package))
        XCTAssertEqual(package.largestSegment, 1036)
        XCTAssertGreaterThan(package.oversizedSegments, 5)
        await h.close()
    }

    func testSwappedHeaderICCIDInstallsUnderTheMetadataICCID() async throws {
        var deviations = SMDPFieldDeviations()
        deviations.swapsHeaderICCID = true
        let (_, job, h, _) = try await provision(deviations)
        XCTAssertEqual(job.state, .awaitingReturn, "\(job.errorText ?? "")")
        XCTAssertEqual(h.card.profiles.map(\.iccid), [try XCTUnwrap(job.iccid)])
        await h.close()
    }

    func testJSONWithoutCharsetIsAccepted() async throws {
        var deviations = SMDPFieldDeviations()
        deviations.omitsContentTypeCharset = true
        let (_, job, h, _) = try await provision(deviations)
        XCTAssertEqual(job.state, .awaitingReturn, "\(job.errorText ?? "")")
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()
    }

    func testHTTP500InsteadOfAStatusCodeFailsTheJobCleanlyAndTheNextOneInstalls() async throws {
        var deviations = SMDPFieldDeviations()
        deviations.answersHTTP500OnError = true
        let (first, last, h, _) = try await provision(deviations, failFirst: .authenticateClient)
        XCTAssertEqual(first.state, .failed)
        XCTAssertEqual(first.errorCode, "OPERATOR_HTTP_STATUS", "\(first.errorText ?? "")")
        XCTAssertEqual(last.state, .awaitingReturn, "\(last.errorText ?? "")")
        XCTAssertEqual(h.card.profiles.count, 1)
        await h.close()
    }
}
