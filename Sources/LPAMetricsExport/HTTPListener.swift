import Hummingbird
import HummingbirdCore
import Logging
import NIOCore
import ServiceLifecycle

/// A Hummingbird application running in the background on a host and port (port 0: one the OS
/// picks), for processes whose lifecycle is not a `ServiceGroup` of their own (``start(router:host:port:logger:)``
/// returns once the socket is bound). ``stop()`` shuts it down gracefully.
public final class HTTPListener: Sendable {
    /// The bound address (with the real port when 0 was asked for).
    public let localAddress: SocketAddress
    private let group: ServiceGroup
    private let task: Task<Void, any Error>

    private init(localAddress: SocketAddress, group: ServiceGroup, task: Task<Void, any Error>) {
        self.localAddress = localAddress
        self.group = group
        self.task = task
    }

    public var port: Int { localAddress.port ?? 0 }

    /// `server` builds each connection's channel (default: plain HTTP/1.1; LPAAdmin passes one with TLS).
    public static func start<Responder: HTTPResponderBuilder>(
        router: Responder, host: String, port: Int, server: HTTPServerBuilder = .http1(), logger: Logger
    ) async throws -> HTTPListener where Responder.Responder.Context: InitializableFromSource<ApplicationRequestContextSource> {
        let (bound, continuation) = AsyncStream.makeStream(of: SocketAddress?.self)
        let app = Application(
            router: router,
            server: server,
            configuration: ApplicationConfiguration(address: .hostname(host, port: port), serverName: nil),
            onServerRunning: { channel in
                continuation.yield(channel.localAddress)
                continuation.finish()
            },
            logger: logger)
        let group = ServiceGroup(services: [app], gracefulShutdownSignals: [], cancellationSignals: [], logger: logger)
        let task = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var address: SocketAddress?
        for await value in bound { address = value }
        guard let address else {
            task.cancel()
            // The run failed before binding: report why.
            try await task.value
            throw HTTPListenerError(host: host, port: port)
        }
        return HTTPListener(localAddress: address, group: group, task: task)
    }

    /// Stops accepting, lets requests in flight finish, and returns when the server is down.
    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }
}

/// The listener could not bind its address.
public struct HTTPListenerError: Error, CustomStringConvertible {
    public var host: String
    public var port: Int
    public var description: String { "cannot listen on \(host):\(port)" }
}
