/// What ES9+.InitiateAuthentication returns: the SM-DP+'s signed challenge answer and
/// certificate, to be passed to the eUICC's ES10b.AuthenticateServer. Binary fields are DER.
public struct InitiateAuthenticationResponse: Sendable, Equatable {
    /// The session's identifier (hex), used by every later ES9+ call of the session.
    public var transactionId: String
    public var serverSigned1: [UInt8]
    public var serverSignature1: [UInt8]
    public var euiccCiPKIdToBeUsed: [UInt8]
    public var serverCertificate: [UInt8]

    public init(transactionId: String, serverSigned1: [UInt8], serverSignature1: [UInt8], euiccCiPKIdToBeUsed: [UInt8], serverCertificate: [UInt8]) {
        self.transactionId = transactionId
        self.serverSigned1 = serverSigned1
        self.serverSignature1 = serverSignature1
        self.euiccCiPKIdToBeUsed = euiccCiPKIdToBeUsed
        self.serverCertificate = serverCertificate
    }

    /// Reads the function's response body (its `header` already checked).
    ///
    /// - Throws: ``OperatorError/malformedResponse(_:)`` naming the missing or ill-formed field.
    init(_ object: RSPJSONObject) throws {
        self.init(
            transactionId: try object.transactionId(),
            serverSigned1: try object.bytes("serverSigned1"),
            serverSignature1: try object.bytes("serverSignature1"),
            euiccCiPKIdToBeUsed: try object.bytes("euiccCiPKIdToBeUsed"),
            serverCertificate: try object.bytes("serverCertificate"))
    }
}
