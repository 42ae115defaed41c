/// One frame of the terminal protocol: the message carried by `serverlpa.terminal.v1.Frame`, one case
/// per member of its `body` oneof.
///
/// Messages that carry strings or byte arrays are stored indirectly so that a `TerminalFrame` stays
/// three words or smaller: the heartbeat path (``heartbeat(_:)``, ``heartbeatAck(_:)``) then moves
/// frames through a channel pipeline without allocating.
public enum TerminalFrame: Sendable, Hashable {
    indirect case hello(Hello)
    indirect case welcome(Welcome)
    indirect case reject(Reject)
    case heartbeat(Heartbeat)
    case heartbeatAck(HeartbeatAck)
    case settings(TerminalSettings)
    indirect case apduBatch(ApduBatch)
    indirect case apduBatchResult(ApduBatchResult)
    indirect case channelOpen(ChannelOpen)
    indirect case channelOpenResult(ChannelOpenResult)
    case channelClose(ChannelClose)
    case channelCloseResult(ChannelCloseResult)
    indirect case goodbye(Goodbye)

    /// The proto name of the oneof member (`hello`, `heartbeat_ack`, `apdu_batch_result`, …): short,
    /// stable, for log fields and metric labels.
    public var kind: String {
        switch self {
        case .hello: return "hello"
        case .welcome: return "welcome"
        case .reject: return "reject"
        case .heartbeat: return "heartbeat"
        case .heartbeatAck: return "heartbeat_ack"
        case .settings: return "settings"
        case .apduBatch: return "apdu_batch"
        case .apduBatchResult: return "apdu_batch_result"
        case .channelOpen: return "channel_open"
        case .channelOpenResult: return "channel_open_result"
        case .channelClose: return "channel_close"
        case .channelCloseResult: return "channel_close_result"
        case .goodbye: return "goodbye"
        }
    }

    /// Checks what the decoder checks beyond the wire format: string and byte lengths and list sizes
    /// against `limits`, strings free of NUL characters, logical channels ≤ 19.
    ///
    /// ``TerminalFrameCodec/decode(_:limits:)`` runs this on every frame it returns. Encoding does
    /// not: a sender that builds frames from untrusted input calls it first.
    public func validate(limits: TerminalProtocolLimits = .default) throws(TerminalProtocolError) {
        switch self {
        case .hello(let message): try message.validate(limits: limits)
        case .welcome(let message): try message.validate(limits: limits)
        case .reject(let message): try message.validate(limits: limits)
        case .apduBatch(let message): try message.validate(limits: limits)
        case .apduBatchResult(let message): try message.validate(limits: limits)
        case .channelOpen(let message): try message.validate(limits: limits)
        case .channelOpenResult(let message): try message.validate(limits: limits)
        case .channelClose(let message): try message.validate(limits: limits)
        case .goodbye(let message): try message.validate(limits: limits)
        case .heartbeat, .heartbeatAck, .settings, .channelCloseResult: return
        }
    }
}
