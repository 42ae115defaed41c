import Foundation
import LPACrypto
import LPAIdentity
import LPAOperator
import LPASimKit
import RSP
import XCTest

/// A compact eUICC for SM-DP+ tests: does what an eUICC does for one RSP session (ES10b AuthenticateServer,
/// PrepareDownload, loading the Bound Profile Package, the signed installation result and notifications),
/// with keys from `RSPTestPKI`.
final class SMDPTestEUICC {
    struct Installed {
        var iccid: String
        var profileType: String
        var metadata: StoreMetadataRequest
        var packageBytes: Int
    }

    enum LoadError: Error { case smdpSignature, mac(BSPSession.Failure), structure(String) }

    let pki: RSPTestPKI
    let eid: String
    let credential: RSPTestPKI.Credential
    var eumCertificate: [UInt8]
    var ciPKIds: [[UInt8]]
    var svn: [UInt8] = [2, 2, 0]
    /// The PKI whose CI anchors the SM-DP+'s certificates (the eUICC's own by default).
    var serverPKI: RSPTestPKI
    private(set) var challenge: [UInt8] = []
    private var transactionId: [UInt8] = []
    private var serverAddress = ""
    private var euiccSignature1Object: [UInt8] = []
    private var oneTimeKey: PrivateKey?
    private var nextSeqNumber = 1

    static let smdpOid: [UInt8] = [0x88, 0x37, 0x0A]  // 2.999.10

    init(pki: RSPTestPKI, eid: String? = nil, credential: RSPTestPKI.Credential? = nil) throws {
        self.pki = pki
        if let credential {
            self.credential = credential
            self.eid = credential.certificate.subject.value(for: .serialNumber) ?? ""
        } else {
            let chosen = try eid.map { try EID($0) } ?? EID.make(prefix: pki.eumIIN, index: UInt64.random(in: 1...999_999))
            self.eid = chosen.value
            self.credential = try pki.makeEUICC(eid: chosen)
        }
        eumCertificate = pki.eum.certificate.der
        serverPKI = pki
        ciPKIds = [pki.ciSubjectKeyIdentifier]
    }

    // MARK: ES10b

    func getChallenge() throws -> [UInt8] {
        challenge = try SecureRandom.bytes(count: 16)
        return challenge
    }

    var euiccInfo1: [UInt8] {
        EUICCInfo1(svn: svn, ciPKIdsForVerification: ciPKIds, ciPKIdsForSigning: ciPKIds).der
    }

    var euiccInfo2: EUICCInfo2 {
        EUICCInfo2(
            profileVersion: [2, 3, 0], svn: svn, firmwareVersion: [1, 0, 0], extCardResource: [0x81, 0x01, 0x00],
            uiccCapability: [0x00, 0x00], rspCapability: [0x00, 0x00], ciPKIdsForVerification: ciPKIds,
            ciPKIdsForSigning: ciPKIds, ppVersion: [2, 3, 0], sasAccreditationNumber: "TEST-SAS")
    }

    /// AuthenticateServer: checks the server's signature and challenge, signs euiccSigned1.
    func authenticateServer(_ response: InitiateAuthenticationResponse, matchingId: String?) throws -> [UInt8] {
        let request = try AuthenticateServerRequest(
            es9ServerSigned1: response.serverSigned1, es9ServerSignature1: response.serverSignature1,
            es9EuiccCiPKIdToBeUsed: response.euiccCiPKIdToBeUsed, es9ServerCertificate: response.serverCertificate,
            ctxParams1: CtxParams1(matchingId: matchingId, deviceInfo: DeviceInfo(imei: "356938035643809")!))
        let serverCertificate = try Certificate(der: request.serverCertificate)
        try serverPKI.makeVerifier().verify(serverCertificate)
        XCTAssertTrue(try ECDSA.verify(request.serverSignature1, for: request.serverSigned1.encoded, with: serverCertificate.publicKey))
        XCTAssertEqual(request.serverSigned1.euiccChallenge, challenge)
        transactionId = request.serverSigned1.transactionId
        serverAddress = request.serverSigned1.serverAddress
        let signed = EuiccSigned1(
            transactionId: transactionId, serverAddress: serverAddress,
            serverChallenge: request.serverSigned1.serverChallenge, euiccInfo2: euiccInfo2, ctxParams1: request.ctxParams1)
        let signature = try ECDSA.sign(signed.encoded, with: credential.privateKey)
        let ok = AuthenticateServerResponse.Ok(
            euiccSigned1: signed, euiccSignature1: signature, euiccCertificate: credential.certificate.der,
            eumCertificate: eumCertificate)
        euiccSignature1Object = ok.euiccSignature1Object
        return AuthenticateServerResponse.ok(ok).der
    }

    /// PrepareDownload: checks smdpSignature2, makes the one-time key, signs euiccSigned2.
    func prepareDownload(_ response: AuthenticateClientResponse) throws -> [UInt8] {
        let request = try PrepareDownloadRequest(
            es9SmdpSigned2: response.smdpSigned2, es9SmdpSignature2: response.smdpSignature2,
            es9SmdpCertificate: response.smdpCertificate)
        let dpPb = try Certificate(der: request.smdpCertificate)
        XCTAssertTrue(try ECDSA.verify(
            request.smdpSignature2, for: request.smdpSigned2.encoded + euiccSignature1Object, with: dpPb.publicKey))
        XCTAssertFalse(request.smdpSigned2.ccRequired)
        let key = try PrivateKey.generate(curve: pki.curve)
        oneTimeKey = key
        let signed = EUICCSigned2(transactionId: transactionId, euiccOtpk: try key.publicKey.uncompressedPoint)
        let signature = try ECDSA.sign(signed.encoded + request.smdpSignature2Object, with: credential.privateKey)
        return PrepareDownloadResponse.ok(euiccSigned2: signed, euiccSignature2: signature).der
    }

    /// Loads a Bound Profile Package: verifies smdpSign, derives the keys, verifies and decrypts every segment.
    func load(_ bpp: [UInt8]) throws -> Installed {
        let package = try BoundProfilePackage(der: bpp)
        guard let oneTimeKey else { throw LoadError.structure("no PrepareDownload") }
        let channel = package.initialiseSecureChannel
        let dpPb = serverPKI.dpPb.certificate.publicKey
        let signedData = InitialiseSecureChannelRequest.signedData(
            signedPart: channel.signedPart, euiccOtpk: try oneTimeKey.publicKey.uncompressedPoint)
        guard try ECDSA.verify(channel.smdpSign, for: signedData, with: dpPb) else { throw LoadError.smdpSignature }
        guard channel.transactionId == transactionId else { throw LoadError.structure("transactionId") }
        let secret = try oneTimeKey.sharedSecret(with: PublicKey(uncompressedPoint: channel.smdpOtpk, curve: pki.curve))
        var session = try BSPSession(
            sharedSecret: secret, keyType: channel.keyType, keyLength: channel.keyLength, hostId: channel.hostId,
            eid: BCD.packed(eid)!)
        do {
            var configure: [UInt8] = []
            for segment in package.firstSequenceOf87 { configure += try session.verifyAndDecrypt(segment) }
            guard configure.first == 0xBF, configure.dropFirst().first == 0x24 else { throw LoadError.structure("ConfigureISDP") }
            var metadataBytes: [UInt8] = []
            for segment in package.sequenceOf88 { metadataBytes += try session.verifyOnly(segment) }
            let metadata = try StoreMetadataRequest(der: metadataBytes)
            if let second = package.secondSequenceOf87 {
                var replace: [UInt8] = []
                for segment in second { replace += try session.verifyAndDecrypt(segment) }
                let keys = try PackageCommands.parseReplaceSessionKeys(replace)
                session = BSPSession(sEnc: keys.ppkEnc, sMac: keys.ppkCmac, initialMacChainingValue: keys.initialMCV)
            }
            var profile: [UInt8] = []
            for segment in package.sequenceOf86 { profile += try session.verifyAndDecrypt(segment) }
            let header = try ProfilePackage(headerOf: profile)
            _ = try ProfilePackage.elements(of: profile)
            return Installed(iccid: header.iccid, profileType: header.profileType, metadata: metadata, packageBytes: profile.count)
        } catch let failure as BSPSession.Failure {
            throw LoadError.mac(failure)
        }
    }

    /// The signed ProfileInstallationResult of the current session.
    func installationResult(iccid: String, success: Bool = true) throws -> [UInt8] {
        let metadata = NotificationMetadata(seqNumber: takeSeqNumber(), event: .install, notificationAddress: serverAddress, iccid: iccid)
        let result: ProfileInstallationResultData.FinalResult = success
            ? .success(aid: [0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0x01], simaResponse: [0x30, 0x03, 0x80, 0x01, 0x00])
            : .error(bppCommandId: BppCommandId.loadProfileElements.rawValue, errorReason: InstallationErrorReason.scp03tSecurityError.rawValue)
        let data = ProfileInstallationResultData(
            transactionId: transactionId, notificationMetadata: metadata, smdpOid: Self.smdpOid, finalResult: result)
        return ProfileInstallationResult(data: data, signature: try ECDSA.sign(data.encoded, with: credential.privateKey)).encoded
    }

    /// A signed enable/disable/delete notification.
    func otherNotification(_ event: NotificationEvent, iccid: String, address: String) throws -> [UInt8] {
        let metadata = NotificationMetadata(seqNumber: takeSeqNumber(), event: event, notificationAddress: address, iccid: iccid)
        return OtherSignedNotification(
            metadata: metadata, signature: try ECDSA.sign(metadata.der, with: credential.privateKey),
            euiccCertificate: credential.certificate.der, eumCertificate: eumCertificate).encoded
    }

    /// The signed CancelSessionResponse for the current session.
    func cancelSession(reason: CancelSessionReason) throws -> [UInt8] {
        let signed = EuiccCancelSessionSigned(transactionId: transactionId, smdpOid: Self.smdpOid, reason: reason.rawValue)
        return CancelSession.response(signed: signed, signature: try ECDSA.sign(signed.encoded, with: credential.privateKey))
    }

    private func takeSeqNumber() -> Int {
        defer { nextSeqNumber += 1 }
        return nextSeqNumber
    }
}

/// A clock tests move by hand.
final class SMDPTestClock: @unchecked Sendable {
    private let lock = NSLock()
    private var current = Date()

    var now: Date { lock.withLock { current } }

    func advance(by seconds: TimeInterval) {
        lock.withLock { current = current.addingTimeInterval(seconds) }
    }
}

enum SMDPTestFixture {
    /// One PKI for the whole test process (key generation is the slow part).
    static let pki: RSPTestPKI = try! RSPTestPKI.create()

    static let profileType = ProfileType(
        name: "iot-data", serviceProviderName: "Test Operator", profileName: "IoT Data", iccidPrefix: "8988200",
        packageSize: 3000)

    static func configuration(autoOrder: Bool = false) -> SMDPConfiguration {
        var configuration = SMDPConfiguration(address: "smdp.test", profileTypes: [profileType])
        configuration.autoOrderProfileType = autoOrder ? profileType.name : nil
        return configuration
    }
}

/// Asserts that `body` throws an `SMDPError` with `subjectCode` and `reasonCode`.
func assertSMDPError<T>(
    _ subjectCode: String, _ reasonCode: String, file: StaticString = #filePath, line: UInt = #line,
    _ body: () async throws -> T
) async {
    do {
        _ = try await body()
        XCTFail("expected SM-DP+ error \(subjectCode)/\(reasonCode)", file: file, line: line)
    } catch let error as SMDPError {
        XCTAssertEqual(error.code, "\(subjectCode)/\(reasonCode)", "\(error)", file: file, line: line)
    } catch let error as ES9PlusError {
        guard case .failed(let data) = error else {
            return XCTFail("expected Failed \(subjectCode)/\(reasonCode), got \(error)", file: file, line: line)
        }
        XCTAssertEqual("\(data.subjectCode)/\(data.reasonCode)", "\(subjectCode)/\(reasonCode)", "\(data)", file: file, line: line)
    } catch {
        XCTFail("unexpected error \(error)", file: file, line: line)
    }
}
