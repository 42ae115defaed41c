import LPARPC

/// What lpa-core serves to edges. Implement it and add it to the router with
/// ``LPARPC/RPCRouter/register(edgeToCore:)``. Throw ``RPCError`` to answer with a specific status.
public protocol EdgeToCoreService: Sendable {
    func registerTerminal(_ request: CoreRPC_RegisterTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_RegisterTerminalResponse
    func reportHeartbeats(_ request: CoreRPC_ReportHeartbeatsRequest, context: RPCCallContext) async throws -> CoreRPC_ReportHeartbeatsResponse
    func terminalGone(_ request: CoreRPC_TerminalGoneRequest, context: RPCCallContext) async throws -> CoreRPC_TerminalGoneResponse
}

extension RPCRouter {
    /// Serves the `core.*` methods with `service`.
    public mutating func register(edgeToCore service: some EdgeToCoreService) {
        register(CoreRPCMethod.registerTerminal, CoreRPC_RegisterTerminalRequest.self) { request, context in
            try await service.registerTerminal(request, context: context)
        }
        register(CoreRPCMethod.reportHeartbeats, CoreRPC_ReportHeartbeatsRequest.self) { request, context in
            try await service.reportHeartbeats(request, context: context)
        }
        register(CoreRPCMethod.terminalGone, CoreRPC_TerminalGoneRequest.self) { request, context in
            try await service.terminalGone(request, context: context)
        }
    }
}
