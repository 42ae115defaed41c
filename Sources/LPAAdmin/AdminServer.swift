import Foundation
import HummingbirdCore
import LPACore
import LPAMetricsExport
import LPATLS
import Logging
import NIOCore

/// The admin API and the operator console listening on their own port, started by ``CoreServer``
/// when the configuration has an `admin` section: HTTPS through LPATLS when `admin.tls` is set,
/// plain HTTP otherwise (loopback hosts only; anything else is refused before binding).
public final class AdminServer: CoreAdminServer {
    private let listener: HTTPListener
    private let sampler: PresenceSampler
    /// `https` or `http`.
    public let scheme: String

    private init(listener: HTTPListener, sampler: PresenceSampler, scheme: String) {
        self.listener = listener
        self.sampler = sampler
        self.scheme = scheme
    }

    public var localAddress: SocketAddress { listener.localAddress }

    public func stop() async {
        await sampler.stop()
        await listener.stop()
    }

    /// Starts the API for `context`; `/metrics` renders `metrics` (nil: no metrics route answer).
    ///
    /// - Throws: ``AdminServerError`` for plain HTTP on a non-loopback host; ``TLSError`` when the
    ///   certificate, key or client CA cannot be loaded; the bind error.
    public static func start(_ context: CoreAdminContext, metrics: PrometheusExport?) async throws -> AdminServer {
        let settings = context.settings
        let server: HTTPServerBuilder
        if let tls = settings.tls {
            server = AdminTLSChannel.builder(try TLSContext(configuration: tlsConfiguration(tls)))
        } else {
            guard CoreConfiguration.Admin.isLoopback(settings.host) else { throw AdminServerError.plainHTTPOffLoopback(host: settings.host) }
            server = .http1()
        }
        let sampler = PresenceSampler(engine: context.engine, logger: context.logger)
        let api = AdminAPI(store: context.store, engine: context.engine, tokens: settings.tokens, metrics: metrics,
                           campaigns: context.campaigns, profileLinks: context.profileLinks, presenceHistory: sampler,
                           logger: context.logger, clock: context.clock)
        let listener = try await HTTPListener.start(router: api.router(), host: settings.host, port: settings.port,
                                                    server: server, logger: context.logger)
        sampler.start()
        let scheme = settings.tls == nil ? "http" : "https"
        context.logger.info("admin API and console listening", metadata: [
            "admin.address": "\(listener.localAddress)", "admin.console": "\(scheme)://\(settings.host):\(listener.port)/console/"])
        return AdminServer(listener: listener, sampler: sampler, scheme: scheme)
    }

    /// The LPATLS server configuration for `admin.tls`.
    public static func tlsConfiguration(_ tls: CoreConfiguration.Admin.TLS) -> TLSConfiguration {
        let verification: TLSConfiguration.PeerVerification
        switch tls.clientCertificates {
        case .none: verification = .none
        case .optional: verification = .optional
        case .required: verification = .required
        }
        var configuration = TLSConfiguration.server(certificateChain: .file(tls.certificate), privateKey: .file(tls.privateKey),
                                                    trustRoots: tls.clientCA.map { .file($0) }, peerVerification: verification)
        configuration.sessionContext = "serverlpa-admin"
        // Browsers and HTTP clients open short connections at will: keep OpenSSL's record layer.
        configuration.compactSessions = false
        return configuration
    }

    /// What to give ``CoreServer/init(configuration:logger:clock:admin:)``.
    public static func starter(metrics: PrometheusExport?) -> CoreAdminStarter {
        { context in try await start(context, metrics: metrics) }
    }
}

/// Why the admin server would not start.
public enum AdminServerError: Error, CustomStringConvertible, Equatable {
    case plainHTTPOffLoopback(host: String)

    public var description: String {
        switch self {
        case .plainHTTPOffLoopback(let host):
            return "admin.host '\(host)' is not a loopback address: plain HTTP would send bearer tokens in clear. "
                + "Configure admin.tls (certificate and privateKey) or listen on 127.0.0.1."
        }
    }
}
