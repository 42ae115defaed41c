/// One automation rule of the configuration library (S120): when a device matches, it gets the rule's
/// data-configuration requirement. Rules are evaluated in ascending `priority`, then by name; the
/// first match wins.
public struct ConfigurationRule: Codable, Sendable, Hashable {
    public var name: String
    public var priority: Int
    public var enabled: Bool
    public var match: RuleMatch
    public var requirement: DataConfigurationRequirement

    public init(name: String, priority: Int, enabled: Bool = true, match: RuleMatch, requirement: DataConfigurationRequirement) {
        self.name = name
        self.priority = priority
        self.enabled = enabled
        self.match = match
        self.requirement = requirement
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        priority = try c.decodeIfPresent(Int.self, forKey: .priority) ?? 100
        enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
        match = try c.decodeIfPresent(RuleMatch.self, forKey: .match) ?? RuleMatch()
        requirement = try c.decode(DataConfigurationRequirement.self, forKey: .requirement)
    }
}

/// Conditions of a rule; every condition given must hold (an empty list means "any").
public struct RuleMatch: Codable, Sendable, Hashable {
    /// Device model codes.
    public var models: [String]
    /// EID prefixes (e.g. an EUM's IIN `89049032`).
    public var eidPrefixes: [String]
    /// Inclusive IMEI ranges, `FIRST-LAST` with 15 digits each.
    public var imeiRanges: [String]
    /// ICCID prefixes of the profile the device reports now.
    public var iccidPrefixes: [String]
    /// Tags the device must all carry.
    public var tags: [String]

    public init(models: [String] = [], eidPrefixes: [String] = [], imeiRanges: [String] = [], iccidPrefixes: [String] = [], tags: [String] = []) {
        self.models = models
        self.eidPrefixes = eidPrefixes
        self.imeiRanges = imeiRanges
        self.iccidPrefixes = iccidPrefixes
        self.tags = tags
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        models = try c.decodeIfPresent([String].self, forKey: .models) ?? []
        eidPrefixes = try c.decodeIfPresent([String].self, forKey: .eidPrefixes) ?? []
        imeiRanges = try c.decodeIfPresent([String].self, forKey: .imeiRanges) ?? []
        iccidPrefixes = try c.decodeIfPresent([String].self, forKey: .iccidPrefixes) ?? []
        tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
    }
}

/// The data-configuration requirement a rule assigns: which operator's SM-DP+ provides which
/// profile, and how to ask for it.
public struct DataConfigurationRequirement: Codable, Sendable, Hashable {
    /// SM-DP+ address (host[:port]), as in an activation code.
    public var smdpAddress: String
    /// Operator's profile type (ES2+ `profileType`).
    public var profileType: String
    /// Full activation code `1$SMDP$MATCHINGID`, when the operator issued one per device.
    public var activationCode: String?
    /// Matching ID, when known in advance.
    public var matchingID: String?
    /// Order the profile through ES2+ (downloadOrder + confirmOrder) before downloading.
    public var orderViaES2Plus: Bool
    /// ICCID the device should end up with, when the operator fixed it.
    public var expectedICCID: String?

    public init(smdpAddress: String, profileType: String, activationCode: String? = nil, matchingID: String? = nil,
                orderViaES2Plus: Bool = false, expectedICCID: String? = nil) {
        self.smdpAddress = smdpAddress
        self.profileType = profileType
        self.activationCode = activationCode
        self.matchingID = matchingID
        self.orderViaES2Plus = orderViaES2Plus
        self.expectedICCID = expectedICCID
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        smdpAddress = try c.decode(String.self, forKey: .smdpAddress)
        profileType = try c.decode(String.self, forKey: .profileType)
        activationCode = try c.decodeIfPresent(String.self, forKey: .activationCode)
        matchingID = try c.decodeIfPresent(String.self, forKey: .matchingID)
        orderViaES2Plus = try c.decodeIfPresent(Bool.self, forKey: .orderViaES2Plus) ?? false
        expectedICCID = try c.decodeIfPresent(String.self, forKey: .expectedICCID)
    }
}
