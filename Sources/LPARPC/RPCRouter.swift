import NIOCore
import SwiftProtobuf

/// Maps method names to handlers and turns a REQUEST body into a RESPONSE body or an ``RPCError``.
///
/// Register typed handlers with ``register(_:_:handler:)``; the router decodes the request message,
/// calls the handler and encodes its response. ``handle(method:body:context:)`` maps failures:
///
/// | what happened | status |
/// |---|---|
/// | no handler for the method | ``RPCStatus/unimplemented`` |
/// | the body is not a valid request message | ``RPCStatus/invalidArgument`` |
/// | the handler threw an ``RPCErrorConvertible`` (such as ``RPCError``) | its status and message |
/// | the handler threw `CancellationError` | ``RPCStatus/cancelled`` |
/// | the handler threw anything else | ``RPCStatus/internal`` |
///
/// A plain value: build it before serving, then share it; it is not changed while serving.
public struct RPCRouter: Sendable {
    /// A handler on encoded bodies.
    public typealias Handler = @Sendable (ByteBuffer, RPCCallContext) async throws -> ByteBuffer

    private var handlers: [String: Handler] = [:]

    public init() {}

    /// The registered method names, sorted.
    public var methods: [String] { handlers.keys.sorted() }

    /// Whether `method` has a handler.
    public func hasHandler(for method: String) -> Bool {
        handlers[method] != nil
    }

    /// Serves `method` with `handler`, decoding requests as `Request`. Registering a method twice
    /// is a programming error.
    public mutating func register<Request: Message, Response: Message>(
        _ method: String,
        _ requestType: Request.Type,
        handler: @escaping @Sendable (Request, RPCCallContext) async throws -> Response
    ) {
        registerRaw(method) { body, context in
            let request: Request
            do {
                request = try Request(serializedBytes: Array(body.readableBytesView))
            } catch {
                throw RPCError(.invalidArgument, "request body is not a valid \(Request.protoMessageName): \(error)")
            }
            let response = try await handler(request, context)
            let bytes: [UInt8]
            do {
                bytes = try response.serializedBytes()
            } catch {
                throw RPCError(.internal, "response \(Response.protoMessageName) could not be encoded: \(error)")
            }
            return ByteBuffer(bytes: bytes)
        }
    }

    /// Serves `method` with a handler on encoded bodies.
    public mutating func registerRaw(_ method: String, handler: @escaping Handler) {
        precondition(!method.isEmpty, "RPC method names are not empty")
        precondition(handlers[method] == nil, "RPC method \(method) is registered twice")
        handlers[method] = handler
    }

    /// Runs the handler for `method` on `body`. Never throws: failures become an ``RPCError`` as
    /// described on the type.
    public func handle(method: String, body: ByteBuffer, context: RPCCallContext) async -> Result<ByteBuffer, RPCError> {
        guard let handler = handlers[method] else {
            return .failure(RPCError(.unimplemented, "method \(method) is not served here"))
        }
        do {
            return .success(try await handler(body, context))
        } catch {
            return .failure(Self.rpcError(for: error))
        }
    }

    /// The status a handler's error is answered with.
    static func rpcError(for error: Error) -> RPCError {
        switch error {
        case let convertible as RPCErrorConvertible:
            let rpcError = convertible.rpcError
            return rpcError.status == .ok ? RPCError(.unknown, rpcError.message) : rpcError
        case is CancellationError:
            return RPCError(.cancelled, "handler was cancelled")
        default:
            return RPCError(.internal, "handler failed: \(String(reflecting: type(of: error))): \(error)")
        }
    }
}
