import NIOConcurrencyHelpers
import NIOCore

/// The live sessions of one edge, by terminal id. The only state an edge keeps about terminals;
/// the core reaches a terminal through the handle found here. Thread-safe.
///
/// A terminal whose registration is still on its way to or from the core is known here too: a core
/// request for it (the core may act on a registration before the edge has taken its answer) waits
/// until the session is active or the registration ends, instead of failing.
public final class SessionTable: Sendable {
    private struct Waiter {
        let id: Int
        let continuation: CheckedContinuation<TerminalSessionHandle?, Never>
        /// Ends the wait at its timeout; cancelled when the wait ends earlier.
        var timer: Task<Void, Never>?

        func resume(returning handle: TerminalSessionHandle?) {
            timer?.cancel()
            continuation.resume(returning: handle)
        }
    }

    private struct State {
        var sessions: [String: TerminalSessionHandle] = [:]
        /// Registrations in flight per terminal id (a terminal may reconnect while one is pending).
        var registering: [String: Int] = [:]
        var waiters: [String: [Waiter]] = [:]
        var nextWaiter = 0
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Adds `handle`; returns the session it replaces (same terminal connected again), which the
    /// caller must close with `DUPLICATE_SESSION`. Requests waiting for the terminal get `handle`.
    func insert(_ handle: TerminalSessionHandle) -> TerminalSessionHandle? {
        let (replaced, waiting) = state.withLockedValue { s in
            (s.sessions.updateValue(handle, forKey: handle.terminalID), s.waiters.removeValue(forKey: handle.terminalID) ?? [])
        }
        for waiter in waiting { waiter.resume(returning: handle) }
        return replaced
    }

    /// Removes `handle` if it is still the current session of its terminal.
    @discardableResult
    func remove(_ handle: TerminalSessionHandle) -> Bool {
        state.withLockedValue {
            guard let current = $0.sessions[handle.terminalID], current === handle else { return false }
            $0.sessions.removeValue(forKey: handle.terminalID)
            return true
        }
    }

    /// A registration for `terminalID` was sent to the core.
    func registrationStarted(_ terminalID: String) {
        state.withLockedValue { $0.registering[terminalID, default: 0] += 1 }
    }

    /// A registration for `terminalID` ended (session active, refused, failed or the terminal left).
    /// When none is left in flight, requests still waiting get the current session, if any.
    func registrationEnded(_ terminalID: String) {
        let (waiting, current): ([Waiter], TerminalSessionHandle?) = state.withLockedValue { s in
            let left = (s.registering[terminalID] ?? 1) - 1
            guard left <= 0 else {
                s.registering[terminalID] = left
                return ([], nil)
            }
            s.registering.removeValue(forKey: terminalID)
            return (s.waiters.removeValue(forKey: terminalID) ?? [], s.sessions[terminalID])
        }
        for waiter in waiting { waiter.resume(returning: current) }
    }

    /// Whether the terminal has a session here or a registration in flight.
    public func hasSessionOrRegistration(_ terminalID: String) -> Bool {
        state.withLockedValue { $0.sessions[terminalID] != nil || ($0.registering[terminalID] ?? 0) > 0 }
    }

    public func session(for terminalID: String) -> TerminalSessionHandle? {
        state.withLockedValue { $0.sessions[terminalID] }
    }

    /// The terminal's session; when its registration is in flight, waits up to `timeout` for it.
    public func session(for terminalID: String, waitingUpTo timeout: TimeAmount) async -> TerminalSessionHandle? {
        enum Lookup { case found(TerminalSessionHandle?), wait }
        if case .found(let handle) = state.withLockedValue({ s -> Lookup in
            if let handle = s.sessions[terminalID] { return .found(handle) }
            return (s.registering[terminalID] ?? 0) > 0 ? .wait : .found(nil)
        }) {
            return handle
        }
        return await withCheckedContinuation { (continuation: CheckedContinuation<TerminalSessionHandle?, Never>) in
            let id: Int? = state.withLockedValue { s in
                // Looked up again: the registration may have ended in between.
                guard s.sessions[terminalID] == nil, (s.registering[terminalID] ?? 0) > 0 else { return nil }
                s.nextWaiter += 1
                s.waiters[terminalID, default: []].append(Waiter(id: s.nextWaiter, continuation: continuation))
                return s.nextWaiter
            }
            guard let id else {
                continuation.resume(returning: session(for: terminalID))
                return
            }
            let timer = Task { [self] in
                guard (try? await Task.sleep(for: .nanoseconds(timeout.nanoseconds))) != nil else { return }
                self.expire(waiter: id, of: terminalID)
            }
            let attached = state.withLockedValue { s -> Bool in
                guard let index = s.waiters[terminalID]?.firstIndex(where: { $0.id == id }) else { return false }
                s.waiters[terminalID]![index].timer = timer
                return true
            }
            if !attached { timer.cancel() }  // already answered
        }
    }

    private func expire(waiter id: Int, of terminalID: String) {
        let expired: Waiter? = state.withLockedValue { s in
            guard var list = s.waiters[terminalID], let index = list.firstIndex(where: { $0.id == id }) else { return nil }
            let waiter = list.remove(at: index)
            s.waiters[terminalID] = list.isEmpty ? nil : list
            return waiter
        }
        expired?.continuation.resume(returning: nil)  // its own timer: nothing to cancel
    }

    public var count: Int { state.withLockedValue { $0.sessions.count } }

    public var all: [TerminalSessionHandle] { state.withLockedValue { Array($0.sessions.values) } }
}
