/// The life of one TLS connection as a plain value: events in, actions out. ``TLSHandler`` turns
/// channel events into calls here and carries out the returned actions; all decisions about what a
/// write, a close or an end of input means in each phase live in this one place.
struct TLSHandlerStateMachine {
    enum State: Equatable {
        /// Handler added, transport not yet active.
        case idle
        /// Handshake running; application writes are queued.
        case handshaking
        /// Handshake done; application data flows.
        case active
        /// close_notify sent (or being sent); no more application writes.
        case closing
        /// Transport gone or failed.
        case closed
    }

    private(set) var state: State = .idle

    enum ActiveAction: Equatable {
        /// Start the handshake (the client speaks first; a server simply waits).
        case startHandshake
        case none
    }

    mutating func channelActive() -> ActiveAction {
        guard state == .idle else { return .none }
        state = .handshaking
        return .startHandshake
    }

    enum HandshakeOutcomeAction: Equatable {
        /// Announce success, then encrypt and send the queued writes.
        case announceAndFlushQueued
        /// Fail queued writes with this error, report it and close.
        case failAndClose(TLSError)
        case none
    }

    mutating func handshakeCompleted() -> HandshakeOutcomeAction {
        guard state == .handshaking else { return .none }
        state = .active
        return .announceAndFlushQueued
    }

    mutating func handshakeFailed(_ error: TLSError) -> HandshakeOutcomeAction {
        switch state {
        case .idle, .handshaking:
            state = .closed
            return .failAndClose(error)
        case .active, .closing, .closed:
            return .none
        }
    }

    /// The handshake timer fired.
    mutating func handshakeTimedOut() -> HandshakeOutcomeAction {
        guard state == .handshaking || state == .idle else { return .none }
        state = .closed
        return .failAndClose(.handshakeTimeout)
    }

    enum WriteAction: Equatable {
        case encrypt
        case queue
        case fail(TLSError)
    }

    func write() -> WriteAction {
        switch state {
        case .idle, .handshaking: return .queue
        case .active: return .encrypt
        case .closing, .closed: return .fail(.closed)
        }
    }

    enum CloseAction: Equatable {
        /// Send close_notify, then close the transport.
        case sendCloseNotifyThenClose
        /// Close the transport directly (nothing was established to close cleanly).
        case closeTransport
        /// Already closing; just close the transport when asked again.
        case alreadyClosing
    }

    mutating func closeRequested() -> CloseAction {
        switch state {
        case .active:
            state = .closing
            return .sendCloseNotifyThenClose
        case .idle, .handshaking:
            state = .closed
            return .closeTransport
        case .closing, .closed:
            return .alreadyClosing
        }
    }

    enum InputEndAction: Equatable {
        /// Peer closed cleanly: answer with close_notify and close.
        case answerCloseNotifyAndClose
        /// Input ended before the handshake finished.
        case failAndClose(TLSError)
        case none
    }

    /// The peer sent close_notify.
    mutating func peerClosed() -> InputEndAction {
        switch state {
        case .active:
            state = .closing
            return .answerCloseNotifyAndClose
        case .idle, .handshaking:
            state = .closed
            return .failAndClose(.closedDuringHandshake)
        case .closing, .closed:
            return .none
        }
    }

    /// Decrypting, record processing or encrypting failed after the handshake: the connection cannot carry on
    /// (later writes fail with ``TLSError/closed``, reads stop).
    mutating func connectionFailed(_ error: TLSError) -> HandshakeOutcomeAction {
        switch state {
        case .active, .closing:
            state = .closed
            return .failAndClose(error)
        default:
            return .none
        }
    }

    enum InactiveAction: Equatable {
        /// Fail queued writes; report that the handshake never finished.
        case failQueued(reportHandshakeError: Bool)
        /// The transport ended in the middle of an established session, with no close_notify either way (a
        /// ragged EOF): fail queued writes and report ``TLSUncleanShutdown``; what arrived may be truncated.
        case failQueuedAndReportUncleanShutdown
        case failQueuedSilently
    }

    mutating func channelInactive() -> InactiveAction {
        let previous = state
        state = .closed
        switch previous {
        case .handshaking: return .failQueued(reportHandshakeError: true)
        case .active: return .failQueuedAndReportUncleanShutdown
        case .idle, .closing, .closed: return .failQueuedSilently
        }
    }
}
