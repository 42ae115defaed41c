/// What ES9+.AuthenticateClient returns: the profile's metadata and the SM-DP+'s second
/// signed object, for ES10b.PrepareDownload. Binary fields are DER.
public struct AuthenticateClientResponse: Sendable, Equatable {
    public var transactionId: String
    public var profileMetadata: [UInt8]
    public var smdpSigned2: [UInt8]
    public var smdpSignature2: [UInt8]
    public var smdpCertificate: [UInt8]

    public init(transactionId: String, profileMetadata: [UInt8], smdpSigned2: [UInt8], smdpSignature2: [UInt8], smdpCertificate: [UInt8]) {
        self.transactionId = transactionId
        self.profileMetadata = profileMetadata
        self.smdpSigned2 = smdpSigned2
        self.smdpSignature2 = smdpSignature2
        self.smdpCertificate = smdpCertificate
    }

    /// Reads the function's response body (its `header` already checked).
    ///
    /// - Throws: ``OperatorError/malformedResponse(_:)`` naming the missing or ill-formed field.
    init(_ object: RSPJSONObject) throws {
        self.init(
            transactionId: try object.transactionId(),
            profileMetadata: try object.bytes("profileMetadata"),
            smdpSigned2: try object.bytes("smdpSigned2"),
            smdpSignature2: try object.bytes("smdpSignature2"),
            smdpCertificate: try object.bytes("smdpCertificate"))
    }
}
