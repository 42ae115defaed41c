/// Terminal → server, the outcome of a ``ChannelClose`` (`serverlpa.terminal.v1.ChannelCloseResult`).
public struct ChannelCloseResult: Sendable, Hashable {
    /// The ``ChannelClose/requestID`` this answers.
    public var requestID: UInt32
    /// The status word of the MANAGE CHANNEL (close) command (proto `sw`).
    public var statusWord: UInt16

    public init(requestID: UInt32 = 0, statusWord: UInt16 = 0) {
        self.requestID = requestID
        self.statusWord = statusWord
    }
}
