/// `EUICCInfo1 ::= [32] SEQUENCE` (tag BF20): what the LPA sends to the SM-DP+ in initiateAuthentication.
public struct EUICCInfo1: Sendable, Hashable {
    static let object = "BF20 EUICCInfo1"
    /// `svn [2] VersionType`: the SGP.22 version the eUICC implements (three bytes, e.g. 02 02 00).
    public var svn: [UInt8]
    /// `euiccCiPKIdListForVerification [9]`: subject key identifiers of the CIs whose signatures it verifies.
    public var ciPKIdsForVerification: [[UInt8]]
    /// `euiccCiPKIdListForSigning [10]`: subject key identifiers of the CIs its own certificates chain to.
    public var ciPKIdsForSigning: [[UInt8]]

    public init(svn: [UInt8], ciPKIdsForVerification: [[UInt8]], ciPKIdsForSigning: [[UInt8]]) {
        self.svn = svn
        self.ciPKIdsForVerification = ciPKIdsForVerification
        self.ciPKIdsForSigning = ciPKIdsForSigning
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let tlv = try TLV(der: Array(der), object: Self.object).expect(RSPTag.getEuiccInfo1, object: Self.object)
        svn = try tlv.requiredChild(0x82, in: Self.object).fixedBytes(3, field: "svn", in: Self.object)
        ciPKIdsForVerification = try tlv.requiredChild(0xA9, in: Self.object).children.map { item throws(RSPError) in
            try item.expect(RSPTag.octetString, object: Self.object).bytes(in: 1...64, field: "euiccCiPKId", object: Self.object)
        }
        ciPKIdsForSigning = try tlv.requiredChild(0xAA, in: Self.object).children.map { item throws(RSPError) in
            try item.expect(RSPTag.octetString, object: Self.object).bytes(in: 1...64, field: "euiccCiPKId", object: Self.object)
        }
    }

    public var der: [UInt8] {
        TLV.encode(RSPTag.getEuiccInfo1, children: [
            TLV.encode(0x82, svn),
            TLV.encode(0xA9, children: ciPKIdsForVerification.map { TLV.encode(RSPTag.octetString, $0) }),
            TLV.encode(0xAA, children: ciPKIdsForSigning.map { TLV.encode(RSPTag.octetString, $0) }),
        ])
    }
}

/// `EUICCInfo2 ::= [34] SEQUENCE` (tag BF22): the eUICC's capabilities, signed inside euiccSigned1.
///
/// Only the mandatory elements and the ones an IoT eUICC reports are modelled; unknown elements are kept as
/// they arrived in `encoded` so a parsed copy forwards unchanged.
public struct EUICCInfo2: Sendable, Hashable {
    static let object = "BF22 EUICCInfo2"
    public var profileVersion: [UInt8]
    public var svn: [UInt8]
    public var firmwareVersion: [UInt8]
    /// `extCardResource [4]`: installed applications, free non-volatile and volatile memory (TLVs 81/82/83).
    public var extCardResource: [UInt8]
    /// `uiccCapability [5] BIT STRING`, as the BIT STRING value (unused-bit count then bits).
    public var uiccCapability: [UInt8]
    /// `rspCapability [8] BIT STRING`, as the BIT STRING value.
    public var rspCapability: [UInt8]
    public var ciPKIdsForVerification: [[UInt8]]
    public var ciPKIdsForSigning: [[UInt8]]
    /// `ppVersion VersionType`: the supported Profile Package version.
    public var ppVersion: [UInt8]
    /// `sasAcreditationNumber UTF8String`.
    public var sasAccreditationNumber: String

    public init(
        profileVersion: [UInt8], svn: [UInt8], firmwareVersion: [UInt8], extCardResource: [UInt8],
        uiccCapability: [UInt8], rspCapability: [UInt8], ciPKIdsForVerification: [[UInt8]],
        ciPKIdsForSigning: [[UInt8]], ppVersion: [UInt8], sasAccreditationNumber: String
    ) {
        self.profileVersion = profileVersion
        self.svn = svn
        self.firmwareVersion = firmwareVersion
        self.extCardResource = extCardResource
        self.uiccCapability = uiccCapability
        self.rspCapability = rspCapability
        self.ciPKIdsForVerification = ciPKIdsForVerification
        self.ciPKIdsForSigning = ciPKIdsForSigning
        self.ppVersion = ppVersion
        self.sasAccreditationNumber = sasAccreditationNumber
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        try self.init(tlv: try TLV(der: Array(der), object: Self.object))
    }

    init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.getEuiccInfo2, object: object)
        profileVersion = try tlv.requiredChild(0x81, in: object).fixedBytes(3, field: "profileVersion", in: object)
        svn = try tlv.requiredChild(0x82, in: object).fixedBytes(3, field: "svn", in: object)
        firmwareVersion = try tlv.requiredChild(0x83, in: object).fixedBytes(3, field: "euiccFirmwareVer", in: object)
        extCardResource = try tlv.requiredChild(0x84, in: object).bytes
        uiccCapability = try tlv.requiredChild(0x85, in: object).bytes(in: 1...16, field: "uiccCapability", object: object)
        rspCapability = try tlv.requiredChild(0x88, in: object).bytes(in: 1...16, field: "rspCapability", object: object)
        ciPKIdsForVerification = try tlv.requiredChild(0xA9, in: object).children.map { $0.bytes }
        ciPKIdsForSigning = try tlv.requiredChild(0xAA, in: object).children.map { $0.bytes }
        ppVersion = try tlv.requiredChild(RSPTag.octetString, in: object).fixedBytes(3, field: "ppVersion", in: object)
        sasAccreditationNumber = try tlv.requiredChild(RSPTag.utf8String, in: object)
            .utf8(field: "sasAcreditationNumber", in: object)
    }

    public var der: [UInt8] {
        TLV.encode(RSPTag.getEuiccInfo2, children: [
            TLV.encode(0x81, profileVersion),
            TLV.encode(0x82, svn),
            TLV.encode(0x83, firmwareVersion),
            TLV.encode(0x84, extCardResource),
            TLV.encode(0x85, uiccCapability),
            TLV.encode(0x88, rspCapability),
            TLV.encode(0xA9, children: ciPKIdsForVerification.map { TLV.encode(RSPTag.octetString, $0) }),
            TLV.encode(0xAA, children: ciPKIdsForSigning.map { TLV.encode(RSPTag.octetString, $0) }),
            TLV.encode(RSPTag.octetString, ppVersion),
            TLV.utf8(RSPTag.utf8String, sasAccreditationNumber),
        ])
    }
}
