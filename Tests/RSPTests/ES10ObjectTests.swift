import Testing
@testable import RSP

/// Round trips of every ES10 object, and each parser fed truncated, corrupted and wrong-tag input.
@Suite struct ES10ObjectTests {
    static let transactionId: [UInt8] = [0xA1, 0xB2, 0xC3, 0xD4, 0x01, 0x02, 0x03, 0x04]
    static let challenge = [UInt8](repeating: 0x5C, count: 16)
    static let certificate = TLV.encode(0x30, TLV.encode(0x04, [UInt8](repeating: 0x01, count: 40)))

    static let info2 = EUICCInfo2(
        profileVersion: [2, 3, 1], svn: [2, 2, 2], firmwareVersion: [1, 0, 0], extCardResource: [0x81, 0x01, 0x00],
        uiccCapability: [0x06, 0x7F, 0xC0], rspCapability: [0x05, 0x60], ciPKIdsForVerification: [[1, 2, 3]],
        ciPKIdsForSigning: [[1, 2, 3]], ppVersion: [2, 3, 0], sasAccreditationNumber: "SIM-SAS-01"
    )
    static let ctx = CtxParams1(matchingId: "MATCH-1", deviceInfo: DeviceInfo(imei: "356938035643809")!)

    /// All encodings the eUICC or SM-DP+ produce, with the parser that reads each.
    static var samples: [(name: String, der: [UInt8], parse: ([UInt8]) throws -> Void)] {
        let signed1 = EuiccSigned1(transactionId: transactionId, serverAddress: "smdp.test", serverChallenge: challenge, euiccInfo2: info2, ctxParams1: ctx)
        let metadata = NotificationMetadata(seqNumber: 7, event: .install, notificationAddress: "smdp.test", iccid: "8949000000000000012")
        let pir = ProfileInstallationResult(
            data: ProfileInstallationResultData(transactionId: transactionId, notificationMetadata: metadata, smdpOid: [0x2B, 0x06, 0x01], finalResult: .success(aid: [0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 1], simaResponse: [0x30, 0x03, 0x80, 0x01, 0x00])),
            signature: [UInt8](repeating: 9, count: 64)
        )
        let other = OtherSignedNotification(metadata: NotificationMetadata(seqNumber: 8, event: .enable, notificationAddress: "smdp.test", iccid: "8949000000000000012"), signature: [UInt8](repeating: 3, count: 64), euiccCertificate: certificate, eumCertificate: certificate)
        let isc = InitialiseSecureChannelRequest(transactionId: transactionId, hostId: [1, 2], smdpOtpk: [4] + [UInt8](repeating: 1, count: 64), smdpSign: [UInt8](repeating: 2, count: 64))
        return [
            ("EUICCInfo1", EUICCInfo1(svn: [2, 2, 2], ciPKIdsForVerification: [[1, 2, 3]], ciPKIdsForSigning: [[1, 2, 3], [4, 5]]).der, { _ = try EUICCInfo1(der: $0) }),
            ("EUICCInfo2", info2.der, { _ = try EUICCInfo2(der: $0) }),
            ("Challenge", EUICCChallenge(challenge: challenge).der, { _ = try EUICCChallenge(der: $0) }),
            ("AuthenticateServerRequest", AuthenticateServerRequest(
                serverSigned1: ServerSigned1(transactionId: transactionId, euiccChallenge: challenge, serverAddress: "smdp.test", serverChallenge: challenge),
                serverSignature1: [UInt8](repeating: 7, count: 64), euiccCiPKIdToBeUsed: [1, 2, 3], serverCertificate: certificate, ctxParams1: ctx
            ).der, { _ = try AuthenticateServerRequest(der: $0) }),
            ("AuthenticateServerResponse.ok", AuthenticateServerResponse.ok(.init(euiccSigned1: signed1, euiccSignature1: [UInt8](repeating: 1, count: 64), euiccCertificate: certificate, eumCertificate: certificate)).der, { _ = try AuthenticateServerResponse(der: $0) }),
            ("AuthenticateServerResponse.error", AuthenticateServerResponse.error(transactionId: transactionId, code: 6).der, { _ = try AuthenticateServerResponse(der: $0) }),
            ("PrepareDownloadRequest", PrepareDownloadRequest(smdpSigned2: SmdpSigned2(transactionId: transactionId, ccRequired: true), smdpSignature2: [UInt8](repeating: 4, count: 64), hashCc: [UInt8](repeating: 5, count: 32), smdpCertificate: certificate).der, { _ = try PrepareDownloadRequest(der: $0) }),
            ("PrepareDownloadResponse.ok", PrepareDownloadResponse.ok(euiccSigned2: EUICCSigned2(transactionId: transactionId, euiccOtpk: [4] + [UInt8](repeating: 6, count: 64)), euiccSignature2: [UInt8](repeating: 6, count: 64)).der, { _ = try PrepareDownloadResponse(der: $0) }),
            ("ProfileInstallationResult", pir.encoded, { _ = try ProfileInstallationResult(der: $0) }),
            ("OtherSignedNotification", other.encoded, { _ = try PendingNotification(der: $0) }),
            ("ListNotification", NotificationCommands.listResponse([metadata, other.metadata]), { _ = try NotificationCommands.parseList($0) }),
            ("RetrieveNotificationsList", NotificationCommands.retrieveResponse([.profileInstallationResult(pir), .other(other)]), { _ = try NotificationCommands.parseRetrieve($0) }),
            ("NotificationSent", NotificationCommands.removeResponse(status: 0), { _ = try NotificationCommands.parseRemove($0) }),
            ("ProfileInfoList", ProfileInfo.listResponse([ProfileInfo(iccid: "8949000000000000012", isdpAid: [0xA0, 0, 0, 5, 0x59, 0x10, 0x10, 1], enabled: true, serviceProviderName: "Op", profileName: "IoT")]), { _ = try ProfileInfo.parseList($0) }),
            ("GetEID", ES10c.eidResponse("89049032123451234512345678901235"), { _ = try ES10c.parseEID($0) }),
            ("EnableResult", ES10c.resultResponse(tag: RSPTag.enableProfile, code: 0), { _ = try ES10c.parseResult($0, tag: RSPTag.enableProfile) }),
            ("CancelSession", CancelSession.response(signed: EuiccCancelSessionSigned(transactionId: transactionId, smdpOid: [0x2B], reason: 5), signature: [UInt8](repeating: 1, count: 64)), { _ = try CancelSession.parseResponse($0) }),
            ("StoreMetadata", StoreMetadataRequest(iccid: "8949000000000000012", serviceProviderName: "Op", profileName: "IoT", notificationConfiguration: [(.install, "smdp.test")]).der, { _ = try StoreMetadataRequest(der: $0) }),
            ("InitialiseSecureChannel", isc.der, { _ = try InitialiseSecureChannelRequest(tlv: try TLV(der: $0, object: "test")) }),
        ]
    }

    @Test func everySampleParses() throws {
        for sample in Self.samples {
            do { try sample.parse(sample.der) } catch { Issue.record("\(sample.name): \(error) \(Hex.string(sample.der))") }
        }
    }

    @Test func roundTripsKeepEveryField() throws {
        let request = try AuthenticateServerRequest(der: Self.samples[3].der)
        #expect(request.ctxParams1.matchingId == "MATCH-1")
        #expect(request.ctxParams1.deviceInfo.imeiDigits == "356938035643809")
        #expect(request.ctxParams1.deviceInfo.tac == [0x35, 0x69, 0x38, 0x03])
        #expect(request.der == Self.samples[3].der)
        guard case .ok(let ok) = try AuthenticateServerResponse(der: Self.samples[4].der) else {
            Issue.record("expected ok")
            return
        }
        #expect(ok.euiccSigned1.euiccInfo2 == Self.info2)
        #expect(ok.euiccSigned1.serverChallenge == Self.challenge)
        #expect(try AuthenticateServerResponse(der: Self.samples[5].der) == .error(transactionId: Self.transactionId, code: 6))
        let notifications = try NotificationCommands.parseRetrieve(Self.samples[11].der)
        #expect(notifications.map(\.metadata.seqNumber) == [7, 8])
        #expect(notifications.map(\.metadata.event) == [.install, .enable])
        #expect(notifications[0].metadata.iccid == "8949000000000000012")
        #expect(try ES10c.parseEID(Self.samples[14].der) == "89049032123451234512345678901235")
        let metadata = try StoreMetadataRequest(der: Self.samples[17].der)
        #expect(metadata.iccid == "8949000000000000012" && metadata.profileName == "IoT")
        #expect(metadata.notificationConfiguration.first?.address == "smdp.test")
    }

    @Test func truncatedInputIsAnErrorForEveryParser() {
        for sample in Self.samples {
            for length in 0..<sample.der.count {
                do {
                    try sample.parse(Array(sample.der.prefix(length)))
                    Issue.record("\(sample.name) accepted \(length) of \(sample.der.count) bytes")
                } catch {}
            }
        }
    }

    @Test func wrongOuterTagIsNamed() {
        var bytes = EUICCChallenge(challenge: Self.challenge).der
        bytes[1] = 0x20
        #expect(throws: RSPError.unexpectedTag(object: "BF2E GetEuiccChallengeResponse", expected: 0xBF2E, found: 0xBF20)) {
            try EUICCChallenge(der: bytes)
        }
    }

    @Test func hostileCorruptionNeverCrashes() {
        var generator = SplitMix(seed: 0xC0FFEE)
        for sample in Self.samples {
            for _ in 0..<300 {
                var bytes = sample.der
                for _ in 0..<(1 + Int(generator.next() % 3)) {
                    bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
                }
                try? sample.parse(bytes)
            }
            // Random garbage of random length.
            for _ in 0..<100 {
                let garbage = (0..<Int(generator.next() % 300)).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
                try? sample.parse(garbage)
            }
        }
        // Deep nesting and huge declared lengths.
        let deep = (0..<500).reduce([UInt8]([0x80, 0x00])) { inner, _ in TLV.encode(0xA0, inner) }
        #expect(throws: RSPError.self) { try TLV(der: deep, object: "deep") }
        #expect(throws: RSPError.self) { try TLV(der: [0xBF, 0x38, 0x84, 0xFF, 0xFF, 0xFF, 0xFF], object: "huge") }
    }

    @Test func integersAndBooleansAreStrict() throws {
        #expect(try TLV(der: [0x80, 0x01, 0x7F], object: "t").integer(field: "f", in: "t") == 127)
        #expect(try TLV(der: [0x80, 0x02, 0x00, 0x80], object: "t").integer(field: "f", in: "t") == 128)
        #expect(try TLV(der: [0x80, 0x01, 0xFF], object: "t").integer(field: "f", in: "t") == -1)
        #expect(throws: RSPError.self) { try TLV(der: [0x80, 0x02, 0x00, 0x01], object: "t").integer(field: "f", in: "t") }
        #expect(throws: RSPError.self) { try TLV(der: [0x80, 0x00], object: "t").integer(field: "f", in: "t") }
        #expect(throws: RSPError.self) { try TLV(der: [0x01, 0x01, 0x01], object: "t").boolean(field: "f", in: "t") }
        #expect(TLV.integerValue(128) == [0x00, 0x80])
        #expect(TLV.integerValue(-129) == [0xFF, 0x7F])
        #expect(TLV.integerValue(0) == [0x00])
    }

    @Test func bcdEncodings() {
        #expect(BCD.swapped("8949000000000000012", byteCount: 10) == [0x98, 0x94, 0, 0, 0, 0, 0, 0, 0x10, 0xF2])
        #expect(BCD.swappedDigits([0x98, 0x94, 0, 0, 0, 0, 0, 0, 0x10, 0xF2]) == "8949000000000000012")
        #expect(BCD.packed("8904") == [0x89, 0x04])
        #expect(BCD.packed("890") == nil)
        #expect(BCD.packed("8949000000000000012", byteCount: 10) == [0x89, 0x49, 0, 0, 0, 0, 0, 0, 0x01, 0x2F])
        #expect(BCD.packedDigitsPadded([0x89, 0x49, 0, 0, 0, 0, 0, 0, 0x01, 0x2F]) == "8949000000000000012")
        #expect(BCD.packedDigitsPadded([0x89, 0xF9]) == nil)
        #expect(BCD.swapped("12a", byteCount: 2) == nil)
        #expect(NotificationEvent(bitStringValue: [0x07, 0x80]) == .install)
        #expect(NotificationEvent(bitStringValue: [0x04, 0x10]) == .delete)
        #expect(NotificationEvent(bitStringValue: [0x06, 0xC0]) == nil)
    }

    @Test func profilePackageHeader() throws {
        let package = ProfilePackage(iccid: "8949000000000000012", profileType: "IoT-LTE-M")
        let encoded = package.encoded(fillerElements: 3, fillerSize: 500) { [UInt8](repeating: UInt8($0), count: 500) }
        let read = try ProfilePackage(headerOf: encoded)
        #expect(read == package)
        #expect(try ProfilePackage.elements(of: encoded).count == 5)
        #expect(throws: RSPError.self) { try ProfilePackage(headerOf: Array(encoded.prefix(10))) }
        // ProfileHeader.iccid is in E.118 digit order, not swapped like EF.ICCID.
        let iccid = try TLV(der: package.headerElement, object: "test").requiredChild(0x83, in: "test")
        #expect(iccid.bytes == [0x89, 0x49, 0, 0, 0, 0, 0, 0, 0x01, 0x2F])
        // A swapped header ICCID (a field deviation) is still read.
        var swapped = package
        swapped.swapsHeaderICCID = true
        #expect(try ProfilePackage(headerOf: swapped.headerElement).iccid == package.iccid)
        #expect(throws: RSPError.self) { try ProfilePackage.elements(of: Array(encoded.dropLast())) }
    }
}
