import TerminalProtocol

/// Why the core refuses a terminal. `code` is the project-wide reason code that also travels in
/// the terminal protocol's Reject, in logs, metrics and the admin API.
public struct RegistrationRefusal: Error, Sendable, Equatable, CustomStringConvertible {
    public var code: ReasonCode
    public var text: String

    public init(_ code: ReasonCode, _ text: String) {
        self.code = code
        self.text = text
    }

    public var description: String { "\(code.name): \(text)" }
}
