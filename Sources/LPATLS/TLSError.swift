/// Failures of the TLS layer. Each carries OpenSSL's own reason strings where OpenSSL produced them,
/// so the cause reaches logs unchanged.
public enum TLSError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The configuration is inconsistent or names something OpenSSL does not accept.
    case invalidConfiguration(String)
    /// Certificates, keys or trust roots could not be loaded.
    case credentialLoadFailed(what: String, reasons: [String])
    /// The handshake failed. `verifyError` is set when peer certificate verification caused it.
    case handshakeFailed(reasons: [String], verifyError: String?)
    /// The handshake did not finish within the configured time.
    case handshakeTimeout
    /// The transport closed before the handshake finished.
    case closedDuringHandshake
    /// Decrypting or authenticating a record failed after the handshake.
    case readFailed(reasons: [String])
    /// Encrypting application data failed.
    case writeFailed(reasons: [String])
    /// A write was attempted after the connection began closing.
    case closed

    /// A stable, short code naming the failure class, for metrics and error reports.
    public var code: String {
        switch self {
        case .invalidConfiguration: return "TLS_INVALID_CONFIGURATION"
        case .credentialLoadFailed: return "TLS_CREDENTIAL_LOAD_FAILED"
        case .handshakeFailed(_, let verify): return verify == nil ? "TLS_HANDSHAKE_FAILED" : "TLS_PEER_VERIFICATION_FAILED"
        case .handshakeTimeout: return "TLS_HANDSHAKE_TIMEOUT"
        case .closedDuringHandshake: return "TLS_CLOSED_DURING_HANDSHAKE"
        case .readFailed: return "TLS_READ_FAILED"
        case .writeFailed: return "TLS_WRITE_FAILED"
        case .closed: return "TLS_CLOSED"
        }
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let s):
            return "\(code): \(s)"
        case .credentialLoadFailed(let what, let reasons):
            return "\(code): \(what): \(reasons.joined(separator: "; "))"
        case .handshakeFailed(let reasons, let verify):
            var parts: [String] = []
            if let verify { parts.append("peer certificate: \(verify)") }
            parts.append(contentsOf: reasons)
            return "\(code): \(parts.isEmpty ? "handshake failed" : parts.joined(separator: "; "))"
        case .readFailed(let reasons), .writeFailed(let reasons):
            return "\(code): \(reasons.joined(separator: "; "))"
        case .handshakeTimeout, .closedDuringHandshake, .closed:
            return code
        }
    }
}
