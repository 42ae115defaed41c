/// What the core keeps about one terminal: its identity as imported through its device model, the
/// configuration rule and requirement chosen for it, and its current settings.
public struct DeviceRecord: Codable, Sendable, Hashable {
    public var terminalID: String
    public var model: String
    /// Identity fields by name, as validated against the model.
    public var fields: [String: String]
    public var tags: [String]
    public var ruleName: String?
    public var requirement: DataConfigurationRequirement?
    public var heartbeatIntervalSeconds: Int
    public var historyLimit: Int
    /// Unix seconds of first and latest registration.
    public var firstSeen: Int64
    public var lastRegistered: Int64

    public init(terminalID: String, model: String, fields: [String: String], tags: [String] = [], ruleName: String? = nil,
                requirement: DataConfigurationRequirement? = nil, heartbeatIntervalSeconds: Int, historyLimit: Int,
                firstSeen: Int64, lastRegistered: Int64) {
        self.terminalID = terminalID
        self.model = model
        self.fields = fields
        self.tags = tags
        self.ruleName = ruleName
        self.requirement = requirement
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.historyLimit = historyLimit
        self.firstSeen = firstSeen
        self.lastRegistered = lastRegistered
    }
}

/// A registration attempt, kept whether it succeeded or not, so refusals can be audited.
public struct RegistrationAttempt: Codable, Sendable, Hashable {
    public var terminalID: String
    public var at: Int64
    public var edgeNodeID: String
    public var remoteAddress: String
    /// `ACCEPTED` or the reason code name of the refusal.
    public var outcome: String
    public var detail: String

    public init(terminalID: String, at: Int64, edgeNodeID: String, remoteAddress: String, outcome: String, detail: String) {
        self.terminalID = terminalID
        self.at = at
        self.edgeNodeID = edgeNodeID
        self.remoteAddress = remoteAddress
        self.outcome = outcome
        self.detail = detail
    }
}
