import Foundation
import LPACrypto
import LPASimKit
import RSP

/// Value sets for every SGP.22 type the project encodes or decodes, built twice: once with the RSP module's
/// types (giving `der`), once by hand in asn1tools' value form from the ASN.1 text (giving `value`).
///
/// Per PKI (one P-256, one brainpoolP256r1): optional fields present and absent, small and large values, real
/// certificates, one-time keys and signatures of that curve.
struct ConformanceCases {
    let pki: RSPTestPKI
    let label: String

    typealias V = ASN1Value

    // ICCIDs with their EF.ICCID (swapped) and E.118 (ProfileHeader) encodings, written out by hand.
    static let iccid20 = "89882000000000000013"
    static let iccid20Swapped = "98880200000000000031"
    static let iccid20E118 = "89882000000000000013"
    static let iccid19 = "8949000000000000012"
    static let iccid19Swapped = "989400000000000010F2"
    static let iccid19E118 = "8949000000000000012F"
    static let eid = "89049032123451234512345678901235"
    /// An SM-DP+ OID (1.3.6.1.4.1.53279.1) and its content octets.
    static let oid = "1.3.6.1.4.1.53279.1"
    static let oidContent: [UInt8] = [0x2B, 0x06, 0x01, 0x04, 0x01, 0x83, 0xA0, 0x1F, 0x01]

    func random(_ count: Int) -> [UInt8] { (0..<count).map { _ in UInt8.random(in: 0...255) } }

    func all() throws -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        cases += queries()
        cases += euiccInfo()
        cases += try authentication()
        cases += try download()
        cases += cancelSession()
        cases += try package()
        cases += try notifications()
        cases += profileManagement()
        cases += try profileElements()
        return cases.map { var item = $0; item.label = "\(label) \(item.label)"; return item }
    }

    // MARK: ES10 requests without content

    func queries() -> [ConformanceCase] {
        [
            ConformanceCase("GetEuiccChallengeRequest", "empty", der: EUICCQueries.getEuiccChallenge, value: [String: Any]()),
            ConformanceCase("GetEuiccInfo1Request", "empty", der: EUICCQueries.getEuiccInfo1, value: [String: Any]()),
            ConformanceCase("GetEuiccInfo2Request", "empty", der: EUICCQueries.getEuiccInfo2, value: [String: Any]()),
            ConformanceCase("ProfileInfoListRequest", "all profiles", der: ES10c.profilesInfoRequest, value: [String: Any]()),
            ConformanceCase("GetEuiccDataRequest", "EID", der: ES10c.getEIDRequest, value: ["tagList": V.octets(hex: "5A")]),
        ]
    }

    // MARK: EUICCInfo1/2, challenge

    func euiccInfo1(verification: [[UInt8]], signing: [[UInt8]]) -> ConformanceCase {
        let model = EUICCInfo1(svn: [2, 2, 0], ciPKIdsForVerification: verification, ciPKIdsForSigning: signing)
        return ConformanceCase("EUICCInfo1", "\(verification.count)+\(signing.count) CI keys", der: model.der, value: [
            "svn": V.octets(hex: "020200"),
            "euiccCiPKIdListForVerification": verification.map(V.octets),
            "euiccCiPKIdListForSigning": signing.map(V.octets),
        ]) { try expectParsed(try EUICCInfo1(der: $0), model) }
    }

    /// An EUICCInfo2 and its value; `large` lists several CIs and a long SAS number.
    func euiccInfo2(large: Bool) -> (EUICCInfo2, [String: Any]) {
        let ciKeys = large ? [pki.ciSubjectKeyIdentifier, random(20), random(20)] : [pki.ciSubjectKeyIdentifier]
        let sas = large ? String(repeating: "SAS-", count: 16) : "SAS-1"
        let model = EUICCInfo2(
            profileVersion: [2, 3, 1], svn: [2, 2, 2], firmwareVersion: [1, 0, 0],
            extCardResource: [0x81, 0x01, 0x00, 0x82, 0x03, 0x01, 0x00, 0x00],
            // UICCCapability bits 1…9 (usim … rfu2), RspCapability bits 1 and 2: DER drops trailing zero bits.
            uiccCapability: [0x06, 0x7F, 0xC0], rspCapability: [0x05, 0x60],
            ciPKIdsForVerification: ciKeys, ciPKIdsForSigning: ciKeys, ppVersion: [1, 0, 0], sasAccreditationNumber: sas)
        let value: [String: Any] = [
            "profileVersion": V.octets(hex: "020301"), "svn": V.octets(hex: "020202"),
            "euiccFirmwareVer": V.octets(hex: "010000"), "extCardResource": V.octets(hex: "8101008203010000"),
            "uiccCapability": V.bits([0x7F, 0xC0], count: 10), "rspCapability": V.bits([0x60], count: 3),
            "euiccCiPKIdListForVerification": ciKeys.map(V.octets), "euiccCiPKIdListForSigning": ciKeys.map(V.octets),
            "ppVersion": V.octets(hex: "010000"), "sasAcreditationNumber": sas,
        ]
        return (model, value)
    }

    func euiccInfo() -> [ConformanceCase] {
        var cases = [
            euiccInfo1(verification: [pki.ciSubjectKeyIdentifier], signing: [pki.ciSubjectKeyIdentifier]),
            euiccInfo1(verification: [pki.ciSubjectKeyIdentifier, random(20), random(32)], signing: [random(20)]),
        ]
        for large in [false, true] {
            let (model, value) = euiccInfo2(large: large)
            cases.append(ConformanceCase("EUICCInfo2", large ? "large" : "small", der: model.der, value: value) {
                try expectParsed(try EUICCInfo2(der: $0), model)
            })
        }
        let challenge = random(16)
        cases.append(ConformanceCase("GetEuiccChallengeResponse", "challenge", der: EUICCChallenge(challenge: challenge).der,
                                     value: ["euiccChallenge": V.octets(challenge)]) {
            try expectParsed(try EUICCChallenge(der: $0), EUICCChallenge(challenge: challenge))
        })
        return cases
    }

    // MARK: AuthenticateServer

    func ctxParams(matchingId: String?, imei: Bool, capabilities: Bool) -> (CtxParams1, [String: Any]) {
        let tac: [UInt8] = [0x35, 0x69, 0x38, 0x03]
        let imeiBytes: [UInt8]? = imei ? [0x53, 0x96, 0x83, 0x30, 0x65, 0x34, 0x08, 0xF9] : nil
        // gsmSupportedRelease [0] 0F 00 00, eutranSupportedRelease [5] 0F 00 00
        let capabilityBytes: [UInt8] = capabilities ? [0x80, 0x03, 0x0F, 0, 0, 0x85, 0x03, 0x0F, 0, 0] : []
        let model = CtxParams1(matchingId: matchingId, deviceInfo: DeviceInfo(tac: tac, imei: imeiBytes, deviceCapabilities: capabilityBytes))
        var deviceInfo: [String: Any] = [
            "tac": V.octets(hex: "35693803"),
            "deviceCapabilities": capabilities
                ? ["gsmSupportedRelease": V.octets(hex: "0F0000"), "eutranSupportedRelease": V.octets(hex: "0F0000")]
                : [String: Any](),
        ]
        if imei { deviceInfo["imei"] = V.octets(hex: "53968330653408F9") }
        var common: [String: Any] = ["deviceInfo": deviceInfo]
        if let matchingId { common["matchingId"] = matchingId }
        return (model, V.choice("ctxParamsForCommonAuthentication", common))
    }

    func authentication() throws -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        let variants: [(String?, Bool, Bool, String)] = [
            ("MATCHING-ID-1", true, false, "matchingId and IMEI"), (nil, false, false, "no matchingId, no IMEI"),
            (String(repeating: "M", count: 200), true, true, "long matchingId, capabilities"),
        ]
        for (matchingId, imei, capabilities, name) in variants {
            let transactionId = random(16), challenge = random(16), serverChallenge = random(16)
            let signed1 = ServerSigned1(transactionId: transactionId, euiccChallenge: challenge, serverAddress: "smdp.example", serverChallenge: serverChallenge)
            let signed1Value: [String: Any] = [
                "transactionId": V.octets(transactionId), "euiccChallenge": V.octets(challenge),
                "serverAddress": "smdp.example", "serverChallenge": V.octets(serverChallenge),
            ]
            let signature = try ECDSA.sign(signed1.encoded, with: pki.dpAuth.privateKey, format: .raw)
            let (ctx, ctxValue) = ctxParams(matchingId: matchingId, imei: imei, capabilities: capabilities)
            let request = AuthenticateServerRequest(
                serverSigned1: signed1, serverSignature1: signature, euiccCiPKIdToBeUsed: pki.ciSubjectKeyIdentifier,
                serverCertificate: pki.dpAuth.certificate.der, ctxParams1: ctx)
            cases.append(ConformanceCase("ServerSigned1", name, der: signed1.encoded, value: signed1Value) {
                try expectParsed(try ServerSigned1(tlv: try TLV(der: $0, object: "test")), signed1)
            })
            cases.append(ConformanceCase("AuthenticateServerRequest", name, der: request.der, value: [
                "serverSigned1": signed1Value, "serverSignature1": V.octets(signature),
                "euiccCiPKIdToBeUsed": V.octets(pki.ciSubjectKeyIdentifier),
                "serverCertificate": V.octets(pki.dpAuth.certificate.der), "ctxParams1": ctxValue,
            ]) { try expectParsed(try AuthenticateServerRequest(der: $0), request) })

            let (info2, info2Value) = euiccInfo2(large: capabilities)
            let euiccSigned1 = EuiccSigned1(transactionId: transactionId, serverAddress: "smdp.example", serverChallenge: serverChallenge, euiccInfo2: info2, ctxParams1: ctx)
            let euiccSigned1Value: [String: Any] = [
                "transactionId": V.octets(transactionId), "serverAddress": "smdp.example",
                "serverChallenge": V.octets(serverChallenge), "euiccInfo2": info2Value, "ctxParams1": ctxValue,
            ]
            let euicc = try XCTUnwrapEUICC()
            let euiccSignature = try ECDSA.sign(euiccSigned1.encoded, with: euicc.privateKey, format: .raw)
            let ok = AuthenticateServerResponse.ok(.init(
                euiccSigned1: euiccSigned1, euiccSignature1: euiccSignature, euiccCertificate: euicc.certificate.der,
                eumCertificate: pki.eum.certificate.der))
            cases.append(ConformanceCase("EuiccSigned1", name, der: euiccSigned1.encoded, value: euiccSigned1Value) {
                try expectParsed(try EuiccSigned1(tlv: try TLV(der: $0, object: "test")), euiccSigned1)
            })
            cases.append(ConformanceCase("AuthenticateServerResponse", "ok, \(name)", der: ok.der, value: V.choice("authenticateResponseOk", [
                "euiccSigned1": euiccSigned1Value, "euiccSignature1": V.octets(euiccSignature),
                "euiccCertificate": V.octets(euicc.certificate.der), "eumCertificate": V.octets(pki.eum.certificate.der),
            ])) { try expectParsed(try AuthenticateServerResponse(der: $0), ok) })
        }
        let transactionId = random(8)
        let error = AuthenticateServerResponse.error(transactionId: transactionId, code: AuthenticateErrorCode.ciPKUnknown.rawValue)
        cases.append(ConformanceCase("AuthenticateServerResponse", "error", der: error.der, value: V.choice("authenticateResponseError", [
            "transactionId": V.octets(transactionId), "authenticateErrorCode": 7,
        ])) { try expectParsed(try AuthenticateServerResponse(der: $0), error) })
        return cases
    }

    func XCTUnwrapEUICC() throws -> RSPTestPKI.Credential {
        guard let euicc = pki.euicc else { throw ParsedDifferently(description: "the test PKI has no eUICC") }
        return euicc
    }

    // MARK: PrepareDownload

    func download() throws -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (ccRequired, reuseKey, hashCc) in [(false, false, false), (true, true, true)] {
            let transactionId = random(16)
            let otpk = try PrivateKey.generate(curve: pki.curve).publicKey.uncompressedPoint
            let signed2 = SmdpSigned2(transactionId: transactionId, ccRequired: ccRequired, bppEuiccOtpk: reuseKey ? otpk : nil)
            var signed2Value: [String: Any] = ["transactionId": V.octets(transactionId), "ccRequiredFlag": ccRequired]
            if reuseKey { signed2Value["bppEuiccOtpk"] = V.octets(otpk) }
            let name = ccRequired ? "confirmation code, otpk reused" : "no confirmation code"
            cases.append(ConformanceCase("SmdpSigned2", name, der: signed2.encoded, value: signed2Value) {
                try expectParsed(try SmdpSigned2(tlv: try TLV(der: $0, object: "test")), signed2)
            })
            let signature = try ECDSA.sign(signed2.encoded, with: pki.dpPb.privateKey, format: .raw)
            let hash = hashCc ? random(32) : nil
            let request = PrepareDownloadRequest(smdpSigned2: signed2, smdpSignature2: signature, hashCc: hash, smdpCertificate: pki.dpPb.certificate.der)
            var requestValue: [String: Any] = [
                "smdpSigned2": signed2Value, "smdpSignature2": V.octets(signature),
                "smdpCertificate": V.octets(pki.dpPb.certificate.der),
            ]
            if let hash { requestValue["hashCc"] = V.octets(hash) }
            cases.append(ConformanceCase("PrepareDownloadRequest", name, der: request.der, value: requestValue) {
                try expectParsed(try PrepareDownloadRequest(der: $0), request)
            })

            let euiccOtpk = try PrivateKey.generate(curve: pki.curve).publicKey.uncompressedPoint
            let signedE2 = EUICCSigned2(transactionId: transactionId, euiccOtpk: euiccOtpk, hashCc: hash)
            var signedE2Value: [String: Any] = ["transactionId": V.octets(transactionId), "euiccOtpk": V.octets(euiccOtpk)]
            if let hash { signedE2Value["hashCc"] = V.octets(hash) }
            cases.append(ConformanceCase("EUICCSigned2", name, der: signedE2.encoded, value: signedE2Value) {
                try expectParsed(try EUICCSigned2(tlv: try TLV(der: $0, object: "test")), signedE2)
            })
            let euiccSignature = try ECDSA.sign(signedE2.encoded, with: try XCTUnwrapEUICC().privateKey, format: .raw)
            let response = PrepareDownloadResponse.ok(euiccSigned2: signedE2, euiccSignature2: euiccSignature)
            cases.append(ConformanceCase("PrepareDownloadResponse", "ok, \(name)", der: response.der, value: V.choice("downloadResponseOk", [
                "euiccSigned2": signedE2Value, "euiccSignature2": V.octets(euiccSignature),
            ])) { try expectParsed(try PrepareDownloadResponse(der: $0), response) })
        }
        let transactionId = random(4)
        let error = PrepareDownloadResponse.error(transactionId: transactionId, code: 127)
        cases.append(ConformanceCase("PrepareDownloadResponse", "error", der: error.der, value: V.choice("downloadResponseError", [
            "transactionId": V.octets(transactionId), "downloadErrorCode": 127,
        ])) { try expectParsed(try PrepareDownloadResponse(der: $0), error) })
        return cases
    }

    // MARK: CancelSession

    func cancelSession() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (reason, size) in [(CancelSessionReason.endUserRejection, 1), (.loadBppExecutionError, 16), (.undefinedReason, 9)] {
            let transactionId = random(size)
            cases.append(ConformanceCase("CancelSessionRequest", "reason \(reason.rawValue)",
                                         der: CancelSession.request(transactionId: transactionId, reason: reason),
                                         value: ["transactionId": V.octets(transactionId), "reason": reason.rawValue]) {
                let parsed = try CancelSession.parseRequest(try TLV(der: $0, object: "test"))
                try expectParsed(parsed.transactionId, transactionId)
                try expectParsed(parsed.reason, reason.rawValue)
            })
            let signed = EuiccCancelSessionSigned(transactionId: transactionId, smdpOid: Self.oidContent, reason: reason.rawValue)
            let signedValue: [String: Any] = ["transactionId": V.octets(transactionId), "smdpOid": Self.oid, "reason": reason.rawValue]
            cases.append(ConformanceCase("EuiccCancelSessionSigned", "reason \(reason.rawValue)", der: signed.encoded, value: signedValue) {
                try expectParsed(try EuiccCancelSessionSigned(tlv: try TLV(der: $0, object: "test")), signed)
            })
            let signature = random(64)
            let response = CancelSessionResponse.ok(signed: signed, signature: signature)
            cases.append(ConformanceCase("CancelSessionResponse", "ok, reason \(reason.rawValue)", der: response.der,
                                         value: V.choice("cancelSessionResponseOk", ["euiccCancelSessionSigned": signedValue, "euiccCancelSessionSignature": V.octets(signature)])) {
                try expectParsed(try CancelSessionResponse(der: $0), response)
            })
        }
        cases.append(ConformanceCase("CancelSessionResponse", "error", der: CancelSession.errorResponse(code: 5),
                                     value: V.choice("cancelSessionResponseError", 5)) {
            try expectParsed(try CancelSessionResponse(der: $0), .error(code: 5))
        })
        return cases
    }

    // MARK: Bound Profile Package and what it carries

    func metadata(large: Bool) -> (StoreMetadataRequest, [String: Any]) {
        if large {
            let model = StoreMetadataRequest(
                iccid: Self.iccid19, serviceProviderName: "Operator", profileName: String(repeating: "P", count: 64), profileClass: 0,
                notificationConfiguration: NotificationEvent.allCases.map { ($0, "smdp.example") })
            let events: [[String: Any]] = [
                ["profileManagementOperation": V.bits([0x80], count: 1), "notificationAddress": "smdp.example"],
                ["profileManagementOperation": V.bits([0x40], count: 2), "notificationAddress": "smdp.example"],
                ["profileManagementOperation": V.bits([0x20], count: 3), "notificationAddress": "smdp.example"],
                ["profileManagementOperation": V.bits([0x10], count: 4), "notificationAddress": "smdp.example"],
            ]
            return (model, [
                "iccid": V.octets(hex: Self.iccid19Swapped), "serviceProviderName": "Operator",
                "profileName": String(repeating: "P", count: 64), "profileClass": 0, "notificationConfigurationInfo": events,
            ])
        }
        let model = StoreMetadataRequest(iccid: Self.iccid20, serviceProviderName: "Op", profileName: "IoT")
        return (model, ["iccid": V.octets(hex: Self.iccid20Swapped), "serviceProviderName": "Op", "profileName": "IoT"])
    }

    func package() throws -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for large in [false, true] {
            let (model, value) = metadata(large: large)
            cases.append(ConformanceCase("StoreMetadataRequest", large ? "test class, notifications" : "minimal", der: model.der, value: value) {
                try expectParsed(try StoreMetadataRequest(der: $0), model)
            })
        }
        cases.append(ConformanceCase("ConfigureISDPRequest", "empty", der: PackageCommands.configureISDP(), value: [String: Any]()))
        cases.append(ConformanceCase("ConfigureISDPRequest", "dpProprietaryData", der: PackageCommands.configureISDP(dpOid: Self.oidContent),
                                     value: ["dpProprietaryData": ["dpOid": Self.oid]]))
        let (mcv, enc, mac) = (random(16), random(16), random(16))
        cases.append(ConformanceCase("ReplaceSessionKeysRequest", "keys", der: PackageCommands.replaceSessionKeys(initialMCV: mcv, ppkEnc: enc, ppkCmac: mac),
                                     value: ["initialMacChainingValue": V.octets(mcv), "ppkEnc": V.octets(enc), "ppkCmac": V.octets(mac)]) {
            let parsed = try PackageCommands.parseReplaceSessionKeys($0)
            try expectParsed([parsed.initialMCV, parsed.ppkEnc, parsed.ppkCmac], [mcv, enc, mac])
        })

        for (large, replaceKeys) in [(false, false), (true, true)] {
            let transactionId = random(16)
            let hostId = large ? random(16) : Array("SMDP".utf8)
            let otpk = try PrivateKey.generate(curve: pki.curve).publicKey.uncompressedPoint
            let sign = random(64)
            let channel = InitialiseSecureChannelRequest(transactionId: transactionId, hostId: hostId, smdpOtpk: otpk, smdpSign: sign)
            let channelValue: [String: Any] = [
                "remoteOpId": 1, "transactionId": V.octets(transactionId),
                "controlRefTemplate": ["keyType": V.octets(hex: "88"), "keyLen": V.octets(hex: "10"), "hostId": V.octets(hostId)],
                "smdpOtpk": V.octets(otpk), "smdpSign": V.octets(sign),
            ]
            cases.append(ConformanceCase("InitialiseSecureChannelRequest", large ? "16-byte hostId" : "short hostId", der: channel.der, value: channelValue) {
                try expectParsed(try InitialiseSecureChannelRequest(tlv: try TLV(der: $0, object: "test")), channel)
            })
            var bsp = BSPSession(sEnc: random(16), sMac: random(16), initialMacChainingValue: random(16))
            let first87 = try bsp.encryptAndMAC(tag: 0x87, PackageCommands.configureISDP())
            let all88 = try bsp.macOnly(tag: 0x88, metadata(large: large).0.der)
            let second87 = replaceKeys ? try bsp.encryptAndMAC(tag: 0x87, PackageCommands.replaceSessionKeys(initialMCV: random(16), ppkEnc: random(16), ppkCmac: random(16))) : nil
            let profile = ProfilePackage(iccid: Self.iccid20, profileType: "Test")
                .encoded(fillerElements: large ? 8 : 1, fillerSize: 900) { [UInt8](repeating: UInt8($0), count: 900) }
            let all86 = try bsp.encryptAndMAC(tag: 0x86, profile)
            let der = BoundProfilePackage.encode(initialiseSecureChannel: channel, firstSequenceOf87: first87, sequenceOf88: all88, secondSequenceOf87: second87, sequenceOf86: all86)
            func contents(_ segments: [[UInt8]]) throws -> [Any] {
                try segments.map { V.octets(try TLV(der: $0, object: "segment").bytes) }
            }
            var value: [String: Any] = [
                "initialiseSecureChannelRequest": channelValue, "firstSequenceOf87": try contents(first87),
                "sequenceOf88": try contents(all88), "sequenceOf86": try contents(all86),
            ]
            if let second87 { value["secondSequenceOf87"] = try contents(second87) }
            cases.append(ConformanceCase("BoundProfilePackage", replaceKeys ? "\(all86.count) 86 segments, ReplaceSessionKeys" : "one 86 segment", der: der, value: value) {
                let parsed = try BoundProfilePackage(der: $0)
                try expectParsed(parsed.initialiseSecureChannel, channel)
                try expectParsed([parsed.firstSequenceOf87, parsed.sequenceOf88, parsed.secondSequenceOf87 ?? [], parsed.sequenceOf86],
                                 [first87, all88, second87 ?? [], all86])
            })
        }
        return cases
    }

    // MARK: Notifications and the installation result

    func notificationMetadata(_ seq: Int, _ event: NotificationEvent, iccid: Bool) -> (NotificationMetadata, [String: Any]) {
        let model = NotificationMetadata(seqNumber: seq, event: event, notificationAddress: "smdp.example", iccid: iccid ? Self.iccid20 : nil)
        var value: [String: Any] = [
            "seqNumber": seq, "profileManagementOperation": V.bits([UInt8(0x80 >> event.rawValue)], count: event.rawValue + 1),
            "notificationAddress": "smdp.example",
        ]
        if iccid { value["iccid"] = V.octets(hex: Self.iccid20Swapped) }
        return (model, value)
    }

    func notifications() throws -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        let euicc = try XCTUnwrapEUICC()
        var pending: [(PendingNotification, Any)] = []
        var metadataList: [(NotificationMetadata, Any)] = []
        for (seq, event, iccid) in [(1, NotificationEvent.install, true), (300, .enable, true), (70_000, .disable, false), (2, .delete, true)] {
            let (model, value) = notificationMetadata(seq, event, iccid: iccid)
            metadataList.append((model, value))
            cases.append(ConformanceCase("NotificationMetadata", "seq \(seq) \(event)", der: model.der, value: value) {
                try expectParsed(try NotificationMetadata(tlv: try TLV(der: $0, object: "test")), model)
            })
        }
        for success in [true, false] {
            let transactionId = random(16)
            let (metadata, metadataValue) = metadataList[0]
            let finalResult: ProfileInstallationResultData.FinalResult = success
                ? .success(aid: [0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0, 0, 0x10, 0], simaResponse: [0x30, 0x03, 0x80, 0x01, 0x00])
                : .error(bppCommandId: BppCommandId.loadProfileElements.rawValue, errorReason: InstallationErrorReason.scp03tSecurityError.rawValue)
            let data = ProfileInstallationResultData(transactionId: transactionId, notificationMetadata: metadata, smdpOid: Self.oidContent, finalResult: finalResult)
            let signature = try ECDSA.sign(data.encoded, with: euicc.privateKey, format: .raw)
            let result = ProfileInstallationResult(data: data, signature: signature)
            let resultValue: [String: Any] = [
                "profileInstallationResultData": [
                    "transactionId": V.octets(transactionId), "notificationMetadata": metadataValue, "smdpOid": Self.oid,
                    "finalResult": success
                        ? V.choice("successResult", ["aid": V.octets(hex: "A0000005591010FFFFFFFF8900001000"), "simaResponse": V.octets(hex: "3003800100")])
                        : V.choice("errorResult", ["bppCommandId": 5, "errorReason": 8]),
                ],
                "euiccSignPIR": V.octets(signature),
            ]
            cases.append(ConformanceCase("ProfileInstallationResult", success ? "success" : "error", der: result.encoded, value: resultValue) {
                try expectParsed(try ProfileInstallationResult(der: $0), result)
            })
            pending.append((.profileInstallationResult(result), V.choice("profileInstallationResult", resultValue)))
        }
        for (metadata, metadataValue) in metadataList.dropFirst() {
            let signature = try ECDSA.sign(metadata.der, with: euicc.privateKey, format: .raw)
            let other = OtherSignedNotification(metadata: metadata, signature: signature, euiccCertificate: euicc.certificate.der, eumCertificate: pki.eum.certificate.der)
            let value: [String: Any] = [
                "tbsOtherNotification": metadataValue, "euiccNotificationSignature": V.octets(signature),
                "euiccCertificate": V.octets(euicc.certificate.der), "eumCertificate": V.octets(pki.eum.certificate.der),
            ]
            cases.append(ConformanceCase("OtherSignedNotification", "\(metadata.event)", der: other.encoded, value: value) {
                try expectParsed(try PendingNotification(der: $0), .other(other))
            })
            pending.append((.other(other), V.choice("otherSignedNotification", value)))
        }
        for (notification, value) in pending {
            cases.append(ConformanceCase("PendingNotification", "\(notification.metadata.event)", der: notification.encoded, value: value) {
                try expectParsed(try PendingNotification(der: $0), notification)
            })
        }
        cases.append(ConformanceCase("ListNotificationRequest", "all", der: NotificationCommands.listRequest(), value: [String: Any]()))
        cases.append(ConformanceCase("ListNotificationRequest", "install", der: NotificationCommands.listRequest(event: .install),
                                     value: ["profileManagementOperation": V.bits([0x80], count: 1)]))
        for count in [0, metadataList.count] {
            let items = Array(metadataList.prefix(count))
            cases.append(ConformanceCase("ListNotificationResponse", "\(count) items", der: NotificationCommands.listResponse(items.map(\.0)),
                                         value: V.choice("notificationMetadataList", items.map(\.1))) {
                try expectParsed(try NotificationCommands.parseList($0), items.map(\.0))
            })
        }
        cases.append(ConformanceCase("RetrieveNotificationsListRequest", "all", der: NotificationCommands.retrieveRequest(), value: [String: Any]()) {
            try expectParsed(try NotificationCommands.parseRetrieveRequest(try TLV(der: $0, object: "test")), nil)
        })
        cases.append(ConformanceCase("RetrieveNotificationsListRequest", "one", der: NotificationCommands.retrieveRequest(seqNumber: 300),
                                     value: ["searchCriteria": V.choice("seqNumber", 300)]) {
            try expectParsed(try NotificationCommands.parseRetrieveRequest(try TLV(der: $0, object: "test")), 300)
        })
        for count in [0, pending.count] {
            let items = Array(pending.prefix(count))
            cases.append(ConformanceCase("RetrieveNotificationsListResponse", "\(count) items", der: NotificationCommands.retrieveResponse(items.map(\.0)),
                                         value: V.choice("notificationList", items.map(\.1))) {
                try expectParsed(try NotificationCommands.parseRetrieve($0), items.map(\.0))
            })
        }
        cases.append(ConformanceCase("NotificationSentRequest", "seq 70000", der: NotificationCommands.removeRequest(seqNumber: 70_000), value: ["seqNumber": 70_000]))
        for status in [0, 1, 127] {
            cases.append(ConformanceCase("NotificationSentResponse", "status \(status)", der: NotificationCommands.removeResponse(status: status),
                                         value: ["deleteNotificationStatus": status]) {
                try expectParsed(try NotificationCommands.parseRemove($0), status)
            })
        }
        return cases
    }

    // MARK: ES10c

    func profileManagement() -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        let aid: [UInt8] = [0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0, 0, 0x11, 0]
        let identifiers: [(ProfileIdentifier, Any)] = [
            (.iccid(Self.iccid20), V.choice("iccid", V.octets(hex: Self.iccid20Swapped))),
            (.isdpAid(aid), V.choice("isdpAid", V.octets(aid))),
        ]
        for (identifier, value) in identifiers {
            for refresh in [true, false] {
                for (type, der) in [("EnableProfileRequest", ES10c.enableRequest(identifier, refresh: refresh)),
                                    ("DisableProfileRequest", ES10c.disableRequest(identifier, refresh: refresh))] {
                    cases.append(ConformanceCase(type, "\(identifier), refresh \(refresh)", der: der, value: ["profileIdentifier": value, "refreshFlag": refresh]) {
                        let parsed = try ES10c.parseSwitchRequest(try TLV(der: $0, object: "test"))
                        try expectParsed(parsed.profile, identifier)
                        try expectParsed(parsed.refresh, refresh)
                    })
                }
            }
            cases.append(ConformanceCase("DeleteProfileRequest", "\(identifier)", der: ES10c.deleteRequest(identifier), value: value) {
                try expectParsed(try ES10c.parseDeleteRequest(try TLV(der: $0, object: "test")), identifier)
            })
        }
        for (type, tag, field) in [("EnableProfileResponse", RSPTag.enableProfile, "enableResult"),
                                   ("DisableProfileResponse", RSPTag.disableProfile, "disableResult"),
                                   ("DeleteProfileResponse", RSPTag.deleteProfile, "deleteResult")] {
            for code in [0, 2, 127] {
                cases.append(ConformanceCase(type, "result \(code)", der: ES10c.resultResponse(tag: tag, code: code), value: [field: code]) {
                    try expectParsed(try ES10c.parseResult($0, tag: tag), code)
                })
            }
        }
        let profiles = [
            ProfileInfo(iccid: Self.iccid20, isdpAid: aid, enabled: true, serviceProviderName: "Op", profileName: "IoT"),
            ProfileInfo(iccid: Self.iccid19, isdpAid: aid, enabled: false, serviceProviderName: "", profileName: String(repeating: "N", count: 64), profileClass: 0),
        ]
        let values: [[String: Any]] = [
            ["iccid": V.octets(hex: Self.iccid20Swapped), "isdpAid": V.octets(aid), "profileState": 1,
             "serviceProviderName": "Op", "profileName": "IoT", "profileClass": "operational"],
            ["iccid": V.octets(hex: Self.iccid19Swapped), "isdpAid": V.octets(aid), "profileState": 0,
             "serviceProviderName": "", "profileName": String(repeating: "N", count: 64), "profileClass": 0],
        ]
        for (profile, value) in zip(profiles, values) {
            cases.append(ConformanceCase("ProfileInfo", profile.iccid, der: profile.der, value: value) {
                try expectParsed(try ProfileInfo.parseList(TLV.encode(RSPTag.profileInfoList, TLV.encode(0xA0, $0))), [profile])
            })
        }
        for count in [0, 2] {
            cases.append(ConformanceCase("ProfileInfoListResponse", "\(count) profiles", der: ProfileInfo.listResponse(Array(profiles.prefix(count))),
                                         value: V.choice("profileInfoListOk", Array(values.prefix(count)))) {
                try expectParsed(try ProfileInfo.parseList($0), Array(profiles.prefix(count)))
            })
        }
        cases.append(ConformanceCase("GetEuiccDataResponse", "EID", der: ES10c.eidResponse(Self.eid), value: ["eidValue": V.octets(hex: Self.eid)]) {
            try expectParsed(try ES10c.parseEID($0), Self.eid)
        })
        return cases
    }

    // MARK: Profile Package (PEDefinitions subset)

    func profileElements() throws -> [ConformanceCase] {
        var cases: [ConformanceCase] = []
        for (iccid, e118, type) in [(Self.iccid20, Self.iccid20E118, "Test"), (Self.iccid19, Self.iccid19E118, "")] {
            let package = ProfilePackage(iccid: iccid, profileType: type)
            let elements = try ProfilePackage.elements(of: package.encoded(fillerElements: 2, fillerSize: 300) { [UInt8](repeating: UInt8($0), count: 300) })
            var header: [String: Any] = [
                "major-version": 2, "minor-version": 3, "iccid": V.octets(hex: e118),
                "eUICC-Mandatory-services": ["usim": V.null, "milenage": V.null], "eUICC-Mandatory-GFSTEList": [Any](),
            ]
            if !type.isEmpty { header["profileType"] = type }
            cases.append(ConformanceCase("ProfileElement", "header \(iccid)", der: Array(elements[0].encoded), value: V.choice("header", header)) {
                try expectParsed(try ProfilePackage(headerOf: $0), package)
            })
            for index in 1...2 {
                cases.append(ConformanceCase("ProfileElement", "genericFileManagement \(index)", der: Array(elements[index].encoded), value: V.choice("genericFileManagement", [
                    "gfm-header": ["identification": index],
                    "fileManagementCMD": [[V.choice("fillFileContent", V.octets([UInt8](repeating: UInt8(index - 1), count: 300)))]],
                ])))
            }
            cases.append(ConformanceCase("ProfileElement", "end", der: Array(elements[3].encoded), value: V.choice("end", ["end-header": ["identification": 3]])))
        }
        return cases
    }
}
