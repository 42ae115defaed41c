import LPATLS
import Logging
import NIOCore
import NIOHTTP1
import NIOPosix

/// An HTTP/1.1 client over TLS (system OpenSSL through LPATLS) for calls to operator platforms.
///
/// - Security: every connection verifies the server certificate against the configured trust
///   roots and checks the request's host name or IP address against it; the client certificate,
///   when configured, is presented to servers that ask for one.
/// - Connections: kept alive and reused per `host:port`, at most
///   ``HTTPSClientConfiguration/maxConnectionsPerHost`` open per host; idle ones close after
///   ``HTTPSClientConfiguration/idleTimeout``.
/// - Deadlines: each call has one deadline for connecting, the handshake, sending and receiving
///   the whole response; when it passes the call fails with ``HTTPClientError/timeout`` and the
///   connection it used is closed.
/// - Errors: calls throw ``HTTPClientError`` only.
///
/// - Cancellation: cancelling the calling task fails the call with ``HTTPClientError/cancelled``
///   and closes the connection it was using.
///
/// Thread-safe; share one client per trust configuration. Call ``shutdown()`` when done.
public final class HTTPSClient: Sendable {
    public let configuration: HTTPSClientConfiguration
    private let tls: TLSContext
    private let sessionCache = TLSClientSessionCache(capacity: 256)
    private let pool: HTTPConnectionPool
    private let group: EventLoopGroup
    private let logger: Logger

    /// - Throws: ``HTTPClientError/tls(_:)`` when the trust roots or client credentials cannot be loaded.
    public init(
        configuration: HTTPSClientConfiguration,
        group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton,
        logger: Logger = Logger(label: "serverlpa.http.client")
    ) throws {
        self.configuration = configuration
        do {
            self.tls = try TLSContext(configuration: configuration.tlsConfiguration)
        } catch let error as TLSError {
            throw HTTPClientError.tls(error)
        }
        self.pool = HTTPConnectionPool(maxConnectionsPerHost: configuration.maxConnectionsPerHost)
        self.group = group
        self.logger = logger
    }

    /// Connections opened since the client was created (reuse keeps this low).
    public var connectionsOpened: Int { pool.connectionsOpened }

    /// Connections open now, idle or busy.
    public var openConnections: Int { pool.openConnections }

    /// Sends `request` and returns the complete response, whatever its status.
    ///
    /// - Parameter timeout: the call's deadline from now; ``HTTPSClientConfiguration/requestTimeout`` when nil.
    /// - Throws: ``HTTPClientError``.
    public func execute(_ request: HTTPClientRequest, timeout: TimeAmount? = nil) async throws -> HTTPClientResponse {
        let deadline = NIODeadline.now() + (timeout ?? configuration.requestTimeout)
        let key = HTTPConnectionPool.Key(host: request.host, port: request.port)
        let eventLoop = group.next()
        while true {
            let connection: HTTPClientConnection
            switch try await pool.acquire(key, deadline: deadline, on: eventLoop) {
            case .reuse(let idle):
                connection = idle
            case .connect:
                do {
                    connection = try await HTTPClientConnection.connect(
                        host: request.host, port: request.port, tls: tls, sessionCache: sessionCache,
                        connectTimeout: configuration.connectTimeout, idleTimeout: configuration.idleTimeout,
                        deadline: deadline, eventLoop: eventLoop)
                } catch {
                    pool.release(key, nil, reusable: false)
                    logger.debug("HTTPS connection failed", metadata: ["http.peer": "\(key)", "http.error": "\(error)"])
                    throw error as? HTTPClientError ?? .connectFailed(host: request.host, port: request.port, reason: "\(error)")
                }
                pool.opened(connection, for: key)
                logger.debug("HTTPS connection opened", metadata: ["http.peer": "\(key)"])
            }
            do {
                let outcome = try await connection.execute(
                    request, userAgent: configuration.userAgent, deadline: deadline,
                    maxBodySize: configuration.maxResponseBodySize)
                pool.release(key, connection, reusable: outcome.reusable)
                return outcome.response
            } catch is HTTPClientConnection.Stale {
                pool.release(key, connection, reusable: false)
                continue  // nothing was sent; take another connection
            } catch {
                pool.release(key, connection, reusable: false)
                throw error as? HTTPClientError ?? .connectionClosedEarly
            }
        }
    }

    /// `POST` to `url` (`https://host[:port]/path`).
    public func post(_ url: String, headers: HTTPHeaders = [:], body: [UInt8], timeout: TimeAmount? = nil) async throws -> HTTPClientResponse {
        try await execute(HTTPClientRequest(method: .POST, url: url, headers: headers, body: body), timeout: timeout)
    }

    /// `GET` from `url` (`https://host[:port]/path`).
    public func get(_ url: String, headers: HTTPHeaders = [:], timeout: TimeAmount? = nil) async throws -> HTTPClientResponse {
        try await execute(HTTPClientRequest(method: .GET, url: url, headers: headers), timeout: timeout)
    }

    /// Fails waiting calls, closes every connection (calls in flight fail) and returns once all
    /// are closed. Later calls fail with ``HTTPClientError/shutDown``.
    public func shutdown() async {
        for connection in pool.shutdown() {
            try? await connection.channel.closeFuture.get()
        }
    }
}
