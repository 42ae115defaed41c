/// Terminal → server, the outcome of a ``ChannelOpen`` (`serverlpa.terminal.v1.ChannelOpenResult`).
public struct ChannelOpenResult: Sendable, Hashable {
    /// The ``ChannelOpen/requestID`` this answers.
    public var requestID: UInt32
    /// The logical channel the card assigned, 1–19; 0 when no channel could be opened.
    public var channel: UInt8
    /// The status word of the SELECT, or of MANAGE CHANNEL when no channel could be opened (proto `sw`).
    public var statusWord: UInt16
    /// The SELECT response data, without the status word.
    public var selectResponse: [UInt8]
    /// Free text from the terminal, e.g. why no channel could be opened.
    public var detail: String

    public init(
        requestID: UInt32 = 0,
        channel: UInt8 = 0,
        statusWord: UInt16 = 0,
        selectResponse: [UInt8] = [],
        detail: String = ""
    ) {
        self.requestID = requestID
        self.channel = channel
        self.statusWord = statusWord
        self.selectResponse = selectResponse
        self.detail = detail
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.channel(channel, field: "channel_open_result.channel")
        try FieldRules.bytes(selectResponse, limit: limits.maximumApduLength, field: "channel_open_result.select_response")
        try FieldRules.string(detail, limit: limits.maximumTextLength, field: "channel_open_result.detail")
    }
}
