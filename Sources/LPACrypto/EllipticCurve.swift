/// The elliptic curves `LPACrypto` generates keys on and signs with.
///
/// GSMA SGP.22 PKIs use both: NIST P-256 and brainpoolP256r1 (RFC 5639). The raw value is the spelling used on
/// command lines and in configuration files.
public enum EllipticCurve: String, Sendable, Hashable, CaseIterable, Codable, CustomStringConvertible {
    /// NIST P-256 (secp256r1, prime256v1).
    case p256
    /// brainpoolP256r1 (RFC 5639).
    case brainpoolP256r1

    /// The group name OpenSSL 3 uses for the curve.
    public var openSSLGroupName: String {
        switch self {
        case .p256: "prime256v1"
        case .brainpoolP256r1: "brainpoolP256r1"
        }
    }

    /// The curve's object identifier, dotted.
    public var objectIdentifier: String {
        switch self {
        case .p256: "1.2.840.10045.3.1.7"
        case .brainpoolP256r1: "1.3.36.3.3.2.8.1.1.7"
        }
    }

    /// Bytes in one field element or scalar: the length of `r`, `s`, `x` and `y`.
    public var coordinateByteCount: Int { 32 }

    /// Bytes in an uncompressed point `04 ‖ x ‖ y`.
    public var uncompressedPointByteCount: Int { 1 + 2 * coordinateByteCount }

    /// Bytes in a raw `r ‖ s` signature (the SGP.22 tag `5F37` format).
    public var rawSignatureByteCount: Int { 2 * coordinateByteCount }

    public var description: String { rawValue }

    /// The curve OpenSSL calls `name`, or `nil` for a curve `LPACrypto` does not support.
    public init?(openSSLGroupName name: String) {
        switch name {
        case "prime256v1", "P-256", "secp256r1": self = .p256
        case "brainpoolP256r1": self = .brainpoolP256r1
        default: return nil
        }
    }
}
