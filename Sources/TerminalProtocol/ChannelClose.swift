/// Server → terminal: close a logical channel (`serverlpa.terminal.v1.ChannelClose`). Answered by
/// ``ChannelCloseResult`` with the same ``requestID``.
public struct ChannelClose: Sendable, Hashable {
    /// Chosen by the server; echoed in the result.
    public var requestID: UInt32
    /// The logical channel to close, 1–19.
    public var channel: UInt8

    public init(requestID: UInt32 = 0, channel: UInt8 = 0) {
        self.requestID = requestID
        self.channel = channel
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.channel(channel, field: "channel_close.channel")
    }
}
