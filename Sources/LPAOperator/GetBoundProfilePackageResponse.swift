/// What ES9+.GetBoundProfilePackage returns: the Bound Profile Package (DER, tag BF36).
public struct GetBoundProfilePackageResponse: Sendable, Equatable {
    public var transactionId: String
    public var boundProfilePackage: [UInt8]

    public init(transactionId: String, boundProfilePackage: [UInt8]) {
        self.transactionId = transactionId
        self.boundProfilePackage = boundProfilePackage
    }

    /// Reads the function's response body (its `header` already checked).
    ///
    /// - Throws: ``OperatorError/malformedResponse(_:)`` naming the missing or ill-formed field.
    init(_ object: RSPJSONObject) throws {
        self.init(transactionId: try object.transactionId(), boundProfilePackage: try object.bytes("boundProfilePackage"))
    }
}
