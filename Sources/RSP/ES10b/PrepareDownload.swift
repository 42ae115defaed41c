/// `SmdpSigned2 ::= SEQUENCE` — what the SM-DP+ signs in authenticateClient.
public struct SmdpSigned2: Sendable, Hashable {
    static let object = "SmdpSigned2"
    public var transactionId: [UInt8]
    public var ccRequired: Bool
    /// `bppEuiccOtpk`: set when the SM-DP+ wants to reuse an earlier one-time key (retry of a download).
    public var bppEuiccOtpk: [UInt8]?
    public let encoded: [UInt8]

    public init(transactionId: [UInt8], ccRequired: Bool, bppEuiccOtpk: [UInt8]? = nil) {
        self.transactionId = transactionId
        self.ccRequired = ccRequired
        self.bppEuiccOtpk = bppEuiccOtpk
        var children = [TLV.encode(0x80, transactionId), TLV.boolean(RSPTag.boolean, ccRequired)]
        if let bppEuiccOtpk { children.append(TLV.encode(RSPTag.publicKey, bppEuiccOtpk)) }
        encoded = TLV.encode(RSPTag.sequence, children: children)
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.sequence, object: object)
        transactionId = try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object)
        ccRequired = try tlv.requiredChild(RSPTag.boolean, in: object).boolean(field: "ccRequiredFlag", in: object)
        bppEuiccOtpk = try tlv.child(RSPTag.publicKey)?.bytes(in: 1...133, field: "bppEuiccOtpk", object: object)
        encoded = Array(tlv.encoded)
    }
}

/// `PrepareDownloadRequest ::= [33] SEQUENCE` (BF21), ES10b.PrepareDownload.
public struct PrepareDownloadRequest: Sendable, Hashable {
    static let object = "BF21 PrepareDownloadRequest"
    public var smdpSigned2: SmdpSigned2
    /// The 64-byte r‖s of `smdpSignature2`.
    public var smdpSignature2: [UInt8]
    /// SHA-256(SHA-256(confirmation code) ‖ transactionId), when a confirmation code is required.
    public var hashCc: [UInt8]?
    /// The DER of the DPpb certificate.
    public var smdpCertificate: [UInt8]

    public init(smdpSigned2: SmdpSigned2, smdpSignature2: [UInt8], hashCc: [UInt8]?, smdpCertificate: [UInt8]) {
        self.smdpSigned2 = smdpSigned2
        self.smdpSignature2 = smdpSignature2
        self.hashCc = hashCc
        self.smdpCertificate = smdpCertificate
    }

    /// Builds the request from the encoded objects of an ES9+ authenticateClient answer.
    public init(
        es9SmdpSigned2: [UInt8], es9SmdpSignature2: [UInt8], es9SmdpCertificate: [UInt8], hashCc: [UInt8]? = nil
    ) throws(RSPError) {
        smdpSigned2 = try SmdpSigned2(tlv: try TLV(der: es9SmdpSigned2, object: "ES9+ smdpSigned2"))
        smdpSignature2 = try TLV(der: es9SmdpSignature2, object: "ES9+ smdpSignature2")
            .expect(RSPTag.signature, object: "ES9+ smdpSignature2")
            .fixedBytes(64, field: "smdpSignature2", in: "ES9+ authenticateClient")
        smdpCertificate = Array(try TLV(der: es9SmdpCertificate, object: "ES9+ smdpCertificate")
            .expect(RSPTag.sequence, object: "ES9+ smdpCertificate").encoded)
        self.hashCc = hashCc
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let object = Self.object
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.prepareDownload, object: object)
        var items = tlv.children[...]
        guard items.count >= 3 else { throw .malformed(object: object, reason: "\(items.count) elements") }
        smdpSigned2 = try SmdpSigned2(tlv: items.removeFirst())
        smdpSignature2 = try items.removeFirst().expect(RSPTag.signature, object: object)
            .fixedBytes(64, field: "smdpSignature2", in: object)
        if items.first?.tag == RSPTag.octetString {
            hashCc = try items.removeFirst().fixedBytes(32, field: "hashCc", in: object)
        } else {
            hashCc = nil
        }
        guard let certificate = items.first else { throw .missingElement(object: object, tag: RSPTag.sequence) }
        smdpCertificate = Array(try certificate.expect(RSPTag.sequence, object: object).encoded)
    }

    /// The encoded `5F37` object of smdpSignature2, which the eUICC signs again in euiccSignature2.
    public var smdpSignature2Object: [UInt8] { TLV.encode(RSPTag.signature, smdpSignature2) }

    public var der: [UInt8] {
        var children = [smdpSigned2.encoded, smdpSignature2Object]
        if let hashCc { children.append(TLV.encode(RSPTag.octetString, hashCc)) }
        children.append(smdpCertificate)
        return TLV.encode(RSPTag.prepareDownload, children: children)
    }
}

/// `EUICCSigned2 ::= SEQUENCE`: the eUICC's one-time key agreement key, signed.
public struct EUICCSigned2: Sendable, Hashable {
    static let object = "EUICCSigned2"
    public var transactionId: [UInt8]
    /// `euiccOtpk`: the eUICC's one-time public key (uncompressed point).
    public var euiccOtpk: [UInt8]
    public var hashCc: [UInt8]?
    public let encoded: [UInt8]

    public init(transactionId: [UInt8], euiccOtpk: [UInt8], hashCc: [UInt8]? = nil) {
        self.transactionId = transactionId
        self.euiccOtpk = euiccOtpk
        self.hashCc = hashCc
        var children = [TLV.encode(0x80, transactionId), TLV.encode(RSPTag.publicKey, euiccOtpk)]
        if let hashCc { children.append(TLV.encode(RSPTag.octetString, hashCc)) }
        encoded = TLV.encode(RSPTag.sequence, children: children)
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.sequence, object: object)
        transactionId = try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object)
        euiccOtpk = try tlv.requiredChild(RSPTag.publicKey, in: object).bytes(in: 33...133, field: "euiccOtpk", object: object)
        hashCc = try tlv.child(RSPTag.octetString)?.fixedBytes(32, field: "hashCc", in: object)
        encoded = Array(tlv.encoded)
    }
}

/// `DownloadErrorCode`: why the eUICC refused PrepareDownload.
public enum DownloadErrorCode: Int, Sendable, Hashable {
    case invalidCertificate = 1, invalidSignature = 2, unsupportedCurve = 3, noSessionContext = 4
    case invalidTransactionId = 5, undefinedError = 127
}

/// `PrepareDownloadResponse ::= [33] CHOICE` (BF21).
public enum PrepareDownloadResponse: Sendable, Hashable {
    static let object = "BF21 PrepareDownloadResponse"
    case ok(euiccSigned2: EUICCSigned2, euiccSignature2: [UInt8])
    case error(transactionId: [UInt8], code: Int)

    public init(der: some Collection<UInt8>) throws(RSPError) {
        let object = Self.object
        let tlv = try TLV(der: Array(der), object: object).expect(RSPTag.prepareDownload, object: object)
        guard let choice = tlv.children.first, tlv.children.count == 1 else {
            throw .malformed(object: object, reason: "a CHOICE must hold exactly one alternative")
        }
        switch choice.tag {
        case 0xA0:
            let signed = try EUICCSigned2(tlv: try choice.requiredChild(RSPTag.sequence, in: object))
            let signature = try choice.requiredChild(RSPTag.signature, in: object)
                .fixedBytes(64, field: "euiccSignature2", in: object)
            self = .ok(euiccSigned2: signed, euiccSignature2: signature)
        case 0xA1:
            self = .error(
                transactionId: try choice.requiredChild(0x80, in: object).bytes,
                code: try choice.requiredChild(RSPTag.integer, in: object).integer(field: "downloadErrorCode", in: object)
            )
        default:
            throw .unexpectedTag(object: object, expected: 0xA0, found: choice.tag)
        }
    }

    public var der: [UInt8] {
        switch self {
        case .ok(let signed, let signature):
            return TLV.encode(RSPTag.prepareDownload, TLV.encode(0xA0, children: [
                signed.encoded, TLV.encode(RSPTag.signature, signature),
            ]))
        case .error(let transactionId, let code):
            return TLV.encode(RSPTag.prepareDownload, TLV.encode(0xA1, children: [
                TLV.encode(0x80, transactionId), TLV.integer(RSPTag.integer, code),
            ]))
        }
    }
}
