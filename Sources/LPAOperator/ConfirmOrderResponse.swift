/// What ES2+.ConfirmOrder returns: the matching ID that goes into the activation code
/// (`1$smdpAddress$matchingId`), and the EID and SM-DP+ address when the SM-DP+ gives them.
public struct ConfirmOrderResponse: Sendable, Equatable {
    public var eid: String?
    public var matchingId: String
    public var smdpAddress: String?

    public init(eid: String? = nil, matchingId: String, smdpAddress: String? = nil) {
        self.eid = eid
        self.matchingId = matchingId
        self.smdpAddress = smdpAddress
    }

    /// The activation code for this order, when the SM-DP+ address is known.
    public func activationCode(defaultSMDPAddress: String) -> String {
        "1$\(smdpAddress ?? defaultSMDPAddress)$\(matchingId)"
    }

    /// Reads the function's response body (its `header` already checked).
    ///
    /// - Throws: ``OperatorError/malformedResponse(_:)`` naming the missing or ill-formed field.
    init(_ object: RSPJSONObject) throws {
        self.init(
            eid: try object.optionalString("eid"),
            matchingId: try object.string("matchingId"),
            smdpAddress: try object.optionalString("smdpAddress"))
    }
}
