import LPACoreRPC
import LPARPC
import NIOCore
import SwiftProtobuf
import XCTest

final class RPCRouterTests: XCTestCase {
    private struct DomainError: RPCErrorConvertible {
        var rpcError: RPCError { RPCError(.notFound, "no such terminal") }
    }

    private struct PlainError: Error {}

    private let context = RPCCallContext(method: "m", peer: RPCPeer(nodeID: "edge-test"))

    private func body(_ message: some Message) throws -> ByteBuffer {
        ByteBuffer(bytes: try message.serializedBytes() as [UInt8])
    }

    private func router() -> RPCRouter {
        var router = RPCRouter()
        router.register("test.Echo", CoreRPC_TerminalGoneRequest.self) { request, context in
            var response = CoreRPC_DisconnectTerminalRequest()
            response.terminalID = request.terminalID
            response.reasonCode = request.reasonCode
            response.text = context.peer.nodeID
            return response
        }
        router.register("test.RPCError", CoreRPC_TerminalGoneRequest.self) { _, _ -> CoreRPC_TerminalGoneResponse in
            throw RPCError(.permissionDenied, "not yours")
        }
        router.register("test.Domain", CoreRPC_TerminalGoneRequest.self) { _, _ -> CoreRPC_TerminalGoneResponse in
            throw DomainError()
        }
        router.register("test.Plain", CoreRPC_TerminalGoneRequest.self) { _, _ -> CoreRPC_TerminalGoneResponse in
            throw PlainError()
        }
        router.register("test.Cancelled", CoreRPC_TerminalGoneRequest.self) { _, _ -> CoreRPC_TerminalGoneResponse in
            throw CancellationError()
        }
        router.register("test.OK", CoreRPC_TerminalGoneRequest.self) { _, _ -> CoreRPC_TerminalGoneResponse in
            throw RPCError(.ok, "an error must not claim success")
        }
        return router
    }

    func testTypedHandlerDecodesAndEncodes() async throws {
        let result = await router().handle(method: "test.Echo", body: try body(TestMethods.request("t-1", code: 9)), context: context)
        let response = try CoreRPC_DisconnectTerminalRequest(serializedBytes: Array(try result.get().readableBytesView))
        XCTAssertEqual(response.terminalID, "t-1")
        XCTAssertEqual(response.reasonCode, 9)
        XCTAssertEqual(response.text, "edge-test")
    }

    func testUnknownMethodIsUnimplemented() async throws {
        let result = await router().handle(method: "test.Nope", body: ByteBuffer(), context: context)
        XCTAssertEqual(result.failure?.status, .unimplemented)
        XCTAssertTrue(result.failure?.message.contains("test.Nope") ?? false)
    }

    func testUndecodableBodyIsInvalidArgument() async throws {
        // Field 1 as a length-delimited string that runs past the end.
        let result = await router().handle(method: "test.Echo", body: ByteBuffer(bytes: [0x0A, 0x20, 0x41]), context: context)
        XCTAssertEqual(result.failure?.status, .invalidArgument)
        let garbage = await router().handle(method: "test.Echo", body: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]), context: context)
        XCTAssertEqual(garbage.failure?.status, .invalidArgument)
    }

    func testEmptyBodyDecodesAsDefaultMessage() async throws {
        let result = await router().handle(method: "test.Echo", body: ByteBuffer(), context: context)
        XCTAssertNotNil(try? result.get())
    }

    func testThrownErrorsMapToStatuses() async throws {
        let cases: [(String, RPCStatus)] = [
            ("test.RPCError", .permissionDenied),
            ("test.Domain", .notFound),
            ("test.Plain", .internal),
            ("test.Cancelled", .cancelled),
            ("test.OK", .unknown),
        ]
        let router = router()
        for (method, status) in cases {
            let result = await router.handle(method: method, body: ByteBuffer(), context: context)
            XCTAssertEqual(result.failure?.status, status, method)
        }
        let plain = await router.handle(method: "test.Plain", body: ByteBuffer(), context: context)
        XCTAssertTrue(plain.failure?.message.contains("PlainError") ?? false, plain.failure?.message ?? "")
    }

    func testMethodsAreListed() {
        XCTAssertEqual(router().methods, ["test.Cancelled", "test.Domain", "test.Echo", "test.OK", "test.Plain", "test.RPCError"])
        XCTAssertTrue(router().hasHandler(for: "test.Echo"))
        XCTAssertFalse(router().hasHandler(for: "test.echo"))
    }

    func testStatusNamesAreStable() {
        XCTAssertEqual(RPCStatus.allCases.map(\.rawValue), Array(0...16))
        XCTAssertEqual(RPCStatus.allCases.map(\.name), [
            "OK", "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
            "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
            "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
        ])
        XCTAssertEqual(RPCStatus(wireValue: 17), .unknown)
        XCTAssertEqual(RPCError(.notFound, "x").description, "NOT_FOUND: x")
    }

    func testServiceProtocolsRegisterEveryMethod() {
        struct Core: EdgeToCoreService {
            func registerTerminal(_ request: CoreRPC_RegisterTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_RegisterTerminalResponse { .init() }
            func reportHeartbeats(_ request: CoreRPC_ReportHeartbeatsRequest, context: RPCCallContext) async throws -> CoreRPC_ReportHeartbeatsResponse { .init() }
            func terminalGone(_ request: CoreRPC_TerminalGoneRequest, context: RPCCallContext) async throws -> CoreRPC_TerminalGoneResponse { .init() }
        }
        struct Edge: CoreToEdgeService {
            func transmitApduBatch(_ request: CoreRPC_TransmitApduBatchRequest, context: RPCCallContext) async throws -> CoreRPC_TransmitApduBatchResponse { .init() }
            func openChannel(_ request: CoreRPC_OpenChannelRequest, context: RPCCallContext) async throws -> CoreRPC_OpenChannelResponse { .init() }
            func closeChannel(_ request: CoreRPC_CloseChannelRequest, context: RPCCallContext) async throws -> CoreRPC_CloseChannelResponse { .init() }
            func pushSettings(_ request: CoreRPC_PushSettingsRequest, context: RPCCallContext) async throws -> CoreRPC_PushSettingsResponse { .init() }
            func disconnectTerminal(_ request: CoreRPC_DisconnectTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_DisconnectTerminalResponse { .init() }
        }
        var core = RPCRouter()
        core.register(edgeToCore: Core())
        XCTAssertEqual(core.methods, CoreRPCMethod.edgeToCore.sorted())
        var edge = RPCRouter()
        edge.register(coreToEdge: Edge())
        XCTAssertEqual(edge.methods, CoreRPCMethod.coreToEdge.sorted())
    }
}

extension Result {
    var failure: Failure? {
        if case .failure(let error) = self { return error }
        return nil
    }
}
