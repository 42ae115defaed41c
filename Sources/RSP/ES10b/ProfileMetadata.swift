/// `StoreMetadataRequest ::= [37] SEQUENCE` (BF25): the profile's metadata, sent to the LPA as
/// `profileMetadata` in authenticateClient and to the eUICC inside the package's `88` segments.
public struct StoreMetadataRequest: Sendable, Hashable {
    static let object = "BF25 StoreMetadataRequest"
    public var iccid: String
    public var serviceProviderName: String
    public var profileName: String
    /// `profileClass [21]`: 0 test, 1 provisioning, 2 operational (the default when absent).
    public var profileClass: Int
    /// `notificationConfigurationInfo [22]`: which events to notify, and where.
    public var notificationConfiguration: [(event: NotificationEvent, address: String)]

    public init(
        iccid: String, serviceProviderName: String, profileName: String, profileClass: Int = 2,
        notificationConfiguration: [(event: NotificationEvent, address: String)] = []
    ) {
        self.iccid = iccid
        self.serviceProviderName = serviceProviderName
        self.profileName = profileName
        self.profileClass = profileClass
        self.notificationConfiguration = notificationConfiguration
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let object = Self.object
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.storeMetadata, object: object)
        let iccidValue = try tlv.requiredChild(RSPTag.iccid, in: object)
        guard iccidValue.value.count == 10, let digits = BCD.swappedDigits(iccidValue.value), digits.count >= 18 else {
            throw .invalidValue(object: object, field: "iccid", reason: "not a 10-byte BCD ICCID")
        }
        iccid = digits
        serviceProviderName = try tlv.requiredChild(0x91, in: object).utf8(field: "serviceProviderName", in: object)
        profileName = try tlv.requiredChild(0x92, in: object).utf8(field: "profileName", in: object)
        profileClass = try tlv.child(0x95)?.integer(field: "profileClass", in: object) ?? 2
        var configuration: [(event: NotificationEvent, address: String)] = []
        for item in tlv.child(0xB6)?.children ?? [] {
            guard let event = NotificationEvent(bitStringValue: try item.requiredChild(0x80, in: object).value) else {
                throw .invalidValue(object: object, field: "notificationConfigurationInfo", reason: "unknown event")
            }
            configuration.append((event, try item.requiredChild(0x81, in: object).utf8(field: "notificationAddress", in: object)))
        }
        notificationConfiguration = configuration
    }

    public var der: [UInt8] {
        var children = [
            TLV.encode(RSPTag.iccid, BCD.swapped(iccid, byteCount: 10) ?? []),
            TLV.utf8(0x91, serviceProviderName), TLV.utf8(0x92, profileName),
        ]
        if profileClass != 2 { children.append(TLV.integer(0x95, profileClass)) }
        if !notificationConfiguration.isEmpty {
            children.append(TLV.encode(0xB6, children: notificationConfiguration.map {
                TLV.encode(RSPTag.sequence, children: [TLV.encode(0x80, $0.event.bitStringValue), TLV.utf8(0x81, $0.address)])
            }))
        }
        return TLV.encode(RSPTag.storeMetadata, children: children)
    }

    public static func == (lhs: Self, rhs: Self) -> Bool {
        lhs.iccid == rhs.iccid && lhs.serviceProviderName == rhs.serviceProviderName && lhs.profileName == rhs.profileName
            && lhs.profileClass == rhs.profileClass
            && lhs.notificationConfiguration.map { "\($0.event.rawValue)|\($0.address)" }
                == rhs.notificationConfiguration.map { "\($0.event.rawValue)|\($0.address)" }
    }

    public func hash(into hasher: inout Hasher) { hasher.combine(der) }
}

/// `ConfigureISDPRequest ::= [36] SEQUENCE` (BF24) and `ReplaceSessionKeysRequest ::= [38] SEQUENCE` (BF26):
/// the small commands protected inside the package's `87` segments.
public enum PackageCommands {
    /// `ConfigureISDPRequest { dpProprietaryData [24] DpProprietaryData OPTIONAL }` (`B8`), where
    /// `DpProprietaryData ::= SEQUENCE { dpOid OBJECT IDENTIFIER }` tags its component automatically (`80`);
    /// `dpOid` is the content octets of the SM-DP+'s OID.
    public static func configureISDP(dpOid: [UInt8]? = nil) -> [UInt8] {
        TLV.encode(RSPTag.configureISDP, dpOid.map { TLV.encode(0xB8, TLV.encode(0x80, $0)) } ?? [])
    }

    /// `ReplaceSessionKeysRequest { initialMacChainingValue [0], ppkEnc [1], ppkCmac [2] }`.
    public static func replaceSessionKeys(initialMCV: [UInt8], ppkEnc: [UInt8], ppkCmac: [UInt8]) -> [UInt8] {
        TLV.encode(RSPTag.replaceSessionKeys, children: [TLV.encode(0x80, initialMCV), TLV.encode(0x81, ppkEnc), TLV.encode(0x82, ppkCmac)])
    }

    /// Reads a `ReplaceSessionKeysRequest`.
    public static func parseReplaceSessionKeys(_ der: some Collection<UInt8>) throws(RSPError) -> (initialMCV: [UInt8], ppkEnc: [UInt8], ppkCmac: [UInt8]) {
        let object = "BF26 ReplaceSessionKeysRequest"
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.replaceSessionKeys, object: object)
        return (
            try tlv.requiredChild(0x80, in: object).fixedBytes(16, field: "initialMacChainingValue", in: object),
            try tlv.requiredChild(0x81, in: object).fixedBytes(16, field: "ppkEnc", in: object),
            try tlv.requiredChild(0x82, in: object).fixedBytes(16, field: "ppkCmac", in: object)
        )
    }
}

/// ES10b.GetEuiccChallenge, GetEuiccInfo1 and GetEuiccInfo2 requests: empty objects.
public enum EUICCQueries {
    public static let getEuiccChallenge: [UInt8] = [0xBF, 0x2E, 0x00]
    public static let getEuiccInfo1: [UInt8] = [0xBF, 0x20, 0x00]
    public static let getEuiccInfo2: [UInt8] = [0xBF, 0x22, 0x00]
}
