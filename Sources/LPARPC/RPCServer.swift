import LPATLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

/// Listens for RPC connections (the core's side of the edge–core link, or any other).
///
/// Every accepted connection runs TLS (mutual by default: `TLSConfiguration.server` requires a
/// client certificate), the HELLO exchange, then serves the ``RPCRouter``; once established it is
/// handed to `onConnection` with the peer's node id and TLS identity in ``RPCConnection/peer``.
/// The server calls the peer back over the same connection.
///
/// Thread-safe. Each connection lives on one event loop of the group; `onConnection` is called on
/// that loop and must not block.
public final class RPCServer: Sendable {
    public struct Configuration: Sendable {
        /// Address to listen on.
        public var host: String
        /// Port to listen on; 0 lets the OS choose (read it back from ``RPCServer/port``).
        public var port: Int
        public var security: RPCTransportSecurity
        public var connection: RPCConnectionConfiguration
        /// Pending TCP connections the OS queues (`listen` backlog).
        public var backlog: Int32 = 256

        public init(host: String = "127.0.0.1", port: Int = 0, security: RPCTransportSecurity, connection: RPCConnectionConfiguration) {
            self.host = host
            self.port = port
            self.security = security
            self.connection = connection
        }
    }

    private final class Registry: Sendable {
        struct State {
            var channels: [ObjectIdentifier: Channel] = [:]
            var connections: [ObjectIdentifier: RPCConnection] = [:]
            var shuttingDown = false
        }
        let state = NIOLockedValueBox(State())

        /// False when shutting down: the channel is to be closed.
        func add(_ channel: Channel) -> Bool {
            state.withLockedValue { state in
                guard !state.shuttingDown else { return false }
                state.channels[ObjectIdentifier(channel)] = channel
                return true
            }
        }

        /// False when shutting down: the connection is to be closed.
        func established(_ connection: RPCConnection) -> Bool {
            state.withLockedValue { state in
                guard !state.shuttingDown else { return false }
                state.connections[ObjectIdentifier(connection.channel)] = connection
                return true
            }
        }

        func remove(_ channel: Channel) {
            state.withLockedValue { state in
                state.channels[ObjectIdentifier(channel)] = nil
                state.connections[ObjectIdentifier(channel)] = nil
            }
        }
    }

    private let listener: Channel
    private let registry: Registry
    private let logger: Logger

    /// The address the server listens on.
    public let localAddress: SocketAddress

    /// The port the server listens on.
    public var port: Int { localAddress.port ?? 0 }

    private init(listener: Channel, registry: Registry, logger: Logger) {
        self.listener = listener
        self.registry = registry
        self.logger = logger
        self.localAddress = listener.localAddress!
    }

    /// The connections established and not yet closed.
    public var connections: [RPCConnection] {
        registry.state.withLockedValue { Array($0.connections.values) }
    }

    /// Binds and starts accepting.
    ///
    /// - Parameters:
    ///   - router: serves the peers' calls on every connection.
    ///   - onConnection: called once per connection after its HELLO exchange, on its event loop.
    /// - Throws: ``TLSError`` when the TLS configuration cannot be loaded; the bind error.
    public static func start(
        configuration: Configuration,
        router: RPCRouter,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "serverlpa.rpc.server"),
        onConnection: @escaping @Sendable (RPCConnection) -> Void = { _ in }
    ) async throws -> RPCServer {
        let tls: TLSContext?
        switch configuration.security {
        case .tls(let tlsConfiguration): tls = try TLSContext(configuration: tlsConfiguration)
        case .plaintext: tls = nil
        }
        let registry = Registry()
        let connectionConfiguration = configuration.connection
        let listener = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: configuration.backlog)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard registry.add(channel) else {
                        throw RPCError(.unavailable, "server is shutting down")
                    }
                    channel.closeFuture.whenComplete { _ in registry.remove(channel) }
                    let established = channel.eventLoop.makePromise(of: RPCConnection.self)
                    established.futureResult.whenComplete { result in
                        switch result {
                        case .success(let connection):
                            if registry.established(connection) {
                                onConnection(connection)
                            } else {
                                Task { await connection.close() }
                            }
                        case .failure(let error):
                            logger.debug("RPC connection not established", metadata: [
                                "rpc.remote": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "rpc.error": "\(error)",
                            ])
                        }
                    }
                    try RPCChannelPipeline.configure(
                        channel, role: .acceptor, tls: tls, serverHostname: nil,
                        configuration: connectionConfiguration, router: router, logger: logger, established: established)
                }
            }
            .bind(host: configuration.host, port: configuration.port).get()
        let server = RPCServer(listener: listener, registry: registry, logger: logger)
        logger.info("RPC server listening", metadata: ["rpc.address": "\(server.localAddress)", "rpc.local": "\(connectionConfiguration.nodeID)"])
        return server
    }

    /// Stops accepting, closes every connection gracefully (GOAWAY; calls in flight finish within
    /// the drain timeout) and returns once all are closed.
    public func shutdown() async {
        let (channels, connections) = registry.state.withLockedValue { state in
            state.shuttingDown = true
            return (Array(state.channels.values), Array(state.connections.values))
        }
        try? await listener.close()
        await withTaskGroup(of: Void.self) { group in
            let established = Set(connections.map { ObjectIdentifier($0.channel) })
            for connection in connections {
                group.addTask { await connection.close() }
            }
            for channel in channels where !established.contains(ObjectIdentifier(channel)) {
                group.addTask { try? await channel.close() }
            }
        }
        logger.info("RPC server stopped", metadata: ["rpc.address": "\(localAddress)"])
    }
}
