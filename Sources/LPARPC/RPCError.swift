/// A failed call: a status other than ``RPCStatus/ok`` and a message for people.
///
/// Callers receive it from ``RPCConnection/call(_:_:responseType:deadline:)``; handlers throw it to
/// answer with a specific status (any other error becomes ``RPCStatus/internal``).
public struct RPCError: Error, Sendable, Hashable, CustomStringConvertible {
    public var status: RPCStatus
    public var message: String

    public init(_ status: RPCStatus, _ message: String) {
        self.status = status
        self.message = message
    }

    /// `NAME: message`, e.g. `UNAVAILABLE: connection closed`.
    public var description: String {
        message.isEmpty ? status.name : "\(status.name): \(message)"
    }
}

/// An error type that knows which RPC status it stands for. A handler that throws one answers
/// with that status and message instead of ``RPCStatus/internal``.
public protocol RPCErrorConvertible: Error {
    var rpcError: RPCError { get }
}

extension RPCError: RPCErrorConvertible {
    public var rpcError: RPCError { self }
}
