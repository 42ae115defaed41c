import LPARPC

/// Typed calls from the core to one edge, over the connection that edge opened. Every function
/// throws ``RPCError``; a terminal without a session on that edge answers ``RPCStatus/notFound``.
public struct CoreToEdgeClient: Sendable {
    public let caller: any RPCCaller

    public init(_ caller: any RPCCaller) {
        self.caller = caller
    }

    /// Runs a batch of APDUs on a terminal.
    public func transmitApduBatch(_ request: CoreRPC_TransmitApduBatchRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_TransmitApduBatchResponse {
        try await caller.call(CoreRPCMethod.transmitApduBatch, request, responseType: CoreRPC_TransmitApduBatchResponse.self, deadline: deadline)
    }

    /// Opens a logical channel on a terminal and selects an application on it.
    public func openChannel(_ request: CoreRPC_OpenChannelRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_OpenChannelResponse {
        try await caller.call(CoreRPCMethod.openChannel, request, responseType: CoreRPC_OpenChannelResponse.self, deadline: deadline)
    }

    /// Closes a logical channel on a terminal.
    public func closeChannel(_ request: CoreRPC_CloseChannelRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_CloseChannelResponse {
        try await caller.call(CoreRPCMethod.closeChannel, request, responseType: CoreRPC_CloseChannelResponse.self, deadline: deadline)
    }

    /// Sends new settings to a terminal.
    public func pushSettings(_ request: CoreRPC_PushSettingsRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_PushSettingsResponse {
        try await caller.call(CoreRPCMethod.pushSettings, request, responseType: CoreRPC_PushSettingsResponse.self, deadline: deadline)
    }

    /// Ends a terminal's session.
    public func disconnectTerminal(_ request: CoreRPC_DisconnectTerminalRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_DisconnectTerminalResponse {
        try await caller.call(CoreRPCMethod.disconnectTerminal, request, responseType: CoreRPC_DisconnectTerminalResponse.self, deadline: deadline)
    }
}
