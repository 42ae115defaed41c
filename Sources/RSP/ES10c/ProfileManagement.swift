/// Which profile an ES10c command addresses.
public enum ProfileIdentifier: Sendable, Hashable, CustomStringConvertible {
    case iccid(String)
    case isdpAid([UInt8])

    var encoded: [UInt8] {
        switch self {
        case .iccid(let digits): return TLV.encode(RSPTag.iccid, BCD.swapped(digits, byteCount: 10) ?? [])
        case .isdpAid(let aid): return TLV.encode(RSPTag.aid, aid)
        }
    }

    init(tlv: TLV, object: String) throws(RSPError) {
        switch tlv.tag {
        case RSPTag.iccid:
            guard tlv.value.count == 10, let digits = BCD.swappedDigits(tlv.value) else {
                throw .invalidValue(object: object, field: "iccid", reason: "not a 10-byte BCD ICCID")
            }
            self = .iccid(digits)
        case RSPTag.aid:
            self = .isdpAid(try tlv.bytes(in: 5...16, field: "isdpAid", object: object))
        default:
            throw .unexpectedTag(object: object, expected: RSPTag.iccid, found: tlv.tag)
        }
    }

    public var description: String {
        switch self {
        case .iccid(let digits): return "ICCID \(digits)"
        case .isdpAid(let aid): return "ISD-P " + Hex.string(aid)
        }
    }
}

/// The ES10c profile operations: EnableProfile (BF31), DisableProfile (BF32), DeleteProfile (BF33),
/// GetProfilesInfo (BF2D) and GetEID (BF3E).
public enum ES10c {
    /// The result codes of Enable/Disable/Delete: 0 ok; the others are the eUICC's refusal.
    public enum ResultCode: Int, Sendable, Hashable {
        case ok = 0, iccidOrAidNotFound = 1, profileNotInExpectedState = 2, disallowedByPolicy = 3
        case wrongProfileReenabling = 4, catBusy = 5, undefinedError = 127
    }

    public static func enableRequest(_ profile: ProfileIdentifier, refresh: Bool = true) -> [UInt8] {
        TLV.encode(RSPTag.enableProfile, children: [TLV.encode(0xA0, profile.encoded), TLV.boolean(0x81, refresh)])
    }

    public static func disableRequest(_ profile: ProfileIdentifier, refresh: Bool = true) -> [UInt8] {
        TLV.encode(RSPTag.disableProfile, children: [TLV.encode(0xA0, profile.encoded), TLV.boolean(0x81, refresh)])
    }

    public static func deleteRequest(_ profile: ProfileIdentifier) -> [UInt8] {
        TLV.encode(RSPTag.deleteProfile, profile.encoded)
    }

    /// Reads an Enable/Disable request (eUICC side).
    public static func parseSwitchRequest(_ tlv: TLV) throws(RSPError) -> (profile: ProfileIdentifier, refresh: Bool) {
        let object = "\(TLV.tagString(tlv.tag)) profile request"
        let wrapper = try tlv.requiredChild(0xA0, in: object)
        guard let inner = wrapper.children.first else { throw .missingElement(object: object, tag: RSPTag.iccid) }
        let refresh = try tlv.child(0x81)?.boolean(field: "refreshFlag", in: object) ?? false
        return (try ProfileIdentifier(tlv: inner, object: object), refresh)
    }

    /// Reads a Delete request (eUICC side).
    public static func parseDeleteRequest(_ tlv: TLV) throws(RSPError) -> ProfileIdentifier {
        let object = "BF33 DeleteProfileRequest"
        guard let inner = tlv.children.first else { throw .missingElement(object: object, tag: RSPTag.iccid) }
        return try ProfileIdentifier(tlv: inner, object: object)
    }

    /// The result code of an Enable/Disable/Delete response with `tag`.
    public static func parseResult(_ der: some Collection<UInt8>, tag: UInt32) throws(RSPError) -> Int {
        let object = "\(TLV.tagString(tag)) response"
        let tlv = try TLV(der: Array(der), object: object).expect(tag, object: object)
        return try tlv.requiredChild(0x80, in: object).integer(field: "result", in: object)
    }

    public static func resultResponse(tag: UInt32, code: Int) -> [UInt8] {
        TLV.encode(tag, TLV.integer(0x80, code))
    }

    /// `ProfileInfoListRequest` (BF2D) for all profiles.
    public static let profilesInfoRequest: [UInt8] = [0xBF, 0x2D, 0x00]

    /// `GetEuiccDataRequest` (BF3E) asking for the EID (tag list `5A`).
    public static let getEIDRequest: [UInt8] = [0xBF, 0x3E, 0x03, 0x5C, 0x01, 0x5A]

    /// Parses a `GetEuiccDataResponse` into the EID digits.
    public static func parseEID(_ der: some Collection<UInt8>) throws(RSPError) -> String {
        let object = "BF3E GetEuiccDataResponse"
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.getEuiccData, object: object)
        let value = try tlv.requiredChild(RSPTag.iccid, in: object).fixedBytes(16, field: "eidValue", in: object)
        guard let digits = BCD.packedDigits(value) else {
            throw .invalidValue(object: object, field: "eidValue", reason: "not BCD")
        }
        return digits
    }

    public static func eidResponse(_ eid: String) -> [UInt8] {
        TLV.encode(RSPTag.getEuiccData, TLV.encode(RSPTag.iccid, BCD.packed(eid) ?? []))
    }
}

/// `ProfileInfo ::= [PRIVATE 3] SEQUENCE` (E3): one installed profile as GetProfilesInfo lists it.
public struct ProfileInfo: Sendable, Hashable, Codable {
    static let object = "E3 ProfileInfo"
    public var iccid: String
    public var isdpAid: [UInt8]
    public var enabled: Bool
    public var serviceProviderName: String
    public var profileName: String
    public var profileClass: Int

    public init(iccid: String, isdpAid: [UInt8], enabled: Bool, serviceProviderName: String, profileName: String, profileClass: Int = 2) {
        self.iccid = iccid
        self.isdpAid = isdpAid
        self.enabled = enabled
        self.serviceProviderName = serviceProviderName
        self.profileName = profileName
        self.profileClass = profileClass
    }

    init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.profileInfo, object: object)
        guard case .iccid(let digits) = try ProfileIdentifier(tlv: try tlv.requiredChild(RSPTag.iccid, in: object), object: object) else {
            throw .missingElement(object: object, tag: RSPTag.iccid)
        }
        iccid = digits
        isdpAid = tlv.child(RSPTag.aid)?.bytes ?? []
        enabled = try tlv.requiredChild(RSPTag.profileState, in: object).integer(field: "profileState", in: object) == 1
        serviceProviderName = try tlv.child(0x91)?.utf8(field: "serviceProviderName", in: object) ?? ""
        profileName = try tlv.child(0x92)?.utf8(field: "profileName", in: object) ?? ""
        profileClass = try tlv.child(0x95)?.integer(field: "profileClass", in: object) ?? 2
    }

    /// DER: `profileClass [21] ProfileClass DEFAULT operational` is left out when it is operational (2).
    public var der: [UInt8] {
        var children = [
            ProfileIdentifier.iccid(iccid).encoded, TLV.encode(RSPTag.aid, isdpAid),
            TLV.integer(RSPTag.profileState, enabled ? 1 : 0),
            TLV.utf8(0x91, serviceProviderName), TLV.utf8(0x92, profileName),
        ]
        if profileClass != 2 { children.append(TLV.integer(0x95, profileClass)) }
        return TLV.encode(RSPTag.profileInfo, children: children)
    }

    /// Parses a `ProfileInfoListResponse` (BF2D).
    public static func parseList(_ der: some Collection<UInt8>) throws(RSPError) -> [ProfileInfo] {
        let object = "BF2D ProfileInfoListResponse"
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.profileInfoList, object: object)
        if let error = tlv.child(0x81) {
            throw .euiccError(command: "GetProfilesInfo", code: try error.integer(field: "profileInfoListError", in: object))
        }
        return try tlv.requiredChild(0xA0, in: object).children.map { item throws(RSPError) in try ProfileInfo(tlv: item) }
    }

    public static func listResponse(_ profiles: [ProfileInfo]) -> [UInt8] {
        TLV.encode(RSPTag.profileInfoList, TLV.encode(0xA0, children: profiles.map(\.der)))
    }
}
