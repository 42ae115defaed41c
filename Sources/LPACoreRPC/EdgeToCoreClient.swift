import LPARPC

/// Typed calls from an edge to the core. Wraps an ``RPCConnection`` or an ``RPCClient``; every
/// function throws ``RPCError``.
public struct EdgeToCoreClient: Sendable {
    public let caller: any RPCCaller

    public init(_ caller: any RPCCaller) {
        self.caller = caller
    }

    /// Asks whether a terminal may start a session.
    public func registerTerminal(_ request: CoreRPC_RegisterTerminalRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_RegisterTerminalResponse {
        try await caller.call(CoreRPCMethod.registerTerminal, request, responseType: CoreRPC_RegisterTerminalResponse.self, deadline: deadline)
    }

    /// Delivers closed heartbeat counting windows.
    public func reportHeartbeats(_ request: CoreRPC_ReportHeartbeatsRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_ReportHeartbeatsResponse {
        try await caller.call(CoreRPCMethod.reportHeartbeats, request, responseType: CoreRPC_ReportHeartbeatsResponse.self, deadline: deadline)
    }

    /// Announces that a terminal's session on this edge ended.
    public func terminalGone(_ request: CoreRPC_TerminalGoneRequest, deadline: RPCDeadline? = nil) async throws -> CoreRPC_TerminalGoneResponse {
        try await caller.call(CoreRPCMethod.terminalGone, request, responseType: CoreRPC_TerminalGoneResponse.self, deadline: deadline)
    }
}
