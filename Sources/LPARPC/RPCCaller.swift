import SwiftProtobuf

/// Something calls can be made through: an ``RPCConnection``, or an ``RPCClient`` (its current
/// connection). Typed clients wrap one.
public protocol RPCCaller: Sendable {
    /// Calls `method` on the peer with `request`; throws ``RPCError``.
    func call<Request: Message, Response: Message>(
        _ method: String, _ request: Request, responseType: Response.Type, deadline: RPCDeadline?
    ) async throws -> Response
}
