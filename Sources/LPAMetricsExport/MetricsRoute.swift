import Hummingbird
import Logging
import NIOCore

extension PrometheusExport {
    /// Adds `GET path` answering with ``render()``; `beforeScrape` runs first (to refresh gauges
    /// computed on demand).
    public func addRoute<Context: RequestContext>(to router: Router<Context>, path: RouterPath = "/metrics",
                                                  beforeScrape: @escaping @Sendable () async -> Void = {}) {
        router.get(path) { _, _ -> Response in
            await beforeScrape()
            return Response(status: .ok, headers: [.contentType: Self.contentType],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: self.render())))
        }
    }

    /// A listener serving `GET /metrics` and, when `health` is given, ``HealthRoutes`` (the edge's
    /// metrics port).
    public func startListener(host: String, port: Int, logger: Logger,
                              health: (@Sendable () async -> HealthReport)? = nil) async throws -> HTTPListener {
        let router = Router(context: BasicRequestContext.self)
        addRoute(to: router)
        if let health { HealthRoutes.add(to: router, report: health) }
        return try await HTTPListener.start(router: router, host: host, port: port, logger: logger)
    }
}
