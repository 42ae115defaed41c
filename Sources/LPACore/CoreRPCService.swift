import LPACoreRPC
import LPARPC
import Logging
import Metrics
import TerminalProtocol

/// The core's side of the edge–core RPC: registrations, heartbeat counts and departures from edges,
/// handed to the ``CoreEngine``; the calling connection is remembered as the terminal's edge.
///
/// Every call is bound to the edge connection that made it (its peer passed the TLS checks of the
/// edge port: infrastructure CA and edge role). A registration's terminal id must be the one its
/// identity carries (the EID, or the IMEI without one); heartbeat counts and departures are taken
/// only for terminals the calling connection registered and still holds. Anything else is refused,
/// logged with `code=PERMISSION_DENIED` and counted in `lpa_core_edge_calls_refused_total{method}`.
public struct CoreRPCService: EdgeToCoreService {
    let engine: CoreEngine
    let directory: EdgeDirectory
    let provisioning: ProvisioningService?
    let logger: Logger

    public init(engine: CoreEngine, directory: EdgeDirectory, provisioning: ProvisioningService? = nil,
                logger: Logger = Logger(label: "serverlpa.core.rpc")) {
        self.engine = engine
        self.directory = directory
        self.provisioning = provisioning
        self.logger = logger
    }

    public func registerTerminal(_ request: CoreRPC_RegisterTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_RegisterTerminalResponse {
        guard !request.terminalID.isEmpty else { throw RPCError(.invalidArgument, "terminal_id is empty") }
        let carried = request.identity.identity.terminalID
        guard carried == request.terminalID else {
            refused(context, method: "RegisterTerminal", terminalID: request.terminalID,
                    reason: "the identity carries terminal id \(carried)")
            throw RPCError(.permissionDenied, "terminal_id \(request.terminalID) does not agree with the identity it carries (\(carried))")
        }
        let outcome = try await engine.register(RegistrationRequest(
            terminalID: request.terminalID, identity: request.identity.identity, agent: request.agent,
            remoteAddress: request.remoteAddress, edgeNodeID: context.peer.nodeID, tlsResumed: request.tlsResumed,
            sessionEpoch: request.sessionEpoch == 0 ? nil : Int64(clamping: request.sessionEpoch)))
        var response = CoreRPC_RegisterTerminalResponse()
        switch outcome {
        case .accepted(let model, let settings, let required, _, let epoch):
            if let connection = context.connection { directory.attach(request.terminalID, to: connection, epoch: epoch) }
            if let provisioning {
                // After the answer: the terminal is active on its edge once it has its Welcome.
                let terminalID = request.terminalID
                let engine = engine
                let logger = logger
                Task {
                    do {
                        if let record = try await engine.device(terminalID: terminalID) {
                            try await provisioning.deviceRegistered(record)
                        }
                    } catch {
                        logger.error("provisioning check after registration failed", metadata: ["terminal": "\(terminalID)", "error": "\(error)"])
                    }
                }
            }
            response.accepted = true
            response.model = model
            response.settings = CoreRPC_Settings(settings)
            response.requiredFields = required
            response.sessionEpoch = UInt64(epoch)
        case .refused(let refusal):
            response.accepted = false
            response.reasonCode = refusal.code.rawValue
            response.reasonText = refusal.text
        }
        return response
    }

    public func reportHeartbeats(_ request: CoreRPC_ReportHeartbeatsRequest, context: RPCCallContext) async throws -> CoreRPC_ReportHeartbeatsResponse {
        let held = request.counts.filter { !$0.terminalID.isEmpty && directory.holds($0.terminalID, through: context.connection) }
        if held.count < request.counts.count, let foreign = request.counts.first(where: { !directory.holds($0.terminalID, through: context.connection) }) {
            refused(context, method: "ReportHeartbeats", terminalID: foreign.terminalID, count: request.counts.count - held.count,
                    reason: "counts for terminals this edge does not hold are dropped")
        }
        let reports = held.map {
            HeartbeatReport(terminalID: $0.terminalID, windowStart: $0.windowStart, windowSeconds: Int($0.windowSeconds),
                            count: Int(max(0, $0.count)), lastSeen: $0.lastSeen)
        }
        try await engine.reportHeartbeats(reports)
        var response = CoreRPC_ReportHeartbeatsResponse()
        response.accepted = true
        return response
    }

    public func terminalGone(_ request: CoreRPC_TerminalGoneRequest, context: RPCCallContext) async throws -> CoreRPC_TerminalGoneResponse {
        guard directory.holds(request.terminalID, through: context.connection) else {
            refused(context, method: "TerminalGone", terminalID: request.terminalID, reason: "this edge does not hold the terminal")
            throw RPCError(.permissionDenied, "terminal \(request.terminalID) is not held by this edge")
        }
        let ended: Int64? = request.sessionEpoch == 0 ? nil : Int64(clamping: request.sessionEpoch)
        guard let epoch = directory.detach(request.terminalID, from: context.connection, epoch: ended) else {
            // The late notice of an older session: a newer one registered through this edge since, and stays.
            logger.info("departure of an earlier session ignored", metadata: [
                "terminal": "\(request.terminalID)", "session_epoch": "\(ended ?? 0)", "edge": "\(context.peer.nodeID)",
            ])
            return CoreRPC_TerminalGoneResponse()
        }
        await engine.terminalGone(terminalID: request.terminalID, reason: ReasonCode(rawValue: request.reasonCode), sessionEpoch: epoch)
        return CoreRPC_TerminalGoneResponse()
    }

    /// Logs and counts a call (or part of one) refused because the calling edge may not act on the terminal.
    private func refused(_ context: RPCCallContext, method: String, terminalID: String, count: Int = 1, reason: String) {
        Counter(label: "lpa_core_edge_calls_refused_total", dimensions: [("method", method)]).increment(by: count)
        logger.warning("edge call refused", metadata: [
            "code": "PERMISSION_DENIED", "method": "\(method)", "edge": "\(context.peer.nodeID)",
            "terminal": "\(terminalID)", "refused": "\(count)", "reason": "\(reason)",
        ])
    }
}
