import LPATLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SwiftProtobuf

/// Keeps one RPC connection to one address alive (the edge's side of the edge–core link).
///
/// After ``start()`` it connects (TLS, HELLO), hands every new connection to `onConnect` — so the
/// edge can re-register the terminals it holds — and, whenever the connection is lost or cannot be
/// made, tries again after an exponential back-off with jitter (``RPCBackoff``), until
/// ``shutdown()``. The peer can call this side over the same connection; `router` serves those
/// calls.
///
/// Thread-safe. The connection loop runs in its own task; `onConnect` runs in that task, and the
/// client watches the connection for closure only after `onConnect` returns.
public final class RPCClient: RPCCaller {
    public struct Configuration: Sendable {
        /// Address of the server.
        public var host: String
        public var port: Int
        public var security: RPCTransportSecurity
        /// Name checked against the server certificate (and sent as SNI unless an IP address);
        /// defaults to ``host``.
        public var serverHostname: String?
        public var connection: RPCConnectionConfiguration
        public var backoff: RPCBackoff = RPCBackoff()
        /// Time allowed for the TCP connect.
        public var connectTimeout: TimeAmount = .seconds(5)

        public init(host: String, port: Int, security: RPCTransportSecurity, serverHostname: String? = nil, connection: RPCConnectionConfiguration) {
            self.host = host
            self.port = port
            self.security = security
            self.serverHostname = serverHostname
            self.connection = connection
        }
    }

    private enum Phase {
        case idle
        case running(Task<Void, Never>)
        case shutDown
    }

    private struct State {
        var phase: Phase = .idle
        var connection: RPCConnection?
        var waiters: [UInt64: CheckedContinuation<RPCConnection, Error>] = [:]
        var nextWaiter: UInt64 = 0
        var connects = 0
    }

    public let configuration: Configuration
    private let router: RPCRouter
    private let group: EventLoopGroup
    private let logger: Logger
    private let tls: TLSContext?
    private let onConnect: @Sendable (RPCConnection) async -> Void
    private let state = NIOLockedValueBox(State())

    /// - Parameters:
    ///   - router: serves the server's calls to this side.
    ///   - onConnect: called with every new connection, the first and each reconnection.
    /// - Throws: ``TLSError`` when the TLS configuration cannot be loaded.
    public init(
        configuration: Configuration,
        router: RPCRouter = RPCRouter(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "serverlpa.rpc.client"),
        onConnect: @escaping @Sendable (RPCConnection) async -> Void = { _ in }
    ) throws {
        self.configuration = configuration
        self.router = router
        self.group = group
        var logger = logger
        logger[metadataKey: "rpc.server"] = "\(configuration.host):\(configuration.port)"
        self.logger = logger
        self.onConnect = onConnect
        switch configuration.security {
        case .tls(let tlsConfiguration): self.tls = try TLSContext(configuration: tlsConfiguration)
        case .plaintext: self.tls = nil
        }
    }

    /// The established connection, if there is one now.
    public var currentConnection: RPCConnection? {
        state.withLockedValue { $0.connection }
    }

    /// How many connections were established so far.
    public var connectionCount: Int {
        state.withLockedValue { $0.connects }
    }

    /// Starts connecting in the background. Calling it again does nothing.
    public func start() {
        state.withLockedValue { state in
            guard case .idle = state.phase else { return }
            state.phase = .running(Task { await self.run() })
        }
    }

    /// Waits for an established connection: the current one, or the next.
    /// - Throws: ``RPCError`` with ``RPCStatus/unavailable`` once shut down; `CancellationError`.
    public func connection() async throws -> RPCConnection {
        let id: UInt64 = state.withLockedValue { state in
            defer { state.nextWaiter += 1 }
            return state.nextWaiter
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                let immediate: Result<RPCConnection, Error>? = state.withLockedValue { state in
                    if case .shutDown = state.phase { return .failure(RPCError(.unavailable, "client is shut down")) }
                    if Task.isCancelled { return .failure(CancellationError()) }
                    if let connection = state.connection, connection.isActive { return .success(connection) }
                    state.waiters[id] = continuation
                    return nil
                }
                if let immediate { continuation.resume(with: immediate) }
            }
        } onCancel: {
            let waiter = state.withLockedValue { $0.waiters.removeValue(forKey: id) }
            waiter?.resume(throwing: CancellationError())
        }
    }

    /// Calls through the current connection; fails with ``RPCStatus/unavailable`` at once when
    /// there is none (the caller decides whether to wait with ``connection()`` and retry).
    public func call<Request: Message, Response: Message>(
        _ method: String, _ request: Request, responseType: Response.Type = Response.self, deadline: RPCDeadline? = nil
    ) async throws -> Response {
        guard let connection = currentConnection else {
            throw RPCError(.unavailable, "not connected to \(configuration.host):\(configuration.port)")
        }
        return try await connection.call(method, request, responseType: responseType, deadline: deadline)
    }

    /// Stops reconnecting, closes the connection gracefully and returns when the loop has ended.
    public func shutdown() async {
        let (task, connection, waiters) = state.withLockedValue { state -> (Task<Void, Never>?, RPCConnection?, [CheckedContinuation<RPCConnection, Error>]) in
            var task: Task<Void, Never>?
            if case .running(let running) = state.phase { task = running }
            state.phase = .shutDown
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            let connection = state.connection
            state.connection = nil
            return (task, connection, waiters)
        }
        for waiter in waiters { waiter.resume(throwing: RPCError(.unavailable, "client is shut down")) }
        task?.cancel()
        await connection?.close()
        await task?.value
    }

    private var isShutDown: Bool {
        state.withLockedValue { if case .shutDown = $0.phase { return true } else { return false } }
    }

    private func run() async {
        var attempt = 0
        while !Task.isCancelled {
            do {
                let connection = try await Self.connect(
                    configuration: configuration, tls: tls, router: router, group: group, logger: logger)
                attempt = 0
                guard published(connection) else {
                    await connection.close()
                    return
                }
                logger.info("RPC connected", metadata: ["rpc.peer": "\(connection.remoteNodeID)"])
                await onConnect(connection)
                try? await connection.onClose.get()
                withdraw(connection)
                if isShutDown { return }
                logger.warning("RPC connection lost; reconnecting", metadata: ["rpc.peer": "\(connection.remoteNodeID)"])
            } catch {
                if Task.isCancelled { return }
                logger.warning("RPC connect failed", metadata: ["rpc.error": "\(error)", "rpc.attempt": "\(attempt)"])
            }
            let delay = configuration.backoff.delay(attempt: attempt)
            attempt += 1
            do {
                try await Task.sleep(nanoseconds: UInt64(max(0, delay.nanoseconds)))
            } catch {
                return
            }
        }
    }

    /// Records a new connection and wakes the waiters; false when shut down meanwhile.
    private func published(_ connection: RPCConnection) -> Bool {
        let waiters: [CheckedContinuation<RPCConnection, Error>]? = state.withLockedValue { state in
            if case .shutDown = state.phase { return nil }
            state.connection = connection
            state.connects += 1
            let waiters = Array(state.waiters.values)
            state.waiters.removeAll()
            return waiters
        }
        guard let waiters else { return false }
        for waiter in waiters { waiter.resume(returning: connection) }
        return true
    }

    private func withdraw(_ connection: RPCConnection) {
        state.withLockedValue { state in
            if state.connection === connection { state.connection = nil }
        }
    }

    /// Makes one connection: TCP, TLS, HELLO. No retries.
    ///
    /// - Throws: the connect error, a ``TLSError``, or ``RPCError`` when the connection closed before
    ///   the HELLO exchange; `CancellationError` when the task was cancelled meanwhile.
    public static func connect(
        configuration: Configuration,
        router: RPCRouter = RPCRouter(),
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "serverlpa.rpc.client")
    ) async throws -> RPCConnection {
        let tls: TLSContext?
        switch configuration.security {
        case .tls(let tlsConfiguration): tls = try TLSContext(configuration: tlsConfiguration)
        case .plaintext: tls = nil
        }
        return try await connect(configuration: configuration, tls: tls, router: router, group: group, logger: logger)
    }

    private static func connect(
        configuration: Configuration, tls: TLSContext?, router: RPCRouter, group: EventLoopGroup, logger: Logger
    ) async throws -> RPCConnection {
        let loop = group.next()
        let connectionConfiguration = configuration.connection
        let serverHostname = configuration.serverHostname ?? configuration.host
        // One HELLO promise per connection attempt (a host name may be tried at several
        // addresses); the winner's is taken once the connect succeeds.
        let attempts = ConnectAttempts<EventLoopFuture<RPCConnection>>()
        let channel = try await ClientBootstrap(group: loop)
            .connectTimeout(configuration.connectTimeout)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let established = channel.eventLoop.makePromise(of: RPCConnection.self)
                    attempts.record(established.futureResult, for: channel)
                    try RPCChannelPipeline.configure(
                        channel, role: .initiator, tls: tls, serverHostname: serverHostname,
                        configuration: connectionConfiguration, router: router, logger: logger, established: established)
                }
            }
            .connect(host: configuration.host, port: configuration.port).get()
        guard let established = attempts.take(for: channel) else {
            channel.close(promise: nil)
            throw RPCError(.unavailable, "connection closed before the HELLO exchange started")
        }
        return try await withTaskCancellationHandler {
            try await established.get()
        } onCancel: {
            channel.close(promise: nil)
        }
    }
}
