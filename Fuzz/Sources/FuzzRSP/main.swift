// Feeds bytes into every RSP/ES10 parser and the Bound Profile Package unpacker (S130).
//
// The first byte selects the parser; the rest is the object. Every parser must either return a value or throw an
// `RSPError`; anything else (a trap, an ASan report) is a finding.
import FuzzSupport
import RSP

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRSP(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let bytes = UnsafeRawBufferPointer(start: start, count: count)
    let selector = bytes[0]
    let der = Array(bytes[1...])
    switch selector % 24 {
    case 0:
        if let package = try? BoundProfilePackage(der: der) {
            // The unpacked commands must cover the package exactly once and be sendable as STORE DATA.
            var batch = ES10Batch(channel: 1)
            for command in package.loadCommands {
                _ = try? batch.append(command.bytes, name: command.kind.rawValue)
            }
            _ = batch.outcomes(batch.apdus.map { _ in [0x90, 0x00] })
        }
    case 1: _ = try? AuthenticateServerRequest(der: der)
    case 2: _ = try? AuthenticateServerResponse(der: der)
    case 3: _ = try? EUICCInfo1(der: der)
    case 4: _ = try? EUICCInfo2(der: der)
    case 5: _ = try? PendingNotification(der: der)
    case 6: _ = try? NotificationCommands.parseList(der)
    case 7: _ = try? NotificationCommands.parseRetrieve(der)
    case 8: _ = try? NotificationCommands.parseRemove(der)
    case 9: _ = try? PrepareDownloadRequest(der: der)
    case 10: _ = try? PrepareDownloadResponse(der: der)
    case 11: _ = try? EUICCChallenge(der: der)
    case 12: _ = try? ProfileInstallationResult(der: der)
    case 13: _ = try? CancelSession.parseResponse(der)
    case 14: _ = try? StoreMetadataRequest(der: der)
    case 15: _ = try? PackageCommands.parseReplaceSessionKeys(der)
    case 16: _ = try? ES10c.parseResult(der, tag: 0xBF31)
    case 17: _ = try? ES10c.parseEID(der)
    case 18: _ = try? ProfileInfo.parseList(der)
    case 19:
        if let tlv = try? TLV(der: der, object: "fuzz") {
            _ = try? ES10c.parseSwitchRequest(tlv)
            _ = try? ES10c.parseDeleteRequest(tlv)
            _ = try? CancelSession.parseRequest(tlv)
            _ = try? NotificationCommands.parseRetrieveRequest(tlv)
            _ = try? InitialiseSecureChannelRequest(tlv: tlv)
            _ = try? ServerSigned1(tlv: tlv)
            _ = try? CtxParams1(tlv: tlv)
            _ = try? EuiccSigned1(tlv: tlv)
            _ = try? SmdpSigned2(tlv: tlv)
            _ = try? EUICCSigned2(tlv: tlv)
            _ = try? NotificationMetadata(tlv: tlv)
            _ = try? OtherSignedNotification(tlv: tlv)
        }
    case 20:
        _ = try? ProfilePackage(headerOf: der)
        _ = try? ProfilePackage.elements(of: der)
    case 21:
        // The ES10 response path: a batch run's responses mapped back to commands.
        var batch = ES10Batch(channel: 1, blockSize: 120)
        _ = try? batch.append(der, name: "fuzz")
        var responses: [[UInt8]] = []
        var rest = der[...]
        while let length = rest.popFirst() {
            responses.append(Array(rest.prefix(Int(length))))
            rest = rest.dropFirst(Int(length))
        }
        _ = batch.outcomes(responses)
        _ = StatusWord.split(der)
    case 22:
        _ = BCD.swappedDigits(der)
        _ = BCD.packedDigits(der)
        _ = Hex.bytes(String(decoding: der, as: UTF8.self))
    default:
        _ = try? TLV(der: der, object: "fuzz")
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// One valid encoding per parser, made by RSP's encoders (the objects the ES10 round-trip tests use).
private func seeds() throws -> [[UInt8]] {
    let transactionId: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4, 0x01, 0x02, 0x03, 0x04]
    let challenge = [UInt8](repeating: 0x5C, count: 16)
    let certificate = TLV.encode(0x30, TLV.encode(0x04, [UInt8](repeating: 0x01, count: 40)))
    let info2 = EUICCInfo2(
        profileVersion: [2, 3, 1], svn: [2, 2, 2], firmwareVersion: [1, 0, 0], extCardResource: [0x81, 0x01, 0x00],
        uiccCapability: [0x06, 0x7F, 0xC0], rspCapability: [0x05, 0x60], ciPKIdsForVerification: [[1, 2, 3]],
        ciPKIdsForSigning: [[1, 2, 3]], ppVersion: [2, 3, 0], sasAccreditationNumber: "SIM-SAS-01")
    let ctx = CtxParams1(matchingId: "MATCH-1", deviceInfo: DeviceInfo(imei: "356938035643809")!)
    let signed1 = EuiccSigned1(
        transactionId: transactionId, serverAddress: "smdp.test", serverChallenge: challenge, euiccInfo2: info2, ctxParams1: ctx)
    let metadata = NotificationMetadata(seqNumber: 7, event: .install, notificationAddress: "smdp.test", iccid: "8949000000000000012")
    let pir = ProfileInstallationResult(
        data: ProfileInstallationResultData(
            transactionId: transactionId, notificationMetadata: metadata, smdpOid: [0x2B, 0x06, 0x01],
            finalResult: .success(aid: [0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 1], simaResponse: [0x30, 0x03, 0x80, 0x01, 0x00])),
        signature: [UInt8](repeating: 9, count: 64))
    let other = OtherSignedNotification(
        metadata: NotificationMetadata(seqNumber: 8, event: .enable, notificationAddress: "smdp.test", iccid: "8949000000000000012"),
        signature: [UInt8](repeating: 3, count: 64), euiccCertificate: certificate, eumCertificate: certificate)
    let isc = InitialiseSecureChannelRequest(
        transactionId: transactionId, hostId: [1, 2], smdpOtpk: [4] + [UInt8](repeating: 1, count: 64),
        smdpSign: [UInt8](repeating: 2, count: 64))
    func segment(_ tag: UInt32, _ fill: UInt8, _ count: Int) -> [UInt8] { TLV.encode(tag, [UInt8](repeating: fill, count: count)) }
    let bpp = BoundProfilePackage.encode(
        initialiseSecureChannel: isc, firstSequenceOf87: [segment(0x87, 0x87, 24)],
        sequenceOf88: [segment(0x88, 0x01, 200), segment(0x88, 0x02, 16)], secondSequenceOf87: [segment(0x87, 0x33, 40)],
        sequenceOf86: [segment(0x86, 0xA1, 1000), segment(0x86, 0xA2, 300), segment(0x86, 0xA3, 9)])
    let profile = ProfilePackage(iccid: "8949000000000000012", profileType: "IoT-LTE-M")
        .encoded(fillerElements: 2, fillerSize: 64) { [UInt8](repeating: UInt8($0), count: 64) }
    let bySelector: [(UInt8, [UInt8])] = [
        (0, bpp),
        (1, AuthenticateServerRequest(
            serverSigned1: ServerSigned1(transactionId: transactionId, euiccChallenge: challenge, serverAddress: "smdp.test", serverChallenge: challenge),
            serverSignature1: [UInt8](repeating: 7, count: 64), euiccCiPKIdToBeUsed: [1, 2, 3], serverCertificate: certificate,
            ctxParams1: ctx).der),
        (2, AuthenticateServerResponse.ok(.init(
            euiccSigned1: signed1, euiccSignature1: [UInt8](repeating: 1, count: 64), euiccCertificate: certificate,
            eumCertificate: certificate)).der),
        (2, AuthenticateServerResponse.error(transactionId: transactionId, code: 6).der),
        (3, EUICCInfo1(svn: [2, 2, 2], ciPKIdsForVerification: [[1, 2, 3]], ciPKIdsForSigning: [[1, 2, 3], [4, 5]]).der),
        (4, info2.der),
        (5, pir.encoded),
        (5, other.encoded),
        (6, NotificationCommands.listResponse([metadata, other.metadata])),
        (7, NotificationCommands.retrieveResponse([.profileInstallationResult(pir), .other(other)])),
        (8, NotificationCommands.removeResponse(status: 0)),
        (9, PrepareDownloadRequest(
            smdpSigned2: SmdpSigned2(transactionId: transactionId, ccRequired: true), smdpSignature2: [UInt8](repeating: 4, count: 64),
            hashCc: [UInt8](repeating: 5, count: 32), smdpCertificate: certificate).der),
        (10, PrepareDownloadResponse.ok(
            euiccSigned2: EUICCSigned2(transactionId: transactionId, euiccOtpk: [4] + [UInt8](repeating: 6, count: 64)),
            euiccSignature2: [UInt8](repeating: 6, count: 64)).der),
        (11, EUICCChallenge(challenge: challenge).der),
        (12, pir.encoded),
        (13, CancelSession.response(
            signed: EuiccCancelSessionSigned(transactionId: transactionId, smdpOid: [0x2B, 0x06, 0x01], reason: 5),
            signature: [UInt8](repeating: 1, count: 64))),
        (14, StoreMetadataRequest(
            iccid: "8949000000000000012", serviceProviderName: "Op", profileName: "IoT",
            notificationConfiguration: [(.install, "smdp.test")]).der),
        (15, PackageCommands.replaceSessionKeys(
            initialMCV: [UInt8](repeating: 1, count: 16), ppkEnc: [UInt8](repeating: 2, count: 16), ppkCmac: [UInt8](repeating: 3, count: 16))),
        (16, ES10c.resultResponse(tag: RSPTag.enableProfile, code: 0)),
        (17, ES10c.eidResponse("89049032123451234512345678901235")),
        (18, ProfileInfo.listResponse([ProfileInfo(
            iccid: "8949000000000000012", isdpAid: [0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 1], enabled: true,
            serviceProviderName: "Op", profileName: "IoT")])),
        (19, isc.der),
        (19, ES10c.enableRequest(.iccid("8949000000000000012"))),
        (19, CancelSession.request(transactionId: transactionId, reason: .endUserRejection)),
        (19, NotificationCommands.retrieveRequest(seqNumber: 3)),
        (20, profile),
        (21, [4, 0x61, 0x10, 0x90, 0x00] + ES10c.getEIDRequest),
        (23, ctx.der),
    ]
    return bySelector.map { [$0.0] + $0.1 }
}
