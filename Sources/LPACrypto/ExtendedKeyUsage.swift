/// A purpose in the X.509 extended key usage extension (RFC 5280 §4.2.1.12), identified by its OID.
public struct ExtendedKeyUsage: Sendable, Hashable, CustomStringConvertible {
    /// The dotted OID of the purpose.
    public let oid: String

    public init(oid: String) {
        self.oid = oid
    }

    /// TLS server authentication (`id-kp-serverAuth`).
    public static let serverAuth = ExtendedKeyUsage(oid: "1.3.6.1.5.5.7.3.1")
    /// TLS client authentication (`id-kp-clientAuth`).
    public static let clientAuth = ExtendedKeyUsage(oid: "1.3.6.1.5.5.7.3.2")

    public var description: String {
        switch self {
        case .serverAuth: "serverAuth"
        case .clientAuth: "clientAuth"
        default: oid
        }
    }
}
