/// Method names of the edge–core RPC, as carried in REQUEST frames. `core.*` methods are served by
/// lpa-core and called by edges; `edge.*` methods are served by lpa-edge and called by the core over
/// the same connection. Request and response messages are in `proto/core_rpc.proto`.
public enum CoreRPCMethod {
    /// ``CoreRPC_RegisterTerminalRequest`` → ``CoreRPC_RegisterTerminalResponse``
    public static let registerTerminal = "core.RegisterTerminal"
    /// ``CoreRPC_ReportHeartbeatsRequest`` → ``CoreRPC_ReportHeartbeatsResponse``
    public static let reportHeartbeats = "core.ReportHeartbeats"
    /// ``CoreRPC_TerminalGoneRequest`` → ``CoreRPC_TerminalGoneResponse``
    public static let terminalGone = "core.TerminalGone"

    /// ``CoreRPC_TransmitApduBatchRequest`` → ``CoreRPC_TransmitApduBatchResponse``
    public static let transmitApduBatch = "edge.TransmitApduBatch"
    /// ``CoreRPC_OpenChannelRequest`` → ``CoreRPC_OpenChannelResponse``
    public static let openChannel = "edge.OpenChannel"
    /// ``CoreRPC_CloseChannelRequest`` → ``CoreRPC_CloseChannelResponse``
    public static let closeChannel = "edge.CloseChannel"
    /// ``CoreRPC_PushSettingsRequest`` → ``CoreRPC_PushSettingsResponse``
    public static let pushSettings = "edge.PushSettings"
    /// ``CoreRPC_DisconnectTerminalRequest`` → ``CoreRPC_DisconnectTerminalResponse``
    public static let disconnectTerminal = "edge.DisconnectTerminal"

    /// Methods the core serves.
    public static let edgeToCore = [registerTerminal, reportHeartbeats, terminalGone]
    /// Methods an edge serves.
    public static let coreToEdge = [transmitApduBatch, openChannel, closeChannel, pushSettings, disconnectTerminal]
}
