import Foundation
import LPACrypto
import LPAIdentity
import LPASimKit
import RSP
import XCTest

/// Test double: plays the SM-DP+ side of one download session against a virtual eUICC, from the test PKI's
/// DPauth/DPpb keys, the RSP types and `BSPSession`. Each property can be bent to make one step wrong.
struct TestSMDP {
    let pki: RSPTestPKI
    var address = "smdp.test"
    var transactionId: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }
    var serverChallenge: [UInt8] = (0..<16).map { _ in UInt8.random(in: 0...255) }
    var dpAuth: RSPTestPKI.Credential
    var dpPb: RSPTestPKI.Credential
    var ciPKId: [UInt8]
    /// Set from the eUICC's AuthenticateServer answer.
    var euiccSignature1Object: [UInt8] = []
    var euiccCertificate: Certificate?
    /// The `5F37` object of smdpSignature2, which euiccSignature2 covers.
    var smdpSignature2: [UInt8] = []

    init(pki: RSPTestPKI) {
        self.pki = pki
        dpAuth = pki.dpAuth
        dpPb = pki.dpPb
        ciPKId = pki.ciSubjectKeyIdentifier
    }

    /// ES10b.AuthenticateServer as an LPA builds it from initiateAuthentication.
    mutating func authenticateServer(euiccChallenge: [UInt8], transactionId overrideTid: [UInt8]? = nil) throws -> [UInt8] {
        let signed = ServerSigned1(
            transactionId: overrideTid ?? transactionId, euiccChallenge: euiccChallenge, serverAddress: address,
            serverChallenge: serverChallenge
        )
        let signature = try ECDSA.sign(signed.encoded, with: dpAuth.privateKey, format: .raw)
        return AuthenticateServerRequest(
            serverSigned1: signed, serverSignature1: signature, euiccCiPKIdToBeUsed: ciPKId,
            serverCertificate: dpAuth.certificate.der,
            ctxParams1: CtxParams1(matchingId: "MATCHING-1", deviceInfo: DeviceInfo(imei: "356938035643809")!)
        ).der
    }

    /// authenticateClient: checks the eUICC's answer (chain and euiccSignature1) and builds PrepareDownload.
    mutating func prepareDownload(
        authenticateServerResponse: [UInt8], signedTransactionId: [UInt8]? = nil, ccRequired: Bool = false
    ) throws -> [UInt8] {
        guard case .ok(let ok) = try AuthenticateServerResponse(der: authenticateServerResponse) else {
            throw RSPError.euiccError(command: "AuthenticateServer", code: -1)
        }
        let certificate = try Certificate(der: ok.euiccCertificate)
        try pki.makeVerifier().verify(certificate, intermediates: [try Certificate(der: ok.eumCertificate)])
        XCTAssertTrue(try ECDSA.verify(ok.euiccSignature1, for: ok.euiccSigned1.encoded, with: certificate.publicKey))
        XCTAssertEqual(ok.euiccSigned1.serverChallenge, serverChallenge)
        euiccCertificate = certificate
        euiccSignature1Object = ok.euiccSignature1Object
        let signed = SmdpSigned2(transactionId: signedTransactionId ?? transactionId, ccRequired: ccRequired)
        let signature = try ECDSA.sign(signed.encoded + euiccSignature1Object, with: dpPb.privateKey, format: .raw)
        smdpSignature2 = TLV.encode(RSPTag.signature, signature)
        return PrepareDownloadRequest(
            smdpSigned2: signed, smdpSignature2: signature, hashCc: nil, smdpCertificate: dpPb.certificate.der
        ).der
    }

    /// getBoundProfilePackage: binds `profile` (an Unprotected Profile Package) with `metadata` to the eUICC.
    mutating func boundProfilePackage(
        prepareDownloadResponse: [UInt8], eid: String, metadata: StoreMetadataRequest, profile: [UInt8],
        replaceSessionKeys: Bool = true, bf23TransactionId: [UInt8]? = nil
    ) throws -> BoundProfilePackage {
        guard case .ok(let signed2, let signature2) = try PrepareDownloadResponse(der: prepareDownloadResponse) else {
            throw RSPError.euiccError(command: "PrepareDownload", code: -1)
        }
        let euiccCertificate = try XCTUnwrap(euiccCertificate)
        XCTAssertTrue(try ECDSA.verify(signature2, for: signed2.encoded + smdpSignature2, with: euiccCertificate.publicKey))

        let oneTimeKey = try PrivateKey.generate(curve: pki.curve)
        let hostId = Array("SMDP-HOST".utf8)
        let unsigned = InitialiseSecureChannelRequest(
            transactionId: bf23TransactionId ?? transactionId, hostId: hostId,
            smdpOtpk: try oneTimeKey.publicKey.uncompressedPoint, smdpSign: []
        )
        let smdpSign = try ECDSA.sign(
            InitialiseSecureChannelRequest.signedData(signedPart: unsigned.signedPart, euiccOtpk: signed2.euiccOtpk),
            with: dpPb.privateKey, format: .raw
        )
        var channel = unsigned
        channel.smdpSign = smdpSign
        let secret = try oneTimeKey.sharedSecret(with: try PublicKey(uncompressedPoint: signed2.euiccOtpk, curve: pki.curve))
        var bsp = try BSPSession(sharedSecret: secret, keyType: 0x88, keyLength: 0x10, hostId: hostId, eid: BCD.packed(eid)!)
        let first87 = try bsp.encryptAndMAC(tag: 0x87, PackageCommands.configureISDP())
        let all88 = try bsp.macOnly(tag: 0x88, metadata.der)
        var second87: [[UInt8]]?
        if replaceSessionKeys {
            let ppkEnc = try SecureRandom.bytes(count: 16), ppkCmac = try SecureRandom.bytes(count: 16)
            let mcv = try SecureRandom.bytes(count: 16)
            second87 = try bsp.encryptAndMAC(tag: 0x87, PackageCommands.replaceSessionKeys(initialMCV: mcv, ppkEnc: ppkEnc, ppkCmac: ppkCmac))
            bsp = BSPSession(sEnc: ppkEnc, sMac: ppkCmac, initialMacChainingValue: mcv)
        }
        let all86 = try bsp.encryptAndMAC(tag: 0x86, profile)
        return try BoundProfilePackage(der: BoundProfilePackage.encode(
            initialiseSecureChannel: channel, firstSequenceOf87: first87, sequenceOf88: all88,
            secondSequenceOf87: second87, sequenceOf86: all86
        ))
    }

}

/// Drives a card through APDUs on one logical channel, as a device agent does: STORE DATA blocks, then GET
/// RESPONSE while the card answers `61xx`.
final class CardDriver {
    let card: SimulatedCard
    let channel: UInt8
    /// Every APDU sent, for tests that look at the exchange.
    private(set) var sent: [[UInt8]] = []

    init(card: SimulatedCard) throws {
        self.card = card
        let opened = card.openLogicalChannel(aid: ISDR.aid)
        XCTAssertEqual(opened.sw, 0x9000)
        channel = opened.channel
    }

    func transmit(_ apdu: [UInt8]) -> (data: [UInt8], sw: UInt16) {
        sent.append(apdu)
        var response = card.transmit(apdu)
        var data: [UInt8] = []
        while response.count >= 2, response[response.count - 2] == 0x61 {
            data += response.dropLast(2)
            let get: [UInt8] = [apdu[0], 0xC0, 0x00, 0x00, response[response.count - 1]]
            sent.append(get)
            response = card.transmit(get)
        }
        guard let split = StatusWord.split(response) else { return (data, 0) }
        return (data + split.data, split.sw.value)
    }

    /// Sends one ES10 command; returns the last block's answer (or the first refused block's).
    func send(_ command: [UInt8], blockSize: Int = StoreData.defaultBlockSize) throws -> (data: [UInt8], sw: UInt16) {
        for apdu in try StoreData.apdus(for: command, channel: channel, blockSize: blockSize) {
            let answer = transmit(apdu)
            if answer.sw != 0x9000 || apdu[2] == 0x91 { return answer }
        }
        return ([], 0)
    }

    /// Sends one ES10 command that must succeed; returns its response data.
    func call(_ command: [UInt8], file: StaticString = #filePath, line: UInt = #line) throws -> [UInt8] {
        let answer = try send(command)
        XCTAssertEqual(answer.sw, 0x9000, "status word", file: file, line: line)
        return answer.data
    }
}

/// Test fixtures shared by the virtual eUICC tests.
enum VirtualEUICCFixtures {
    static func metadata(iccid: String, notifyAll address: String? = "smdp.test") -> StoreMetadataRequest {
        StoreMetadataRequest(
            iccid: iccid, serviceProviderName: "Test Operator", profileName: "Profile \(iccid.suffix(4))",
            notificationConfiguration: address.map { address in
                NotificationEvent.allCases.map { (event: $0, address: address) }
            } ?? []
        )
    }

    static func profile(iccid: String, elements: Int = 6) -> [UInt8] {
        ProfilePackage(iccid: iccid, profileType: "Test").encoded(fillerElements: elements, fillerSize: 700) { index in
            [UInt8](repeating: UInt8(truncatingIfNeeded: index), count: 700)
        }
    }
}
