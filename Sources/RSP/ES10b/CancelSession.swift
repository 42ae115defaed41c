/// `CancelSessionReason`, sent with ES10b.CancelSession and ES9+ cancelSession.
public enum CancelSessionReason: Int, Sendable, Hashable, Codable {
    case endUserRejection = 0, postponed = 1, timeout = 2, pprNotAllowed = 3, metadataMismatch = 4
    case loadBppExecutionError = 5, undefinedReason = 127
}

/// `EuiccCancelSessionSigned ::= SEQUENCE { transactionId TransactionId, smdpOid OBJECT IDENTIFIER,
/// reason CancelSessionReason }`: what the eUICC signs when it cancels a session.
///
/// RSPDefinitions is an `AUTOMATIC TAGS` module and none of the three components carries a tag of its own, so
/// they are encoded `[0]`, `[1]` and `[2]` by position (`80`, `81`, `82`): the OBJECT IDENTIFIER's universal
/// tag `06` does not appear.
public struct EuiccCancelSessionSigned: Sendable, Hashable {
    static let object = "EuiccCancelSessionSigned"
    public var transactionId: [UInt8]
    /// The SM-DP+'s OID (the content octets of the OBJECT IDENTIFIER).
    public var smdpOid: [UInt8]
    /// The raw `CancelSessionReason` (kept raw so an unknown value still forwards).
    public var reason: Int
    /// The bytes over which `euiccCancelSessionSignature` is computed.
    public let encoded: [UInt8]

    public init(transactionId: [UInt8], smdpOid: [UInt8], reason: Int) {
        self.transactionId = transactionId
        self.smdpOid = smdpOid
        self.reason = reason
        encoded = TLV.encode(RSPTag.sequence, children: [
            TLV.encode(0x80, transactionId), TLV.encode(0x81, smdpOid), TLV.integer(0x82, reason),
        ])
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        let items = try tlv.expect(RSPTag.sequence, object: object).children
        guard items.count == 3 else { throw .malformed(object: object, reason: "\(items.count) elements, expected 3") }
        transactionId = try items[0].expect(0x80, object: object).bytes(in: 1...16, field: "transactionId", object: object)
        smdpOid = try items[1].expect(0x81, object: object).bytes(in: 1...64, field: "smdpOid", object: object)
        reason = try items[2].expect(0x82, object: object).integer(field: "reason", in: object)
        encoded = Array(tlv.encoded)
    }
}

/// `CancelSessionResponse ::= [65] CHOICE` (BF41): the eUICC's signed confirmation, or its error code.
public enum CancelSessionResponse: Sendable, Hashable {
    static let object = "BF41 CancelSessionResponse"
    /// `cancelSessionResponseOk { euiccCancelSessionSigned, euiccCancelSessionSignature }`.
    case ok(signed: EuiccCancelSessionSigned, signature: [UInt8])
    /// `cancelSessionResponseError`: 5 invalidTransactionId, 127 undefinedError.
    case error(code: Int)

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let object = Self.object
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.cancelSession, object: object)
        guard let choice = tlv.children.first, tlv.children.count == 1 else {
            throw .malformed(object: object, reason: "a CHOICE must hold exactly one alternative")
        }
        switch choice.tag {
        case 0xA0:
            let items = choice.children
            guard items.count == 2 else { throw .malformed(object: object, reason: "cancelSessionResponseOk has \(items.count) elements") }
            self = .ok(
                signed: try EuiccCancelSessionSigned(tlv: items[0]),
                signature: try items[1].expect(RSPTag.signature, object: object)
                    .fixedBytes(64, field: "euiccCancelSessionSignature", in: object))
        case 0x81:
            self = .error(code: try choice.integer(field: "cancelSessionResponseError", in: object))
        default:
            throw .unexpectedTag(object: object, expected: 0xA0, found: choice.tag)
        }
    }

    public var der: [UInt8] {
        switch self {
        case .ok(let signed, let signature):
            return TLV.encode(RSPTag.cancelSession, TLV.encode(0xA0, children: [signed.encoded, TLV.encode(RSPTag.signature, signature)]))
        case .error(let code):
            return TLV.encode(RSPTag.cancelSession, TLV.integer(0x81, code))
        }
    }
}

/// ES10b.CancelSession (BF41): `CancelSessionRequest ::= [65] SEQUENCE { transactionId TransactionId,
/// reason CancelSessionReason }` (automatic tags `80`, `81`) and its answer.
public enum CancelSession {
    public static func request(transactionId: [UInt8], reason: CancelSessionReason) -> [UInt8] {
        request(transactionId: transactionId, rawReason: reason.rawValue)
    }

    public static func request(transactionId: [UInt8], rawReason: Int) -> [UInt8] {
        TLV.encode(RSPTag.cancelSession, children: [TLV.encode(0x80, transactionId), TLV.integer(0x81, rawReason)])
    }

    /// Reads a request (eUICC side): the transaction and the raw reason.
    public static func parseRequest(_ tlv: TLV) throws(RSPError) -> (transactionId: [UInt8], reason: Int) {
        let object = "BF41 CancelSessionRequest"
        _ = try tlv.expect(RSPTag.cancelSession, object: object)
        return (
            try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object),
            try tlv.requiredChild(0x81, in: object).integer(field: "reason", in: object)
        )
    }

    /// Encodes the signed answer (eUICC side) from the signed part and its signature.
    public static func response(signed: EuiccCancelSessionSigned, signature: [UInt8]) -> [UInt8] {
        CancelSessionResponse.ok(signed: signed, signature: signature).der
    }

    public static func errorResponse(code: Int) -> [UInt8] {
        CancelSessionResponse.error(code: code).der
    }

    /// Checks a `CancelSessionResponse`: returns the encoded response to forward to ES9+ cancelSession, or
    /// throws the eUICC's `cancelSessionResponseError`.
    public static func parseResponse(_ der: some Collection<UInt8>) throws(RSPError) -> [UInt8] {
        let bytes = Array(der)
        switch try CancelSessionResponse(der: bytes) {
        case .ok: return bytes
        case .error(let code): throw .euiccError(command: "CancelSession", code: code)
        }
    }
}
