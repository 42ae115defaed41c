/// The X.509 name constraints extension (RFC 5280 §4.2.1.10), always critical, allowed only in CA
/// certificates. GSMA SGP.22 EUM certificates use a permitted `directoryName` to bind EIDs to the EUM.
public struct NameConstraints: Sendable, Hashable {
    /// Names (and the subtrees under them) that certificates below the CA may use.
    public var permittedSubtrees: [GeneralName]
    /// Names (and the subtrees under them) that certificates below the CA must not use.
    public var excludedSubtrees: [GeneralName]

    public init(permittedSubtrees: [GeneralName] = [], excludedSubtrees: [GeneralName] = []) {
        self.permittedSubtrees = permittedSubtrees
        self.excludedSubtrees = excludedSubtrees
    }
}

extension NameConstraints {
    /// The `directoryName` entries of `permittedSubtrees`.
    public var permittedDirectoryNames: [DistinguishedName] {
        permittedSubtrees.compactMap { name in
            if case .directoryName(let directoryName) = name { directoryName } else { nil }
        }
    }

    /// Whether `subject` lies within the permitted directory names by the GSMA SGP.22 rule (§4.5.2.2), which
    /// differs from RFC 5280's prefix match: for at least one permitted `directoryName`, every attribute of that
    /// name appears in `subject` with the same value, except `serialNumber`, whose value in `subject` (the EID)
    /// must begin with the permitted value (the EUM's IIN or EIN).
    ///
    /// `true` when there are no permitted directory names (nothing constrains the subject).
    public func permitsSGP22(_ subject: DistinguishedName) -> Bool {
        let permitted = permittedDirectoryNames
        guard !permitted.isEmpty else { return true }
        return permitted.contains { constraint in
            constraint.attributes.allSatisfy { attribute in
                let values = subject.values(for: attribute.type)
                return attribute.type == .serialNumber
                    ? values.contains { $0.hasPrefix(attribute.value) }
                    : values.contains(attribute.value)
            }
        }
    }
}
