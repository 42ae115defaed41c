/// The reason the SM-DP+ gives with a `Failed` or `Expired` status (SGP.22 JSON `statusCodeData`):
/// subject and reason codes from SGP.22's tables, e.g. `8.1.1` / `3.8` (EID refused).
public struct StatusCodeData: Sendable, Equatable, CustomStringConvertible {
    public var subjectCode: String
    public var reasonCode: String
    public var subjectIdentifier: String?
    public var message: String?

    public init(subjectCode: String, reasonCode: String, subjectIdentifier: String? = nil, message: String? = nil) {
        self.subjectCode = subjectCode
        self.reasonCode = reasonCode
        self.subjectIdentifier = subjectIdentifier
        self.message = message
    }

    public var description: String {
        var s = "subjectCode \(subjectCode), reasonCode \(reasonCode)"
        if let subjectIdentifier { s += ", subjectIdentifier \(subjectIdentifier)" }
        if let message { s += ": \(message)" }
        return s
    }
}
