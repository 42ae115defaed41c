/// What ES9+.GetBoundProfilePackage returns: the Bound Profile Package (DER, tag BF36).
public struct GetBoundProfilePackageResponse: Sendable, Equatable {
    public var transactionId: String
    public var boundProfilePackage: [UInt8]

    public init(transactionId: String, boundProfilePackage: [UInt8]) {
        self.transactionId = transactionId
        self.boundProfilePackage = boundProfilePackage
    }
}
