import NIOCore
import NIOConcurrencyHelpers
import TerminalProtocol

/// Errors of requests sent to a terminal.
public enum TerminalSessionError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No live session for the terminal on this edge.
    case notConnected(terminalID: String)
    /// The session ended before the terminal answered.
    case sessionClosed(terminalID: String)
    /// The terminal did not answer in time.
    case timeout(terminalID: String, request: String, seconds: Double)
    /// The session is not yet (or no longer) active.
    case notActive(terminalID: String)
    /// Too many requests are waiting for this terminal.
    case tooManyPendingRequests(terminalID: String)

    public var code: String {
        switch self {
        case .notConnected: return "TERMINAL_NOT_CONNECTED"
        case .sessionClosed: return "TERMINAL_SESSION_CLOSED"
        case .timeout: return "TERMINAL_TIMEOUT"
        case .notActive: return "TERMINAL_NOT_ACTIVE"
        case .tooManyPendingRequests: return "TERMINAL_BUSY"
        }
    }

    public var description: String {
        switch self {
        case .notConnected(let id): return "\(code): terminal \(id) has no session on this edge"
        case .sessionClosed(let id): return "\(code): the session of terminal \(id) ended before it answered"
        case .timeout(let id, let request, let s): return "\(code): terminal \(id) did not answer \(request) within \(s)s"
        case .notActive(let id): return "\(code): the session of terminal \(id) is not active"
        case .tooManyPendingRequests(let id): return "\(code): terminal \(id) has too many requests in flight"
        }
    }
}

/// A thread-safe reference to one live terminal session, used by whoever acts on the terminal (the
/// core link, tests, tools). Every call hops to the session's event loop.
public final class TerminalSessionHandle: Sendable {
    public let terminalID: String
    public let sessionID: String
    public let identity: Identity
    public let remoteAddress: String
    public let eventLoop: EventLoop
    /// The largest frame the terminal accepts (announced in Hello; the protocol default when it announced none).
    public let maximumFrameLength: Int
    /// The epoch lpa-core gave this session (nil without a core); carried when the edge registers it again.
    public let sessionEpoch: Int64?
    private let handler: NIOLoopBound<TerminalSessionHandler>
    /// Core requests to the terminal (APDU batches, channel opens and closes) waiting for its answer.
    private let exchanges = NIOLockedValueBox(0)

    /// Whether a core request to the terminal is waiting for its answer (a drain lets it finish).
    public var isExchanging: Bool { exchanges.withLockedValue { $0 > 0 } }

    /// Counts `future` as an exchange in flight until it completes.
    private func counted<T>(_ future: EventLoopFuture<T>) -> EventLoopFuture<T> {
        exchanges.withLockedValue { $0 += 1 }
        future.whenComplete { _ in self.exchanges.withLockedValue { $0 -= 1 } }
        return future
    }

    init(terminalID: String, sessionID: String, identity: Identity, remoteAddress: String, maximumFrameLength: Int = TerminalProtocolLimits.default.maximumFrameLength,
         sessionEpoch: Int64? = nil, handler: TerminalSessionHandler, eventLoop: EventLoop) {
        self.terminalID = terminalID
        self.sessionEpoch = sessionEpoch
        self.sessionID = sessionID
        self.identity = identity
        self.remoteAddress = remoteAddress
        self.maximumFrameLength = maximumFrameLength
        self.eventLoop = eventLoop
        self.handler = NIOLoopBound(handler, eventLoop: eventLoop)
    }

    /// Runs `batch` in as few terminal batches as the terminal's frame limit allows, in order, stopping at
    /// the first one that does not complete; the responses are concatenated as if one batch had run.
    public func transmitWithinFrameLimit(_ batch: ApduBatch, timeout: TimeAmount) async throws -> ApduBatchResult {
        let parts = ApduBatch.split(batch, maximumFrameLength: maximumFrameLength)
        guard parts.count > 1 else { return try await transmit(batch, timeout: timeout).get() }
        var responses: [[UInt8]] = []
        for part in parts {
            let result = try await transmit(part, timeout: timeout).get()
            responses += result.responses
            if result.status != .ok {
                return ApduBatchResult(batchID: result.batchID, status: result.status, responses: responses, detail: result.detail)
            }
        }
        return ApduBatchResult(batchID: 0, status: .ok, responses: responses, detail: "")
    }

    /// Sends new settings (heartbeat interval, history limit) to the terminal.
    public func push(settings: TerminalSettings) -> EventLoopFuture<Void> {
        eventLoop.flatSubmit { self.handler.value.push(settings: settings, eventLoop: self.eventLoop) }
    }

    /// Runs an APDU batch on the terminal's card and returns its result.
    public func transmit(_ batch: ApduBatch, timeout: TimeAmount = .seconds(120)) -> EventLoopFuture<ApduBatchResult> {
        counted(eventLoop.flatSubmit {
            self.handler.value.request(.apduBatch(batch), timeout: timeout, eventLoop: self.eventLoop).flatMapThrowing { frame in
                guard case .apduBatchResult(let r) = frame else { throw TerminalSessionError.sessionClosed(terminalID: self.terminalID) }
                return r
            }
        })
    }

    /// Opens a logical channel on the terminal's card and selects `aid` on it.
    public func openChannel(aid: [UInt8], timeout: TimeAmount = .seconds(60)) -> EventLoopFuture<ChannelOpenResult> {
        counted(eventLoop.flatSubmit {
            self.handler.value.request(.channelOpen(ChannelOpen(requestID: 0, aid: aid)), timeout: timeout, eventLoop: self.eventLoop).flatMapThrowing { frame in
                guard case .channelOpenResult(let r) = frame else { throw TerminalSessionError.sessionClosed(terminalID: self.terminalID) }
                return r
            }
        })
    }

    /// Closes a logical channel on the terminal's card.
    public func closeChannel(_ channel: UInt8, timeout: TimeAmount = .seconds(60)) -> EventLoopFuture<ChannelCloseResult> {
        counted(eventLoop.flatSubmit {
            self.handler.value.request(.channelClose(ChannelClose(requestID: 0, channel: channel)), timeout: timeout, eventLoop: self.eventLoop).flatMapThrowing { frame in
                guard case .channelCloseResult(let r) = frame else { throw TerminalSessionError.sessionClosed(terminalID: self.terminalID) }
                return r
            }
        })
    }

    /// Ends the session with a Goodbye carrying `reason`.
    public func disconnect(reason: ReasonCode, text: String) -> EventLoopFuture<Void> {
        eventLoop.submit { self.handler.value.serverClose(reason: reason, text: text) }
    }
}
