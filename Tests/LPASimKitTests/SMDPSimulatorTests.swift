import Foundation
import LPACrypto
import LPAIdentity
import LPAOperator
import LPASimKit
import RSP
import XCTest

/// The SM-DP+ engine driven directly, with the compact test eUICC.
final class SMDPSimulatorTests: XCTestCase {
    let pki = SMDPTestFixture.pki

    private func makeSimulator(
        _ configuration: SMDPConfiguration = SMDPTestFixture.configuration(), clock: SMDPTestClock = SMDPTestClock()
    ) throws -> SMDPSimulator {
        try SMDPSimulator(pki: pki, configuration: configuration, clock: { clock.now })
    }

    /// Runs initiateAuthentication and authenticateClient; returns the session's answers.
    private func authenticate(
        _ smdp: SMDPSimulator, _ euicc: SMDPTestEUICC, matchingId: String?
    ) async throws -> (InitiateAuthenticationResponse, AuthenticateClientResponse) {
        let initiated = try await smdp.initiateAuthentication(
            euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
        let authenticated = try await smdp.authenticateClient(
            transactionId: initiated.transactionId,
            authenticateServerResponse: try euicc.authenticateServer(initiated, matchingId: matchingId))
        return (initiated, authenticated)
    }

    private func download(_ smdp: SMDPSimulator, _ euicc: SMDPTestEUICC, matchingId: String?) async throws -> (String, SMDPTestEUICC.Installed) {
        let (initiated, authenticated) = try await authenticate(smdp, euicc, matchingId: matchingId)
        let bpp = try await smdp.getBoundProfilePackage(
            transactionId: initiated.transactionId, prepareDownloadResponse: try euicc.prepareDownload(authenticated))
        XCTAssertEqual(bpp.transactionId, initiated.transactionId)
        return (initiated.transactionId, try euicc.load(bpp.boundProfilePackage))
    }

    func testFullSessionDeliversTheOrderedProfileAndRecordsTheInstallation() async throws {
        let smdp = try makeSimulator()
        let euicc = try SMDPTestEUICC(pki: pki)
        let iccid = try await smdp.downloadOrder(eid: euicc.eid, profileType: "iot-data")
        XCTAssertNil(ICCID.validate(iccid))
        XCTAssertTrue(iccid.hasPrefix("8988200"))
        let confirmed = try await smdp.confirmOrder(iccid: iccid, releaseFlag: true)
        XCTAssertEqual(confirmed.smdpAddress, "smdp.test")
        XCTAssertEqual(confirmed.eid, euicc.eid)

        let (transactionId, installed) = try await download(smdp, euicc, matchingId: confirmed.matchingId)
        XCTAssertEqual(installed.iccid, iccid)
        XCTAssertEqual(installed.profileType, "iot-data")
        XCTAssertEqual(installed.metadata.iccid, iccid)
        XCTAssertEqual(installed.metadata.serviceProviderName, "Test Operator")
        XCTAssertEqual(installed.metadata.notificationConfiguration.map(\.address), Array(repeating: "smdp.test", count: 4))
        XCTAssertGreaterThan(installed.packageBytes, 2000)
        XCTAssertEqual(transactionId.count, 32)

        try await smdp.handleNotification(pendingNotification: try euicc.installationResult(iccid: iccid))
        // A repeat is acknowledged and changes nothing.
        try await smdp.handleNotification(pendingNotification: try euicc.installationResult(iccid: iccid))
        let stats = await smdp.statistics
        XCTAssertEqual(stats.sessionsStarted, 1)
        XCTAssertEqual(stats.sessionsCompleted, 1)
        XCTAssertEqual(stats.installsConfirmed, 1)
        XCTAssertEqual(stats.notificationsReceived["install"], 1)
        XCTAssertEqual(stats.notificationsRepeated, 1)
        XCTAssertEqual(stats.sessionsFailedTotal, 0)
        let installedICCIDs = await smdp.installedICCIDs
        XCTAssertEqual(installedICCIDs, [euicc.eid: [iccid]])
        let order = await smdp.order(iccid: iccid)
        XCTAssertEqual(order?.state, .installed)
        let open = await smdp.openSessionCount
        XCTAssertEqual(open, 0)

        // The profile cannot be downloaded twice.
        await assertSMDPError("8.2.6", "3.8") { try await self.authenticate(smdp, euicc, matchingId: confirmed.matchingId) }
    }

    func testReplaceSessionKeysAndLargePackages() async throws {
        var configuration = SMDPTestFixture.configuration()
        configuration.usesReplaceSessionKeys = true
        configuration.profileTypes[0].packageSize = 40_000
        let smdp = try makeSimulator(configuration)
        let order = try await smdp.createOrders(profileType: "iot-data", count: 1)[0]
        let euicc = try SMDPTestEUICC(pki: pki)
        let (_, installed) = try await download(smdp, euicc, matchingId: order.matchingId)
        XCTAssertEqual(installed.iccid, order.iccid)
        XCTAssertGreaterThan(installed.packageBytes, 35_000)
    }

    func testDefaultSMDPCaseAndAutoOrder() async throws {
        let smdp = try makeSimulator()
        let euicc = try SMDPTestEUICC(pki: pki)
        let order = try await smdp.createOrders(profileType: "iot-data", eids: [euicc.eid])[0]
        let (_, installed) = try await download(smdp, euicc, matchingId: nil)
        XCTAssertEqual(installed.iccid, order.iccid)

        let auto = try makeSimulator(SMDPTestFixture.configuration(autoOrder: true))
        let first = try await download(auto, try SMDPTestEUICC(pki: pki), matchingId: "ANY-CODE").1
        let second = try await download(auto, try SMDPTestEUICC(pki: pki), matchingId: nil).1
        XCTAssertNotEqual(first.iccid, second.iccid)
        let created = await auto.statistics.ordersCreated
        XCTAssertEqual(created, 2)
    }

    func testES2PlusOrderLifecycle() async throws {
        let smdp = try makeSimulator()
        let iccid = try await smdp.downloadOrder(profileType: "iot-data")
        await assertSMDPError("8.2.1", "1.2") { try await smdp.releaseProfile(iccid: iccid) }
        let confirmed = try await smdp.confirmOrder(iccid: iccid, matchingId: "MY-CODE", releaseFlag: false)
        XCTAssertEqual(confirmed.matchingId, "MY-CODE")
        // Not released yet.
        await assertSMDPError("8.2", "1.2") { try await self.authenticate(smdp, try SMDPTestEUICC(pki: self.pki), matchingId: "MY-CODE") }
        try await smdp.releaseProfile(iccid: iccid)
        let euicc = try SMDPTestEUICC(pki: pki)
        let (_, installed) = try await download(smdp, euicc, matchingId: "MY-CODE")
        XCTAssertEqual(installed.iccid, iccid)

        // Codes of refused ES2+ calls.
        await assertSMDPError("8.2.5", "3.9") { try await smdp.downloadOrder(profileType: "nope") }
        await assertSMDPError("8.2.1", "3.9") { try await smdp.confirmOrder(iccid: "89882000000000000000", releaseFlag: true) }
        let other = try await smdp.downloadOrder(eid: euicc.eid, profileType: "iot-data")
        await assertSMDPError("8.2.6", "3.3") { try await smdp.confirmOrder(iccid: other, matchingId: "MY-CODE", releaseFlag: true) }
        let wrongEID = try EID.make(prefix: pki.eumIIN, index: 42).value
        await assertSMDPError("8.1.1", "3.10") { try await smdp.confirmOrder(iccid: other, eid: wrongEID, releaseFlag: true) }
        try await smdp.cancelOrder(iccid: other, finalProfileStatusIndicator: "Available")
        let again = try await smdp.downloadOrder(iccid: other)
        XCTAssertEqual(again, other)
        await assertSMDPError("8.2.1", "3.3") { try await smdp.downloadOrder(iccid: other) }
    }

    func testUnknownOrWrongCIIsRefused() async throws {
        let smdp = try makeSimulator()
        let euicc = try SMDPTestEUICC(pki: pki)
        euicc.ciPKIds = [Array(repeating: 0xAB, count: 20)]
        await assertSMDPError("8.8.2", "3.1") {
            try await smdp.initiateAuthentication(euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
        }
        // An eUICC of another PKI (its EUM chains to another CI).
        let otherPKI = try RSPTestPKI.create()
        let stranger = try SMDPTestEUICC(pki: otherPKI)
        stranger.ciPKIds = [pki.ciSubjectKeyIdentifier]
        stranger.serverPKI = pki
        let order = try await smdp.createOrders(profileType: "iot-data", count: 1)[0]
        await assertSMDPError("8.11.1", "3.9") { try await self.authenticate(smdp, stranger, matchingId: order.matchingId) }
        // Wrong address and unsupported version.
        await assertSMDPError("8.8.1", "3.8") {
            try await smdp.initiateAuthentication(euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "other.test")
        }
        let old = try SMDPTestEUICC(pki: pki)
        old.svn = [1, 0, 0]
        await assertSMDPError("8.8.3", "3.1") {
            try await smdp.initiateAuthentication(euiccChallenge: try old.getChallenge(), euiccInfo1: old.euiccInfo1, smdpAddress: "smdp.test")
        }
    }

    func testEIDOutsideTheEUMRangeIsRefused() async throws {
        let smdp = try makeSimulator(SMDPTestFixture.configuration(autoOrder: true))
        // An eUICC certificate the EUM signed for an EID outside its IIN.
        let outside = try EID.make(prefix: "89001012", index: 7)
        let key = try PrivateKey.generate(curve: pki.curve)
        var builder = CertificateBuilder(
            subject: pki.euiccSubject(for: outside), subjectPublicKey: key.publicKey,
            notBefore: Date(timeIntervalSinceNow: -3600), notAfter: Date(timeIntervalSinceNow: 86400))
        builder.keyUsage = [.digitalSignature]
        builder.certificatePolicies = [RSPCertificateRole.euicc.policyOID]
        builder.certificatePoliciesAreCritical = true
        let certificate = try builder.build(issuer: .certificate(pki.eum.certificate, key: pki.eum.privateKey))
        let euicc = try SMDPTestEUICC(pki: pki, credential: .init(certificate: certificate, privateKey: key))
        await assertSMDPError("8.1.3", "6.1") { try await self.authenticate(smdp, euicc, matchingId: "X") }
        let failed = await smdp.statistics.sessionsFailed
        XCTAssertEqual(failed["8.1.3/6.1"], 1)
    }

    func testBadEUICCSignatureIsRefused() async throws {
        let smdp = try makeSimulator(SMDPTestFixture.configuration(autoOrder: true))
        let euicc = try SMDPTestEUICC(pki: pki)
        // Another eUICC's certificate with this eUICC's key: euiccSignature1 does not verify.
        euicc.eumCertificate = pki.eum.certificate.der
        let other = try pki.makeEUICC(eid: try EID.make(prefix: pki.eumIIN, index: 99))
        let impostor = try SMDPTestEUICC(pki: pki, credential: .init(certificate: other.certificate, privateKey: euicc.credential.privateKey))
        await assertSMDPError("8.1", "6.1") { try await self.authenticate(smdp, impostor, matchingId: "X") }
    }

    func testTransactionsAreUsedOnceAndUnknownOnesRefused() async throws {
        let smdp = try makeSimulator(SMDPTestFixture.configuration(autoOrder: true))
        let euicc = try SMDPTestEUICC(pki: pki)
        let initiated = try await smdp.initiateAuthentication(
            euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
        let response = try euicc.authenticateServer(initiated, matchingId: "A")
        _ = try await smdp.authenticateClient(transactionId: initiated.transactionId, authenticateServerResponse: response)
        // Replay of the same authenticateClient.
        await assertSMDPError("8.10.1", "3.9") {
            try await smdp.authenticateClient(transactionId: initiated.transactionId, authenticateServerResponse: response)
        }
        await assertSMDPError("8.10.1", "3.9") {
            try await smdp.getBoundProfilePackage(transactionId: "00112233445566778899AABBCCDDEEFF", prepareDownloadResponse: [0xBF, 0x21, 0x00])
        }
    }

    func testExpiredSessionIsRefusedAndTheOrderReleased() async throws {
        let clock = SMDPTestClock()
        let smdp = try makeSimulator(clock: clock)
        let order = try await smdp.createOrders(profileType: "iot-data", count: 1)[0]
        let euicc = try SMDPTestEUICC(pki: pki)
        let (initiated, authenticated) = try await authenticate(smdp, euicc, matchingId: order.matchingId)
        clock.advance(by: 301)
        await assertSMDPError("8.10.1", "3.9") {
            try await smdp.getBoundProfilePackage(transactionId: initiated.transactionId, prepareDownloadResponse: try euicc.prepareDownload(authenticated))
        }
        let state = await smdp.order(iccid: order.iccid)?.state
        XCTAssertEqual(state, .released)
        let failed = await smdp.statistics.sessionsFailed
        XCTAssertEqual(failed["expired"], 1)
        // The order downloads on a retry.
        let (_, installed) = try await download(smdp, euicc, matchingId: order.matchingId)
        XCTAssertEqual(installed.iccid, order.iccid)
    }

    func testUnknownMatchingIdAndEIDBoundOrders() async throws {
        let smdp = try makeSimulator()
        let euicc = try SMDPTestEUICC(pki: pki)
        await assertSMDPError("8.2.6", "3.8") { try await self.authenticate(smdp, euicc, matchingId: "NO-SUCH-CODE") }
        await assertSMDPError("8.1.1", "3.8") { try await self.authenticate(smdp, euicc, matchingId: nil) }
        let someoneElse = try EID.make(prefix: pki.eumIIN, index: 5).value
        let order = try await smdp.createOrders(profileType: "iot-data", eids: [someoneElse])[0]
        await assertSMDPError("8.1.1", "3.8") { try await self.authenticate(smdp, euicc, matchingId: order.matchingId) }
    }

    func testNotificationsAreVerified() async throws {
        let smdp = try makeSimulator()
        let euicc = try SMDPTestEUICC(pki: pki)
        let order = try await smdp.createOrders(profileType: "iot-data", count: 1)[0]
        _ = try await download(smdp, euicc, matchingId: order.matchingId)
        var tampered = try euicc.installationResult(iccid: order.iccid)
        tampered[tampered.count - 3] ^= 0x01  // inside the signature
        try await smdp.handleNotification(pendingNotification: tampered)
        var stats = await smdp.statistics
        XCTAssertEqual(stats.installsConfirmed, 0)
        XCTAssertEqual(stats.notificationsRejected["signature"], 1)

        try await smdp.handleNotification(pendingNotification: try euicc.installationResult(iccid: order.iccid))
        try await smdp.handleNotification(pendingNotification: try euicc.otherNotification(.enable, iccid: order.iccid, address: "smdp.test"))
        var badOther = try euicc.otherNotification(.delete, iccid: order.iccid, address: "smdp.test")
        let metadataEnd = 4 + NotificationMetadata(seqNumber: 4, event: .delete, notificationAddress: "smdp.test", iccid: order.iccid).der.count
        badOther[metadataEnd + 5] ^= 0x01  // inside the signature
        try await smdp.handleNotification(pendingNotification: badOther)
        stats = await smdp.statistics
        XCTAssertEqual(stats.installsConfirmed, 1)
        XCTAssertEqual(stats.notificationsReceived, ["install": 1, "enable": 1])
        XCTAssertEqual(stats.notificationsRejected["signature"], 2)
        try await smdp.handleNotification(pendingNotification: try euicc.otherNotification(.delete, iccid: order.iccid, address: "smdp.test"))
        let installed = await smdp.installedICCIDs
        XCTAssertEqual(installed[euicc.eid], [])

        // Strict mode refuses instead of counting.
        var strict = SMDPTestFixture.configuration()
        strict.refusesUnverifiableNotifications = true
        let strictSMDP = try makeSimulator(strict)
        await assertSMDPError("8.1", "6.1") { try await strictSMDP.handleNotification(pendingNotification: badOther) }
    }

    func testCancelSessionReleasesTheOrder() async throws {
        let smdp = try makeSimulator()
        let order = try await smdp.createOrders(profileType: "iot-data", count: 1)[0]
        let euicc = try SMDPTestEUICC(pki: pki)
        let (initiated, _) = try await authenticate(smdp, euicc, matchingId: order.matchingId)
        try await smdp.cancelSession(transactionId: initiated.transactionId, cancelSessionResponse: try euicc.cancelSession(reason: .postponed))
        let state = await smdp.order(iccid: order.iccid)?.state
        XCTAssertEqual(state, .released)
        let failed = await smdp.statistics.sessionsFailed
        XCTAssertEqual(failed["cancelled/postponed"], 1)
        await assertSMDPError("8.10.1", "3.9") {
            try await smdp.cancelSession(transactionId: initiated.transactionId, cancelSessionResponse: try euicc.cancelSession(reason: .postponed))
        }
    }

    func testInjectedFaults() async throws {
        let smdp = try makeSimulator(SMDPTestFixture.configuration(autoOrder: true))
        await smdp.failNext(1, of: .initiateAuthentication, with: .failed("8.8", "4.2", "scripted"))
        let euicc = try SMDPTestEUICC(pki: pki)
        await assertSMDPError("8.8", "4.2") {
            try await smdp.initiateAuthentication(euiccChallenge: try euicc.getChallenge(), euiccInfo1: euicc.euiccInfo1, smdpAddress: "smdp.test")
        }
        var faults = SMDPFaults()
        faults.corruptsBoundProfilePackage = true
        await smdp.setFaults(faults)
        do {
            _ = try await download(smdp, euicc, matchingId: "C")
            XCTFail("a corrupted package must not load")
        } catch SMDPTestEUICC.LoadError.mac(let failure) {
            XCTAssertEqual(failure, .macMismatch)
        }
        faults = SMDPFaults()
        faults.failureRate[.authenticateClient] = 1
        await smdp.setFaults(faults)
        await assertSMDPError("8.1", "4.2") { try await self.authenticate(smdp, euicc, matchingId: "D") }
    }
}
