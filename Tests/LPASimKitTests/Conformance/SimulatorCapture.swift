import Foundation
import LPACrypto
import LPASimKit
import RSP

/// Every ES10 and ES9+ binary object of real sessions between the virtual eUICC and the SM-DP+ simulator,
/// captured as they travel: a download with notifications and profile operations, then a session the eUICC
/// cancels. Each must decode with asn1tools, re-encode to the same bytes (so it is DER of the module's types)
/// and parse with our parser.
enum SimulatorCapture {
    static func cases(pki: RSPTestPKI, label: String) async throws -> [ConformanceCase] {
        var configuration = SMDPConfiguration(address: "smdp.test", profileTypes: [
            ProfileType(name: "iot", serviceProviderName: "Test Operator", profileName: "IoT", iccidPrefix: "8988200", packageSize: 6000),
        ])
        configuration.autoOrderProfileType = "iot"
        configuration.smdpOid = VirtualEUICC.Configuration().smdpOid
        let smdp = try SMDPSimulator(pki: pki, configuration: configuration)
        let card = VirtualEUICC(identity: try VirtualEUICC.Identity(pki: pki))
        let driver = try CardDriver(card: card)
        var cases: [ConformanceCase] = []
        func capture(_ type: String, _ name: String, _ der: [UInt8], parse: (([UInt8]) throws -> Void)? = nil) {
            cases.append(ConformanceCase(type, "\(label) captured \(name)", der: der, value: nil, parse: parse))
        }

        // S130 download.
        let challenge = try driver.call(EUICCQueries.getEuiccChallenge)
        capture("GetEuiccChallengeResponse", "eUICC", challenge) { _ = try EUICCChallenge(der: $0) }
        let info1 = try driver.call(EUICCQueries.getEuiccInfo1)
        capture("EUICCInfo1", "eUICC", info1) { _ = try EUICCInfo1(der: $0) }
        capture("EUICCInfo2", "eUICC", try driver.call(EUICCQueries.getEuiccInfo2)) { _ = try EUICCInfo2(der: $0) }
        let initiated = try await smdp.initiateAuthentication(
            euiccChallenge: try EUICCChallenge(der: challenge).challenge, euiccInfo1: info1, smdpAddress: "smdp.test")
        capture("ServerSigned1", "SM-DP+", initiated.serverSigned1) { _ = try ServerSigned1(tlv: try TLV(der: $0, object: "test")) }
        let authenticateServer = try AuthenticateServerRequest(
            es9ServerSigned1: initiated.serverSigned1, es9ServerSignature1: initiated.serverSignature1,
            es9EuiccCiPKIdToBeUsed: initiated.euiccCiPKIdToBeUsed, es9ServerCertificate: initiated.serverCertificate,
            ctxParams1: CtxParams1(matchingId: "", deviceInfo: DeviceInfo(imei: "356938035643809")!))
        capture("AuthenticateServerRequest", "LPA", authenticateServer.der) { _ = try AuthenticateServerRequest(der: $0) }
        let authenticateResponse = try driver.call(authenticateServer.der)
        capture("AuthenticateServerResponse", "eUICC", authenticateResponse) { _ = try AuthenticateServerResponse(der: $0) }
        let authenticated = try await smdp.authenticateClient(transactionId: initiated.transactionId, authenticateServerResponse: authenticateResponse)
        capture("StoreMetadataRequest", "SM-DP+ profileMetadata", authenticated.profileMetadata) { _ = try StoreMetadataRequest(der: $0) }
        capture("SmdpSigned2", "SM-DP+", authenticated.smdpSigned2) { _ = try SmdpSigned2(tlv: try TLV(der: $0, object: "test")) }
        let prepare = try PrepareDownloadRequest(
            es9SmdpSigned2: authenticated.smdpSigned2, es9SmdpSignature2: authenticated.smdpSignature2,
            es9SmdpCertificate: authenticated.smdpCertificate)
        capture("PrepareDownloadRequest", "LPA", prepare.der) { _ = try PrepareDownloadRequest(der: $0) }
        let prepareResponse = try driver.call(prepare.der)
        capture("PrepareDownloadResponse", "eUICC", prepareResponse) { _ = try PrepareDownloadResponse(der: $0) }
        let bpp = try await smdp.getBoundProfilePackage(transactionId: initiated.transactionId, prepareDownloadResponse: prepareResponse)
        capture("BoundProfilePackage", "SM-DP+", bpp.boundProfilePackage) { _ = try BoundProfilePackage(der: $0) }
        let package = try BoundProfilePackage(der: bpp.boundProfilePackage)
        capture("InitialiseSecureChannelRequest", "SM-DP+", package.initialiseSecureChannel.der)
        var installation: [UInt8] = []
        for command in package.loadCommands {
            let answer = try driver.send(command.bytes)
            if answer.data.first == 0xBF { installation = answer.data }
        }
        capture("ProfileInstallationResult", "eUICC", installation) {
            guard try ProfileInstallationResult(der: $0).isSuccess else { throw ParsedDifferently(description: "installation failed") }
        }
        try await smdp.handleNotification(pendingNotification: installation)

        // ES10c and the notifications they leave.
        let iccid = try StoreMetadataRequest(der: authenticated.profileMetadata).iccid
        capture("EnableProfileResponse", "eUICC", try driver.call(ES10c.enableRequest(.iccid(iccid)))) {
            try expectParsed(try ES10c.parseResult($0, tag: RSPTag.enableProfile), 0)
        }
        capture("ProfileInfoListResponse", "eUICC", try driver.call(ES10c.profilesInfoRequest)) { _ = try ProfileInfo.parseList($0) }
        capture("GetEuiccDataResponse", "eUICC", try driver.call(ES10c.getEIDRequest)) { try expectParsed(try ES10c.parseEID($0), card.eid) }
        capture("DisableProfileResponse", "eUICC", try driver.call(ES10c.disableRequest(.iccid(iccid)))) {
            try expectParsed(try ES10c.parseResult($0, tag: RSPTag.disableProfile), 0)
        }
        capture("ListNotificationResponse", "eUICC", try driver.call(NotificationCommands.listRequest())) { _ = try NotificationCommands.parseList($0) }
        let retrieved = try driver.call(NotificationCommands.retrieveRequest())
        capture("RetrieveNotificationsListResponse", "eUICC", retrieved) { _ = try NotificationCommands.parseRetrieve($0) }
        for notification in try NotificationCommands.parseRetrieve(retrieved) {
            capture("PendingNotification", "eUICC \(notification.metadata.event)", notification.encoded) { _ = try PendingNotification(der: $0) }
            try await smdp.handleNotification(pendingNotification: notification.encoded)
            capture("NotificationSentResponse", "eUICC", try driver.call(NotificationCommands.removeRequest(seqNumber: notification.metadata.seqNumber))) {
                try expectParsed(try NotificationCommands.parseRemove($0), 0)
            }
        }
        capture("DeleteProfileResponse", "eUICC", try driver.call(ES10c.deleteRequest(.iccid(iccid)))) {
            try expectParsed(try ES10c.parseResult($0, tag: RSPTag.deleteProfile), 0)
        }

        // A session the eUICC cancels; the SM-DP+ simulator must accept its signed answer.
        let challenge2 = try EUICCChallenge(der: try driver.call(EUICCQueries.getEuiccChallenge)).challenge
        let second = try await smdp.initiateAuthentication(euiccChallenge: challenge2, euiccInfo1: info1, smdpAddress: "smdp.test")
        let request2 = try AuthenticateServerRequest(
            es9ServerSigned1: second.serverSigned1, es9ServerSignature1: second.serverSignature1,
            es9EuiccCiPKIdToBeUsed: second.euiccCiPKIdToBeUsed, es9ServerCertificate: second.serverCertificate,
            ctxParams1: CtxParams1(matchingId: nil, deviceInfo: DeviceInfo(imei: "356938035643809")!))
        _ = try await smdp.authenticateClient(transactionId: second.transactionId, authenticateServerResponse: try driver.call(request2.der))
        let cancel = try driver.call(CancelSession.request(transactionId: request2.serverSigned1.transactionId, reason: .postponed))
        capture("CancelSessionResponse", "eUICC", cancel) {
            guard case .ok(let signed, _) = try CancelSessionResponse(der: $0), signed.reason == 1 else {
                throw ParsedDifferently(description: "not a signed cancel with reason postponed")
            }
        }
        try await smdp.cancelSession(transactionId: second.transactionId, cancelSessionResponse: cancel)
        return cases
    }
}
