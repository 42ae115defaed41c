import HTTPTypes
import Hummingbird
import NIOCore

/// The operator console: one HTML page, a style sheet and a script, compiled into the binary as
/// string constants (``ConsolePage``, ``ConsoleStyle``, ``ConsoleScript``), so lpa-core serves them
/// whatever its working directory and nothing is fetched from elsewhere. The page signs in with a
/// bearer token kept in `sessionStorage` and calls the admin API with it.
///
/// Served without a token: the files hold no data; every datum comes from the API, which checks
/// the token and role on each call.
enum ConsoleAssets {
    struct Asset: Sendable {
        var contentType: String
        var body: ByteBuffer
    }

    /// Path under `/console/` → file.
    static let files: [String: Asset] = [
        "index.html": Asset(contentType: "text/html; charset=utf-8", body: ByteBuffer(string: ConsolePage.html)),
        "console.css": Asset(contentType: "text/css; charset=utf-8", body: ByteBuffer(string: ConsoleStyle.css)),
        "console.js": Asset(contentType: "text/javascript; charset=utf-8", body: ByteBuffer(string: ConsoleScript.javascript)),
    ]

    static func addRoutes(to router: Router<BasicRequestContext>) {
        // The router treats `/console` and `/console/` alike.
        router.get("/") { _, _ in Response(status: .seeOther, headers: [.location: "/console/"]) }
        router.get("/console") { _, _ in try serve("index.html") }
        router.get("/console/{file}") { _, context in try serve(context.parameters.get("file") ?? "") }
    }

    static func serve(_ name: String) throws -> Response {
        guard let asset = files[name] else { throw AdminError.notFound("no console file '\(name)'", field: "file") }
        return Response(status: .ok, headers: [.contentType: asset.contentType, .cacheControl: "no-cache"],
                        body: ResponseBody(byteBuffer: asset.body))
    }
}
