/// An error raised by a cryptographic operation in `LPACrypto`.
///
/// Every error says what was being done (`context`, e.g. "parsing a PEM private key") and carries the reason
/// strings OpenSSL left on the calling thread's error queue when the operation failed (`openSSLReasons`, e.g.
/// "PEM routines: no start line"). The queue is drained when the error is made, so a later failure on the same
/// thread never reports stale reasons. Errors never contain key material.
public struct CryptoError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What kind of failure this is; stable across releases, suitable for logs and metrics.
    public enum Code: String, Sendable, Equatable, CaseIterable {
        /// The input (PEM, DER, point, signature, identifier, parameter) is malformed or out of range.
        case invalidInput
        /// The key type or curve is not one `LPACrypto` supports for this operation.
        case unsupportedAlgorithm
        /// Two inputs that must match do not (for example an issuer certificate and its private key).
        case mismatchedInput
        /// Generating a key pair failed.
        case keyGenerationFailed
        /// Producing a signature failed.
        case signingFailed
        /// Deriving a shared secret failed.
        case keyAgreementFailed
        /// Serialising a key, certificate or signature failed.
        case encodingFailed
        /// Assembling or signing a certificate failed.
        case certificateBuildFailed
        /// The random number generator could not produce bytes.
        case randomFailed
        /// OpenSSL failed in a way that does not depend on the input (usually memory exhaustion).
        case internalFailure
    }

    /// What kind of failure this is.
    public let code: Code
    /// What was being done, in words a person can act on.
    public let context: String
    /// OpenSSL's reason strings, oldest first ("library: reason (detail)"); empty when OpenSSL reported none.
    public let openSSLReasons: [String]

    /// Creates an error with explicit reasons; the OpenSSL error queue is left untouched.
    public init(code: Code, context: String, openSSLReasons: [String] = []) {
        self.code = code
        self.context = context
        self.openSSLReasons = openSSLReasons
    }

    /// Creates an error for a failed OpenSSL call, draining the calling thread's error queue into it.
    static func openSSL(_ code: Code, _ context: String) -> CryptoError {
        CryptoError(code: code, context: context, openSSLReasons: OpenSSLErrorQueue.drain())
    }

    public var description: String {
        var text = "\(code.rawValue): \(context)"
        if !openSSLReasons.isEmpty {
            text += " [OpenSSL: " + openSSLReasons.joined(separator: "; ") + "]"
        }
        return text
    }
}
