import Logging

/// What a handler knows about the call it serves.
///
/// The handler runs in its own `Task`; that task is cancelled when the caller sends CANCEL, when
/// ``deadline`` passes, or when the connection closes. Handlers that wait should do so in
/// cancellable ways (`Task.sleep`, `withTaskCancellationHandler`) or check `Task.isCancelled`.
public struct RPCCallContext: Sendable {
    /// The method name from the REQUEST frame.
    public var method: String
    /// The call's stream id on its connection.
    public var streamID: UInt32
    /// When the caller gives up; nil when it set no deadline.
    public var deadline: RPCDeadline?
    /// The caller.
    public var peer: RPCPeer
    /// The connection the call arrived on, for calls back to the same peer; nil only for contexts
    /// made outside a connection (tests).
    public var connection: RPCConnection?
    /// A logger carrying `rpc.method`, `rpc.stream` and `rpc.peer` metadata.
    public var logger: Logger

    public init(method: String, streamID: UInt32 = 0, deadline: RPCDeadline? = nil, peer: RPCPeer,
                connection: RPCConnection? = nil, logger: Logger = Logger(label: "serverlpa.rpc")) {
        self.method = method
        self.streamID = streamID
        self.deadline = deadline
        self.peer = peer
        self.connection = connection
        self.logger = logger
    }
}
