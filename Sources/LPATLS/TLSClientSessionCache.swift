import COpenSSL
import NIOConcurrencyHelpers

/// Client-side store of resumable TLS sessions, keyed by peer (for example `host:port`). Share one
/// cache between all connections of a client so that a reconnecting device skips the full handshake.
/// Thread-safe.
public final class TLSClientSessionCache: @unchecked Sendable {
    private let lock = NIOLock()
    private var sessions: [String: OpaquePointer] = [:]
    private var order: [String] = []
    public let capacity: Int

    public init(capacity: Int = 1024) {
        self.capacity = max(1, capacity)
    }

    deinit {
        for s in sessions.values { SSL_SESSION_free(s) }
    }

    /// Number of stored sessions.
    public var count: Int { lock.withLock { sessions.count } }

    /// Returns a new reference to the session for `key`; the caller frees it with `SSL_SESSION_free`.
    func retainSession(for key: String) -> OpaquePointer? {
        lock.withLock {
            guard let s = sessions[key] else { return nil }
            SSL_SESSION_up_ref(s)
            return s
        }
    }

    /// Stores `session` (taking over one reference) for `key`, replacing any earlier one.
    func store(_ session: OpaquePointer, for key: String) {
        lock.withLock {
            if let old = sessions.updateValue(session, forKey: key) {
                SSL_SESSION_free(old)
            } else {
                order.append(key)
                if order.count > capacity {
                    let evicted = order.removeFirst()
                    if let s = sessions.removeValue(forKey: evicted) { SSL_SESSION_free(s) }
                }
            }
        }
    }

    /// Forgets the session for `key` (e.g. after the server refused it).
    public func remove(_ key: String) {
        lock.withLock {
            if let s = sessions.removeValue(forKey: key) {
                SSL_SESSION_free(s)
                order.removeAll { $0 == key }
            }
        }
    }
}
