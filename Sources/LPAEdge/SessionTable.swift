import NIOConcurrencyHelpers

/// The live sessions of one edge, by terminal id. The only state an edge keeps about terminals;
/// the core reaches a terminal through the handle found here. Thread-safe.
public final class SessionTable: Sendable {
    private let sessions = NIOLockedValueBox([String: TerminalSessionHandle]())

    public init() {}

    /// Adds `handle`; returns the session it replaces (same terminal connected again), which the
    /// caller must close with `DUPLICATE_SESSION`.
    func insert(_ handle: TerminalSessionHandle) -> TerminalSessionHandle? {
        sessions.withLockedValue { $0.updateValue(handle, forKey: handle.terminalID) }
    }

    /// Removes `handle` if it is still the current session of its terminal.
    @discardableResult
    func remove(_ handle: TerminalSessionHandle) -> Bool {
        sessions.withLockedValue {
            guard let current = $0[handle.terminalID], current === handle else { return false }
            $0.removeValue(forKey: handle.terminalID)
            return true
        }
    }

    public func session(for terminalID: String) -> TerminalSessionHandle? {
        sessions.withLockedValue { $0[terminalID] }
    }

    public var count: Int { sessions.withLockedValue { $0.count } }

    public var all: [TerminalSessionHandle] { sessions.withLockedValue { Array($0.values) } }
}
