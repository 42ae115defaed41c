import LPADomain

/// The configuration library (S120): ordered automation rules that map a device to its
/// data-configuration requirement. A plain value.
public struct ConfigurationLibrary: Sendable {
    public let rules: [ConfigurationRule]

    /// Rules are kept in evaluation order: ascending priority, then name.
    public init(_ rules: [ConfigurationRule]) {
        self.rules = rules.sorted { ($0.priority, $0.name) < ($1.priority, $1.name) }
    }

    /// The first enabled rule matching the device, with its requirement.
    public func evaluate(model: String, fields: [String: String], tags: [String]) -> ConfigurationRule? {
        rules.first { $0.enabled && Self.matches($0.match, model: model, fields: fields, tags: tags) }
    }

    static func matches(_ m: RuleMatch, model: String, fields: [String: String], tags: [String]) -> Bool {
        if !m.models.isEmpty, !m.models.contains(model) { return false }
        if !m.eidPrefixes.isEmpty {
            guard let eid = fields["eid"], m.eidPrefixes.contains(where: { eid.hasPrefix($0) }) else { return false }
        }
        if !m.iccidPrefixes.isEmpty {
            guard let iccid = fields["iccid"], m.iccidPrefixes.contains(where: { iccid.hasPrefix($0) }) else { return false }
        }
        if !m.imeiRanges.isEmpty {
            guard let imei = fields["imei"], m.imeiRanges.contains(where: { IMEIRange($0)?.contains(imei) ?? false }) else { return false }
        }
        if !m.tags.isEmpty {
            let have = Set(tags)
            guard m.tags.allSatisfy(have.contains) else { return false }
        }
        return true
    }

    /// Why a rule is malformed, or nil.
    public static func problem(with rule: ConfigurationRule) -> String? {
        if rule.name.isEmpty { return "name must not be empty" }
        for (i, r) in rule.match.imeiRanges.enumerated() where IMEIRange(r) == nil {
            return "match.imeiRanges[\(i)] '\(r)' is not FIRST-LAST with two 15-digit IMEIs, first ≤ last"
        }
        if rule.requirement.smdpAddress.isEmpty { return "requirement.smdpAddress must not be empty" }
        if rule.requirement.profileType.isEmpty, rule.requirement.activationCode == nil, rule.requirement.matchingID == nil {
            return "requirement needs a profileType, an activationCode or a matchingID"
        }
        if let ac = rule.requirement.activationCode {
            let parts = ac.split(separator: "$", omittingEmptySubsequences: false)
            if parts.count < 3 || parts[0] != "1" || parts[1].isEmpty {
                return "requirement.activationCode '\(ac)' is not of the form 1$SMDP_ADDRESS$MATCHING_ID"
            }
        }
        return nil
    }
}

/// An inclusive range of 15-digit IMEIs, written `FIRST-LAST`.
struct IMEIRange {
    let first: UInt64
    let last: UInt64

    init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, parts[0].count == 15, parts[1].count == 15,
              let a = UInt64(parts[0]), let b = UInt64(parts[1]), a <= b else { return nil }
        first = a
        last = b
    }

    func contains(_ imei: String) -> Bool {
        guard imei.count == 15, let v = UInt64(imei) else { return false }
        return v >= first && v <= last
    }
}
