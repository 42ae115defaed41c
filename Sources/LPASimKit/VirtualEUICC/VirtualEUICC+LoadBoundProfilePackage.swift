import LPACrypto
import RSP

extension VirtualEUICC {
    /// The SIMalliance `EUICCResponse` of a successful installation: one PEStatus with status `ok`.
    static let installedEUICCResponse: [UInt8] = [0x30, 0x07, 0xA0, 0x05, 0x30, 0x03, 0x80, 0x01, 0x00]

    /// ES10b.LoadBoundProfilePackage (§5.7.6), one command of §2.5.5 at a time. Intermediate commands answer
    /// `9000` without data; the last `86` answers a signed `BF37` success, and any failure answers a signed
    /// `BF37` errorResult at once and ends the session.
    func loadBoundProfilePackage(_ command: [UInt8], header: PartialTLVHeader) -> Answer {
        if header.tag == RSPTag.boundProfilePackage {
            return initialiseSecureChannel(command, header: header)
        }
        guard var current = loader, current.stage != .finished else { return .status(0x6985) }
        let step = current.process(command, header: header)
        loader = current
        switch step {
        case .accepted:
            return .ok([])
        case .failed(let commandId, let reason):
            return finishDownload(.error(bppCommandId: commandId.rawValue, errorReason: reason.rawValue), iccid: current.metadata?.iccid)
        case .complete(let metadata, _):
            let aid = allocateISDP()
            let profile = InstalledProfile(
                info: ProfileInfo(
                    iccid: metadata.iccid, isdpAid: aid, enabled: false, serviceProviderName: metadata.serviceProviderName,
                    profileName: metadata.profileName, profileClass: metadata.profileClass
                ),
                notificationTargets: metadata.notificationConfiguration.map { .init(event: $0.event, address: $0.address) }
            )
            update { $0.profiles.append(profile) }
            return finishDownload(.success(aid: aid, simaResponse: Self.installedEUICCResponse), iccid: metadata.iccid)
        }
    }

    /// The first command: `BF36` tag and length followed by the whole `BF23` InitialiseSecureChannelRequest.
    private func initialiseSecureChannel(_ command: [UInt8], header: PartialTLVHeader) -> Answer {
        guard let current = session, let oneTimeKey = current.oneTimeKey, let dpPbKey = current.dpPbKey else {
            return .status(0x6985)
        }
        func refuse(_ reason: InstallationErrorReason) -> Answer {
            finishDownload(.error(bppCommandId: BppCommandId.initialiseSecureChannel.rawValue, errorReason: reason.rawValue), iccid: nil)
        }
        let rest = Array(command[header.headerLength...])
        guard let tlv = try? TLV(der: rest, object: "BF23"),
              let request = try? InitialiseSecureChannelRequest(tlv: tlv)
        else { return refuse(.scp03tStructureError) }
        guard request.remoteOpId == 1 else { return refuse(.unsupportedRemoteOperationType) }
        guard request.transactionId == current.transactionId else { return refuse(.invalidTransactionId) }
        guard request.keyType == 0x88, request.keyLength == 0x10 else { return refuse(.unsupportedCrtValues) }
        guard let euiccOtpk = try? oneTimeKey.publicKey.uncompressedPoint else { return .status(0x6F00) }
        let signedData = InitialiseSecureChannelRequest.signedData(signedPart: request.signedPart, euiccOtpk: euiccOtpk)
        guard Self.verify(request.smdpSign, over: signedData, by: dpPbKey) else { return refuse(.invalidSignature) }
        guard let smdpOtpk = try? PublicKey(uncompressedPoint: request.smdpOtpk, curve: oneTimeKey.curve),
              let secret = try? oneTimeKey.sharedSecret(with: smdpOtpk),
              let bsp = try? BSPSession(
                  sharedSecret: secret, keyType: request.keyType, keyLength: request.keyLength,
                  hostId: request.hostId, eid: BCD.packed(eid) ?? []
              )
        else { return refuse(.scp03tStructureError) }
        // The one-time key has served its purpose (§3.1.3.3).
        session?.oneTimeKey = nil
        loader = BoundProfilePackageLoader(
            bsp: bsp, packageRemaining: header.length - rest.count,
            installedICCIDs: Set(snapshot.profiles.map(\.iccid))
        )
        guard header.length >= rest.count else { return refuse(.scp03tStructureError) }
        return .ok([])
    }

    /// Signs the ProfileInstallationResult, queues it as a notification, ends the session and answers it.
    private func finishDownload(_ result: ProfileInstallationResultData.FinalResult, iccid: String?) -> Answer {
        let transactionId = session?.transactionId ?? []
        let address = session?.serverAddress ?? ""
        session = nil
        loader = nil
        let data = ProfileInstallationResultData(
            transactionId: transactionId,
            notificationMetadata: NotificationMetadata(
                seqNumber: nextSequenceNumber(), event: .install, notificationAddress: address, iccid: iccid
            ),
            smdpOid: configuration.smdpOid, finalResult: result
        )
        guard let signature = sign(data.encoded) else { return .status(0x6F00) }
        let result = ProfileInstallationResult(data: data, signature: signature)
        queueNotification(result.encoded)
        return .ok(result.encoded)
    }

    /// The next ISD-P AID: `A0000005591010FFFFFFFF89` then `0000 nn00` with `nn` counting from `10`.
    private func allocateISDP() -> [UInt8] {
        let number = snapshot.nextISDPNumber
        update { $0.nextISDPNumber += 1 }
        return Array(ISDR.aid.prefix(12)) + [0x00, UInt8(truncatingIfNeeded: number >> 8), UInt8(truncatingIfNeeded: number), 0x00]
    }
}
