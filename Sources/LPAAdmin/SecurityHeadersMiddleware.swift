import HTTPTypes
import Hummingbird

/// Headers on every admin API and console answer: a Content-Security-Policy that allows only this
/// origin's own scripts, styles and connections (no inline script, no framing, nothing from
/// elsewhere), framing refused, MIME sniffing off, no referrer, and no caching of API answers.
///
/// The console authenticates with a bearer token in the `Authorization` header, never a cookie, so
/// a page on another origin cannot make the browser send a request carrying the operator's rights.
struct SecurityHeadersMiddleware<Context: RequestContext>: RouterMiddleware {
    static var contentSecurityPolicy: String {
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
            + "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    }

    static var xFrameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }
    static var referrerPolicy: HTTPField.Name { HTTPField.Name("Referrer-Policy")! }
    static var crossOriginOpenerPolicy: HTTPField.Name { HTTPField.Name("Cross-Origin-Opener-Policy")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        response.headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        response.headers[Self.xFrameOptions] = "DENY"
        response.headers[.xContentTypeOptions] = "nosniff"
        response.headers[Self.referrerPolicy] = "no-referrer"
        response.headers[Self.crossOriginOpenerPolicy] = "same-origin"
        if response.headers[.cacheControl] == nil { response.headers[.cacheControl] = "no-store" }
        return response
    }
}
