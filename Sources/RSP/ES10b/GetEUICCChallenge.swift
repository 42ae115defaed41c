/// ES10b.GetEUICCChallenge: the eUICC's one-time challenge that opens a download session.
/// `GetEuiccChallengeResponse ::= [46] SEQUENCE { euiccChallenge Octet16 }` (BF2E).
public struct EUICCChallenge: Sendable, Hashable {
    static let object = "BF2E GetEuiccChallengeResponse"
    public var challenge: [UInt8]

    public init(challenge: [UInt8]) { self.challenge = challenge }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let tlv = try TLV(der: Array(der), object: Self.object).expect(RSPTag.getEuiccChallenge, object: Self.object)
        challenge = try tlv.requiredChild(0x80, in: Self.object).fixedBytes(16, field: "euiccChallenge", in: Self.object)
    }

    public var der: [UInt8] { TLV.encode(RSPTag.getEuiccChallenge, TLV.encode(0x80, challenge)) }
}
