/// Server → terminal: the session is refused (`serverlpa.terminal.v1.Reject`). The server closes the
/// connection after sending it.
public struct Reject: Sendable, Hashable {
    public var code: ReasonCode
    /// Human-readable detail for the terminal's logs.
    public var text: String
    /// Seconds the terminal should wait before reconnecting (proto `retry_after_s`); 0 leaves the
    /// back-off to the terminal.
    public var retryAfterSeconds: UInt32

    public init(code: ReasonCode = .unspecified, text: String = "", retryAfterSeconds: UInt32 = 0) {
        self.code = code
        self.text = text
        self.retryAfterSeconds = retryAfterSeconds
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.string(text, limit: limits.maximumTextLength, field: "reject.text")
    }
}
