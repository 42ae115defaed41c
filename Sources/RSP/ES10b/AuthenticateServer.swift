/// `ServerSigned1 ::= SEQUENCE` — what the SM-DP+ signs in initiateAuthentication.
public struct ServerSigned1: Sendable, Hashable {
    static let object = "ServerSigned1"
    public var transactionId: [UInt8]
    public var euiccChallenge: [UInt8]
    public var serverAddress: String
    public var serverChallenge: [UInt8]
    /// The bytes as received (or as built), over which serverSignature1 is computed.
    public let encoded: [UInt8]

    public init(transactionId: [UInt8], euiccChallenge: [UInt8], serverAddress: String, serverChallenge: [UInt8]) {
        self.transactionId = transactionId
        self.euiccChallenge = euiccChallenge
        self.serverAddress = serverAddress
        self.serverChallenge = serverChallenge
        encoded = TLV.encode(RSPTag.sequence, children: [
            TLV.encode(0x80, transactionId), TLV.encode(0x81, euiccChallenge),
            TLV.utf8(0x83, serverAddress), TLV.encode(0x84, serverChallenge),
        ])
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.sequence, object: object)
        transactionId = try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object)
        euiccChallenge = try tlv.requiredChild(0x81, in: object).fixedBytes(16, field: "euiccChallenge", in: object)
        serverAddress = try tlv.requiredChild(0x83, in: object).utf8(field: "serverAddress", in: object)
        serverChallenge = try tlv.requiredChild(0x84, in: object).fixedBytes(16, field: "serverChallenge", in: object)
        encoded = Array(tlv.encoded)
    }
}

/// `DeviceInfo ::= SEQUENCE { tac Octet4, deviceCapabilities DeviceCapabilities, imei Octet8 OPTIONAL }`.
public struct DeviceInfo: Sendable, Hashable {
    /// The Type Allocation Code: the IMEI's first eight digits, packed BCD.
    public var tac: [UInt8]
    /// The IMEI in swapped-nibble BCD with `F` filler (8 bytes), when known.
    public var imei: [UInt8]?
    /// The encoded `deviceCapabilities` value (capability TLVs); empty means none declared.
    public var deviceCapabilities: [UInt8]

    public init(tac: [UInt8], imei: [UInt8]?, deviceCapabilities: [UInt8] = []) {
        self.tac = tac
        self.imei = imei
        self.deviceCapabilities = deviceCapabilities
    }

    /// A device info from a 15-digit IMEI; `nil` when `imei` is not 14–16 digits.
    public init?(imei: String) {
        guard (14...16).contains(imei.count), let tac = BCD.packed(String(imei.prefix(8))),
              let encoded = BCD.swapped(imei, byteCount: 8)
        else { return nil }
        self.init(tac: tac, imei: encoded)
    }

    /// The IMEI digits, when present and well formed.
    public var imeiDigits: String? { imei.flatMap { BCD.swappedDigits($0) } }

    var encodedValue: [UInt8] {
        var value = TLV.encode(0x80, tac) + TLV.encode(0xA1, deviceCapabilities)
        if let imei { value += TLV.encode(0x82, imei) }
        return value
    }

    init(tlv: TLV, object: String) throws(RSPError) {
        tac = try tlv.requiredChild(0x80, in: object).fixedBytes(4, field: "tac", in: object)
        deviceCapabilities = try tlv.requiredChild(0xA1, in: object).bytes
        imei = try tlv.child(0x82)?.fixedBytes(8, field: "imei", in: object)
    }
}

/// `CtxParams1 ::= CHOICE { ctxParamsForCommonAuthentication [0] … }`: the matching ID and device info the LPA
/// gives AuthenticateServer; the eUICC signs it back in euiccSigned1.
public struct CtxParams1: Sendable, Hashable {
    static let object = "CtxParams1"
    public var matchingId: String?
    public var deviceInfo: DeviceInfo

    public init(matchingId: String?, deviceInfo: DeviceInfo) {
        self.matchingId = matchingId
        self.deviceInfo = deviceInfo
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(0xA0, object: object)
        matchingId = try tlv.child(0x80)?.utf8(field: "matchingId", in: object)
        deviceInfo = try DeviceInfo(tlv: try tlv.requiredChild(0xA1, in: object), object: object)
    }

    public var der: [UInt8] {
        var value: [UInt8] = []
        if let matchingId { value += TLV.utf8(0x80, matchingId) }
        value += TLV.encode(0xA1, deviceInfo.encodedValue)
        return TLV.encode(0xA0, value)
    }
}

/// `AuthenticateServerRequest ::= [56] SEQUENCE` (BF38), ES10b.AuthenticateServer.
///
/// The LPA builds it from the ES9+ initiateAuthentication answer, whose fields are already encoded TLVs; each is
/// checked to be exactly one object with the right tag before it is forwarded.
public struct AuthenticateServerRequest: Sendable, Hashable {
    static let object = "BF38 AuthenticateServerRequest"
    public var serverSigned1: ServerSigned1
    /// The 64-byte r‖s of `serverSignature1`.
    public var serverSignature1: [UInt8]
    public var euiccCiPKIdToBeUsed: [UInt8]
    /// The DER of the SM-DP+'s DPauth certificate.
    public var serverCertificate: [UInt8]
    public var ctxParams1: CtxParams1

    public init(
        serverSigned1: ServerSigned1, serverSignature1: [UInt8], euiccCiPKIdToBeUsed: [UInt8],
        serverCertificate: [UInt8], ctxParams1: CtxParams1
    ) {
        self.serverSigned1 = serverSigned1
        self.serverSignature1 = serverSignature1
        self.euiccCiPKIdToBeUsed = euiccCiPKIdToBeUsed
        self.serverCertificate = serverCertificate
        self.ctxParams1 = ctxParams1
    }

    /// Builds the request from the four encoded objects of an ES9+ initiateAuthentication answer.
    public init(
        es9ServerSigned1: [UInt8], es9ServerSignature1: [UInt8], es9EuiccCiPKIdToBeUsed: [UInt8],
        es9ServerCertificate: [UInt8], ctxParams1: CtxParams1
    ) throws(RSPError) {
        serverSigned1 = try ServerSigned1(tlv: try TLV(der: es9ServerSigned1, object: "ES9+ serverSigned1"))
        serverSignature1 = try TLV(der: es9ServerSignature1, object: "ES9+ serverSignature1")
            .expect(RSPTag.signature, object: "ES9+ serverSignature1")
            .fixedBytes(64, field: "serverSignature1", in: "ES9+ initiateAuthentication")
        euiccCiPKIdToBeUsed = try TLV(der: es9EuiccCiPKIdToBeUsed, object: "ES9+ euiccCiPKIdToBeUsed")
            .expect(RSPTag.octetString, object: "ES9+ euiccCiPKIdToBeUsed")
            .bytes(in: 1...64, field: "euiccCiPKIdToBeUsed", object: "ES9+ initiateAuthentication")
        serverCertificate = Array(try TLV(der: es9ServerCertificate, object: "ES9+ serverCertificate")
            .expect(RSPTag.sequence, object: "ES9+ serverCertificate").encoded)
        self.ctxParams1 = ctxParams1
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let object = Self.object
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.authenticateServer, object: object)
        let items = tlv.children
        guard items.count >= 5 else { throw .malformed(object: object, reason: "\(items.count) elements, expected 5") }
        serverSigned1 = try ServerSigned1(tlv: items[0])
        serverSignature1 = try items[1].expect(RSPTag.signature, object: object)
            .fixedBytes(64, field: "serverSignature1", in: object)
        euiccCiPKIdToBeUsed = try items[2].expect(RSPTag.octetString, object: object)
            .bytes(in: 1...64, field: "euiccCiPKIdToBeUsed", object: object)
        serverCertificate = Array(try items[3].expect(RSPTag.sequence, object: object).encoded)
        ctxParams1 = try CtxParams1(tlv: items[4])
    }

    public var der: [UInt8] {
        TLV.encode(RSPTag.authenticateServer, children: [
            serverSigned1.encoded,
            TLV.encode(RSPTag.signature, serverSignature1),
            TLV.encode(RSPTag.octetString, euiccCiPKIdToBeUsed),
            serverCertificate,
            ctxParams1.der,
        ])
    }
}

/// `EuiccSigned1 ::= SEQUENCE`: what the eUICC signs in its AuthenticateServer answer.
public struct EuiccSigned1: Sendable, Hashable {
    static let object = "EuiccSigned1"
    public var transactionId: [UInt8]
    public var serverAddress: String
    public var serverChallenge: [UInt8]
    public var euiccInfo2: EUICCInfo2
    public var ctxParams1: CtxParams1
    /// The bytes over which euiccSignature1 is computed.
    public let encoded: [UInt8]

    public init(
        transactionId: [UInt8], serverAddress: String, serverChallenge: [UInt8],
        euiccInfo2: EUICCInfo2, ctxParams1: CtxParams1
    ) {
        self.transactionId = transactionId
        self.serverAddress = serverAddress
        self.serverChallenge = serverChallenge
        self.euiccInfo2 = euiccInfo2
        self.ctxParams1 = ctxParams1
        encoded = TLV.encode(RSPTag.sequence, children: [
            TLV.encode(0x80, transactionId), TLV.utf8(0x83, serverAddress), TLV.encode(0x84, serverChallenge),
            euiccInfo2.der, ctxParams1.der,
        ])
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.sequence, object: object)
        transactionId = try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object)
        serverAddress = try tlv.requiredChild(0x83, in: object).utf8(field: "serverAddress", in: object)
        serverChallenge = try tlv.requiredChild(0x84, in: object).fixedBytes(16, field: "serverChallenge", in: object)
        euiccInfo2 = try EUICCInfo2(tlv: try tlv.requiredChild(RSPTag.getEuiccInfo2, in: object))
        ctxParams1 = try CtxParams1(tlv: try tlv.requiredChild(0xA0, in: object))
        encoded = Array(tlv.encoded)
    }
}

/// `AuthenticateErrorCode`: why the eUICC refused the SM-DP+ in AuthenticateServer.
public enum AuthenticateErrorCode: Int, Sendable, Hashable {
    case invalidCertificate = 1, invalidSignature = 2, unsupportedCurve = 3, noSessionContext = 4
    case invalidOid = 5, euiccChallengeMismatch = 6, ciPKUnknown = 7, undefinedError = 127
}

/// `AuthenticateServerResponse ::= [56] CHOICE` (BF38).
public enum AuthenticateServerResponse: Sendable, Hashable {
    static let object = "BF38 AuthenticateServerResponse"

    /// `authenticateResponseOk`.
    public struct Ok: Sendable, Hashable {
        public var euiccSigned1: EuiccSigned1
        /// The 64-byte r‖s of `euiccSignature1`.
        public var euiccSignature1: [UInt8]
        public var euiccCertificate: [UInt8]
        public var eumCertificate: [UInt8]

        public init(euiccSigned1: EuiccSigned1, euiccSignature1: [UInt8], euiccCertificate: [UInt8], eumCertificate: [UInt8]) {
            self.euiccSigned1 = euiccSigned1
            self.euiccSignature1 = euiccSignature1
            self.euiccCertificate = euiccCertificate
            self.eumCertificate = eumCertificate
        }

        /// The encoded `5F37` object, which the SM-DP+ signs again in smdpSignature2.
        public var euiccSignature1Object: [UInt8] { TLV.encode(RSPTag.signature, euiccSignature1) }
    }

    case ok(Ok)
    /// `authenticateResponseError`: the transaction and the eUICC's code (raw, in case it is not a known one).
    case error(transactionId: [UInt8], code: Int)

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let object = Self.object
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.authenticateServer, object: object)
        guard let choice = tlv.children.first, tlv.children.count == 1 else {
            throw .malformed(object: object, reason: "a CHOICE must hold exactly one alternative")
        }
        switch choice.tag {
        case 0xA0:
            let items = choice.children
            guard items.count == 4 else { throw .malformed(object: object, reason: "authenticateResponseOk has \(items.count) elements") }
            self = .ok(Ok(
                euiccSigned1: try EuiccSigned1(tlv: items[0]),
                euiccSignature1: try items[1].expect(RSPTag.signature, object: object)
                    .fixedBytes(64, field: "euiccSignature1", in: object),
                euiccCertificate: Array(try items[2].expect(RSPTag.sequence, object: object).encoded),
                eumCertificate: Array(try items[3].expect(RSPTag.sequence, object: object).encoded)
            ))
        case 0xA1:
            let transactionId = try choice.requiredChild(0x80, in: object).bytes
            let code = try choice.requiredChild(RSPTag.integer, in: object).integer(field: "authenticateErrorCode", in: object)
            self = .error(transactionId: transactionId, code: code)
        default:
            throw .unexpectedTag(object: object, expected: 0xA0, found: choice.tag)
        }
    }

    public var der: [UInt8] {
        switch self {
        case .ok(let ok):
            return TLV.encode(RSPTag.authenticateServer, TLV.encode(0xA0, children: [
                ok.euiccSigned1.encoded, ok.euiccSignature1Object, ok.euiccCertificate, ok.eumCertificate,
            ]))
        case .error(let transactionId, let code):
            return TLV.encode(RSPTag.authenticateServer, TLV.encode(0xA1, children: [
                TLV.encode(0x80, transactionId), TLV.integer(RSPTag.integer, code),
            ]))
        }
    }
}
