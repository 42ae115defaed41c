/// The outcome the SM-DP+ reports in a response's `header.functionExecutionStatus`.
public struct FunctionExecutionStatus: Sendable, Equatable {
    public enum Status: String, Sendable, Equatable {
        case executedSuccess = "Executed-Success"
        case executedWithWarning = "Executed-WithWarning"
        case failed = "Failed"
        case expired = "Expired"
    }

    public var status: Status
    /// Present with `Failed` (required), `Expired` and `Executed-WithWarning` (optional).
    public var statusCodeData: StatusCodeData?

    public init(status: Status, statusCodeData: StatusCodeData? = nil) {
        self.status = status
        self.statusCodeData = statusCodeData
    }

    /// Reads `header.functionExecutionStatus` from a response object.
    ///
    /// - Throws: ``OperatorError/malformedResponse(_:)`` when it is missing or ill-formed.
    static func parse(from response: RSPJSONObject) throws -> FunctionExecutionStatus {
        let executionStatus = try response.object("header").object("functionExecutionStatus")
        let raw = try executionStatus.string("status")
        guard let status = Status(rawValue: raw) else {
            throw OperatorError.malformedResponse("unknown functionExecutionStatus.status '\(raw)'")
        }
        var data: StatusCodeData?
        if let codes = try executionStatus.optionalObject("statusCodeData") {
            data = StatusCodeData(
                subjectCode: try codes.string("subjectCode"),
                reasonCode: try codes.string("reasonCode"),
                subjectIdentifier: try codes.optionalString("subjectIdentifier"),
                message: try codes.optionalString("message"))
        }
        return FunctionExecutionStatus(status: status, statusCodeData: data)
    }
}
