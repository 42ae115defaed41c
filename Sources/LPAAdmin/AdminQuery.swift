import Hummingbird
import LPADomain

/// Query and path parameters, checked one by one with errors that name the parameter.
struct AdminQuery {
    let request: Request
    let allowed: Set<String>

    init(_ request: Request, allowed: Set<String>) throws {
        self.request = request
        self.allowed = allowed
        for (name, _) in request.uri.queryParameters where !allowed.contains(String(name)) {
            throw AdminError.invalid("unknown query parameter; allowed: \(allowed.sorted().joined(separator: ", "))", field: String(name))
        }
    }

    func string(_ name: String) throws -> String? {
        guard let value = request.uri.queryParameters[name[...]] else { return nil }
        guard !value.isEmpty else { throw AdminError.invalid("must not be empty", field: name) }
        guard value.utf8.count <= 512 else { throw AdminError.invalid("at most 512 bytes", field: name) }
        return String(value)
    }

    func limit(default value: Int = 100, maximum: Int = 1000) throws -> Int {
        guard let text = try string("limit") else { return value }
        guard let limit = Int(text), (1...maximum).contains(limit) else {
            throw AdminError.invalid("must be an integer within 1...\(maximum), is '\(text)'", field: "limit")
        }
        return limit
    }

    func integer(_ name: String) throws -> Int64? {
        guard let text = try string(name) else { return nil }
        guard let value = Int64(text), value >= 0 else { throw AdminError.invalid("must be a non-negative integer, is '\(text)'", field: name) }
        return value
    }

    func enumeration<T: RawRepresentable & CaseIterable>(_ name: String, _ type: T.Type) throws -> T? where T.RawValue == String {
        guard let text = try string(name) else { return nil }
        guard let value = T(rawValue: text) else {
            throw AdminError.invalid("'\(text)' is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))", field: name)
        }
        return value
    }

    /// A path parameter, percent-decoded (`/v1/device-models/METER%20A` names the model `METER A`).
    static func pathParameter(_ context: some RequestContext, _ name: String) throws -> String {
        guard let raw = context.parameters.get(name), !raw.isEmpty else { throw AdminError.invalid("missing", field: name) }
        guard let value = raw.removingPercentEncoding, !value.isEmpty else {
            throw AdminError.invalid("is not valid percent-encoded UTF-8", field: name)
        }
        guard value.utf8.count <= 512 else { throw AdminError.invalid("at most 512 bytes", field: name) }
        return value
    }
}
