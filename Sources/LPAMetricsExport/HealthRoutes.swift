import Foundation
import Hummingbird
import NIOCore

/// What a process says about its own health: whether it can do its work now, check by check.
public struct HealthReport: Sendable, Equatable {
    /// One condition readiness depends on, with a short word on its state (`ok`, or what is wrong).
    public struct Check: Sendable, Equatable {
        public var name: String
        public var ok: Bool
        public var detail: String

        public init(name: String, ok: Bool, detail: String) {
            self.name = name
            self.ok = ok
            self.detail = detail
        }
    }

    public var checks: [Check]

    public init(checks: [Check]) {
        self.checks = checks
    }

    /// Ready when every check is.
    public var ready: Bool { checks.allSatisfy(\.ok) }

    /// `{"status":"ready"|"unready","checks":{"name":"detail",…}}`.
    public func json() -> [UInt8] {
        var object: [String: Any] = ["status": ready ? "ready" : "unready"]
        object["checks"] = Dictionary(checks.map { ($0.name, $0.detail) }, uniquingKeysWith: { first, _ in first })
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data()
        return Array(data)
    }
}

/// Liveness and readiness for orchestrators, container health checks and balancers, without
/// authentication (they reveal nothing but the checks' states):
/// - `GET /health/live`: 200 while the process serves HTTP at all.
/// - `GET /health/ready`: 200 when every check of the report passes, 503 otherwise; the body is
///   ``HealthReport/json()`` either way.
public enum HealthRoutes {
    public static let livePath = "/health/live"
    public static let readyPath = "/health/ready"

    public static func add<Context: RequestContext>(to router: Router<Context>, report: @escaping @Sendable () async -> HealthReport) {
        router.get(RouterPath(livePath)) { _, _ -> Response in liveResponse() }
        router.get(RouterPath(readyPath)) { _, _ -> Response in readyResponse(await report()) }
    }

    /// The answer to `GET /health/live`.
    public static func liveResponse() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"status":"live"}"#)))
    }

    /// The answer to `GET /health/ready` for `report`: 200 when ready, 503 otherwise.
    public static func readyResponse(_ report: HealthReport) -> Response {
        Response(status: report.ready ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: report.json())))
    }
}
