import Foundation
import NIOHTTP1

/// One HTTPS request: where it goes, what it carries. A plain value.
public struct HTTPClientRequest: Sendable, Equatable {
    public var method: HTTPMethod
    /// Host name or IP address; also the name the server certificate must match.
    public var host: String
    public var port: Int
    /// Path and query, starting with `/`.
    public var path: String
    /// Extra headers. `Host`, `Content-Length` and `Connection` are set by the client.
    public var headers: HTTPHeaders
    public var body: [UInt8]

    public init(method: HTTPMethod, host: String, port: Int = 443, path: String, headers: HTTPHeaders = [:], body: [UInt8] = []) {
        self.method = method
        self.host = host
        self.port = port
        self.path = path
        self.headers = headers
        self.body = body
    }

    /// A request to `url`, which must be `https://host[:port]/path[?query]`.
    ///
    /// - Throws: ``HTTPClientError/invalidRequest(_:)`` for any other URL.
    public init(method: HTTPMethod, url: String, headers: HTTPHeaders = [:], body: [UInt8] = []) throws {
        guard let components = URLComponents(string: url), components.scheme?.lowercased() == "https" else {
            throw HTTPClientError.invalidRequest("'\(url)' is not an https:// URL")
        }
        guard var host = components.host, !host.isEmpty else {
            throw HTTPClientError.invalidRequest("'\(url)' has no host")
        }
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        let port = components.port ?? 443
        guard (1...65535).contains(port) else {
            throw HTTPClientError.invalidRequest("'\(url)' has port \(port) outside 1...65535")
        }
        var path = components.percentEncodedPath
        if path.isEmpty { path = "/" }
        if let query = components.percentEncodedQuery { path += "?" + query }
        self.init(method: method, host: host, port: port, path: path, headers: headers, body: body)
    }

    /// The `Host` header value: the host, bracketed when it is an IPv6 address, and the port
    /// unless it is 443.
    var hostHeader: String {
        let name = host.contains(":") ? "[\(host)]" : host
        return port == 443 ? name : "\(name):\(port)"
    }
}
