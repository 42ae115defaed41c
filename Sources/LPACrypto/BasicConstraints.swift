/// The X.509 basic constraints extension (RFC 5280 §4.2.1.9).
public struct BasicConstraints: Sendable, Hashable {
    /// Whether the subject is a certificate authority.
    public var isCA: Bool
    /// The most intermediate CA certificates that may follow this one in a path; `nil` for no limit.
    public var pathLengthConstraint: Int?
    /// Whether the extension is marked critical (RFC 5280 requires it in CA certificates).
    public var isCritical: Bool

    public init(isCA: Bool, pathLengthConstraint: Int? = nil, isCritical: Bool = true) {
        self.isCA = isCA
        self.pathLengthConstraint = pathLengthConstraint
        self.isCritical = isCritical
    }

    /// A CA, critical, with an optional path length limit.
    public static func certificateAuthority(pathLength: Int? = nil) -> BasicConstraints {
        BasicConstraints(isCA: true, pathLengthConstraint: pathLength)
    }

    /// Not a CA, critical.
    public static let endEntity = BasicConstraints(isCA: false)
}
