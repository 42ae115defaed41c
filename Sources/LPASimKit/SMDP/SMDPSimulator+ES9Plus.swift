import Foundation
import LPACrypto
import LPAIdentity
import LPAOperator
import RSP

extension SMDPSimulator {
    // MARK: - ES9+.InitiateAuthentication (SGP.22 §5.6.1)

    /// Opens an RSP session: checks the address and the eUICC's CIs, and signs serverSigned1 with DPauth.
    public func initiateAuthentication(
        euiccChallenge: [UInt8], euiccInfo1: [UInt8], smdpAddress: String
    ) async throws(SMDPError) -> InitiateAuthenticationResponse {
        try await enter(.initiateAuthentication)
        guard smdpAddress.lowercased() == configuration.address.lowercased() else { throw .invalidSMDPAddress(smdpAddress) }
        guard euiccChallenge.count == 16 else {
            throw .invalidElement("euiccChallenge", "\(euiccChallenge.count) bytes, expected 16")
        }
        let info: EUICCInfo1
        do {
            info = try EUICCInfo1(der: euiccInfo1)
        } catch {
            throw .invalidElement("euiccInfo1", "\(error)")
        }
        guard info.svn.first == 2 else { throw .unsupportedSpecificationVersion }
        let ci = pki.ciSubjectKeyIdentifier
        guard info.ciPKIdsForSigning.contains(ci) else { throw .unsupportedCIForSigning }
        guard info.ciPKIdsForVerification.contains(ci) else { throw .unavailableServerCertificate }

        let transactionId = try randomBytes(16)
        let serverChallenge = try randomBytes(16)
        let signed = ServerSigned1(
            transactionId: transactionId, euiccChallenge: euiccChallenge,
            serverAddress: configuration.address, serverChallenge: serverChallenge)
        let signature = try sign(signed.encoded, with: pki.dpAuth.privateKey)
        let session = SMDPSession(
            transactionId: transactionId, transactionIdHex: Hex.string(transactionId),
            serverChallenge: serverChallenge, euiccChallenge: euiccChallenge, startedAt: clock())
        sessions[session.transactionIdHex] = session
        stats.sessionsStarted += 1
        logger.debug("RSP session started", metadata: ["transactionId": "\(session.transactionIdHex)"])
        return InitiateAuthenticationResponse(
            transactionId: session.transactionIdHex,
            serverSigned1: signed.encoded,
            serverSignature1: TLV.encode(RSPTag.signature, signature),
            euiccCiPKIdToBeUsed: TLV.encode(RSPTag.octetString, ci),
            serverCertificate: pki.dpAuth.certificate.der)
    }

    // MARK: - ES9+.AuthenticateClient (SGP.22 §5.6.3)

    /// Authenticates the eUICC and binds the session to a download order: verifies the certificate chain,
    /// euiccSignature1, the transaction and challenge, finds the order, and signs smdpSigned2 with DPpb.
    public func authenticateClient(
        transactionId: String, authenticateServerResponse: [UInt8]
    ) async throws(SMDPError) -> AuthenticateClientResponse {
        try await enter(.authenticateClient)
        var session = try takeSession(transactionId, in: .initiated)
        do {
            let response = try authenticate(&session, authenticateServerResponse)
            session.phase = .authenticated
            sessions[session.transactionIdHex] = session
            return response
        } catch {
            fail(session, error)
            throw error
        }
    }

    private func authenticate(_ session: inout SMDPSession, _ der: [UInt8]) throws(SMDPError) -> AuthenticateClientResponse {
        let parsed: AuthenticateServerResponse
        do {
            parsed = try AuthenticateServerResponse(der: der)
        } catch {
            throw .invalidElement("authenticateServerResponse", "\(error)")
        }
        guard case .ok(let ok) = parsed else {
            if case .error(_, let code) = parsed { throw .euiccVerificationFailed("the eUICC refused the server: authenticateErrorCode \(code)") }
            throw .euiccVerificationFailed("no authenticateResponseOk")
        }
        let euicc = try verifyEUICCChain(certificate: ok.euiccCertificate, eum: ok.eumCertificate)
        guard verify(ok.euiccSignature1, over: ok.euiccSigned1.encoded, by: euicc.certificate) else {
            throw .euiccVerificationFailed("euiccSignature1 does not verify")
        }
        let signed = ok.euiccSigned1
        guard signed.transactionId == session.transactionId else { throw .unknownTransaction("euiccSigned1 names another transaction") }
        guard signed.serverChallenge == session.serverChallenge else {
            throw .euiccVerificationFailed("serverChallenge does not match the session's")
        }
        guard signed.serverAddress.lowercased() == configuration.address.lowercased() else {
            throw .invalidSMDPAddress(signed.serverAddress)
        }

        var order = try findOrder(matchingId: signed.ctxParams1.matchingId ?? "", eid: euicc.eid)
        guard let type = configuration.profileTypes.first(where: { $0.name == order.profileType }) else {
            throw .profileTypeUnknown(order.profileType)
        }
        order.state = .downloading(transactionId: session.transactionIdHex)
        order.eid = euicc.eid
        order.downloadAttempts += 1
        orders[order.iccid] = order

        let metadata = StoreMetadataRequest(
            iccid: order.iccid, serviceProviderName: type.serviceProviderName,
            profileName: type.profileName ?? type.name,
            notificationConfiguration: type.notificationEvents.map { ($0, configuration.address) })
        let smdpSigned2 = SmdpSigned2(transactionId: session.transactionId, ccRequired: false)
        let smdpSignature2 = try sign(smdpSigned2.encoded + ok.euiccSignature1Object, with: pki.dpPb.privateKey)
        session.euiccCertificate = euicc.certificate
        session.eid = euicc.eid
        session.iccid = order.iccid
        session.metadata = metadata
        session.smdpSignature2Object = TLV.encode(RSPTag.signature, smdpSignature2)
        return AuthenticateClientResponse(
            transactionId: session.transactionIdHex, profileMetadata: metadata.der, smdpSigned2: smdpSigned2.encoded,
            smdpSignature2: session.smdpSignature2Object, smdpCertificate: pki.dpPb.certificate.der)
    }

    /// The order the eUICC `eid` downloads with `matchingId` (empty: the order waiting for this EID), created
    /// on the fly in auto-order mode.
    private func findOrder(matchingId: String, eid: String) throws(SMDPError) -> SMDPOrder {
        let found: SMDPOrder?
        if matchingId.isEmpty {
            found = orders.values.first { $0.eid == eid && $0.state == .released }
        } else {
            found = ordersByMatchingId[matchingId].flatMap { orders[$0] }
        }
        guard let order = found else {
            if let auto = configuration.autoOrderProfileType {
                return try createReleasedOrder(
                    profileType: auto, eid: eid, matchingId: matchingId.isEmpty ? nil : matchingId)
            }
            if matchingId.isEmpty { throw .eidRefused("no download order is pending for EID \(eid)") }
            throw .matchingIdRefused(matchingId)
        }
        if let bound = order.eid, bound != eid { throw .eidRefused("the order of \(order.iccid) is for another EID") }
        switch order.state {
        case .released: break
        case .confirmed, .allocated: throw .profileNotReleased(order.iccid)
        default: throw .matchingIdRefused(matchingId)
        }
        if let expiry = order.expiresAt, clock() > expiry { throw .downloadOrderExpired }
        guard order.downloadAttempts < configuration.maximumDownloadAttempts else { throw .maximumRetriesExceeded }
        return order
    }

    /// Verifies eUICC certificate → EUM → CI and returns the certificate and the EID in its subject.
    func verifyEUICCChain(certificate: [UInt8], eum: [UInt8]) throws(SMDPError) -> (certificate: Certificate, eid: String) {
        let eumCertificate: Certificate
        let euiccCertificate: Certificate
        do {
            eumCertificate = try Certificate(der: eum)
        } catch {
            throw .eumCertificateInvalid("not a certificate")
        }
        do {
            euiccCertificate = try Certificate(der: certificate)
        } catch {
            throw .euiccCertificateInvalid("not a certificate")
        }
        guard eumCertificate.authorityKeyIdentifier == pki.ciSubjectKeyIdentifier else { throw .unknownCIPublicKey }
        do {
            try verifier.verify(euiccCertificate, intermediates: [eumCertificate], at: clock())
        } catch {
            let isEUM = error.depth >= 1
            if error.reason == .expired {
                throw isEUM ? SMDPError.eumCertificateExpired() : SMDPError.euiccCertificateExpired()
            }
            throw isEUM && error.reason != .nameConstraintViolation
                ? SMDPError.eumCertificateInvalid(error.description) : SMDPError.euiccCertificateInvalid(error.description)
        }
        guard let eid = euiccCertificate.subject.value(for: .serialNumber), EID.validate(eid) == nil else {
            throw .euiccCertificateInvalid("the subject serialNumber is not an EID")
        }
        if let constraints = eumCertificate.nameConstraints, !constraints.permitsSGP22(euiccCertificate.subject) {
            throw .euiccCertificateInvalid("EID \(eid) is outside the EUM's permitted range")
        }
        return (euiccCertificate, eid)
    }

    // MARK: - ES9+.GetBoundProfilePackage (SGP.22 §5.6.2)

    /// Verifies the eUICC's PrepareDownload answer and returns the Bound Profile Package for the session's order.
    public func getBoundProfilePackage(
        transactionId: String, prepareDownloadResponse: [UInt8]
    ) async throws(SMDPError) -> GetBoundProfilePackageResponse {
        try await enter(.getBoundProfilePackage)
        var session = try takeSession(transactionId, in: .authenticated)
        do {
            let package = try bind(session, prepareDownloadResponse)
            session.phase = .packageDelivered
            sessions[session.transactionIdHex] = session
            stats.sessionsCompleted += 1
            return GetBoundProfilePackageResponse(transactionId: session.transactionIdHex, boundProfilePackage: package)
        } catch {
            fail(session, error)
            throw error
        }
    }

    private func bind(_ session: SMDPSession, _ der: [UInt8]) throws(SMDPError) -> [UInt8] {
        let parsed: PrepareDownloadResponse
        do {
            parsed = try PrepareDownloadResponse(der: der)
        } catch {
            throw .invalidElement("prepareDownloadResponse", "\(error)")
        }
        guard case .ok(let signed, let signature) = parsed else {
            if case .error(_, let code) = parsed { throw .euiccVerificationFailed("the eUICC refused the download: downloadErrorCode \(code)") }
            throw .euiccVerificationFailed("no downloadResponseOk")
        }
        guard let certificate = session.euiccCertificate, let eid = session.eid, let iccid = session.iccid,
              let metadata = session.metadata, let order = orders[iccid],
              let type = configuration.profileTypes.first(where: { $0.name == order.profileType })
        else { throw .unknownTransaction() }
        guard verify(signature, over: signed.encoded + session.smdpSignature2Object, by: certificate) else {
            throw .euiccVerificationFailed("euiccSignature2 does not verify")
        }
        guard signed.transactionId == session.transactionId else { throw .unknownTransaction("euiccSigned2 names another transaction") }
        let builder = BoundProfilePackageBuilder(
            curve: pki.curve, signingKey: pki.dpPb.privateKey, hostId: configuration.hostId,
            usesReplaceSessionKeys: configuration.usesReplaceSessionKeys,
            corruptsProfileElements: faults.corruptsBoundProfilePackage,
            profileElementsPlaintextPerSegment: configuration.deviations.profileElementsPlaintextPerSegment)
        var package = ProfilePackage(iccid: iccid, profileType: type.name)
        package.swapsHeaderICCID = configuration.deviations.swapsHeaderICCID
        return try builder.build(
            transactionId: session.transactionId, eid: eid, euiccOtpk: signed.euiccOtpk, metadata: metadata,
            profilePackage: BoundProfilePackageBuilder.profilePackage(package, size: type.packageSize))
    }

    // MARK: - ES9+.HandleNotification (SGP.22 §5.6.4)

    /// Receives a notification (a ProfileInstallationResult or an OtherSignedNotification), verifies its
    /// signature and records it. Repeats are acknowledged without effect. A notification that cannot be verified
    /// is counted and acknowledged (SGP.22), or refused when `refusesUnverifiableNotifications` is set.
    public func handleNotification(pendingNotification: [UInt8]) async throws(SMDPError) {
        try await enter(.handleNotification)
        let notification: PendingNotification
        do {
            notification = try PendingNotification(der: pendingNotification)
        } catch {
            throw .invalidElement("pendingNotification", "\(error)")
        }
        switch notification {
        case .profileInstallationResult(let result):
            try handleInstallationResult(result)
        case .other(let other):
            try handleOther(other)
        }
    }

    private func handleInstallationResult(_ result: ProfileInstallationResult) throws(SMDPError) {
        let transactionId = Hex.string(result.data.transactionId)
        let key = "pir/\(transactionId)"
        if handledNotifications.contains(key) {
            stats.notificationsRepeated += 1
            return
        }
        guard let session = sessions[transactionId], let certificate = session.euiccCertificate,
              let eid = session.eid, let iccid = session.iccid
        else {
            return try reject("unknownTransaction", .unknownTransaction())
        }
        guard verify(result.signature, over: result.data.encoded, by: certificate) else {
            return try reject("signature", .euiccVerificationFailed("euiccSignPIR does not verify"))
        }
        handledNotifications.insert(key)
        sessions[transactionId] = nil
        stats.notificationsReceived[name(of: .install), default: 0] += 1
        if result.isSuccess {
            stats.installsConfirmed += 1
            if var order = orders[iccid] {
                order.state = .installed
                orders[iccid] = order
            }
            if !installed[eid, default: []].contains(iccid) { installed[eid, default: []].append(iccid) }
        } else {
            stats.installsFailed += 1
            releaseForRetry(iccid: iccid)
        }
    }

    private func handleOther(_ notification: OtherSignedNotification) throws(SMDPError) {
        let euicc: (certificate: Certificate, eid: String)
        do {
            euicc = try verifyEUICCChain(certificate: notification.euiccCertificate, eum: notification.eumCertificate)
        } catch {
            return try reject("certificate", error)
        }
        guard verify(notification.signature, over: notification.signedBytes, by: euicc.certificate) else {
            return try reject("signature", .euiccVerificationFailed("euiccNotificationSignature does not verify"))
        }
        let metadata = notification.metadata
        let key = "\(euicc.eid)/\(metadata.seqNumber)"
        if handledNotifications.contains(key) {
            stats.notificationsRepeated += 1
            return
        }
        handledNotifications.insert(key)
        stats.notificationsReceived[name(of: metadata.event), default: 0] += 1
        if metadata.event == .delete, let iccid = metadata.iccid {
            installed[euicc.eid]?.removeAll { $0 == iccid }
        }
    }

    private func reject(_ reason: String, _ error: SMDPError) throws(SMDPError) {
        stats.notificationsRejected[reason, default: 0] += 1
        logger.notice("notification refused", metadata: ["reason": "\(reason)", "error": "\(error)"])
        if configuration.refusesUnverifiableNotifications { throw error }
    }

    private func name(of event: NotificationEvent) -> String {
        switch event {
        case .install: "install"
        case .enable: "enable"
        case .disable: "disable"
        case .delete: "delete"
        }
    }

    // MARK: - ES9+.CancelSession (SGP.22 §5.6.5)

    /// Ends a session at the eUICC's request (its signed CancelSessionResponse) and releases the order for a retry.
    public func cancelSession(transactionId: String, cancelSessionResponse: [UInt8]) async throws(SMDPError) {
        try await enter(.cancelSession)
        let key = transactionId.uppercased()
        guard let session = sessions[key] else { throw .unknownTransaction() }
        guard let certificate = session.euiccCertificate else {
            throw .unknownTransaction("the session has not authenticated the eUICC yet")
        }
        let signed: EuiccCancelSessionSigned
        let signature: [UInt8]
        do {
            guard case .ok(let part, let partSignature) = try CancelSessionResponse(der: cancelSessionResponse) else {
                throw SMDPError.invalidElement("cancelSessionResponse", "the eUICC answered cancelSessionResponseError")
            }
            signed = part
            signature = partSignature
        } catch let error as SMDPError {
            throw error
        } catch {
            throw .invalidElement("cancelSessionResponse", "\(error)")
        }
        guard signed.transactionId == session.transactionId else { throw .unknownTransaction("the cancel names another transaction") }
        if let oid = configuration.smdpOid, signed.smdpOid != oid { throw .invalidSMDPOid }
        let reason = signed.reason
        guard verify(signature, over: signed.encoded, by: certificate) else {
            throw .euiccVerificationFailed("euiccCancelSessionSignature does not verify")
        }
        sessions[key] = nil
        if let iccid = session.iccid { releaseForRetry(iccid: iccid) }
        let reasonName = CancelSessionReason(rawValue: reason).map { "\($0)" } ?? "\(reason)"
        stats.sessionsFailed["cancelled/\(reasonName)", default: 0] += 1
    }

    // MARK: - Sessions

    /// The open session `transactionId` in `phase`; an unknown, spent or expired one is refused (8.10.1 / 3.9).
    private func takeSession(_ transactionId: String, in phase: SMDPSession.Phase) throws(SMDPError) -> SMDPSession {
        let key = transactionId.uppercased()
        guard let session = sessions[key], session.phase == phase else { throw .unknownTransaction() }
        if clock().timeIntervalSince(session.startedAt) > configuration.sessionLifetime.timeInterval {
            sessions[key] = nil
            if let iccid = session.iccid { releaseForRetry(iccid: iccid) }
            stats.sessionsFailed["expired", default: 0] += 1
            throw .unknownTransaction("The RSP session identified by the TransactionID has expired")
        }
        return session
    }

    /// Ends `session` after `error`: the order (if bound) becomes downloadable again.
    private func fail(_ session: SMDPSession, _ error: SMDPError) {
        sessions[session.transactionIdHex] = nil
        if let iccid = session.iccid { releaseForRetry(iccid: iccid) }
        stats.sessionsFailed[error.code, default: 0] += 1
        logger.info("RSP session failed", metadata: ["transactionId": "\(session.transactionIdHex)", "error": "\(error)"])
    }

    /// Returns an order that was downloading to `released`, keeping its EID binding.
    private func releaseForRetry(iccid: String) {
        guard var order = orders[iccid], case .downloading = order.state else { return }
        order.state = .released
        orders[iccid] = order
    }

    // MARK: - Crypto

    private func randomBytes(_ count: Int) throws(SMDPError) -> [UInt8] {
        do {
            return try SecureRandom.bytes(count: count)
        } catch {
            throw .failed("8.1", "4.2", "random generator failed: \(error)")
        }
    }

    private func sign(_ data: [UInt8], with key: PrivateKey) throws(SMDPError) -> [UInt8] {
        do {
            return try ECDSA.sign(data, with: key, format: .raw)
        } catch {
            throw .failed("8.1", "4.2", "signing failed: \(error)")
        }
    }

    private func verify(_ signature: [UInt8], over data: [UInt8], by certificate: Certificate) -> Bool {
        (try? ECDSA.verify(signature, format: .raw, for: data, with: certificate.publicKey)) ?? false
    }
}
