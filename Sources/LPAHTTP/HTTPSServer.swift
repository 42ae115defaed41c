import LPATLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix

/// A minimal HTTP/1.1 server over TLS (LPATLS) — or plaintext, for tests — that hands every
/// complete request to one async handler and writes back what it returns. Connections are kept
/// alive; request bodies are bounded; the handler decides by method and path.
///
/// Thread-safe. The handler is called concurrently for different connections, once at a time
/// per connection; it is cancelled when its connection closes.
public final class HTTPSServer: Sendable {
    public typealias Handler = @Sendable (HTTPServerRequest) async -> HTTPServerResponse

    private struct State {
        var channels: [ObjectIdentifier: Channel] = [:]
        var accepted = 0
        var shuttingDown = false
    }

    private let listener: Channel
    private let state: NIOLockedValueBox<State>
    private let logger: Logger
    public let configuration: HTTPSServerConfiguration

    /// The address the server listens on.
    public let localAddress: SocketAddress

    /// The port the server listens on.
    public var port: Int { localAddress.port ?? 0 }

    /// TCP connections accepted since start (including those whose TLS handshake then failed).
    public var acceptedConnections: Int { state.withLockedValue { $0.accepted } }

    private init(listener: Channel, state: NIOLockedValueBox<State>, configuration: HTTPSServerConfiguration, logger: Logger) {
        self.listener = listener
        self.state = state
        self.configuration = configuration
        self.logger = logger
        self.localAddress = listener.localAddress!
    }

    /// Binds and starts serving.
    ///
    /// - Throws: ``TLSError`` when the TLS configuration cannot be loaded; the bind error.
    public static func start(
        configuration: HTTPSServerConfiguration,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "serverlpa.http.server"),
        handler: @escaping Handler
    ) async throws -> HTTPSServer {
        let tls = try configuration.tls.map { try TLSContext(configuration: $0) }
        let state = NIOLockedValueBox(State())
        let maxBody = configuration.maxRequestBodySize
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let admitted = state.withLockedValue { state -> Bool in
                        state.accepted += 1
                        guard !state.shuttingDown else { return false }
                        state.channels[ObjectIdentifier(channel)] = channel
                        return true
                    }
                    guard admitted else { throw ChannelError.ioOnClosedChannel }
                    channel.closeFuture.whenComplete { _ in
                        state.withLockedValue { $0.channels[ObjectIdentifier(channel)] = nil }
                    }
                    let sync = channel.pipeline.syncOperations
                    if let tls { try sync.addHandler(TLSHandler(context: tls)) }
                    try sync.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                    try sync.addHandler(HTTPServerConnectionHandler(maxBodySize: maxBody, handler: handler))
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let server = HTTPSServer(listener: listener, state: state, configuration: configuration, logger: logger)
        logger.info("HTTP server listening", metadata: ["http.address": "\(server.localAddress)", "http.tls": "\(tls != nil)"])
        return server
    }

    /// Stops accepting, lets requests in flight finish (up to the grace period), closes idle
    /// connections at once, and returns when every connection is closed.
    public func shutdown() async {
        let channels = state.withLockedValue { state in
            state.shuttingDown = true
            return Array(state.channels.values)
        }
        try? await listener.close()
        for channel in channels {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let force = listener.eventLoop.scheduleTask(in: configuration.shutdownGracePeriod) {
            for channel in channels { channel.close(promise: nil) }
        }
        for channel in channels {
            try? await channel.closeFuture.get()
        }
        force.cancel()
        logger.info("HTTP server stopped", metadata: ["http.address": "\(localAddress)"])
    }
}
