import LPACoreRPC
import LPARPC
import Logging
import TerminalProtocol

/// The core's side of the edge–core RPC: registrations, heartbeat counts and departures from edges,
/// handed to the ``CoreEngine``; the calling connection is remembered as the terminal's edge.
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
        let outcome = try await engine.register(RegistrationRequest(
            terminalID: request.terminalID, identity: request.identity.identity, agent: request.agent,
            remoteAddress: request.remoteAddress, edgeNodeID: context.peer.nodeID, tlsResumed: request.tlsResumed))
        var response = CoreRPC_RegisterTerminalResponse()
        switch outcome {
        case .accepted(let model, let settings, let required, _):
            if let connection = context.connection { directory.attach(request.terminalID, to: connection) }
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
        case .refused(let refusal):
            response.accepted = false
            response.reasonCode = refusal.code.rawValue
            response.reasonText = refusal.text
        }
        return response
    }

    public func reportHeartbeats(_ request: CoreRPC_ReportHeartbeatsRequest, context: RPCCallContext) async throws -> CoreRPC_ReportHeartbeatsResponse {
        let reports = request.counts.filter { !$0.terminalID.isEmpty }.map {
            HeartbeatReport(terminalID: $0.terminalID, windowStart: $0.windowStart, windowSeconds: Int($0.windowSeconds),
                            count: Int(max(0, $0.count)), lastSeen: $0.lastSeen)
        }
        try await engine.reportHeartbeats(reports)
        var response = CoreRPC_ReportHeartbeatsResponse()
        response.accepted = true
        return response
    }

    public func terminalGone(_ request: CoreRPC_TerminalGoneRequest, context: RPCCallContext) async throws -> CoreRPC_TerminalGoneResponse {
        directory.detach(request.terminalID, from: context.connection)
        await engine.terminalGone(terminalID: request.terminalID, reason: ReasonCode(rawValue: request.reasonCode))
        return CoreRPC_TerminalGoneResponse()
    }
}
