import Foundation
import LPACrypto
import RSP

extension VirtualEUICC {
    /// What the eUICC remembers between AuthenticateServer and the end of a download (SGP.22 §3.1.3).
    struct DownloadSession {
        var transactionId: [UInt8]
        var serverAddress: String
        /// The encoded `5F37` euiccSignature1 object, which smdpSignature2 covers.
        var euiccSignature1Object: [UInt8]
        /// The CI the SM-DP+ chose (`euiccCiPKIdToBeUsed`).
        var ci: Certificate
        /// The organisation (O) of the DPauth certificate's subject; DPpb must name the same SM-DP+.
        var smdpOrganization: String?
        /// Set by PrepareDownload: the DPpb public key and the one-time key pair.
        var dpPbKey: PublicKey?
        var oneTimeKey: PrivateKey?
    }

    // MARK: GetEuiccChallenge, GetEuiccInfo1/2

    func getEuiccChallenge() -> Answer {
        guard let fresh = try? SecureRandom.bytes(count: 16) else { return .status(0x6F00) }
        challenge = fresh
        return .ok(EUICCChallenge(challenge: fresh).der)
    }

    var euiccInfo1: EUICCInfo1 {
        EUICCInfo1(
            svn: configuration.svn, ciPKIdsForVerification: identity.ciKeyIdentifiers,
            ciPKIdsForSigning: identity.ciKeyIdentifiers
        )
    }

    var euiccInfo2: EUICCInfo2 {
        EUICCInfo2(
            profileVersion: [0x02, 0x03, 0x01], svn: configuration.svn, firmwareVersion: [0x01, 0x00, 0x00],
            // installedApplication, freeNonVolatileMemory (1 MiB), freeVolatileMemory (16 KiB)
            extCardResource: TLV.integer(0x81, snapshot.profiles.count) + TLV.encode(0x82, [0x10, 0x00, 0x00])
                + TLV.encode(0x83, [0x40, 0x00]),
            // uiccCapability: contactlessSupport … javacard, gba, cdma: a common consumer-eUICC set.
            uiccCapability: [0x06, 0x7F, 0xFE, 0xC0],
            // rspCapability: additionalProfile (0) and testProfileSupport (3).
            rspCapability: [0x04, 0x90],
            ciPKIdsForVerification: identity.ciKeyIdentifiers, ciPKIdsForSigning: identity.ciKeyIdentifiers,
            ppVersion: [0x02, 0x03, 0x01], sasAccreditationNumber: "SERVERLPA-VIRTUAL-EUICC"
        )
    }

    // MARK: AuthenticateServer (§5.7.13)

    func authenticateServer(_ command: [UInt8]) -> Answer {
        // The challenge serves one AuthenticateServer, whatever its outcome.
        let expectedChallenge = challenge
        challenge = nil
        session = nil
        loader = nil
        let request: AuthenticateServerRequest
        do {
            request = try AuthenticateServerRequest(der: command)
        } catch {
            return .status(0x6A80)
        }
        let transactionId = request.serverSigned1.transactionId
        func refuse(_ code: AuthenticateErrorCode) -> Answer {
            .ok(AuthenticateServerResponse.error(transactionId: transactionId, code: code.rawValue).der)
        }
        guard let ci = identity.ciCertificates.first(where: { $0.subjectKeyIdentifier == request.euiccCiPKIdToBeUsed }) else {
            return refuse(.ciPKUnknown)
        }
        guard let certificate = try? Certificate(der: request.serverCertificate) else { return refuse(.invalidCertificate) }
        guard certificate.publicKey.curve != nil else { return refuse(.unsupportedCurve) }
        guard Self.chains(certificate, to: ci, role: .dpAuth) else { return refuse(.invalidCertificate) }
        let signed = request.serverSigned1
        guard Self.verify(request.serverSignature1, over: signed.encoded, by: certificate.publicKey) else {
            return refuse(.invalidSignature)
        }
        guard let expectedChallenge, signed.euiccChallenge == expectedChallenge else {
            return refuse(.euiccChallengeMismatch)
        }

        let euiccSigned1 = EuiccSigned1(
            transactionId: transactionId, serverAddress: signed.serverAddress, serverChallenge: signed.serverChallenge,
            euiccInfo2: euiccInfo2, ctxParams1: request.ctxParams1
        )
        guard let signature = sign(euiccSigned1.encoded) else { return .status(0x6F00) }
        let ok = AuthenticateServerResponse.Ok(
            euiccSigned1: euiccSigned1, euiccSignature1: signature,
            euiccCertificate: identity.euiccCertificate.der, eumCertificate: identity.eumCertificate.der
        )
        session = DownloadSession(
            transactionId: transactionId, serverAddress: signed.serverAddress,
            euiccSignature1Object: ok.euiccSignature1Object, ci: ci,
            smdpOrganization: certificate.subject.value(for: .organizationName)
        )
        return .ok(AuthenticateServerResponse.ok(ok).der)
    }

    /// Whether `certificate` is issued by `ci`, valid now and carries the policy of `role`.
    static func chains(_ certificate: Certificate, to ci: Certificate, role: RSPCertificateRole) -> Bool {
        guard certificate.rspRoles.contains(role),
              let verifier = try? CertificateVerifier(trustRoots: [ci], directoryNameMatching: .sgp22)
        else { return false }
        return (try? verifier.verify(certificate)) != nil
    }

    static func verify(_ signature: [UInt8], over data: [UInt8], by key: PublicKey) -> Bool {
        (try? ECDSA.verify(signature, format: .raw, for: data, with: key)) == true
    }

    // MARK: PrepareDownload (§5.7.5)

    func prepareDownload(_ command: [UInt8]) -> Answer {
        let request: PrepareDownloadRequest
        do {
            request = try PrepareDownloadRequest(der: command)
        } catch {
            return .status(0x6A80)
        }
        let transactionId = request.smdpSigned2.transactionId
        func refuse(_ code: DownloadErrorCode) -> Answer {
            session = nil
            loader = nil
            return .ok(PrepareDownloadResponse.error(transactionId: transactionId, code: code.rawValue).der)
        }
        // One PrepareDownload per authenticated session.
        guard var current = session, current.dpPbKey == nil else { return refuse(.noSessionContext) }
        guard let certificate = try? Certificate(der: request.smdpCertificate) else { return refuse(.invalidCertificate) }
        guard certificate.publicKey.curve != nil else { return refuse(.unsupportedCurve) }
        guard Self.chains(certificate, to: current.ci, role: .dpPb),
              certificate.subject.value(for: .organizationName) == current.smdpOrganization
        else { return refuse(.invalidCertificate) }
        guard Self.verify(
            request.smdpSignature2, over: request.smdpSigned2.encoded + current.euiccSignature1Object, by: certificate.publicKey
        ) else { return refuse(.invalidSignature) }
        guard transactionId == current.transactionId else { return refuse(.invalidTransactionId) }
        // A confirmation code the SM-DP+ requires must have been given by the LPA (the SM-DP+ checks its value).
        if request.smdpSigned2.ccRequired, request.hashCc == nil { return refuse(.undefinedError) }

        guard let curve = current.ci.publicKey.curve,
              let oneTimeKey = try? PrivateKey.generate(curve: curve),
              let point = try? oneTimeKey.publicKey.uncompressedPoint
        else { return .status(0x6F00) }
        let signed = EUICCSigned2(transactionId: transactionId, euiccOtpk: point, hashCc: request.hashCc)
        guard let signature = sign(signed.encoded + request.smdpSignature2Object) else { return .status(0x6F00) }
        current.dpPbKey = certificate.publicKey
        current.oneTimeKey = oneTimeKey
        session = current
        return .ok(PrepareDownloadResponse.ok(euiccSigned2: signed, euiccSignature2: signature).der)
    }

    // MARK: CancelSession (§5.7.14)

    func cancelSession(_ tlv: TLV) -> Answer {
        guard let request = try? CancelSession.parseRequest(tlv) else { return .status(0x6A80) }
        guard let current = session, current.transactionId == request.transactionId else {
            return .ok(CancelSession.errorResponse(code: DownloadErrorCode.invalidTransactionId.rawValue))
        }
        let signed = EuiccCancelSessionSigned(
            transactionId: request.transactionId, smdpOid: configuration.smdpOid, reason: request.reason
        )
        guard let signature = sign(signed.encoded) else { return .status(0x6F00) }
        session = nil
        loader = nil
        return .ok(CancelSession.response(signed: signed, signature: signature))
    }

    // MARK: Notifications (§5.7.9, §5.7.10, §5.7.11)

    /// Appends a signed notification to the persistent list.
    func queueNotification(_ encoded: [UInt8]) {
        update { $0.notifications.append(encoded) }
    }

    /// Takes the next sequence number.
    func nextSequenceNumber() -> Int {
        let number = snapshot.nextSequenceNumber
        update { $0.nextSequenceNumber += 1 }
        return number
    }

    var pendingNotifications: [PendingNotification] {
        snapshot.notifications.compactMap { try? PendingNotification(der: $0) }
    }

    func listNotification(_ tlv: TLV) -> Answer {
        var filter: NotificationEvent?
        if let value = tlv.child(0x81) {
            guard let event = NotificationEvent(bitStringValue: value.value) else { return .status(0x6A80) }
            filter = event
        }
        let items = pendingNotifications.map(\.metadata).filter { filter == nil || $0.event == filter }
        return .ok(NotificationCommands.listResponse(items))
    }

    func retrieveNotificationsList(_ tlv: TLV) -> Answer {
        let seqNumber: Int?
        do {
            seqNumber = try NotificationCommands.parseRetrieveRequest(tlv)
        } catch {
            return .status(0x6A80)
        }
        // searchCriteria may name an event (`[1]`) instead of a sequence number.
        let eventValue = tlv.child(0xA0)?.child(0x81)
        let event = eventValue.flatMap { NotificationEvent(bitStringValue: $0.value) }
        guard eventValue == nil || event != nil else { return .status(0x6A80) }
        let items = pendingNotifications.filter {
            (seqNumber == nil || $0.metadata.seqNumber == seqNumber) && (event == nil || $0.metadata.event == event)
        }
        return .ok(NotificationCommands.retrieveResponse(items))
    }

    func removeNotification(_ tlv: TLV) -> Answer {
        guard let seqNumber = try? tlv.requiredChild(0x80, in: "BF30 NotificationSentRequest")
            .integer(field: "seqNumber", in: "BF30 NotificationSentRequest")
        else { return .status(0x6A80) }
        guard let index = pendingNotifications.firstIndex(where: { $0.metadata.seqNumber == seqNumber }) else {
            return .ok(NotificationCommands.removeResponse(status: 1))
        }
        let encoded = pendingNotifications[index].encoded
        update { $0.notifications.removeAll { $0 == encoded } }
        return .ok(NotificationCommands.removeResponse(status: 0))
    }
}
