import Foundation
import HTTPTypes
import Hummingbird
import LPACore
import LPAIdentity
import LPAStore
import NIOCore

/// An admin API failure as the client sees it: `{"error": {"code", "message", "field"}}`.
///
/// Codes are the project's own where one exists (``StoreError/Kind`` raw values, identity codes
/// such as `eid.bad_check_digits`); the API adds only its own transport-level ones below.
public struct AdminError: Error, Sendable, Equatable, CustomStringConvertible {
    public var status: HTTPResponse.Status
    public var code: String
    public var message: String
    /// Where the problem is: a JSON path in the body, a query parameter, a path parameter or a CSV column.
    public var field: String?

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public var description: String { "\(code): \(message)" + (field.map { " (\($0))" } ?? "") }

    static func unauthenticated(_ message: String) -> AdminError { AdminError(.unauthorized, "UNAUTHENTICATED", message) }
    static func forbidden(_ message: String) -> AdminError { AdminError(.forbidden, "FORBIDDEN", message) }
    static func notFound(_ message: String, field: String? = nil) -> AdminError { AdminError(.notFound, "NOT_FOUND", message, field: field) }
    static func invalid(_ message: String, field: String?) -> AdminError { AdminError(.badRequest, "INVALID_ARGUMENT", message, field: field) }

    /// Maps errors from the layers below to their API form.
    static func from(_ error: any Error) -> AdminError {
        switch error {
        case let error as AdminError:
            return error
        case let error as StoreError:
            switch error.kind {
            case .invalidInput: return AdminError(.badRequest, error.kind.rawValue, error.detail)
            case .conflict: return AdminError(.conflict, error.kind.rawValue, error.detail)
            case .connection: return AdminError(.serviceUnavailable, error.kind.rawValue, "\(error.operation): \(error.detail)")
            default: return AdminError(.internalServerError, error.kind.rawValue, "\(error.operation): \(error.detail)")
            }
        case let error as CampaignError:
            switch error {
            case .notFound: return AdminError(.notFound, error.code, error.description, field: "id")
            case .wrongState: return AdminError(.conflict, error.code, error.description)
            case .invalid(let field, let message): return AdminError(.badRequest, error.code, message, field: field)
            }
        case let error as LibraryError:
            return AdminError(.badRequest, "LIBRARY_INVALID", error.detail, field: error.location.isEmpty ? nil : error.location)
        case let error as IdentityError:
            return AdminError(.badRequest, error.code, error.description, field: error.field.rawValue.lowercased())
        case let error as HTTPError:
            switch error.status {
            case .notFound: return AdminError(.notFound, "ROUTE_NOT_FOUND", "no such route")
            case .contentTooLarge: return AdminError(.contentTooLarge, "BODY_TOO_LARGE", error.body ?? "request body too large")
            default: return AdminError(error.status, "HTTP_\(error.status.code)", error.body ?? error.status.reasonPhrase)
            }
        case let error as DecodingError:
            return AdminError(.badRequest, "INVALID_JSON", AdminJSON.describe(error), field: AdminJSON.path(of: error))
        case is NIOTooManyBytesError:
            return AdminError(.contentTooLarge, "BODY_TOO_LARGE", "the request body is larger than \(AdminJSON.maximumBodyBytes) bytes")
        default:
            return AdminError(.internalServerError, "INTERNAL", "\(error)")
        }
    }

    var response: Response {
        struct Body: Encodable {
            struct Detail: Encodable {
                var code: String
                var message: String
                var field: String?
            }
            var error: Detail
        }
        var headers: HTTPFields = [.contentType: "application/json"]
        if status == .unauthorized { headers[.wwwAuthenticate] = "Bearer realm=\"lpa-core admin\"" }
        return Response(status: status, headers: headers,
                        body: ResponseBody(byteBuffer: AdminJSON.buffer(Body(error: .init(code: code, message: message, field: field)))))
    }
}

/// Turns every failure under it into an ``AdminError`` response, and logs server-side ones.
struct AdminErrorMiddleware<Context: RequestContext>: RouterMiddleware {
    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let mapped = AdminError.from(error)
            if mapped.status.code >= 500 {
                context.logger.error("admin request failed", metadata: ["path": "\(request.uri.path)", "error": "\(error)"])
            }
            return mapped.response
        }
    }
}
