import Foundation
import LPACoreRPC
import LPARPC
import LPATLS
import Logging
import Metrics
import NIOConcurrencyHelpers
import NIOCore
import TerminalProtocol

/// The edge's link to one or more lpa-core processes over the edge–core RPC.
///
/// Each terminal is routed to one core by rendezvous hashing of its id over the cores currently
/// connected, so every edge picks the same core for the same terminal and a core's loss moves only
/// its own terminals. Whenever a core connects or reconnects, and whenever one goes away, the live
/// terminals whose core changed (or whose core came back, possibly restarted) are registered again.
/// Calls from the cores (APDU batches, settings, disconnects) are served by ``EdgeControlService``, only
/// from the core the terminal is registered with (or being registered with): a core the terminal moved away
/// from is told (`TerminalGone`) and refused, so it stops driving the terminal's eUICC. A registration again
/// carries the session epoch the core gave the session: a core refuses it (`DUPLICATE_SESSION`) when a newer
/// session of the terminal registered meanwhile (the terminal reconnected elsewhere), and this edge then
/// closes its stale session instead of letting it override the live one.
public final class RPCCoreLink: CoreLink {
    private struct Core {
        let address: String
        let client: RPCClient
    }

    private let cores: [Core]
    private let sessions: SessionTable
    private let nodeID: String
    private let callTimeout: TimeAmount
    private let logger: Logger
    /// terminal id → index of the core it is registered with.
    private let routes = NIOLockedValueBox([String: Int]())
    /// terminal id → index of the core a registration is on its way to.
    private let registering = NIOLockedValueBox([String: Int]())

    public init(configuration: EdgeConfiguration, sessions: SessionTable, logger: Logger) throws {
        let link = configuration.core
        let tls = configuration.coreLinkTLSConfiguration()
        self.sessions = sessions
        self.nodeID = configuration.nodeID
        self.callTimeout = .nanoseconds(Int64(link.callTimeoutSeconds * 1e9))
        self.logger = logger
        let box = NIOLockedValueBox<RPCCoreLink?>(nil)
        var router = RPCRouter()
        router.register(coreToEdge: EdgeControlService(sessions: sessions, admits: { terminalID, connection in
            box.withLockedValue { $0 }?.admitsCall(for: terminalID, from: connection) ?? true
        }))
        var cores: [Core] = []
        for (index, address) in link.addresses.enumerated() {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]) else {
                throw TLSError.invalidConfiguration("core address '\(address)' is not HOST:PORT")
            }
            var connection = RPCConnectionConfiguration(nodeID: configuration.nodeID)
            connection.keepalive = .init(interval: .seconds(10), timeout: .seconds(10))
            let client = try RPCClient(
                configuration: .init(host: String(address[..<colon]), port: port, security: .tls(tls),
                                     serverHostname: link.serverName, connection: connection),
                router: router, logger: logger,
                onConnect: { rpc in
                    guard let link = box.withLockedValue({ $0 }) else { return }
                    await link.coreConnected(index: index, connection: rpc)
                })
            cores.append(Core(address: address, client: client))
        }
        self.cores = cores
        box.withLockedValue { $0 = self }
    }

    /// Starts connecting to every core (with reconnect and backoff).
    public func start() {
        for core in cores { core.client.start() }
    }

    public func shutdown() async {
        for core in cores { await core.client.shutdown() }
    }

    /// The core's connection, when it is up (a closed one may linger until the client notices).
    private func liveConnection(_ index: Int) -> RPCConnection? {
        guard let connection = cores[index].client.currentConnection, connection.channel.isActive else { return nil }
        return connection
    }

    /// Number of cores with a live connection.
    public var connectedCores: Int { cores.indices.filter { liveConnection($0) != nil }.count }

    // MARK: Routing

    static func score(_ terminalID: String, _ address: String) -> UInt64 {
        var h: UInt64 = 0xcbf29ce484222325
        for b in terminalID.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        h = (h ^ 0xff) &* 0x100000001b3
        for b in address.utf8 { h = (h ^ UInt64(b)) &* 0x100000001b3 }
        // Final avalanche so nearby ids spread evenly.
        h ^= h >> 33
        h = h &* 0xff51afd7ed558ccd
        h ^= h >> 33
        return h
    }

    /// The connected core with the highest score for this terminal.
    func route(_ terminalID: String) -> Int? {
        var best: (Int, UInt64)?
        for (i, core) in cores.enumerated() where liveConnection(i) != nil {
            let s = Self.score(terminalID, core.address)
            if best == nil || s > best!.1 { best = (i, s) }
        }
        return best?.0
    }

    private func client(for terminalID: String) throws -> (Int, EdgeToCoreClient) {
        if let i = routes.withLockedValue({ $0[terminalID] }), let connection = liveConnection(i) {
            return (i, EdgeToCoreClient(connection))
        }
        guard let i = route(terminalID), let connection = liveConnection(i) else {
            throw RPCError(.unavailable, "no lpa-core is connected")
        }
        return (i, EdgeToCoreClient(connection))
    }

    private var deadline: RPCDeadline { RPCDeadline(.now() + callTimeout) }

    /// Whether a call about `terminalID` arriving on `connection` comes from the core the terminal is registered
    /// with (or a registration is on its way to). Calls from elsewhere (a core the terminal moved away from)
    /// are refused. Calls outside a connection (tests) and about terminals with no route are admitted.
    func admitsCall(for terminalID: String, from connection: RPCConnection?) -> Bool {
        guard let connection else { return true }
        let routed = routes.withLockedValue { $0[terminalID] }
        let pending = registering.withLockedValue { $0[terminalID] }
        guard routed != nil || pending != nil else { return true }
        return [routed, pending].contains { index in index.map { cores[$0].client.currentConnection === connection } ?? false }
    }

    // MARK: CoreLink

    public func register(_ registration: TerminalRegistration) async throws -> RegistrationDecision {
        guard let index = route(registration.terminalID), let connection = liveConnection(index) else {
            return .reject(code: .coreUnavailable, text: "no lpa-core is reachable from this edge", retryAfterSeconds: 30)
        }
        var request = CoreRPC_RegisterTerminalRequest()
        request.terminalID = registration.terminalID
        request.identity = CoreRPC_Identity(registration.identity)
        request.agent = registration.agent
        request.remoteAddress = registration.remoteAddress
        request.tlsResumed = registration.tlsResumed
        request.sessionEpoch = registration.sessionEpoch.map { UInt64(clamping: $0) } ?? 0
        registering.withLockedValue { $0[registration.terminalID] = index }
        defer {
            registering.withLockedValue { pending in
                if pending[registration.terminalID] == index { pending.removeValue(forKey: registration.terminalID) }
            }
        }
        let response = try await EdgeToCoreClient(connection).registerTerminal(request, deadline: deadline)
        guard response.accepted else {
            return .reject(code: ReasonCode(rawValue: response.reasonCode), text: response.reasonText, retryAfterSeconds: response.retryAfterS)
        }
        let previous = routes.withLockedValue { routes in
            defer { routes[registration.terminalID] = index }
            return routes[registration.terminalID]
        }
        if let previous, previous != index, let old = liveConnection(previous) {
            // The core the terminal leaves stops driving it (its calls are refused from now on as well).
            var gone = CoreRPC_TerminalGoneRequest()
            gone.terminalID = registration.terminalID
            gone.reasonCode = ReasonCode.coreUnavailable.rawValue
            _ = try? await EdgeToCoreClient(old).terminalGone(gone, deadline: deadline)
        }
        return .accept(settings: response.settings.terminalSettings, model: response.model, requiredFields: response.requiredFields,
                       sessionEpoch: response.sessionEpoch == 0 ? nil : Int64(clamping: response.sessionEpoch))
    }

    public func report(heartbeats: [HeartbeatCount]) async {
        var byCore: [Int: [CoreRPC_HeartbeatCount]] = [:]
        for count in heartbeats {
            guard let (i, _) = try? client(for: count.terminalID) else { continue }
            var c = CoreRPC_HeartbeatCount()
            c.terminalID = count.terminalID
            c.windowStart = count.windowStart
            c.windowSeconds = count.windowSeconds
            c.count = count.count
            c.lastSeen = count.lastSeen
            byCore[i, default: []].append(c)
        }
        for (i, counts) in byCore {
            var request = CoreRPC_ReportHeartbeatsRequest()
            request.counts = counts
            var lastError: (any Error)?
            for (attempt, pause) in Self.reportRetryPauses.enumerated() {
                if pause > .zero { try? await Task.sleep(for: pause) }
                guard let connection = liveConnection(i) else {
                    lastError = RPCError(.unavailable, "core \(cores[i].address) is not connected")
                    continue
                }
                do {
                    _ = try await EdgeToCoreClient(connection).reportHeartbeats(request, deadline: deadline)
                    lastError = nil
                    break
                } catch {
                    lastError = error
                    logger.warning("heartbeat counts not delivered", metadata: [
                        "core": "\(cores[i].address)", "windows": "\(counts.count)", "attempt": "\(attempt + 1)", "error": "\(error)",
                    ])
                }
            }
            if let lastError {
                Counter(label: "lpa_edge_heartbeat_windows_lost_total").increment(by: counts.count)
                logger.error("heartbeat counts lost", metadata: [
                    "core": "\(cores[i].address)", "windows": "\(counts.count)", "attempts": "\(Self.reportRetryPauses.count)", "error": "\(lastError)",
                ])
            }
        }
    }

    /// Pause before each attempt to deliver a batch of heartbeat counts; after the last failed
    /// attempt the windows are counted as lost (`lpa_edge_heartbeat_windows_lost_total`) and logged.
    static let reportRetryPauses: [Duration] = [.zero, .seconds(1), .seconds(3)]

    public func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64?) async {
        // A newer session of the terminal (or its registration) keeps its route; the core, told which session
        // ended, forgets the terminal only if that is the session it holds.
        let newer = sessions.hasSessionOrRegistration(terminalID)
        let index = routes.withLockedValue { newer ? $0[terminalID] : $0.removeValue(forKey: terminalID) }
        guard let index, let connection = liveConnection(index) else { return }
        var request = CoreRPC_TerminalGoneRequest()
        request.terminalID = terminalID
        request.reasonCode = reason.rawValue
        request.sessionEpoch = sessionEpoch.map { UInt64(clamping: $0) } ?? 0
        _ = try? await EdgeToCoreClient(connection).terminalGone(request, deadline: deadline)
    }

    // MARK: Re-registration

    private func coreConnected(index: Int, connection: RPCConnection) async {
        logger.info("connected to lpa-core", metadata: ["core": "\(cores[index].address)", "node": "\(connection.remoteNodeID)"])
        connection.channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            self.logger.warning("lost lpa-core", metadata: ["core": "\(self.cores[index].address)"])
            Task { await self.rehome(reason: "core \(self.cores[index].address) went away") }
        }
        await rehome(reason: "core \(cores[index].address) connected", reconnected: index)
    }

    /// Registers again every live terminal whose route changed, or whose core just (re)connected.
    private func rehome(reason: String, reconnected: Int? = nil) async {
        let live = sessions.all
        var moved = 0
        for handle in live {
            // A session that ended (or was replaced) since the snapshot is not registered again: its identity is stale.
            guard sessions.session(for: handle.terminalID) === handle else { continue }
            let current = routes.withLockedValue { $0[handle.terminalID] }
            let target = route(handle.terminalID)
            let needs = target != current || (reconnected != nil && target == reconnected)
            guard needs else { continue }
            guard target != nil else {
                routes.withLockedValue { _ = $0.removeValue(forKey: handle.terminalID) }
                continue
            }
            moved += 1
            let registration = TerminalRegistration(
                terminalID: handle.terminalID, identity: handle.identity, agent: "", remoteAddress: handle.remoteAddress,
                edgeNodeID: nodeID, tlsResumed: false, sessionEpoch: handle.sessionEpoch)
            do {
                switch try await register(registration) {
                case .accept(let settings, _, _, _):
                    _ = try? await handle.push(settings: settings).get()
                case .reject(let code, let text, _):
                    _ = try? await handle.disconnect(reason: code, text: text).get()
                }
            } catch {
                logger.warning("re-registration failed", metadata: ["terminal": "\(handle.terminalID)", "error": "\(error)"])
            }
        }
        if moved > 0 {
            logger.info("terminals registered again", metadata: ["count": "\(moved)", "reason": "\(reason)"])
        }
    }
}

/// Serves the cores' calls to terminals held by this edge.
public struct EdgeControlService: CoreToEdgeService {
    let sessions: SessionTable
    /// Whether a call about a terminal from the core on a connection is admitted (the terminal's own core).
    let admits: @Sendable (String, RPCConnection?) -> Bool

    public init(sessions: SessionTable, admits: @escaping @Sendable (String, RPCConnection?) -> Bool = { _, _ in true }) {
        self.sessions = sessions
        self.admits = admits
    }

    /// The terminal's session. A terminal whose registration is still being answered is waited
    /// for: the core may act on a registration before this edge has activated the session. A call from a
    /// core the terminal is not registered with fails with `failedPrecondition`.
    private func handle(_ terminalID: String, _ context: RPCCallContext) async throws -> TerminalSessionHandle {
        guard admits(terminalID, context.connection) else {
            throw RPCError(.failedPrecondition, "terminal \(terminalID) is registered with another lpa-core")
        }
        guard let handle = await sessions.session(for: terminalID, waitingUpTo: .seconds(10)) else {
            throw RPCError(.notFound, "terminal \(terminalID) has no session on this edge")
        }
        return handle
    }

    private static func timeout(_ ms: UInt32, default seconds: Int64) -> TimeAmount {
        ms == 0 ? .seconds(seconds) : .milliseconds(Int64(ms))
    }

    public func transmitApduBatch(_ request: CoreRPC_TransmitApduBatchRequest, context: RPCCallContext) async throws -> CoreRPC_TransmitApduBatchResponse {
        guard request.channel <= 19 else { throw RPCError(.invalidArgument, "channel \(request.channel) is above 19") }
        let batch = ApduBatch(channel: UInt8(request.channel), apdus: request.apdus.map { Array($0) },
                              acceptSW: request.acceptSw.map { UInt16(truncatingIfNeeded: $0) })
        let result = try await handle(request.terminalID, context).transmitWithinFrameLimit(batch, timeout: Self.timeout(request.timeoutMs, default: 120))
        var response = CoreRPC_TransmitApduBatchResponse()
        response.status = result.status.rawValue
        response.responses = result.responses.map { Data($0) }
        response.detail = result.detail
        return response
    }

    public func openChannel(_ request: CoreRPC_OpenChannelRequest, context: RPCCallContext) async throws -> CoreRPC_OpenChannelResponse {
        let result = try await handle(request.terminalID, context).openChannel(aid: Array(request.aid), timeout: Self.timeout(request.timeoutMs, default: 60)).get()
        var response = CoreRPC_OpenChannelResponse()
        response.channel = UInt32(result.channel)
        response.sw = UInt32(result.statusWord)
        response.selectResponse = Data(result.selectResponse)
        response.detail = result.detail
        return response
    }

    public func closeChannel(_ request: CoreRPC_CloseChannelRequest, context: RPCCallContext) async throws -> CoreRPC_CloseChannelResponse {
        guard request.channel <= 19 else { throw RPCError(.invalidArgument, "channel \(request.channel) is above 19") }
        let result = try await handle(request.terminalID, context).closeChannel(UInt8(request.channel), timeout: Self.timeout(request.timeoutMs, default: 60)).get()
        var response = CoreRPC_CloseChannelResponse()
        response.sw = UInt32(result.statusWord)
        return response
    }

    public func pushSettings(_ request: CoreRPC_PushSettingsRequest, context: RPCCallContext) async throws -> CoreRPC_PushSettingsResponse {
        try await handle(request.terminalID, context).push(settings: request.settings.terminalSettings).get()
        return CoreRPC_PushSettingsResponse()
    }

    public func disconnectTerminal(_ request: CoreRPC_DisconnectTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_DisconnectTerminalResponse {
        var response = CoreRPC_DisconnectTerminalResponse()
        guard let handle = sessions.session(for: request.terminalID) else { return response }
        try await handle.disconnect(reason: ReasonCode(rawValue: request.reasonCode), text: request.text).get()
        response.found = true
        return response
    }
}

