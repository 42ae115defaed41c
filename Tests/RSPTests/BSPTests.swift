import Testing
@testable import RSP

@Suite struct BSPTests {
    static let secret = (0..<32).map { UInt8($0) }
    static let eid = BCD.packed("89049032123451234512345678901235")!

    static func pair() throws -> (BSPSession, BSPSession) {
        let a = try BSPSession(sharedSecret: secret, keyType: 0x88, keyLength: 0x10, hostId: Array("hostid".utf8), eid: eid)
        let b = try BSPSession(sharedSecret: secret, keyType: 0x88, keyLength: 0x10, hostId: Array("hostid".utf8), eid: eid)
        return (a, b)
    }

    @Test func bothEndsDeriveTheSameKeysAndRoundTrip() throws {
        var (smdp, euicc) = try Self.pair()
        #expect(smdp.sEnc.count == 16 && smdp.sMac.count == 16 && smdp.macChainingValue.count == 16)
        #expect(smdp.sEnc != smdp.sMac)
        let configure = PackageCommands.configureISDP()
        let metadata = StoreMetadataRequest(iccid: "8949000000000000012", serviceProviderName: "Op", profileName: "IoT").der
        let profile = (0..<5000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        let s87 = try smdp.encryptAndMAC(tag: 0x87, configure)
        let s88 = try smdp.macOnly(tag: 0x88, metadata)
        let s86 = try smdp.encryptAndMAC(tag: 0x86, profile)
        #expect(s87.count == 1 && s88.count == 1 && s86.count == 5)
        #expect(s86.allSatisfy { $0.count <= BSPSession.maximumSegmentSize && $0[0] == 0x86 })
        #expect(try euicc.verifyAndDecrypt(s87[0]) == configure)
        #expect(try euicc.verifyOnly(s88[0]) == metadata)
        var rebuilt: [UInt8] = []
        for segment in s86 { rebuilt += try euicc.verifyAndDecrypt(segment) }
        #expect(rebuilt == profile)
    }

    @Test func tamperedOrReorderedSegmentsFail() throws {
        var (smdp, _) = try Self.pair()
        let segments = try smdp.encryptAndMAC(tag: 0x86, [UInt8](repeating: 7, count: 3000))
        for position in [10, 100, segments[0].count - 1] {
            var (_, euicc) = try Self.pair()
            var tampered = segments[0]
            tampered[position] ^= 0x01
            #expect(throws: BSPSession.Failure.macMismatch) { try euicc.verifyAndDecrypt(tampered) }
        }
        var (_, euicc) = try Self.pair()
        #expect(throws: BSPSession.Failure.macMismatch) { try euicc.verifyAndDecrypt(segments[1]) }
        var (_, other) = try Self.pair()
        #expect(throws: BSPSession.Failure.self) { try other.verifyAndDecrypt([0x86, 0x02, 0x00, 0x00]) }
    }

    @Test func keyDerivationFollowsSection2642() throws {
        // Z = 00..1F, sharedInfo = 88 10 06 "hostid" 10 EID; computed with `openssl kdf -kdfopt digest:SHA256 X963KDF`.
        let session = try BSPSession(sharedSecret: Self.secret, keyType: 0x88, keyLength: 0x10, hostId: Array("hostid".utf8), eid: Self.eid)
        let expected = Hex.bytes(expectedKDFOutput)!
        #expect(session.macChainingValue == Array(expected[0..<16]))
        #expect(session.sEnc == Array(expected[16..<32]))
        #expect(session.sMac == Array(expected[32..<48]))
        #expect(throws: BSPSession.Failure.self) { try BSPSession(sharedSecret: Self.secret, keyType: 0x80, keyLength: 0x10, hostId: [], eid: Self.eid) }
    }
}
let expectedKDFOutput = "4FCFDD46AD45254C71EA089A38082825566A499CC7DD10A337FC56DE8AF61EAF150C1C292D8C28B419E1ABD2E585B846"
