import LPATLS

/// Why an ``HTTPSClient`` call failed. Every failure of a call is one of these; the ``code`` is
/// stable and meant for logs and metric labels.
public enum HTTPClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The TCP connection to `host:port` could not be opened (refused, unreachable, name not
    /// resolved, or the connect timeout passed before the call's deadline).
    case connectFailed(host: String, port: Int, reason: String)
    /// TLS failed: handshake (including server certificate or hostname verification), or a
    /// record error afterwards. Carries the TLS layer's own error.
    case tls(TLSError)
    /// The call's deadline passed. The connection the call used, if any, was closed.
    case timeout
    /// The server closed the connection before the whole response arrived.
    case connectionClosedEarly
    /// The response body is larger than the configured limit, in bytes. The connection was closed.
    case responseTooLarge(limit: Int)
    /// The bytes received are not an HTTP/1.1 response.
    case malformedResponse(String)
    /// The request cannot be sent as given (URL not `https://host[:port]/path`, …).
    case invalidRequest(String)
    /// The calling task was cancelled; the connection the call used, if any, was closed.
    case cancelled
    /// The client was shut down.
    case shutDown

    /// A stable, short code naming the failure class.
    public var code: String {
        switch self {
        case .connectFailed: return "HTTP_CONNECT_FAILED"
        case .tls: return "HTTP_TLS_FAILED"
        case .timeout: return "HTTP_TIMEOUT"
        case .connectionClosedEarly: return "HTTP_CONNECTION_CLOSED_EARLY"
        case .responseTooLarge: return "HTTP_RESPONSE_TOO_LARGE"
        case .malformedResponse: return "HTTP_MALFORMED_RESPONSE"
        case .invalidRequest: return "HTTP_INVALID_REQUEST"
        case .cancelled: return "HTTP_CANCELLED"
        case .shutDown: return "HTTP_CLIENT_SHUT_DOWN"
        }
    }

    public var description: String {
        switch self {
        case .connectFailed(let host, let port, let reason):
            return "\(code): cannot connect to \(host):\(port): \(reason)"
        case .tls(let error):
            return "\(code): \(error)"
        case .timeout:
            return "\(code): no complete response before the deadline"
        case .connectionClosedEarly:
            return "\(code): the server closed the connection before the response was complete"
        case .responseTooLarge(let limit):
            return "\(code): response body exceeds \(limit) bytes"
        case .malformedResponse(let reason), .invalidRequest(let reason):
            return "\(code): \(reason)"
        case .cancelled, .shutDown:
            return code
        }
    }
}
