/// `BppCommandId`: which part of the package an installation error happened in.
public enum BppCommandId: Int, Sendable, Hashable {
    case initialiseSecureChannel = 0, configureISDP = 1, storeMetadata = 2, storeMetadata2 = 3
    case replaceSessionKeys = 4, loadProfileElements = 5
}

/// `ErrorReason` of a failed installation.
public enum InstallationErrorReason: Int, Sendable, Hashable {
    case incorrectInputValues = 1, invalidSignature = 2, invalidTransactionId = 3, unsupportedCrtValues = 4
    case unsupportedRemoteOperationType = 5, unsupportedProfileClass = 6, scp03tStructureError = 7
    case scp03tSecurityError = 8, iccidAlreadyExistsOnEuicc = 9, insufficientMemoryForProfile = 10
    case installInterrupted = 11, peProcessingError = 12, dataMismatch = 13, invalidNaaKey = 14
    case pprNotAllowed = 15, unknownError = 127
}

/// `ProfileInstallationResultData ::= [39] SEQUENCE` (BF27).
public struct ProfileInstallationResultData: Sendable, Hashable {
    static let object = "BF27 ProfileInstallationResultData"

    public enum FinalResult: Sendable, Hashable {
        /// `successResult`: the ISD-P AID and the SIMalliance EUICCResponse.
        case success(aid: [UInt8], simaResponse: [UInt8])
        /// `errorResult`: where and why it failed (raw values, in case they are not known ones).
        case error(bppCommandId: Int, errorReason: Int)
    }

    public var transactionId: [UInt8]
    public var notificationMetadata: NotificationMetadata
    /// The SM-DP+'s OID (DER value of the OBJECT IDENTIFIER).
    public var smdpOid: [UInt8]
    public var finalResult: FinalResult
    public let encoded: [UInt8]

    public init(transactionId: [UInt8], notificationMetadata: NotificationMetadata, smdpOid: [UInt8], finalResult: FinalResult) {
        self.transactionId = transactionId
        self.notificationMetadata = notificationMetadata
        self.smdpOid = smdpOid
        self.finalResult = finalResult
        let result: [UInt8]
        switch finalResult {
        case .success(let aid, let sima):
            result = TLV.encode(0xA0, children: [TLV.encode(RSPTag.aid, aid), TLV.encode(RSPTag.octetString, sima)])
        case .error(let command, let reason):
            result = TLV.encode(0xA1, children: [TLV.integer(0x80, command), TLV.integer(0x81, reason)])
        }
        encoded = TLV.encode(RSPTag.profileInstallationResultData, children: [
            TLV.encode(0x80, transactionId), notificationMetadata.der,
            TLV.encode(RSPTag.objectIdentifier, smdpOid), TLV.encode(0xA2, result),
        ])
    }

    init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.profileInstallationResultData, object: object)
        transactionId = try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object)
        notificationMetadata = try NotificationMetadata(tlv: try tlv.requiredChild(RSPTag.notificationMetadata, in: object))
        smdpOid = try tlv.requiredChild(RSPTag.objectIdentifier, in: object).bytes(in: 1...64, field: "smdpOid", object: object)
        let wrapper = try tlv.requiredChild(0xA2, in: object)
        guard let choice = wrapper.children.first, wrapper.children.count == 1 else {
            throw .malformed(object: object, reason: "finalResult must hold exactly one alternative")
        }
        switch choice.tag {
        case 0xA0:
            finalResult = .success(
                aid: try choice.requiredChild(RSPTag.aid, in: object).bytes(in: 5...16, field: "aid", object: object),
                simaResponse: try choice.requiredChild(RSPTag.octetString, in: object).bytes
            )
        case 0xA1:
            finalResult = .error(
                bppCommandId: try choice.requiredChild(0x80, in: object).integer(field: "bppCommandId", in: object),
                errorReason: try choice.requiredChild(0x81, in: object).integer(field: "errorReason", in: object)
            )
        default:
            throw .unexpectedTag(object: object, expected: 0xA0, found: choice.tag)
        }
        encoded = Array(tlv.encoded)
    }
}

/// `ProfileInstallationResult ::= [55] SEQUENCE` (BF37): the eUICC's signed verdict on a Bound Profile Package.
public struct ProfileInstallationResult: Sendable, Hashable {
    static let object = "BF37 ProfileInstallationResult"
    public var data: ProfileInstallationResultData
    /// `euiccSignPIR`: 64-byte r‖s over `data.encoded`.
    public var signature: [UInt8]
    public let encoded: [UInt8]

    public init(data: ProfileInstallationResultData, signature: [UInt8]) {
        self.data = data
        self.signature = signature
        encoded = TLV.encode(RSPTag.profileInstallationResult, children: [data.encoded, TLV.encode(RSPTag.signature, signature)])
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.profileInstallationResult, object: object)
        data = try ProfileInstallationResultData(tlv: try tlv.requiredChild(RSPTag.profileInstallationResultData, in: object))
        signature = try tlv.requiredChild(RSPTag.signature, in: object).fixedBytes(64, field: "euiccSignPIR", in: object)
        encoded = Array(tlv.encoded)
    }

    public init(der: some Collection<UInt8>) throws(RSPError) {
        try self.init(tlv: try TLV(der: Array(der), object: Self.object))
    }

    public var isSuccess: Bool {
        if case .success = data.finalResult { return true }
        return false
    }
}
