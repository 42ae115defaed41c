import HTTPTypes
import Hummingbird
import LPACore

/// One admin API operation: method, path (OpenAPI template syntax, `{name}` for parameters) and
/// the role it needs (nil: open, as `/metrics` for scrapers). ``AdminAPI/routes`` lists them all;
/// the router is built from that list and the OpenAPI document is checked against it.
public struct AdminRoute: Sendable, Hashable {
    public var method: HTTPRequest.Method
    public var path: String
    public var role: AdminRole?

    public init(_ method: HTTPRequest.Method, _ path: String, _ role: AdminRole?) {
        self.method = method
        self.path = path
        self.role = role
    }
}
