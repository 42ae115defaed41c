import Foundation
import LPACrypto
import LPAIdentity
import LPASimKit
import RSP
import TerminalProtocol
import XCTest

final class VirtualEUICCTests: XCTestCase {
    static let pki = try! RSPTestPKI.create()
    static let iccid = "89440000000000000011"

    /// What a download run produced: the answer of every load command.
    struct DownloadRun {
        var answers: [(data: [UInt8], sw: UInt16)] = []
        var commandCount = 0
        var result: ProfileInstallationResult?
    }

    func makeCard(pki: RSPTestPKI = VirtualEUICCTests.pki, directory: URL? = nil) throws -> VirtualEUICC {
        VirtualEUICC(identity: try VirtualEUICC.Identity(pki: pki), configuration: .init(stateDirectory: directory))
    }

    /// Challenge → AuthenticateServer → PrepareDownload → every load command; stops at the first BF37.
    func download(
        _ driver: CardDriver, _ card: VirtualEUICC, smdp: inout TestSMDP, iccid: String = VirtualEUICCTests.iccid,
        packageICCID: String? = nil, tamper: ((inout [BoundProfilePackage.LoadCommand]) -> Void)? = nil
    ) throws -> DownloadRun {
        let authenticate = try authenticateServer(driver, &smdp)
        let prepare = try driver.call(try smdp.prepareDownload(authenticateServerResponse: authenticate))
        let package = try smdp.boundProfilePackage(
            prepareDownloadResponse: prepare, eid: card.eid, metadata: VirtualEUICCFixtures.metadata(iccid: iccid),
            profile: VirtualEUICCFixtures.profile(iccid: packageICCID ?? iccid)
        )
        var commands = package.loadCommands
        tamper?(&commands)
        var run = DownloadRun()
        run.commandCount = commands.count
        for command in commands {
            let answer = try driver.send(command.bytes)
            run.answers.append(answer)
            if answer.data.first == 0xBF {
                run.result = try ProfileInstallationResult(der: answer.data)
                break
            }
        }
        return run
    }

    /// GetEuiccChallenge then AuthenticateServer; returns the eUICC's answer.
    func authenticateServer(_ driver: CardDriver, _ smdp: inout TestSMDP) throws -> [UInt8] {
        let challenge = try EUICCChallenge(der: try driver.call(EUICCQueries.getEuiccChallenge)).challenge
        return try driver.call(try smdp.authenticateServer(euiccChallenge: challenge))
    }

    func assertInstallError(_ run: DownloadRun, command: BppCommandId, reason: InstallationErrorReason,
                            file: StaticString = #filePath, line: UInt = #line) throws {
        let result = try XCTUnwrap(run.result, "no BF37", file: file, line: line)
        XCTAssertEqual(result.data.finalResult, .error(bppCommandId: command.rawValue, errorReason: reason.rawValue),
                       file: file, line: line)
        let certificate = try XCTUnwrap(Self.pki.euicc).certificate
        XCTAssertTrue(try ECDSA.verify(result.signature, for: result.data.encoded, with: certificate.publicKey), file: file, line: line)
    }

    // MARK: - Download and profile management

    func testFullDownloadThenEnableDisableDeleteWithNotifications() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var changes: [String?] = []
        card.onEnabledProfileChange = { iccid, _ in changes.append(iccid) }

        XCTAssertEqual(try ES10c.parseEID(try driver.call(ES10c.getEIDRequest)), card.eid)
        let info1 = try EUICCInfo1(der: try driver.call(EUICCQueries.getEuiccInfo1))
        XCTAssertEqual(info1.ciPKIdsForSigning, [Self.pki.ciSubjectKeyIdentifier])
        XCTAssertEqual(info1.svn.prefix(2), [2, 2])
        _ = try EUICCInfo2(der: try driver.call(EUICCQueries.getEuiccInfo2))

        var smdp = TestSMDP(pki: Self.pki)
        let run = try download(driver, card, smdp: &smdp)
        // Every command but the last answers 9000 without data.
        XCTAssertEqual(run.answers.count, run.commandCount)
        for answer in run.answers.dropLast() { XCTAssertEqual(answer.data, []); XCTAssertEqual(answer.sw, 0x9000) }
        let result = try XCTUnwrap(run.result)
        XCTAssertTrue(result.isSuccess)
        XCTAssertTrue(try ECDSA.verify(result.signature, for: result.data.encoded, with: XCTUnwrap(Self.pki.euicc).certificate.publicKey))
        XCTAssertEqual(result.data.transactionId, smdp.transactionId)
        XCTAssertEqual(result.data.notificationMetadata, NotificationMetadata(seqNumber: 1, event: .install, notificationAddress: "smdp.test", iccid: Self.iccid))
        guard case .success(let aid, _) = result.data.finalResult else { return XCTFail() }
        XCTAssertEqual(aid, Hex.bytes("A0000005591010FFFFFFFF8900001000"))

        var profiles = try ProfileInfo.parseList(try driver.call(ES10c.profilesInfoRequest))
        XCTAssertEqual(profiles.map(\.iccid), [Self.iccid])
        XCTAssertEqual(profiles.first?.enabled, false)
        XCTAssertNil(card.enabledICCID)

        // Enable, then enabling again is refused; disable; delete.
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.enableRequest(.iccid(Self.iccid))), tag: RSPTag.enableProfile), 0)
        XCTAssertEqual(card.enabledICCID, Self.iccid)
        XCTAssertEqual(changes, [Self.iccid])
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.enableRequest(.isdpAid(aid))), tag: RSPTag.enableProfile), 2)
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.deleteRequest(.iccid(Self.iccid))), tag: RSPTag.deleteProfile), 2)
        profiles = try ProfileInfo.parseList(try driver.call(ES10c.profilesInfoRequest))
        XCTAssertEqual(profiles.first?.enabled, true)
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.disableRequest(.iccid(Self.iccid))), tag: RSPTag.disableProfile), 0)
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.disableRequest(.iccid(Self.iccid))), tag: RSPTag.disableProfile), 2)
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.deleteRequest(.iccid("89440000000000000099"))), tag: RSPTag.deleteProfile), 1)
        XCTAssertEqual(try ES10c.parseResult(try driver.call(ES10c.deleteRequest(.iccid(Self.iccid))), tag: RSPTag.deleteProfile), 0)
        XCTAssertEqual(try ProfileInfo.parseList(try driver.call(ES10c.profilesInfoRequest)), [])
        XCTAssertEqual(changes, [Self.iccid, nil])

        // Notifications: install, enable, disable, delete, each signed by the eUICC.
        let listed = try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest()))
        XCTAssertEqual(listed.map(\.seqNumber), [1, 2, 3, 4])
        XCTAssertEqual(listed.map(\.event), [.install, .enable, .disable, .delete])
        XCTAssertEqual(try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest(event: .enable))).map(\.seqNumber), [2])
        let pending = try NotificationCommands.parseRetrieve(try driver.call(NotificationCommands.retrieveRequest()))
        XCTAssertEqual(pending.count, 4)
        for case .other(let other) in pending {
            XCTAssertTrue(try ECDSA.verify(other.signature, for: other.signedBytes, with: XCTUnwrap(Self.pki.euicc).certificate.publicKey))
            XCTAssertEqual(other.metadata.iccid, Self.iccid)
        }
        let third = try NotificationCommands.parseRetrieve(try driver.call(NotificationCommands.retrieveRequest(seqNumber: 3)))
        XCTAssertEqual(third.map(\.metadata.event), [.disable])
        XCTAssertEqual(try NotificationCommands.parseRemove(try driver.call(NotificationCommands.removeRequest(seqNumber: 1))), 0)
        XCTAssertEqual(try NotificationCommands.parseRemove(try driver.call(NotificationCommands.removeRequest(seqNumber: 1))), 1)
        XCTAssertEqual(try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest())).map(\.seqNumber), [2, 3, 4])
    }

    func testEnablingASecondProfileDisablesTheFirst() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        let second = "89440000000000000022"
        for iccid in [Self.iccid, second] {
            var smdp = TestSMDP(pki: Self.pki)
            XCTAssertEqual(try download(driver, card, smdp: &smdp, iccid: iccid).result?.isSuccess, true)
        }
        XCTAssertEqual(card.profiles.map(\.isdpAid.last), [0x00, 0x00])
        XCTAssertEqual(card.profiles.map { $0.isdpAid[14] }, [0x10, 0x11])
        _ = try driver.call(ES10c.enableRequest(.iccid(Self.iccid)))
        _ = try driver.call(ES10c.enableRequest(.iccid(second)))
        XCTAssertEqual(card.enabledICCID, second)
        XCTAssertEqual(card.profiles.filter(\.enabled).count, 1)
        // GetProfilesInfo by search criterion.
        let bySecond = TLV.encode(RSPTag.profileInfoList, TLV.encode(0xA0, TLV.encode(RSPTag.iccid, BCD.swapped(second, byteCount: 10)!)))
        XCTAssertEqual(try ProfileInfo.parseList(try driver.call(bySecond)).map(\.iccid), [second])
        let byAid = TLV.encode(RSPTag.profileInfoList, TLV.encode(0xA0, TLV.encode(RSPTag.aid, card.profiles[0].isdpAid)))
        XCTAssertEqual(try ProfileInfo.parseList(try driver.call(byAid)).map(\.iccid), [Self.iccid])
        let testClass = TLV.encode(RSPTag.profileInfoList, TLV.encode(0xA0, TLV.integer(0x95, 0)))
        XCTAssertEqual(try ProfileInfo.parseList(try driver.call(testClass)), [])
        // RetrieveNotificationsList by event.
        let enables = TLV.encode(RSPTag.retrieveNotificationsList, TLV.encode(0xA0, TLV.encode(0x81, NotificationEvent.enable.bitStringValue)))
        XCTAssertEqual(try NotificationCommands.parseRetrieve(try driver.call(enables)).map(\.metadata.seqNumber), [3, 5])
        let events = try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest())).map(\.event)
        XCTAssertEqual(events, [.install, .install, .enable, .disable, .enable])
    }

    func testBrainpoolPKIDownload() throws {
        var parameters = RSPTestPKI.Parameters()
        parameters.curve = .brainpoolP256r1
        let pki = try RSPTestPKI.create(parameters)
        let card = try makeCard(pki: pki)
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: pki)
        let result = try XCTUnwrap(try download(driver, card, smdp: &smdp).result)
        XCTAssertTrue(result.isSuccess)
        XCTAssertTrue(try ECDSA.verify(result.signature, for: result.data.encoded, with: XCTUnwrap(pki.euicc).certificate.publicKey))
    }

    // MARK: - Refusals

    func testTamperedProfileSegmentIsAnSCP03tSecurityError() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let run = try download(driver, card, smdp: &smdp) { commands in
            let index = commands.firstIndex { $0.kind == .profileElements }! + 1
            commands[index].bytes[20] ^= 0x01
        }
        try assertInstallError(run, command: .loadProfileElements, reason: .scp03tSecurityError)
        XCTAssertEqual(run.result?.data.notificationMetadata.seqNumber, 1)
        // The session is over: further load commands have no session.
        XCTAssertEqual(try driver.send(TLV.encode(0x86, [UInt8](repeating: 0, count: 24))).sw, 0x6985)
        XCTAssertEqual(card.profiles, [])
        // The failed result is on the notification list too.
        XCTAssertEqual(try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest())).map(\.event), [.install])
    }

    func testUnknownCIIsCiPKUnknown() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: try RSPTestPKI.create())  // a whole other PKI
        let answer = try AuthenticateServerResponse(der: try authenticateServer(driver, &smdp))
        XCTAssertEqual(answer, .error(transactionId: smdp.transactionId, code: AuthenticateErrorCode.ciPKUnknown.rawValue))
    }

    func testDPauthFromAnotherCIIsAnInvalidCertificate() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        smdp.dpAuth = try RSPTestPKI.create().dpAuth
        let answer = try AuthenticateServerResponse(der: try authenticateServer(driver, &smdp))
        XCTAssertEqual(answer, .error(transactionId: smdp.transactionId, code: AuthenticateErrorCode.invalidCertificate.rawValue))

        // A DPpb certificate where DPauth belongs: right CI, wrong role.
        smdp.dpAuth = Self.pki.dpPb
        let wrongRole = try AuthenticateServerResponse(der: try authenticateServer(driver, &smdp))
        XCTAssertEqual(wrongRole, .error(transactionId: smdp.transactionId, code: AuthenticateErrorCode.invalidCertificate.rawValue))
    }

    func testReplayedOrMissingChallengeIsEuiccChallengeMismatch() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let challenge = try EUICCChallenge(der: try driver.call(EUICCQueries.getEuiccChallenge)).challenge
        guard case .ok = try AuthenticateServerResponse(der: try driver.call(try smdp.authenticateServer(euiccChallenge: challenge))) else {
            return XCTFail("first use of the challenge must succeed")
        }
        let replay = try AuthenticateServerResponse(der: try driver.call(try smdp.authenticateServer(euiccChallenge: challenge)))
        XCTAssertEqual(replay, .error(transactionId: smdp.transactionId, code: AuthenticateErrorCode.euiccChallengeMismatch.rawValue))
        // A challenge the eUICC never issued.
        _ = try driver.call(EUICCQueries.getEuiccChallenge)
        let forged = try AuthenticateServerResponse(der: try driver.call(try smdp.authenticateServer(euiccChallenge: [UInt8](repeating: 7, count: 16))))
        XCTAssertEqual(forged, .error(transactionId: smdp.transactionId, code: AuthenticateErrorCode.euiccChallengeMismatch.rawValue))
    }

    func testBadServerSignature1IsInvalidSignature() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let challenge = try EUICCChallenge(der: try driver.call(EUICCQueries.getEuiccChallenge)).challenge
        var request = try AuthenticateServerRequest(der: try smdp.authenticateServer(euiccChallenge: challenge))
        request.serverSignature1[10] ^= 0xFF
        let answer = try AuthenticateServerResponse(der: try driver.call(request.der))
        XCTAssertEqual(answer, .error(transactionId: smdp.transactionId, code: AuthenticateErrorCode.invalidSignature.rawValue))
    }

    func testWrongTransactionIdInPrepareDownloadAndInTheBoundProfilePackage() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        var authenticate = try authenticateServer(driver, &smdp)
        let wrong = [UInt8](repeating: 0xEE, count: 16)
        let refused = try PrepareDownloadResponse(der: try driver.call(try smdp.prepareDownload(
            authenticateServerResponse: authenticate, signedTransactionId: wrong
        )))
        XCTAssertEqual(refused, .error(transactionId: wrong, code: DownloadErrorCode.invalidTransactionId.rawValue))

        // A fresh session whose package names another transaction.
        authenticate = try authenticateServer(driver, &smdp)
        let prepare = try driver.call(try smdp.prepareDownload(authenticateServerResponse: authenticate))
        let package = try smdp.boundProfilePackage(
            prepareDownloadResponse: prepare, eid: card.eid, metadata: VirtualEUICCFixtures.metadata(iccid: Self.iccid),
            profile: VirtualEUICCFixtures.profile(iccid: Self.iccid), bf23TransactionId: wrong
        )
        let answer = try driver.send(package.loadCommands[0].bytes)
        var run = DownloadRun()
        run.result = try ProfileInstallationResult(der: answer.data)
        try assertInstallError(run, command: .initialiseSecureChannel, reason: .invalidTransactionId)
    }

    func testPrepareDownloadRefusals() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        func attempt(_ bend: (inout TestSMDP) throws -> Void, ccRequired: Bool = false) throws -> PrepareDownloadResponse {
            var smdp = TestSMDP(pki: Self.pki)
            let authenticate = try authenticateServer(driver, &smdp)
            try bend(&smdp)
            return try PrepareDownloadResponse(der: try driver.call(try smdp.prepareDownload(
                authenticateServerResponse: authenticate, ccRequired: ccRequired
            )))
        }
        func error(_ code: DownloadErrorCode, _ response: PrepareDownloadResponse) -> Bool {
            if case .error(_, let found) = response { return found == code.rawValue }
            return false
        }
        // A DPpb certificate of another SM-DP+ (same CI, other organisation).
        let foreignKey = try PrivateKey.generate(curve: Self.pki.curve)
        var builder = CertificateBuilder(
            subject: DistinguishedName(organization: "Other SM-DP+", commonName: "other DPpb"),
            subjectPublicKey: foreignKey.publicKey, notBefore: Date(timeIntervalSinceNow: -60),
            notAfter: Date(timeIntervalSinceNow: 86400)
        )
        builder.keyUsage = [.digitalSignature]
        builder.certificatePolicies = [RSPCertificateRole.dpPb.policyOID]
        builder.certificatePoliciesAreCritical = true
        let foreign = RSPTestPKI.Credential(
            certificate: try builder.build(issuer: .certificate(Self.pki.ci.certificate, key: Self.pki.ci.privateKey)),
            privateKey: foreignKey
        )
        XCTAssertTrue(error(.invalidCertificate, try attempt { $0.dpPb = foreign }))
        // The DPauth certificate where DPpb belongs: wrong role.
        XCTAssertTrue(error(.invalidCertificate, try attempt { $0.dpPb = Self.pki.dpAuth }))
        // A tampered smdpSignature2.
        var smdp = TestSMDP(pki: Self.pki)
        let authenticate = try authenticateServer(driver, &smdp)
        var request = try PrepareDownloadRequest(der: try smdp.prepareDownload(authenticateServerResponse: authenticate))
        request.smdpSignature2[5] ^= 0x40
        XCTAssertTrue(error(.invalidSignature, try PrepareDownloadResponse(der: try driver.call(request.der))))
        // A confirmation code is required but the LPA gave no hashCc.
        XCTAssertTrue(error(.undefinedError, try attempt({ _ in }, ccRequired: true)))
        // The session ended with the refusal: the same request again has no session.
        XCTAssertTrue(error(.noSessionContext, try PrepareDownloadResponse(der: try driver.call(request.der))))
    }

    /// For a full profile the header's ICCID is informative: the eUICC installs under the metadata's ICCID.
    func testPackageICCIDDifferentFromMetadataIsInstalledUnderTheMetadataICCID() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let run = try download(driver, card, smdp: &smdp, packageICCID: "89440000000000000033")
        XCTAssertEqual(run.result?.isSuccess, true)
        let profiles = try ProfileInfo.parseList(try driver.call(ES10c.profilesInfoRequest))
        XCTAssertEqual(profiles.map(\.iccid), [Self.iccid])
    }

    func testDuplicateICCIDIsRefused() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        XCTAssertEqual(try download(driver, card, smdp: &smdp).result?.isSuccess, true)
        var again = TestSMDP(pki: Self.pki)
        let run = try download(driver, card, smdp: &again)
        try assertInstallError(run, command: .storeMetadata, reason: .iccidAlreadyExistsOnEuicc)
        XCTAssertEqual(card.profiles.count, 1)
    }

    func testLoadCommandsOutOfOrderAreAStructureError() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let run = try download(driver, card, smdp: &smdp) { commands in
            commands.swapAt(1, 2)  // A1 header before A0
        }
        try assertInstallError(run, command: .configureISDP, reason: .scp03tStructureError)
    }

    func testCancelSession() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let authenticate = try authenticateServer(driver, &smdp)

        let other = try driver.call(CancelSession.request(transactionId: [1, 2, 3], reason: .endUserRejection))
        XCTAssertThrowsError(try CancelSession.parseResponse(other)) { error in
            XCTAssertEqual(error as? RSPError, .euiccError(command: "CancelSession", code: 5))
        }
        let answer = try CancelSession.parseResponse(try driver.call(CancelSession.request(transactionId: smdp.transactionId, reason: .postponed)))
        let ok = try TLV(der: answer, object: "test").requiredChild(0xA0, in: "test")
        let signed = try ok.requiredChild(RSPTag.sequence, in: "test")
        XCTAssertEqual(
            Array(signed.encoded),
            EuiccCancelSessionSigned(transactionId: smdp.transactionId, smdpOid: [0x88, 0x37, 0x0A], reason: 1).encoded)
        // AUTOMATIC TAGS: transactionId [0], smdpOid [1], reason [2].
        XCTAssertEqual(signed.children.map(\.tag), [0x80, 0x81, 0x82])
        let signature = try ok.requiredChild(RSPTag.signature, in: "test").bytes
        XCTAssertTrue(try ECDSA.verify(signature, for: Array(signed.encoded), with: XCTUnwrap(Self.pki.euicc).certificate.publicKey))
        // The session is gone.
        let prepare = try PrepareDownloadResponse(der: try driver.call(try smdp.prepareDownload(authenticateServerResponse: authenticate)))
        XCTAssertEqual(prepare, .error(transactionId: smdp.transactionId, code: DownloadErrorCode.noSessionContext.rawValue))
    }

    // MARK: - APDU layer

    func testLongResponsesAreChunkedThroughGetResponse() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        let challenge = try EUICCChallenge(der: try driver.call(EUICCQueries.getEuiccChallenge)).challenge
        let apdus = try StoreData.apdus(for: try smdp.authenticateServer(euiccChallenge: challenge), channel: driver.channel)
        var last: [UInt8] = []
        for apdu in apdus { last = card.transmit(apdu) }
        XCTAssertEqual(last.count, 258)
        XCTAssertEqual(last[256], 0x61)
        var whole = Array(last.prefix(256))
        var sw = last.suffix(2)
        var rounds = 0
        while sw.first == 0x61 {
            // Ask for less than is available: the card must honour Le.
            let response = card.transmit([0x80 | driver.channel, 0xC0, 0x00, 0x00, 0x80])
            XCTAssertLessThanOrEqual(response.count, 0x80 + 2)
            whole += response.dropLast(2)
            sw = response.suffix(2)
            rounds += 1
        }
        XCTAssertEqual(Array(sw), [0x90, 0x00])
        XCTAssertGreaterThan(rounds, 2)
        guard case .ok = try AuthenticateServerResponse(der: whole) else { return XCTFail("not an ok response") }
        // Nothing left: GET RESPONSE is refused.
        XCTAssertEqual(card.transmit([0x80 | driver.channel, 0xC0, 0x00, 0x00, 0x00]), [0x69, 0x85])
    }

    func testCarriedByTheTerminalBatchExecutorAndES10Batch() throws {
        let card = try makeCard()
        let channel = card.openLogicalChannel(aid: ISDR.aid).channel
        var batch = ES10Batch(channel: channel, blockSize: 100)
        try batch.append(ES10c.getEIDRequest, name: "GetEID")
        try batch.append(EUICCQueries.getEuiccInfo2, name: "GetEuiccInfo2")
        try batch.append(ES10c.profilesInfoRequest, name: "GetProfilesInfo")
        let result = ApduBatchExecutor.execute(ApduBatch(channel: channel, apdus: batch.apdus, acceptSW: [0x9000]), on: card)
        let outcomes = batch.outcomes(result.responses)
        XCTAssertEqual(try ES10c.parseEID(XCTUnwrap(outcomes[0].data)), card.eid)
        _ = try EUICCInfo2(der: XCTUnwrap(outcomes[1].data))
        XCTAssertEqual(try ProfileInfo.parseList(XCTUnwrap(outcomes[2].data)), [])
    }

    func testChannelsReassembleIndependently() throws {
        let card = try makeCard()
        let first = try CardDriver(card: card)
        // A second channel opened by MANAGE CHANNEL has nothing selected until SELECT.
        let opened = card.transmit([0x00, 0x70, 0x00, 0x00, 0x01])
        XCTAssertEqual(opened.count, 3)
        XCTAssertEqual(Array(opened.suffix(2)), [0x90, 0x00])
        let second = opened[0]
        XCTAssertNotEqual(second, first.channel)
        let secondEID = try StoreData.apdus(for: ES10c.getEIDRequest, channel: second, blockSize: 6)
        XCTAssertEqual(card.transmit(secondEID[0]), [0x69, 0x85])
        XCTAssertEqual(card.transmit([second, 0xA4, 0x04, 0x00, 0x10] + ISDR.aid), [0x90, 0x00])

        // Blocks of two multi-block commands interleaved across the channels.
        var smdp = TestSMDP(pki: Self.pki)
        let challengeOne = try EUICCChallenge(der: try first.call(EUICCQueries.getEuiccChallenge)).challenge
        let requestOne = try StoreData.apdus(for: try smdp.authenticateServer(euiccChallenge: challengeOne), channel: first.channel, blockSize: 100)
        let notifications = try StoreData.apdus(for: NotificationCommands.removeRequest(seqNumber: 300), channel: second, blockSize: 6)
        XCTAssertGreaterThan(requestOne.count, 2)
        XCTAssertEqual(card.transmit(requestOne[0]), [0x90, 0x00])
        XCTAssertEqual(card.transmit(notifications[0]), [0x90, 0x00])
        XCTAssertEqual(card.transmit(requestOne[1]), [0x90, 0x00])
        let removed = card.transmit(notifications[1])
        XCTAssertEqual(Array(removed.suffix(2)), [0x90, 0x00])
        XCTAssertEqual(try NotificationCommands.parseRemove(removed.dropLast(2)), 1)
        var last: (data: [UInt8], sw: UInt16) = ([], 0)
        for apdu in requestOne.dropFirst(2) { last = first.transmit(apdu) }
        XCTAssertEqual(last.sw, 0x9000)
        guard case .ok = try AuthenticateServerResponse(der: last.data) else { return XCTFail("not an ok response") }
    }

    func testRandomSegmentsInsideADownloadEndItWithAnErrorResult() throws {
        for position in [1, 2, 3, 5] {
            let card = try makeCard()
            let driver = try CardDriver(card: card)
            var smdp = TestSMDP(pki: Self.pki)
            let run = try download(driver, card, smdp: &smdp) { commands in
                let tag = commands[position].bytes[0]
                let body = (0..<40).map { _ in UInt8.random(in: 0...255) }
                commands[position].bytes = [tag] + TLV.lengthBytes(body.count) + body
            }
            let result = try XCTUnwrap(run.result, "position \(position)")
            guard case .error(_, let reason) = result.data.finalResult else { return XCTFail("position \(position)") }
            XCTAssertTrue([7, 8].contains(reason), "position \(position): reason \(reason)")
            XCTAssertEqual(card.profiles, [])
        }
    }

    func testGarbageAndOutOfOrderAPDUsGetStatusWordsNotCrashes() throws {
        let card = try makeCard()
        let driver = try CardDriver(card: card)
        let c = 0x80 | driver.channel
        XCTAssertEqual(card.transmit([]), [0x67, 0x00])
        XCTAssertEqual(card.transmit([c, 0xE2]), [0x67, 0x00])
        XCTAssertEqual(card.transmit([c, 0x12, 0x00, 0x00]), [0x6D, 0x00])
        XCTAssertEqual(card.transmit([0x83, 0xE2, 0x91, 0x00, 0x01, 0x00]), [0x68, 0x81])  // channel 3 not open
        XCTAssertEqual(card.transmit([c, 0xE2, 0x91, 0x01, 0x03, 0xBF, 0x3E, 0x00]), [0x6A, 0x86])  // block 1 first
        XCTAssertEqual(card.transmit([c, 0xE2, 0x11, 0x00, 0x02, 0xBF, 0x3E]), [0x90, 0x00])
        XCTAssertEqual(card.transmit([c, 0xE2, 0x91, 0x02, 0x01, 0x00]), [0x6A, 0x86])  // block 2 after 0
        XCTAssertEqual(card.transmit([c, 0xE2, 0x55, 0x00, 0x01, 0x00]), [0x6A, 0x86])  // bad P1
        XCTAssertEqual(card.transmit([c, 0xE2, 0x91, 0x00, 0x05, 0x01]), [0x67, 0x00])  // Lc beyond the data
        XCTAssertEqual(try driver.send([0xBF, 0x2E, 0x05, 0x00]).sw, 0x6A80)  // not DER
        XCTAssertEqual(try driver.send([0xBF, 0x7F, 0x00]).sw, 0x6A88)  // unknown command
        XCTAssertEqual(try driver.send(TLV.encode(0xBF36, [0xBF, 0x23, 0x00])).sw, 0x6985)  // no download session
        XCTAssertEqual(try driver.send(TLV.encode(0xA3, [])).sw, 0x6985)
        XCTAssertEqual(try driver.send(TLV.encode(0xBF38, [0x30, 0x00])).sw, 0x6A80)
        // SELECT by AID on the open channel.
        XCTAssertEqual(card.transmit([0x00 | driver.channel, 0xA4, 0x04, 0x00, 0x10] + ISDR.aid + [0x00]), [0x90, 0x00])

        // Random APDUs and random ES10 commands: any status word, never a trap.
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            let length = Int.random(in: 0...40, using: &generator)
            var apdu = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if apdu.count > 1, Bool.random() { apdu[0] = c; apdu[1] = 0xE2 }
            XCTAssertGreaterThanOrEqual(card.transmit(apdu).count, 2)
        }
        let tags: [[UInt8]] = [[0xBF, 0x38], [0xBF, 0x21], [0xBF, 0x36], [0xBF, 0x31], [0xBF, 0x2B], [0xBF, 0x41], [0xA0], [0x86]]
        for _ in 0..<500 {
            let body = (0..<Int.random(in: 0...60)).map { _ in UInt8.random(in: 0...255) }
            _ = try driver.send(tags.randomElement()! + TLV.lengthBytes(body.count) + body)
        }
        // Still a working card afterwards (a SELECT resets the channel's half-received command).
        XCTAssertEqual(card.transmit([c, 0xA4, 0x04, 0x00, 0x10] + ISDR.aid), [0x90, 0x00])
        XCTAssertEqual(try ES10c.parseEID(try driver.call(ES10c.getEIDRequest)), card.eid)
    }

    // MARK: - Persistence

    func testStateSurvivesARestartFromDisk() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("veuicc-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        var card = try makeCard(directory: directory)
        var driver = try CardDriver(card: card)
        var smdp = TestSMDP(pki: Self.pki)
        XCTAssertEqual(try download(driver, card, smdp: &smdp).result?.isSuccess, true)
        _ = try driver.call(ES10c.enableRequest(.iccid(Self.iccid)))
        XCTAssertNil(card.persistenceError)
        let before = card.snapshot

        card = try makeCard(directory: directory)
        driver = try CardDriver(card: card)
        XCTAssertNil(card.persistenceError)
        XCTAssertEqual(card.snapshot, before)
        XCTAssertEqual(card.enabledICCID, Self.iccid)
        XCTAssertEqual(try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest())).map(\.seqNumber), [1, 2])
        // The sequence counter continues.
        _ = try driver.call(ES10c.disableRequest(.iccid(Self.iccid)))
        XCTAssertEqual(try NotificationCommands.parseList(try driver.call(NotificationCommands.listRequest())).map(\.seqNumber), [1, 2, 3])

        // A corrupt snapshot is reported, and the card starts empty rather than crash.
        try Data("{".utf8).write(to: directory.appendingPathComponent("\(card.eid).json"))
        let fresh = try makeCard(directory: directory)
        XCTAssertNotNil(fresh.persistenceError)
        XCTAssertEqual(fresh.profiles, [])
    }

    func testIdentityFromPEMFiles() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("veuicc-pki-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        try Self.pki.write(to: directory)
        let loaded = try RSPTestPKI.load(from: directory)
        XCTAssertEqual(try VirtualEUICC.Identity(pki: loaded).eid, try VirtualEUICC.Identity(pki: Self.pki).eid)
        let name = { (member: RSPTestPKI.Member) in directory.appendingPathComponent(member.certificateName(curve: .p256) + ".pem") }
        let identity = try VirtualEUICC.Identity(
            certificateFile: name(.euicc), privateKeyFile: directory.appendingPathComponent(RSPTestPKI.Member.euicc.keyName(curve: .p256)),
            eumCertificateFile: name(.eum), ciCertificateFiles: [name(.ci)]
        )
        XCTAssertEqual(identity.eid, Self.pki.euicc?.certificate.subject.value(for: .serialNumber))
        // A key that is not the certificate's is refused.
        XCTAssertThrowsError(try VirtualEUICC.Identity(
            euiccCertificate: identity.euiccCertificate, privateKey: Self.pki.dpAuth.privateKey,
            eumCertificate: identity.eumCertificate, ciCertificates: identity.ciCertificates
        ))
    }
}
