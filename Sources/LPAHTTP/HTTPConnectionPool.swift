import NIOConcurrencyHelpers
import NIOCore

/// Keeps the connections of one ``HTTPSClient``, per `host:port`: idle keep-alive connections
/// for reuse, a limit on open connections, and a queue of calls waiting for one to be free.
///
/// Thread-safe (one lock). A call first ``acquire(_:deadline:on:)``s a lease — an idle
/// connection, or permission to open a new one — and always gives it back with
/// ``release(_:_:reusable:)``, passing the connection it ended up with, if any. A call waiting
/// for a lease fails when its deadline passes or its task is cancelled.
final class HTTPConnectionPool: Sendable {
    struct Key: Hashable, Sendable, CustomStringConvertible {
        var host: String
        var port: Int
        var description: String { "\(host):\(port)" }
    }

    enum Lease: Sendable {
        /// Use this idle connection.
        case reuse(HTTPClientConnection)
        /// Open a new connection; a slot is reserved for it.
        case connect
    }

    private struct Waiter {
        var id: Int
        var continuation: CheckedContinuation<Lease, Error>
        var timeout: Scheduled<Void>
    }

    private struct Host {
        /// Idle connections, most recently used last.
        var idle: [HTTPClientConnection] = []
        /// Connections leased to calls, plus slots reserved for connections being opened.
        var leased = 0
        var waiters: [Waiter] = []
    }

    private struct State {
        var hosts: [Key: Host] = [:]
        var open: [ObjectIdentifier: HTTPClientConnection] = [:]
        var nextWaiterID = 0
        var opened = 0
        var shutDown = false
    }

    private let state = NIOLockedValueBox(State())
    let maxConnectionsPerHost: Int

    init(maxConnectionsPerHost: Int) {
        self.maxConnectionsPerHost = max(1, maxConnectionsPerHost)
    }

    /// Connections opened since the pool was created.
    var connectionsOpened: Int { state.withLockedValue { $0.opened } }

    /// Connections currently open (idle or leased).
    var openConnections: Int { state.withLockedValue { $0.open.count } }

    /// Returns a lease for `key`, waiting until `deadline` for one when the host is at its limit.
    ///
    /// - Throws: ``HTTPClientError/timeout``, ``HTTPClientError/cancelled`` or ``HTTPClientError/shutDown``.
    func acquire(_ key: Key, deadline: NIODeadline, on eventLoop: EventLoop) async throws -> Lease {
        let immediate: Lease? = try state.withLockedValue { state in
            guard !state.shutDown else { throw HTTPClientError.shutDown }
            var host = state.hosts[key, default: Host()]
            defer { state.hosts[key] = host }
            while let connection = host.idle.popLast() {
                if connection.channel.isActive {
                    host.leased += 1
                    return .reuse(connection)
                }
            }
            if host.leased < maxConnectionsPerHost {
                host.leased += 1
                return .connect
            }
            return nil
        }
        if let immediate { return immediate }
        let id = state.withLockedValue { state in
            defer { state.nextWaiterID += 1 }
            return state.nextWaiterID
        }
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { continuation in
                // Checked under the lock: a cancellation either comes before this check or
                // finds the waiter enqueued.
                let refusal: HTTPClientError? = state.withLockedValue { state in
                    guard !state.shutDown else { return .shutDown }
                    guard !Task.isCancelled else { return .cancelled }
                    let timeout = eventLoop.scheduleTask(deadline: deadline) { [weak self] () -> Void in
                        self?.removeWaiter(key, id: id, failing: .timeout)
                    }
                    state.hosts[key, default: Host()].waiters.append(Waiter(id: id, continuation: continuation, timeout: timeout))
                    return nil
                }
                if let refusal { continuation.resume(throwing: refusal) }
            }
        } onCancel: {
            removeWaiter(key, id: id, failing: .cancelled)
        }
    }

    /// Records a connection just opened under a `.connect` lease, so that it is closed on shutdown.
    func opened(_ connection: HTTPClientConnection, for key: Key) {
        let shutDown = state.withLockedValue { state -> Bool in
            state.opened += 1
            state.open[ObjectIdentifier(connection)] = connection
            return state.shutDown
        }
        connection.channel.closeFuture.whenComplete { [weak self] _ in self?.closed(connection, key: key) }
        if shutDown { connection.close() }
    }

    /// Gives a lease back. `connection` is the connection the call used (nil if opening one
    /// failed); `reusable` says whether it may carry another request.
    func release(_ key: Key, _ connection: HTTPClientConnection?, reusable: Bool) {
        enum Next { case handOver(Waiter, Lease), keep, close }
        let next: Next = state.withLockedValue { state in
            var host = state.hosts[key, default: Host()]
            defer { state.hosts[key] = host }
            let keep = reusable && !state.shutDown && connection?.channel.isActive == true
            if !host.waiters.isEmpty {
                let waiter = host.waiters.removeFirst()
                if keep, let connection { return .handOver(waiter, .reuse(connection)) }
                return .handOver(waiter, .connect)  // the slot passes on to the waiter
            }
            host.leased -= 1
            if keep, let connection {
                host.idle.append(connection)
                return .keep
            }
            return .close
        }
        switch next {
        case .handOver(let waiter, let lease):
            waiter.timeout.cancel()
            if case .connect = lease { connection?.close() }
            waiter.continuation.resume(returning: lease)
        case .keep:
            break
        case .close:
            connection?.close()
        }
    }

    /// Stops handing out leases, fails waiting calls and closes every connection.
    func shutdown() -> [HTTPClientConnection] {
        let (connections, waiters) = state.withLockedValue { state in
            state.shutDown = true
            let waiters = state.hosts.values.flatMap(\.waiters)
            for key in state.hosts.keys {
                state.hosts[key]?.waiters = []
                state.hosts[key]?.idle = []
            }
            return (Array(state.open.values), waiters)
        }
        for waiter in waiters {
            waiter.timeout.cancel()
            waiter.continuation.resume(throwing: HTTPClientError.shutDown)
        }
        connections.forEach { $0.close() }
        return connections
    }

    private func closed(_ connection: HTTPClientConnection, key: Key) {
        state.withLockedValue { state in
            state.open[ObjectIdentifier(connection)] = nil
            state.hosts[key]?.idle.removeAll { $0 === connection }
        }
    }

    /// Fails a waiting call (deadline passed or task cancelled), if it is still waiting.
    private func removeWaiter(_ key: Key, id: Int, failing error: HTTPClientError) {
        let waiter: Waiter? = state.withLockedValue { state in
            guard let index = state.hosts[key]?.waiters.firstIndex(where: { $0.id == id }) else { return nil }
            return state.hosts[key]?.waiters.remove(at: index)
        }
        waiter?.timeout.cancel()
        waiter?.continuation.resume(throwing: error)
    }
}
