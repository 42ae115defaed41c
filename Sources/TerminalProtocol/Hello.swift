/// Terminal → server, the first frame after the TLS handshake: `serverlpa.terminal.v1.Hello`.
///
/// The server answers ``Welcome`` or ``Reject`` (then closes). A version the server does not serve is
/// refused with ``ReasonCode/unsupportedVersion``; an identity that differs from the client
/// certificate with ``ReasonCode/identityMismatch``.
public struct Hello: Sendable, Hashable {
    /// The protocol version the terminal speaks (proto `protocol_version`).
    public var protocolVersion: UInt32
    public var identity: Identity
    /// Agent name and version, free text.
    public var agent: String
    /// The largest frame body the terminal accepts, in bytes (proto `max_frame`); 0 means the protocol
    /// default, ``TerminalProtocolLimits/default``'s ``TerminalProtocolLimits/maximumFrameLength``.
    /// The server must not send larger frames.
    public var maximumFrameLength: UInt32

    public init(
        protocolVersion: UInt32 = TerminalProtocolVersion.current,
        identity: Identity = Identity(),
        agent: String = "",
        maximumFrameLength: UInt32 = 0
    ) {
        self.protocolVersion = protocolVersion
        self.identity = identity
        self.agent = agent
        self.maximumFrameLength = maximumFrameLength
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try identity.validate(limits: limits)
        try FieldRules.identityText(agent, limit: limits.maximumStringLength, field: "hello.agent")
    }
}
