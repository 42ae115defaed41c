/// `NotificationEvent ::= BIT STRING`: the profile operation a notification reports.
public enum NotificationEvent: Int, Sendable, Hashable, CaseIterable, Codable {
    case install = 0, enable = 1, disable = 2, delete = 3

    /// The DER BIT STRING value (unused-bit count, then the bits) with only this event's bit set.
    public var bitStringValue: [UInt8] { [UInt8(7 - rawValue), UInt8(0x80 >> rawValue)] }

    /// The event of a BIT STRING value with exactly one named bit set.
    public init?(bitStringValue value: some Collection<UInt8>) {
        let bytes = Array(value)
        guard bytes.count == 2, bytes[0] <= 7 else { return nil }
        guard let event = NotificationEvent.allCases.first(where: { $0.bitStringValue == bytes }) else { return nil }
        self = event
    }
}

/// `NotificationMetadata ::= [47] SEQUENCE` (BF2F).
public struct NotificationMetadata: Sendable, Hashable {
    static let object = "BF2F NotificationMetadata"
    public var seqNumber: Int
    public var event: NotificationEvent
    /// The SM-DP+ (FQDN) that must receive the notification.
    public var notificationAddress: String
    /// The ICCID (digits) of the profile concerned, when given.
    public var iccid: String?

    public init(seqNumber: Int, event: NotificationEvent, notificationAddress: String, iccid: String?) {
        self.seqNumber = seqNumber
        self.event = event
        self.notificationAddress = notificationAddress
        self.iccid = iccid
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.notificationMetadata, object: object)
        seqNumber = try tlv.requiredChild(0x80, in: object).integer(field: "seqNumber", in: object)
        guard let event = NotificationEvent(bitStringValue: try tlv.requiredChild(0x81, in: object).value) else {
            throw .invalidValue(object: object, field: "profileManagementOperation", reason: "not exactly one known event")
        }
        self.event = event
        notificationAddress = try tlv.requiredChild(RSPTag.utf8String, in: object).utf8(field: "notificationAddress", in: object)
        if let iccidTLV = tlv.child(RSPTag.iccid) {
            guard iccidTLV.value.count == 10, let digits = BCD.swappedDigits(iccidTLV.value) else {
                throw .invalidValue(object: object, field: "iccid", reason: "not a 10-byte BCD ICCID")
            }
            iccid = digits
        } else {
            iccid = nil
        }
    }

    public var der: [UInt8] {
        var children = [
            TLV.integer(0x80, seqNumber), TLV.encode(0x81, event.bitStringValue),
            TLV.utf8(RSPTag.utf8String, notificationAddress),
        ]
        if let iccid, let bcd = BCD.swapped(iccid, byteCount: 10) { children.append(TLV.encode(RSPTag.iccid, bcd)) }
        return TLV.encode(RSPTag.notificationMetadata, children: children)
    }
}

/// `PendingNotification ::= CHOICE { profileInstallationResult [55], otherSignedNotification }`: a signed
/// notification waiting on the eUICC for delivery to an SM-DP+ through ES9+ handleNotification.
public enum PendingNotification: Sendable, Hashable {
    static let object = "PendingNotification"
    case profileInstallationResult(ProfileInstallationResult)
    case other(OtherSignedNotification)

    public init(tlv: TLV) throws(RSPError) {
        switch tlv.tag {
        case RSPTag.profileInstallationResult: self = .profileInstallationResult(try ProfileInstallationResult(tlv: tlv))
        case RSPTag.sequence: self = .other(try OtherSignedNotification(tlv: tlv))
        default: throw .unexpectedTag(object: Self.object, expected: RSPTag.profileInstallationResult, found: tlv.tag)
        }
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        try self.init(tlv: try TLV(der: Array(der), object: Self.object))
    }

    public var metadata: NotificationMetadata {
        switch self {
        case .profileInstallationResult(let result): return result.data.notificationMetadata
        case .other(let other): return other.metadata
        }
    }

    /// The encoded object, exactly as the eUICC produced it: what handleNotification carries.
    public var encoded: [UInt8] {
        switch self {
        case .profileInstallationResult(let result): return result.encoded
        case .other(let other): return other.encoded
        }
    }
}

/// `OtherSignedNotification ::= SEQUENCE`: a signed enable/disable/delete notification.
public struct OtherSignedNotification: Sendable, Hashable {
    static let object = "OtherSignedNotification"
    public var metadata: NotificationMetadata
    /// The exact bytes of `tbsOtherNotification`, over which the signature was computed.
    public var signedBytes: [UInt8]
    public var signature: [UInt8]
    public var euiccCertificate: [UInt8]
    public var eumCertificate: [UInt8]
    public let encoded: [UInt8]

    public init(metadata: NotificationMetadata, signature: [UInt8], euiccCertificate: [UInt8], eumCertificate: [UInt8]) {
        self.metadata = metadata
        signedBytes = metadata.der
        self.signature = signature
        self.euiccCertificate = euiccCertificate
        self.eumCertificate = eumCertificate
        encoded = TLV.encode(RSPTag.sequence, children: [
            signedBytes, TLV.encode(RSPTag.signature, signature), euiccCertificate, eumCertificate,
        ])
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        let items = try tlv.expect(RSPTag.sequence, object: object).children
        guard items.count == 4 else { throw .malformed(object: object, reason: "\(items.count) elements, expected 4") }
        metadata = try NotificationMetadata(tlv: items[0])
        signedBytes = Array(items[0].encoded)
        signature = try items[1].expect(RSPTag.signature, object: object).fixedBytes(64, field: "euiccNotificationSignature", in: object)
        euiccCertificate = Array(try items[2].expect(RSPTag.sequence, object: object).encoded)
        eumCertificate = Array(try items[3].expect(RSPTag.sequence, object: object).encoded)
        encoded = Array(tlv.encoded)
    }
}

/// ES10b.ListNotification, RetrieveNotificationsList and RemoveNotificationFromList (`NotificationSent`).
public enum NotificationCommands {
    /// `ListNotificationRequest` (BF28), optionally filtered by event.
    public static func listRequest(event: NotificationEvent? = nil) -> [UInt8] {
        TLV.encode(RSPTag.listNotification, event.map { TLV.encode(0x81, $0.bitStringValue) } ?? [])
    }

    /// Parses `ListNotificationResponse` (BF28).
    public static func parseList(_ der: some Collection<UInt8>) throws(RSPError) -> [NotificationMetadata] {
        let object = "BF28 ListNotificationResponse"
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.listNotification, object: object)
        if let error = tlv.child(0x81) {
            throw .euiccError(command: "ListNotification", code: try error.integer(field: "listNotificationsResultError", in: object))
        }
        return try tlv.requiredChild(0xA0, in: object).children.map { item throws(RSPError) in try NotificationMetadata(tlv: item) }
    }

    /// Encodes `ListNotificationResponse` (eUICC side).
    public static func listResponse(_ items: [NotificationMetadata]) -> [UInt8] {
        TLV.encode(RSPTag.listNotification, TLV.encode(0xA0, children: items.map(\.der)))
    }

    /// `RetrieveNotificationsListRequest` (BF2B), optionally for one sequence number.
    public static func retrieveRequest(seqNumber: Int? = nil) -> [UInt8] {
        TLV.encode(RSPTag.retrieveNotificationsList, seqNumber.map { TLV.encode(0xA0, TLV.integer(0x80, $0)) } ?? [])
    }

    /// The sequence number a `RetrieveNotificationsListRequest` asks for, if any (eUICC side).
    public static func parseRetrieveRequest(_ tlv: TLV) throws(RSPError) -> Int? {
        let object = "BF2B RetrieveNotificationsListRequest"
        guard let criteria = tlv.child(0xA0) else { return nil }
        return try criteria.child(0x80)?.integer(field: "seqNumber", in: object)
    }

    /// Parses `RetrieveNotificationsListResponse` (BF2B).
    public static func parseRetrieve(_ der: some Collection<UInt8>) throws(RSPError) -> [PendingNotification] {
        let object = "BF2B RetrieveNotificationsListResponse"
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.retrieveNotificationsList, object: object)
        if let error = tlv.child(0x81) {
            // An empty list is `A0 00`; `notificationsListResultError` is a refusal (undefinedError 127).
            let code = try error.integer(field: "notificationsListResultError", in: object)
            throw .euiccError(command: "RetrieveNotificationsList", code: code)
        }
        return try tlv.requiredChild(0xA0, in: object).children.map { item throws(RSPError) in try PendingNotification(tlv: item) }
    }

    /// Encodes `RetrieveNotificationsListResponse` (eUICC side).
    public static func retrieveResponse(_ items: [PendingNotification]) -> [UInt8] {
        TLV.encode(RSPTag.retrieveNotificationsList, TLV.encode(0xA0, children: items.map(\.encoded)))
    }

    /// `NotificationSentRequest` (BF30): ES10b.RemoveNotificationFromList.
    public static func removeRequest(seqNumber: Int) -> [UInt8] {
        TLV.encode(RSPTag.notificationSent, TLV.integer(0x80, seqNumber))
    }

    /// `deleteNotificationStatus` of a `NotificationSentResponse`: 0 ok, 1 nothingToDelete, 127 undefinedError.
    public static func parseRemove(_ der: some Collection<UInt8>) throws(RSPError) -> Int {
        let object = "BF30 NotificationSentResponse"
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.notificationSent, object: object)
        return try tlv.requiredChild(0x80, in: object).integer(field: "deleteNotificationStatus", in: object)
    }

    public static func removeResponse(status: Int) -> [UInt8] {
        TLV.encode(RSPTag.notificationSent, TLV.integer(0x80, status))
    }
}
