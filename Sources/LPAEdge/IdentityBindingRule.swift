import LPATLS
import TerminalProtocol

/// Binds one identity field a terminal claims in Hello to one attribute of its client certificate's
/// subject. A terminal whose claim differs from its certificate is refused with `IDENTITY_MISMATCH`.
public struct IdentityBindingRule: Codable, Sendable, Equatable {
    /// Hello identity field: `eid`, `imei`, `iccid`, `model`, `firmware` or an extra field's key.
    public var field: String
    /// Certificate subject attribute by OpenSSL short name, e.g. `CN` or `serialNumber`.
    public var certificateAttribute: String
    /// When true the certificate must carry the attribute; when false the rule applies only if it does.
    public var required: Bool

    public init(field: String, certificateAttribute: String, required: Bool) {
        self.field = field
        self.certificateAttribute = certificateAttribute
        self.required = required
    }

    /// Device certificates name the EID in CN and, optionally, the IMEI in serialNumber.
    public static let defaults: [IdentityBindingRule] = [
        IdentityBindingRule(field: "eid", certificateAttribute: "CN", required: true),
        IdentityBindingRule(field: "imei", certificateAttribute: "serialNumber", required: false),
    ]

    /// Checks `identity` against the certificate subject; returns a precise reason on mismatch.
    public static func check(
        _ identity: Identity, subject: [TLSSubjectAttribute], rules: [IdentityBindingRule]
    ) -> String? {
        for rule in rules {
            let certified = subject.first { $0.name == rule.certificateAttribute }?.value
            guard let certified else {
                if rule.required {
                    return "client certificate has no \(rule.certificateAttribute) to bind \(rule.field)"
                }
                continue
            }
            let claimed = identity.value(forField: rule.field) ?? ""
            if claimed != certified {
                return "\(rule.field) '\(claimed)' does not match certificate \(rule.certificateAttribute) '\(certified)'"
            }
        }
        return nil
    }
}

extension Identity {
    /// The value of a named identity field (`eid`, `imei`, `iccid`, `model`, `firmware`, or an extra key).
    public func value(forField name: String) -> String? {
        switch name {
        case "eid": return eid
        case "imei": return imei
        case "iccid": return iccid
        case "model": return model
        case "firmware": return firmware
        default: return extra.first { $0.key == name }?.value
        }
    }
}
