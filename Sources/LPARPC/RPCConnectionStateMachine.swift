/// The rules of one RPC connection, as a plain value: events go in, actions come out.
///
/// It owns the protocol decisions — HELLO exchange and validation, stream id allocation and
/// checking, the in-flight bounds, GOAWAY and draining, keepalive — and knows nothing about
/// channels, timers, promises or tasks. ``RPCConnectionHandler`` feeds it channel events and
/// carries out its actions; tests drive it directly.
///
/// Phases: `idle` → (channel active, HELLO sent) `awaitingHello` → (peer HELLO valid) `open` →
/// (GOAWAY sent or received) `draining` → (no call left, or an error) `closed`.
public struct RPCConnectionStateMachine: Sendable {
    public enum Phase: Sendable, Hashable {
        case idle
        case awaitingHello
        case open
        case draining
        case closed
    }

    /// A GOAWAY to send; close the connection after it when `closeNow`.
    public struct GoAway: Sendable, Hashable {
        public var lastStreamID: UInt32
        public var status: RPCStatus
        public var message: String
        public var closeNow: Bool
    }

    public enum ChannelActiveAction: Sendable, Hashable {
        case sendHello(RPCHello)
        case none
    }

    public enum HelloReceivedAction: Sendable, Hashable {
        /// The connection is usable; the peer announced this.
        case established(RPCHello)
        /// Send the GOAWAY and close.
        case protocolViolation(GoAway, RPCError)
        /// The connection is already closed.
        case ignore
    }

    public enum StartCallAction: Sendable, Hashable {
        /// Write the REQUEST on this stream.
        case send(streamID: UInt32)
        /// Fail the call at once; nothing is written.
        case fail(RPCError)
        /// Fail the call and start draining: stream ids are used up.
        case failAndGoAway(RPCError, GoAway)
    }

    public enum ResponseReceivedAction: Sendable, Hashable {
        /// Complete the call; close the connection after it when `closeNow`.
        case complete(closeNow: Bool)
        /// A late answer to a call already given up; drop it.
        case ignore
        case protocolViolation(GoAway, RPCError)
    }

    public enum CancelOutgoingAction: Sendable, Hashable {
        /// Write CANCEL for the stream; close the connection after it when `closeNow`.
        case sendCancel(closeNow: Bool)
        /// The call is no longer in flight.
        case none
    }

    public enum RequestReceivedAction: Sendable, Hashable {
        /// Run the handler.
        case dispatch
        /// Answer at once with this error; the call does not run.
        case reject(RPCError)
        case protocolViolation(GoAway, RPCError)
        /// The connection is already closed.
        case ignore
    }

    public enum HandlerFinishedAction: Sendable, Hashable {
        /// Write the handler's RESPONSE; close the connection after it when `closeNow`.
        case sendResponse(closeNow: Bool)
        /// Write this error instead of the handler's response (it exceeds the peer's limit).
        case sendError(RPCError, closeNow: Bool)
        /// The call was cancelled meanwhile; write nothing.
        case none
    }

    public enum IncomingEndAction: Sendable, Hashable {
        /// Cancel the handler's task; answer with `respond` when set; close after it when `closeNow`.
        case cancelHandler(respond: RPCError?, closeNow: Bool)
        case none
        case protocolViolation(GoAway, RPCError)
    }

    public enum GoAwayReceivedAction: Sendable, Hashable {
        /// Fail these outgoing calls with the error (the peer will not run them); close the
        /// connection when `closeNow`.
        case failCalls([UInt32], RPCError, closeNow: Bool)
    }

    public enum CloseAction: Sendable, Hashable {
        /// Send the GOAWAY (closing after it when it says so).
        case sendGoAway(GoAway)
        /// Close without a GOAWAY: no HELLO was exchanged yet.
        case close
        /// Already closing.
        case none
    }

    public enum KeepaliveAction: Sendable, Hashable {
        /// Send a PING with this data and start the keepalive timeout for it.
        case sendPing(UInt64)
        /// The peer did not answer in time: close and fail every call.
        case closeDeadPeer
        case none
    }

    public let role: RPCConnectionRole
    public let localHello: RPCHello
    public let maxConcurrentOutgoingCalls: Int

    public private(set) var phase: Phase = .idle
    /// The peer's HELLO, once received.
    public private(set) var peerHello: RPCHello?
    /// Outgoing calls in flight, by stream id.
    public private(set) var outgoing: Set<UInt32> = []
    /// Incoming calls being served, by stream id.
    public private(set) var incoming: Set<UInt32> = []
    /// The highest stream id this side has opened (0 = none).
    public private(set) var lastLocalStreamID: UInt32 = 0
    /// The highest stream id the peer has opened (0 = none).
    public private(set) var lastPeerStreamID: UInt32 = 0

    private var nextLocalStreamID: UInt32?
    /// Set once this side sent GOAWAY: the peer's calls above it are refused.
    private var localGoAwayLastStreamID: UInt32?
    /// Set once the peer sent GOAWAY.
    private var peerGoAwayLastStreamID: UInt32?
    private var inboundSinceKeepaliveTick = false
    private var outstandingPing: UInt64?
    private var nextPingData: UInt64 = 1

    /// - Parameters:
    ///   - firstStreamID: the first id to open; tests start near the end of the id space.
    public init(role: RPCConnectionRole, localHello: RPCHello, maxConcurrentOutgoingCalls: Int, firstStreamID: UInt32? = nil) {
        self.role = role
        self.localHello = localHello
        self.maxConcurrentOutgoingCalls = maxConcurrentOutgoingCalls
        let first = firstStreamID ?? role.firstStreamID
        precondition(role.opens(first), "stream id \(first) has the wrong parity for \(role)")
        self.nextLocalStreamID = first
    }

    /// Whether calls can be started (the HELLO exchange is done and no GOAWAY was exchanged).
    public var acceptsNewCalls: Bool { phase == .open }

    // MARK: Connection

    /// The channel became active: send our HELLO.
    public mutating func channelActive() -> ChannelActiveAction {
        guard phase == .idle else { return .none }
        phase = .awaitingHello
        return .sendHello(localHello)
    }

    /// The peer's HELLO arrived.
    public mutating func helloReceived(_ hello: RPCHello) -> HelloReceivedAction {
        noteInbound()
        guard phase != .closed else { return .ignore }
        guard phase == .awaitingHello || phase == .idle else {
            return .protocolViolation(violation("HELLO received twice"), RPCError(.internal, "HELLO received twice"))
        }
        guard hello.protocolVersion == RPCHello.currentProtocolVersion else {
            let message = "protocol version \(hello.protocolVersion) is not served; this node speaks \(RPCHello.currentProtocolVersion)"
            return .protocolViolation(violation(message, status: .failedPrecondition), RPCError(.failedPrecondition, message))
        }
        guard hello.maxFrameLength >= UInt32(RPCFrame.headerSize) else {
            let message = "HELLO announces a frame limit of \(hello.maxFrameLength) bytes"
            return .protocolViolation(violation(message), RPCError(.internal, message))
        }
        peerHello = hello
        phase = .open
        return .established(hello)
    }

    /// The peer sent no HELLO in time.
    public mutating func helloTimedOut() -> CloseAction {
        guard phase == .idle || phase == .awaitingHello else { return .none }
        phase = .closed
        return .close
    }

    /// Begins a graceful close: no new calls, in-flight calls finish, then the connection closes.
    public mutating func closeGracefully(status: RPCStatus = .ok, message: String = "closing") -> CloseAction {
        switch phase {
        case .idle, .awaitingHello:
            phase = .closed
            return .close
        case .open, .draining:
            guard localGoAwayLastStreamID == nil else { return .none }
            localGoAwayLastStreamID = lastPeerStreamID
            phase = .draining
            let closeNow = closeIfDrained()
            return .sendGoAway(GoAway(lastStreamID: lastPeerStreamID, status: status, message: message, closeNow: closeNow))
        case .closed:
            return .none
        }
    }

    /// The bytes from the peer violate the protocol (a decoder error, for example): say why, close.
    public mutating func protocolViolation(_ message: String) -> CloseAction {
        switch phase {
        case .idle:
            phase = .closed
            return .close
        case .awaitingHello, .open, .draining:
            return .sendGoAway(violation(message))
        case .closed:
            return .none
        }
    }

    /// The peer announces it is going away.
    public mutating func goAwayReceived(lastStreamID: UInt32, status: RPCStatus, message: String) -> GoAwayReceivedAction {
        noteInbound()
        guard phase == .open || phase == .draining else { return .failCalls([], RPCError(.unavailable, message), closeNow: false) }
        peerGoAwayLastStreamID = min(lastStreamID, peerGoAwayLastStreamID ?? .max)
        phase = .draining
        let refused = outgoing.filter { $0 > lastStreamID }.sorted()
        outgoing.subtract(refused)
        let detail = message.isEmpty ? status.name : "\(status.name): \(message)"
        let error = RPCError(.unavailable, "peer is going away (\(detail)); the call was not run")
        return .failCalls(refused, error, closeNow: closeIfDrained())
    }

    /// The channel closed. Every call still tracked fails; the handler fails its own records.
    public mutating func channelInactive() {
        phase = .closed
        outgoing.removeAll()
        incoming.removeAll()
    }

    // MARK: Outgoing calls

    /// This side wants to start a call whose REQUEST frame has `frameLength` (its length field).
    public mutating func startCall(frameLength: Int) -> StartCallAction {
        switch phase {
        case .idle, .awaitingHello:
            return .fail(RPCError(.unavailable, "connection is not established"))
        case .draining:
            return .fail(RPCError(.unavailable, "connection is closing"))
        case .closed:
            return .fail(RPCError(.unavailable, "connection is closed"))
        case .open:
            break
        }
        let peer = peerHello!
        guard frameLength <= Int(peer.maxFrameLength) else {
            return .fail(RPCError(.resourceExhausted, "request frame of \(frameLength) bytes exceeds the peer's limit of \(peer.maxFrameLength)"))
        }
        let limit = min(maxConcurrentOutgoingCalls, Int(peer.maxConcurrentCalls))
        guard outgoing.count < limit else {
            return .fail(RPCError(.resourceExhausted, "\(outgoing.count) calls in flight, the limit is \(limit)"))
        }
        guard let streamID = nextLocalStreamID else {
            let error = RPCError(.unavailable, "stream ids of this connection are used up")
            guard case .sendGoAway(let goAway) = closeGracefully(status: .unavailable, message: "stream ids used up") else {
                return .fail(error)
            }
            return .failAndGoAway(error, goAway)
        }
        nextLocalStreamID = streamID <= UInt32.max - 2 ? streamID + 2 : nil
        lastLocalStreamID = streamID
        outgoing.insert(streamID)
        return .send(streamID: streamID)
    }

    /// The RESPONSE for `streamID` arrived.
    public mutating func responseReceived(streamID: UInt32) -> ResponseReceivedAction {
        noteInbound()
        guard phase != .closed else { return .ignore }
        if let violation = requireEstablished("RESPONSE") { return .protocolViolation(violation.0, violation.1) }
        guard role.opens(streamID) else {
            let message = "RESPONSE on stream \(streamID), which the peer opened"
            return .protocolViolation(violation(message), RPCError(.internal, message))
        }
        if outgoing.remove(streamID) != nil {
            return .complete(closeNow: closeIfDrained())
        }
        guard streamID <= lastLocalStreamID else {
            let message = "RESPONSE on stream \(streamID), which was never opened"
            return .protocolViolation(violation(message), RPCError(.internal, message))
        }
        return .ignore
    }

    /// This side gives up on an outgoing call (deadline, task cancellation).
    public mutating func cancelOutgoing(streamID: UInt32) -> CancelOutgoingAction {
        guard outgoing.remove(streamID) != nil else { return .none }
        guard phase != .closed else { return .none }
        return .sendCancel(closeNow: closeIfDrained())
    }

    // MARK: Incoming calls

    /// A REQUEST from the peer arrived on `streamID`.
    public mutating func requestReceived(streamID: UInt32) -> RequestReceivedAction {
        noteInbound()
        guard phase != .closed else { return .ignore }
        if let violation = requireEstablished("REQUEST") { return .protocolViolation(violation.0, violation.1) }
        guard !role.opens(streamID) else {
            let message = "REQUEST on stream \(streamID), which has this side's parity"
            return .protocolViolation(violation(message), RPCError(.internal, message))
        }
        guard streamID > lastPeerStreamID else {
            let message = "REQUEST on stream \(streamID), not above the previous \(lastPeerStreamID)"
            return .protocolViolation(violation(message), RPCError(.internal, message))
        }
        lastPeerStreamID = streamID
        if let last = localGoAwayLastStreamID, streamID > last {
            return .reject(RPCError(.unavailable, "connection is closing; the call was not run"))
        }
        let limit = Int(localHello.maxConcurrentCalls)
        guard incoming.count < limit else {
            return .reject(RPCError(.resourceExhausted, "\(incoming.count) calls being served, the limit is \(limit)"))
        }
        incoming.insert(streamID)
        return .dispatch
    }

    /// The handler for `streamID` returned; its RESPONSE frame would have `responseFrameLength`.
    public mutating func handlerFinished(streamID: UInt32, responseFrameLength: Int) -> HandlerFinishedAction {
        guard incoming.remove(streamID) != nil else { return .none }
        guard phase != .closed else { return .none }
        let closeNow = closeIfDrained()
        if let peer = peerHello, responseFrameLength > Int(peer.maxFrameLength) {
            let error = RPCError(.resourceExhausted, "response frame of \(responseFrameLength) bytes exceeds the peer's limit of \(peer.maxFrameLength)")
            return .sendError(error, closeNow: closeNow)
        }
        return .sendResponse(closeNow: closeNow)
    }

    /// The peer sent CANCEL for `streamID`.
    public mutating func cancelReceived(streamID: UInt32) -> IncomingEndAction {
        noteInbound()
        guard phase != .closed else { return .none }
        if let violation = requireEstablished("CANCEL") { return .protocolViolation(violation.0, violation.1) }
        guard !role.opens(streamID) else {
            let message = "CANCEL on stream \(streamID), which has this side's parity"
            return .protocolViolation(violation(message), RPCError(.internal, message))
        }
        guard incoming.remove(streamID) != nil else { return .none }
        return .cancelHandler(respond: nil, closeNow: closeIfDrained())
    }

    /// The deadline the peer set for `streamID` passed while its handler runs.
    public mutating func incomingDeadlinePassed(streamID: UInt32) -> IncomingEndAction {
        guard incoming.remove(streamID) != nil, phase != .closed else { return .none }
        return .cancelHandler(respond: RPCError(.deadlineExceeded, "deadline passed while the call was served"), closeNow: closeIfDrained())
    }

    // MARK: Keepalive

    /// The peer sent PING; true when it is to be answered with PONG carrying the same data.
    public mutating func pingReceived() -> Bool {
        noteInbound()
        return phase != .closed
    }

    /// The peer answered a PING.
    public mutating func pongReceived() {
        noteInbound()
    }

    /// The keepalive interval elapsed.
    public mutating func keepaliveIntervalElapsed() -> KeepaliveAction {
        guard phase == .open || phase == .draining, outstandingPing == nil else { return .none }
        if inboundSinceKeepaliveTick {
            inboundSinceKeepaliveTick = false
            return .none
        }
        let data = nextPingData
        nextPingData &+= 1
        outstandingPing = data
        return .sendPing(data)
    }

    /// The keepalive timeout for the PING carrying `data` elapsed.
    public mutating func keepaliveTimeoutElapsed(pingData data: UInt64) -> KeepaliveAction {
        guard phase != .closed, outstandingPing == data else { return .none }
        phase = .closed
        return .closeDeadPeer
    }

    // MARK: Helpers

    /// Any frame from the peer shows it is alive.
    private mutating func noteInbound() {
        inboundSinceKeepaliveTick = true
        outstandingPing = nil
    }

    private mutating func requireEstablished(_ what: String) -> (GoAway, RPCError)? {
        guard phase == .idle || phase == .awaitingHello else { return nil }
        let message = "\(what) before HELLO"
        return (violation(message), RPCError(.internal, message))
    }

    /// A GOAWAY for a protocol violation; the connection is closed after it.
    private mutating func violation(_ message: String, status: RPCStatus = .internal) -> GoAway {
        phase = .closed
        return GoAway(lastStreamID: lastPeerStreamID, status: status, message: message, closeNow: true)
    }

    /// Closes when draining and no call is left.
    private mutating func closeIfDrained() -> Bool {
        guard phase == .draining, outgoing.isEmpty, incoming.isEmpty else { return false }
        phase = .closed
        return true
    }
}
