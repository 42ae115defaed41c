import NIOHTTP1

/// A complete HTTP response: status, headers and the whole body (bounded by the client's limit).
public struct HTTPClientResponse: Sendable, Equatable {
    public var status: HTTPResponseStatus
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(status: HTTPResponseStatus, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.status = status
        self.headers = headers
        self.body = body
    }
}
