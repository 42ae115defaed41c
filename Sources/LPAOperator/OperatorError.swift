import LPAHTTP

/// Why a call to an operator interface (ES9+ or ES2+) failed. Both interfaces share the
/// status handling of SGP.22's JSON binding, so they share this type; ``ES9PlusError`` and
/// ``ES2PlusError`` name it per interface. ``code`` is stable, for logs and metric labels.
public enum OperatorError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The SM-DP+ executed the function and reported `Failed`, with its reason.
    case failed(StatusCodeData)
    /// The SM-DP+ reported `Expired` (the session or order timed out on its side).
    case expired(StatusCodeData?)
    /// The SM-DP+ answered with an HTTP status other than the function's success status.
    /// `body` is the start of the response body, for diagnosis.
    case http(status: Int, body: String)
    /// The response is not what the function defines: not JSON, a field missing or of the wrong
    /// type, bad base64, a transactionId other than the session's.
    case malformedResponse(String)
    /// The HTTPS exchange failed (connection, TLS, size limit, …).
    case transport(HTTPClientError)
    /// No response arrived before the call's deadline.
    case timeout

    /// A stable, short code naming the failure class.
    public var code: String {
        switch self {
        case .failed: return "OPERATOR_FUNCTION_FAILED"
        case .expired: return "OPERATOR_FUNCTION_EXPIRED"
        case .http: return "OPERATOR_HTTP_STATUS"
        case .malformedResponse: return "OPERATOR_MALFORMED_RESPONSE"
        case .transport: return "OPERATOR_TRANSPORT"
        case .timeout: return "OPERATOR_TIMEOUT"
        }
    }

    public var description: String {
        switch self {
        case .failed(let data):
            return "\(code): \(data)"
        case .expired(let data):
            return data.map { "\(code): \($0)" } ?? code
        case .http(let status, let body):
            return "\(code): HTTP \(status)\(body.isEmpty ? "" : ": \(body)")"
        case .malformedResponse(let reason):
            return "\(code): \(reason)"
        case .transport(let error):
            return "\(code): \(error)"
        case .timeout:
            return "\(code): no response before the deadline"
        }
    }
}

/// Errors of ``ES9PlusClient`` calls.
public typealias ES9PlusError = OperatorError

/// Errors of ``ES2PlusClient`` calls.
public typealias ES2PlusError = OperatorError
