/// Either side, just before it closes the connection (`serverlpa.terminal.v1.Goodbye`).
///
/// The receiver does not answer; it closes its side too.
public struct Goodbye: Sendable, Hashable {
    public var reason: ReasonCode
    /// Human-readable detail for the peer's logs.
    public var text: String

    public init(reason: ReasonCode = .unspecified, text: String = "") {
        self.reason = reason
        self.text = text
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.string(text, limit: limits.maximumTextLength, field: "goodbye.text")
    }
}
