import NIOConcurrencyHelpers
import NIOCore

/// Values a client bootstrap's channel initializer makes for each connection attempt, looked up
/// afterwards for the channel that won.
///
/// A bootstrap connecting to a host name (`localhost`, a DNS name) may try several addresses
/// ("Happy Eyeballs", e.g. `::1` then `127.0.0.1`) and runs its channel initializer once per
/// attempt. Anything the initializer creates — a handler, a promise that reports the handshake —
/// therefore belongs to one attempt; sharing one across attempts lets a losing attempt complete
/// it. The initializer records its values here with ``record(_:for:)`` and the caller takes the
/// winner's with ``take(for:)``. Thread-safe.
public final class ConnectAttempts<Value: Sendable>: Sendable {
    private let values = NIOLockedValueBox<[ObjectIdentifier: Value]>([:])

    public init() {}

    /// Keeps `value` for the attempt made on `channel`.
    public func record(_ value: Value, for channel: Channel) {
        values.withLockedValue { $0[ObjectIdentifier(channel)] = value }
    }

    /// The value recorded for `channel`, the attempt that connected; forgets every attempt.
    public func take(for channel: Channel) -> Value? {
        values.withLockedValue { values in
            defer { values.removeAll() }
            return values[ObjectIdentifier(channel)]
        }
    }
}
