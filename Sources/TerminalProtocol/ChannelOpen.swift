/// Server → terminal: open a logical channel and SELECT ``aid`` on it
/// (`serverlpa.terminal.v1.ChannelOpen`). Answered by ``ChannelOpenResult`` with the same ``requestID``.
public struct ChannelOpen: Sendable, Hashable {
    /// Chosen by the server; echoed in the result.
    public var requestID: UInt32
    /// The application to select, e.g. the ISD-R `A0000005591010FFFFFFFF8900000100`; at most 16 bytes.
    public var aid: [UInt8]

    public init(requestID: UInt32 = 0, aid: [UInt8] = []) {
        self.requestID = requestID
        self.aid = aid
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.bytes(aid, limit: TerminalProtocolLimits.maximumAIDLength, field: "channel_open.aid")
    }
}
