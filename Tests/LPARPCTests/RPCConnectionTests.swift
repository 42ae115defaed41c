import Foundation
import LPACoreRPC
import LPARPC
import NIOCore
import NIOPosix
import XCTest

/// Calls over real loopback TCP (plaintext; TLS has its own tests).
final class RPCConnectionTests: XCTestCase {
    func testCallsInBothDirections() async throws {
        try await withTimeout {
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(prefix: "core:"), clientRouter: TestMethods.router(prefix: "edge:"))
            let fromEdge = try await pair.client.call(TestMethods.echo, TestMethods.request("a"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(fromEdge.terminalID, "core:a")
            let fromCore = try await pair.serverSide.call(TestMethods.echo, TestMethods.request("b"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(fromCore.terminalID, "edge:b")
            XCTAssertEqual(pair.client.remoteNodeID, "core-test")
            XCTAssertEqual(pair.serverSide.remoteNodeID, "edge-test")
            XCTAssertEqual(pair.client.role, .initiator)
            XCTAssertEqual(pair.serverSide.role, .acceptor)
            await pair.shutdown()
        }
    }

    func testThousandsOfConcurrentCallsFromBothSides() async throws {
        try await withTimeout(120) {
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(prefix: "core:"), clientRouter: TestMethods.router(prefix: "edge:"))
            let perSide = 5000
            let mismatches = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<perSide {
                    group.addTask {
                        let response = try await pair.client.call(TestMethods.echo, TestMethods.request("e\(index)", code: Int32(index)), responseType: CoreRPC_TerminalGoneRequest.self)
                        return response.terminalID == "core:e\(index)" && response.reasonCode == Int32(index) ? 0 : 1
                    }
                    group.addTask {
                        let response = try await pair.serverSide.call(TestMethods.echo, TestMethods.request("c\(index)", code: Int32(index)), responseType: CoreRPC_TerminalGoneRequest.self)
                        return response.terminalID == "edge:c\(index)" && response.reasonCode == Int32(index) ? 0 : 1
                    }
                }
                return try await group.reduce(0, +)
            }
            XCTAssertEqual(mismatches, 0)
            let clientCalls = await pair.client.callsInFlight()
            XCTAssertEqual(clientCalls.outgoing, 0)
            await pair.shutdown()
        }
    }

    func testTypedClientsOverOneConnection() async throws {
        struct Core: EdgeToCoreService {
            func registerTerminal(_ request: CoreRPC_RegisterTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_RegisterTerminalResponse {
                var response = CoreRPC_RegisterTerminalResponse()
                response.accepted = request.identity.eid.count == 32
                response.model = request.identity.model
                response.settings.heartbeatIntervalS = 60
                response.requiredFields = ["eid"]
                return response
            }
            func reportHeartbeats(_ request: CoreRPC_ReportHeartbeatsRequest, context: RPCCallContext) async throws -> CoreRPC_ReportHeartbeatsResponse {
                var response = CoreRPC_ReportHeartbeatsResponse()
                response.accepted = request.counts.count == 2
                return response
            }
            func terminalGone(_ request: CoreRPC_TerminalGoneRequest, context: RPCCallContext) async throws -> CoreRPC_TerminalGoneResponse {
                throw RPCError(.notFound, "unknown terminal \(request.terminalID)")
            }
        }
        struct Edge: CoreToEdgeService {
            func transmitApduBatch(_ request: CoreRPC_TransmitApduBatchRequest, context: RPCCallContext) async throws -> CoreRPC_TransmitApduBatchResponse {
                var response = CoreRPC_TransmitApduBatchResponse()
                response.responses = request.apdus.map { _ in Data([0x90, 0x00]) }
                return response
            }
            func openChannel(_ request: CoreRPC_OpenChannelRequest, context: RPCCallContext) async throws -> CoreRPC_OpenChannelResponse {
                var response = CoreRPC_OpenChannelResponse()
                response.channel = 1
                response.sw = 0x9000
                return response
            }
            func closeChannel(_ request: CoreRPC_CloseChannelRequest, context: RPCCallContext) async throws -> CoreRPC_CloseChannelResponse {
                var response = CoreRPC_CloseChannelResponse()
                response.sw = 0x9000
                return response
            }
            func pushSettings(_ request: CoreRPC_PushSettingsRequest, context: RPCCallContext) async throws -> CoreRPC_PushSettingsResponse { .init() }
            func disconnectTerminal(_ request: CoreRPC_DisconnectTerminalRequest, context: RPCCallContext) async throws -> CoreRPC_DisconnectTerminalResponse {
                var response = CoreRPC_DisconnectTerminalResponse()
                response.found = request.terminalID == "t-1"
                return response
            }
        }
        try await withTimeout {
            var coreRouter = RPCRouter()
            coreRouter.register(edgeToCore: Core())
            var edgeRouter = RPCRouter()
            edgeRouter.register(coreToEdge: Edge())
            let pair = try await LoopbackPair.make(serverRouter: coreRouter, clientRouter: edgeRouter)

            let core = EdgeToCoreClient(pair.client)
            var register = CoreRPC_RegisterTerminalRequest()
            register.terminalID = "t-1"
            register.identity.eid = String(repeating: "8", count: 32)
            register.identity.model = "meter-x"
            register.identity.extra = ["hw": "rev-b"]
            let decision = try await core.registerTerminal(register, deadline: .after(.seconds(5)))
            XCTAssertTrue(decision.accepted)
            XCTAssertEqual(decision.model, "meter-x")
            XCTAssertEqual(decision.settings.heartbeatIntervalS, 60)
            var report = CoreRPC_ReportHeartbeatsRequest()
            report.counts = [CoreRPC_HeartbeatCount(), CoreRPC_HeartbeatCount()]
            let reported = try await core.reportHeartbeats(report)
            XCTAssertTrue(reported.accepted)
            _ = await assertRPCError(.notFound) { try await core.terminalGone(CoreRPC_TerminalGoneRequest()) }

            let edge = CoreToEdgeClient(pair.serverSide)
            var batch = CoreRPC_TransmitApduBatchRequest()
            batch.apdus = [Data([0x80, 0xE2, 0x91, 0x00]), Data([0x80, 0xE2, 0x91, 0x01])]
            let result = try await edge.transmitApduBatch(batch)
            XCTAssertEqual(result.responses, [Data([0x90, 0x00]), Data([0x90, 0x00])])
            let opened = try await edge.openChannel(CoreRPC_OpenChannelRequest())
            XCTAssertEqual(opened.channel, 1)
            let closed = try await edge.closeChannel(CoreRPC_CloseChannelRequest())
            XCTAssertEqual(closed.sw, 0x9000)
            _ = try await edge.pushSettings(CoreRPC_PushSettingsRequest())
            var disconnect = CoreRPC_DisconnectTerminalRequest()
            disconnect.terminalID = "t-1"
            let disconnected = try await edge.disconnectTerminal(disconnect)
            XCTAssertTrue(disconnected.found)
            await pair.shutdown()
        }
    }

    func testStatusesTravelOverTheWire() async throws {
        try await withTimeout {
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router())
            _ = await assertRPCError(.unimplemented) {
                try await pair.client.call("test.Nope", TestMethods.request("x"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            _ = await assertRPCError(.invalidArgument) {
                try await pair.client.call(TestMethods.echo, body: ByteBuffer(bytes: [0xFF, 0xFF]))
            }
            let error = await assertRPCError(.notFound) {
                try await pair.client.call(TestMethods.fail, TestMethods.request("x", code: Int32(RPCStatus.notFound.rawValue)), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            XCTAssertEqual(error?.message, "failed as asked")
            _ = await assertRPCError(.internal) {
                try await pair.client.call(TestMethods.garbage, TestMethods.request("x"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            // The connection survives all of that.
            let echoed = try await pair.client.call(TestMethods.echo, TestMethods.request("ok"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(echoed.terminalID, "ok")
            await pair.shutdown()
        }
    }

    func testHandlerSeesDeadlinePeerAndCanCallBack() async throws {
        try await withTimeout {
            var serverRouter = RPCRouter()
            serverRouter.register("test.Context", CoreRPC_TerminalGoneRequest.self) { request, context in
                var response = CoreRPC_DisconnectTerminalRequest()
                let remaining = context.deadline.map { $0.remaining().nanoseconds / 1_000_000 } ?? -1
                // Ask the caller something over the same connection before answering.
                let callback = try await context.connection!.call(TestMethods.echo, request, responseType: CoreRPC_TerminalGoneRequest.self)
                response.terminalID = callback.terminalID
                response.text = "\(context.peer.nodeID) \(context.method) \(remaining > 0 && remaining <= 10_000)"
                return response
            }
            let pair = try await LoopbackPair.make(serverRouter: serverRouter, clientRouter: TestMethods.router(prefix: "edge:"))
            let response = try await pair.client.call(
                "test.Context", TestMethods.request("q"), responseType: CoreRPC_DisconnectTerminalRequest.self, deadline: .after(.seconds(10)))
            XCTAssertEqual(response.terminalID, "edge:q")
            XCTAssertEqual(response.text, "edge-test test.Context true")
            let noDeadline = try await pair.client.call("test.Context", TestMethods.request("q"), responseType: CoreRPC_DisconnectTerminalRequest.self)
            XCTAssertEqual(noDeadline.text, "edge-test test.Context false")
            await pair.shutdown()
        }
    }

    func testDeadlineExceededCancelsTheHandler() async throws {
        try await withTimeout {
            let events = EventStream<TestMethods.Event>()
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(events: events))
            _ = await assertRPCError(.deadlineExceeded) {
                try await pair.client.call(TestMethods.block, TestMethods.request("slow"), responseType: CoreRPC_TerminalGoneRequest.self, deadline: .after(.milliseconds(200)))
            }
            guard case .started("slow") = await events.next() else { return XCTFail("handler did not start") }
            guard case .cancelled("slow") = await events.next() else { return XCTFail("handler was not cancelled") }
            let clientCalls = await pair.client.callsInFlight()
            XCTAssertEqual(clientCalls.outgoing, 0)
            await pair.shutdown()
        }
    }

    func testCancellingTheCallingTaskCancelsTheHandler() async throws {
        try await withTimeout {
            let events = EventStream<TestMethods.Event>()
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(events: events))
            let client = pair.client
            let call = Task {
                try await client.call(TestMethods.block, TestMethods.request("stuck"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            guard case .started("stuck") = await events.next() else { return XCTFail("handler did not start") }
            call.cancel()
            _ = await assertRPCError(.cancelled) { try await call.value }
            guard case .cancelled("stuck") = await events.next() else { return XCTFail("handler was not cancelled") }
            // The slot is free again and the connection still works.
            let echoed = try await client.call(TestMethods.echo, TestMethods.request("after"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(echoed.terminalID, "after")
            await pair.shutdown()
        }
    }

    func testCallFromAnAlreadyCancelledTaskIsNotRun() async throws {
        try await withTimeout {
            let events = EventStream<TestMethods.Event>()
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(events: events))
            let client = pair.client
            let call = Task {
                await withUnsafeContinuation { (continuation: UnsafeContinuation<Void, Never>) in continuation.resume() }
                return try await client.call(TestMethods.block, TestMethods.request("never"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            call.cancel()
            _ = await assertRPCError(.cancelled) { try await call.value }
            let inFlight = await client.callsInFlight()
            XCTAssertEqual(inFlight.outgoing, 0)
            await pair.shutdown()
        }
    }

    func testInFlightBoundFailsExcessCallsAtOnce() async throws {
        try await withTimeout {
            let events = EventStream<TestMethods.Event>()
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(events: events)) { server, _ in
                server.maxConcurrentIncomingCalls = 4
            }
            XCTAssertEqual(pair.client.peerHello.maxConcurrentCalls, 4)
            let client = pair.client
            let blocked = (0..<4).map { index in
                Task { try await client.call(TestMethods.block, TestMethods.request("b\(index)"), responseType: CoreRPC_TerminalGoneRequest.self) }
            }
            for _ in 0..<4 {
                guard case .started = await events.next() else { return XCTFail("handler did not start") }
            }
            let error = await assertRPCError(.resourceExhausted) {
                try await client.call(TestMethods.echo, TestMethods.request("fifth"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            XCTAssertTrue(error?.message.contains("limit is 4") ?? false, "\(String(describing: error))")
            for task in blocked { task.cancel() }
            for task in blocked { _ = await assertRPCError(.cancelled) { try await task.value } }
            for _ in 0..<4 {
                guard case .cancelled = await events.next() else { return XCTFail("handler was not cancelled") }
            }
            let echoed = try await client.call(TestMethods.echo, TestMethods.request("later"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(echoed.terminalID, "later")
            await pair.shutdown()
        }
    }

    func testRequestLargerThanThePeerAcceptsIsRefusedLocally() async throws {
        try await withTimeout {
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router()) { server, _ in
                server.maxFrameLength = 1024
            }
            _ = await assertRPCError(.resourceExhausted) {
                try await pair.client.call(TestMethods.echo, TestMethods.request(String(repeating: "x", count: 2000)), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            let echoed = try await pair.client.call(TestMethods.echo, TestMethods.request("small"), responseType: CoreRPC_TerminalGoneRequest.self)
            XCTAssertEqual(echoed.terminalID, "small")
            await pair.shutdown()
        }
    }

    func testGracefulCloseLetsCallsInFlightFinish() async throws {
        try await withTimeout {
            let gate = EventStream<Void>()
            let started = EventStream<Void>()
            var serverRouter = RPCRouter()
            serverRouter.register("test.Gate", CoreRPC_TerminalGoneRequest.self) { request, _ in
                started.yield(())
                _ = await gate.next()
                return request
            }
            let pair = try await LoopbackPair.make(serverRouter: serverRouter)
            let client = pair.client
            let call = Task { try await client.call("test.Gate", TestMethods.request("g"), responseType: CoreRPC_TerminalGoneRequest.self) }
            _ = await started.next()
            let serverSide = pair.serverSide
            serverSide.beginGracefulClose()
            _ = await assertRPCError(.unavailable) {
                try await serverSide.call(TestMethods.echo, TestMethods.request("late"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            gate.yield(())
            let finished = try await call.value
            XCTAssertEqual(finished.terminalID, "g")
            try await serverSide.onClose.get()
            try await client.onClose.get()
            await pair.server.shutdown()
        }
    }

    func testConnectionLossFailsPendingCallsWithUnavailable() async throws {
        try await withTimeout {
            let events = EventStream<TestMethods.Event>()
            let pair = try await LoopbackPair.make(serverRouter: TestMethods.router(events: events))
            let client = pair.client
            let call = Task { try await client.call(TestMethods.block, TestMethods.request("lost"), responseType: CoreRPC_TerminalGoneRequest.self) }
            _ = await events.next()
            await pair.serverSide.closeNow()
            _ = await assertRPCError(.unavailable) { try await call.value }
            guard case .cancelled("lost") = await events.next() else { return XCTFail("handler was not cancelled") }
            _ = await assertRPCError(.unavailable) {
                try await client.call(TestMethods.echo, TestMethods.request("x"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            await pair.server.shutdown()
        }
    }

    func testKeepaliveDetectsASilentPeer() async throws {
        try await withTimeout {
            // A peer that completes the HELLO exchange and then never sends another byte.
            let silent = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RPCFrameDecoder()))
                        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(RPCFrameEncoder()))
                        try channel.pipeline.syncOperations.addHandler(SilentPeer())
                    }
                }
                .bind(host: "127.0.0.1", port: 0).get()
            var configuration = RPCConnectionConfiguration(nodeID: "edge-test")
            configuration.keepalive = .init(interval: .milliseconds(50), timeout: .milliseconds(100))
            let connection = try await RPCClient.connect(
                configuration: .init(host: "127.0.0.1", port: silent.localAddress!.port!, security: .plaintext, connection: configuration))
            XCTAssertEqual(connection.remoteNodeID, "silent")
            let error = await assertRPCError(.unavailable) {
                try await connection.call(TestMethods.echo, TestMethods.request("anyone?"), responseType: CoreRPC_TerminalGoneRequest.self)
            }
            XCTAssertTrue(error?.message.contains("keepalive") ?? false, "\(String(describing: error))")
            try await connection.onClose.get()
            try await silent.close()
        }
    }
}

/// Sends its HELLO, then ignores everything it receives.
private final class SilentPeer: ChannelInboundHandler, Sendable {
    typealias InboundIn = RPCFrame
    typealias OutboundOut = RPCFrame

    func channelActive(context: ChannelHandlerContext) {
        let hello = RPCFrame(streamID: 0, payload: .hello(RPCHello(nodeID: "silent", maxFrameLength: 65_536, maxConcurrentCalls: 10)))
        context.writeAndFlush(wrapOutboundOut(hello), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}
}
