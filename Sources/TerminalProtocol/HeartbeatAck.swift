/// Server → terminal, the answer to a ``Heartbeat`` (`serverlpa.terminal.v1.HeartbeatAck`).
public struct HeartbeatAck: Sendable, Hashable {
    /// The ``Heartbeat/seq`` being acknowledged.
    public var seq: UInt32

    public init(seq: UInt32 = 0) {
        self.seq = seq
    }
}
