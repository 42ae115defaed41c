import LPARPC

/// What lpa-edge serves to the core over the connection the edge opened. Implement it and add it to
/// the router with ``LPARPC/RPCRouter/register(coreToEdge:)``. Throw ``RPCError`` with
/// ``RPCStatus/notFound`` for a terminal that has no session here.
public protocol CoreToEdgeService: Sendable {
    func transmitApduBatch(_ request: CoreRPC_TransmitApduBatchRequest, context: RPCCallContext) async throws -> CoreRPC_TransmitApduBatchResponse
    func openChannel(_ request: CoreRPC_OpenChannelRequest, context: RPCCallContext) async throws -> CoreRPC_OpenChannelResponse
    func closeChannel(_ request: CoreRPC_CloseChannelRequest, context: RPCCallContext) async throws -> CoreRPC_CloseChannelResponse
    func pushSettings(_ request: CoreRPC_PushSettingsRequest, context: RPCCallContext) async throws -> CoreRPC_PushSettingsResponse
    func disconnectTerminal(_ request: CoreRPC_DisconnectTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_DisconnectTerminalResponse
}

extension RPCRouter {
    /// Serves the `edge.*` methods with `service`.
    public mutating func register(coreToEdge service: some CoreToEdgeService) {
        register(CoreRPCMethod.transmitApduBatch, CoreRPC_TransmitApduBatchRequest.self) { request, context in
            try await service.transmitApduBatch(request, context: context)
        }
        register(CoreRPCMethod.openChannel, CoreRPC_OpenChannelRequest.self) { request, context in
            try await service.openChannel(request, context: context)
        }
        register(CoreRPCMethod.closeChannel, CoreRPC_CloseChannelRequest.self) { request, context in
            try await service.closeChannel(request, context: context)
        }
        register(CoreRPCMethod.pushSettings, CoreRPC_PushSettingsRequest.self) { request, context in
            try await service.pushSettings(request, context: context)
        }
        register(CoreRPCMethod.disconnectTerminal, CoreRPC_DisconnectTerminalRequest.self) { request, context in
            try await service.disconnectTerminal(request, context: context)
        }
    }
}
