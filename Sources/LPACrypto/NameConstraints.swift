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
