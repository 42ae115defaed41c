/// Server → terminal: the session is accepted (`serverlpa.terminal.v1.Welcome`).
///
/// Sent once, in answer to ``Hello``. From here on the terminal sends ``Heartbeat``s at
/// ``settings``' interval and serves APDU and channel requests.
public struct Welcome: Sendable, Hashable {
    /// The version this session runs.
    public var protocolVersion: UInt32
    /// The server's name for this session, for the terminal's logs.
    public var sessionID: String
    /// The settings in force from now on; a later ``TerminalFrame/settings(_:)`` replaces them.
    public var settings: TerminalSettings
    /// The identity fields the matched device model requires (`eid`, `imei`, or extra keys).
    public var requiredFields: [String]
    /// The device model the server matched.
    public var model: String

    public init(
        protocolVersion: UInt32 = TerminalProtocolVersion.current,
        sessionID: String = "",
        settings: TerminalSettings = TerminalSettings(),
        requiredFields: [String] = [],
        model: String = ""
    ) {
        self.protocolVersion = protocolVersion
        self.sessionID = sessionID
        self.settings = settings
        self.requiredFields = requiredFields
        self.model = model
    }

    func validate(limits: TerminalProtocolLimits) throws(TerminalProtocolError) {
        try FieldRules.string(sessionID, limit: limits.maximumStringLength, field: "welcome.session_id")
        try FieldRules.strings(
            requiredFields,
            countLimit: limits.maximumRequiredFields,
            lengthLimit: limits.maximumStringLength,
            field: "welcome.required_fields"
        )
        try FieldRules.string(model, limit: limits.maximumStringLength, field: "welcome.model")
    }
}
