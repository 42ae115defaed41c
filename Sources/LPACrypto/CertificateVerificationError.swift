import COpenSSL

/// Why `CertificateVerifier` rejected a certificate path.
///
/// `message` is OpenSSL's own wording (`X509_verify_cert_error_string`), `openSSLCode` its `X509_V_ERR_*`
/// number; `reason` sorts the common cases for callers that react to them.
public struct CertificateVerificationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The common reasons a path is rejected.
    public enum Reason: String, Sendable, Hashable {
        /// A certificate's notAfter is before the verification time.
        case expired
        /// A certificate's notBefore is after the verification time.
        case notYetValid
        /// No trusted root (or intermediate) issued a certificate in the path.
        case unknownIssuer
        /// A signature in the path does not verify.
        case badSignature
        /// An issuing certificate is not a valid CA (basic constraints, key usage).
        case invalidCA
        /// A CA's path length constraint is exceeded.
        case pathLengthExceeded
        /// The leaf is not valid for the requested purpose.
        case invalidPurpose
        /// A name violates a CA's name constraints.
        case nameConstraintViolation
        /// Verification could not run (allocation failure).
        case internalFailure
        /// Any other OpenSSL verification error; see `message`.
        case other

        init(openSSLCode code: Int32) {
            switch code {
            case X509_V_ERR_CERT_HAS_EXPIRED: self = .expired
            case X509_V_ERR_CERT_NOT_YET_VALID: self = .notYetValid
            case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT, X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
                 X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE, X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
                 X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN, X509_V_ERR_CERT_UNTRUSTED:
                self = .unknownIssuer
            case X509_V_ERR_CERT_SIGNATURE_FAILURE, X509_V_ERR_UNABLE_TO_DECRYPT_CERT_SIGNATURE:
                self = .badSignature
            case X509_V_ERR_INVALID_CA, X509_V_ERR_KEYUSAGE_NO_CERTSIGN: self = .invalidCA
            case X509_V_ERR_PATH_LENGTH_EXCEEDED: self = .pathLengthExceeded
            case X509_V_ERR_INVALID_PURPOSE: self = .invalidPurpose
            case X509_V_ERR_PERMITTED_VIOLATION, X509_V_ERR_EXCLUDED_VIOLATION, X509_V_ERR_SUBTREE_MINMAX,
                 X509_V_ERR_UNSUPPORTED_CONSTRAINT_TYPE, X509_V_ERR_UNSUPPORTED_NAME_SYNTAX:
                self = .nameConstraintViolation
            default: self = .other
            }
        }
    }

    /// The sorted reason.
    public let reason: Reason
    /// OpenSSL's `X509_V_ERR_*` code (0 for `internalFailure`).
    public let openSSLCode: Int32
    /// OpenSSL's description of the failure, for example "certificate has expired".
    public let message: String
    /// Position in the path of the certificate that failed: 0 is the leaf.
    public let depth: Int
    /// Subject of the certificate that failed, when known.
    public let subject: DistinguishedName?

    public init(reason: Reason, openSSLCode: Int32, message: String, depth: Int, subject: DistinguishedName?) {
        self.reason = reason
        self.openSSLCode = openSSLCode
        self.message = message
        self.depth = depth
        self.subject = subject
    }

    static func internalFailure(_ context: String, _ reasons: [String]) -> CertificateVerificationError {
        CertificateVerificationError(
            reason: .internalFailure,
            openSSLCode: 0,
            message: ([context] + reasons).joined(separator: ": "),
            depth: 0,
            subject: nil
        )
    }

    public var description: String {
        var text = "certificate verification failed: \(message) (\(reason.rawValue), OpenSSL code \(openSSLCode)) at depth \(depth)"
        if let subject { text += " for \(subject)" }
        return text
    }
}
