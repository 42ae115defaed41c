import NIOHTTP1

/// What an ``HTTPSServer`` handler answers. `Content-Length` and `Connection` are set by the
/// server.
public struct HTTPServerResponse: Sendable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]
    /// When true the server sends nothing and closes the connection (for fault injection).
    public var dropsConnection: Bool = false

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A response carrying `body` as `application/json`.
    public static func json(_ body: [UInt8], status: HTTPResponseStatus = .ok) -> HTTPServerResponse {
        HTTPServerResponse(status: status, headers: ["Content-Type": "application/json"], body: body)
    }

    /// No response at all: the connection is closed as soon as the handler returns.
    public static var dropConnection: HTTPServerResponse {
        var r = HTTPServerResponse(status: .internalServerError)
        r.dropsConnection = true
        return r
    }
}
