import LPACore
import LPAMetricsExport
import Logging
import NIOCore

/// The admin API listening on its own port, started by ``CoreServer`` when the configuration has
/// an `admin` section.
public final class AdminServer: CoreAdminServer {
    private let listener: HTTPListener

    private init(listener: HTTPListener) {
        self.listener = listener
    }

    public var localAddress: SocketAddress { listener.localAddress }

    public func stop() async {
        await listener.stop()
    }

    /// Starts the API for `context`; `/metrics` renders `metrics` (nil: no metrics route answer).
    public static func start(_ context: CoreAdminContext, metrics: PrometheusExport?) async throws -> AdminServer {
        let api = AdminAPI(store: context.store, engine: context.engine, tokens: context.settings.tokens, metrics: metrics,
                           campaigns: context.campaigns, profileLinks: context.profileLinks, logger: context.logger, clock: context.clock)
        let listener = try await HTTPListener.start(router: api.router(), host: context.settings.host, port: context.settings.port,
                                                    logger: context.logger)
        return AdminServer(listener: listener)
    }

    /// What to give ``CoreServer/init(configuration:logger:clock:admin:)``.
    public static func starter(metrics: PrometheusExport?) -> CoreAdminStarter {
        { context in try await start(context, metrics: metrics) }
    }
}
