@testable import LPAEdge
import LPATLS
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import TerminalProtocol
import XCTest

/// A core link that records what the edge tells it and answers registrations as configured.
final class RecordingCoreLink: CoreLink {
    struct Record {
        var registrations: [TerminalRegistration] = []
        var reports: [HeartbeatCount] = []
        var gone: [(String, ReasonCode)] = []
    }

    let record = NIOLockedValueBox(Record())
    let decision: RegistrationDecision

    init(decision: RegistrationDecision = .accept(settings: TerminalSettings(heartbeatIntervalSeconds: 60, historyLimit: 10, version: 1),
                                                  model: "SIM-METER-1", requiredFields: ["eid"])) {
        self.decision = decision
    }

    func register(_ registration: TerminalRegistration) async throws -> RegistrationDecision {
        record.withLockedValue { $0.registrations.append(registration) }
        return decision
    }

    func report(heartbeats: [HeartbeatCount]) async {
        record.withLockedValue { $0.reports.append(contentsOf: heartbeats) }
    }

    func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64?) async {
        record.withLockedValue { $0.gone.append((terminalID, reason)) }
    }
}

/// A core link whose registrations wait until the test answers them.
final class GatedCoreLink: CoreLink {
    private struct State {
        var pending: CheckedContinuation<RegistrationDecision, Never>?
        var arrived: CheckedContinuation<Void, Never>?
        var registered = false
    }

    private let state = NIOLockedValueBox(State())

    func register(_ registration: TerminalRegistration) async throws -> RegistrationDecision {
        await withCheckedContinuation { continuation in
            let arrived = state.withLockedValue { s -> CheckedContinuation<Void, Never>? in
                s.pending = continuation
                s.registered = true
                defer { s.arrived = nil }
                return s.arrived
            }
            arrived?.resume()
        }
    }

    /// Returns once a registration is waiting.
    func waitForRegistration() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { s -> Bool in
                if s.registered { return true }
                s.arrived = continuation
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func open(with decision: RegistrationDecision) {
        state.withLockedValue { s in defer { s.pending = nil }; return s.pending }?.resume(returning: decision)
    }

    func report(heartbeats: [HeartbeatCount]) async {}
    func terminalGone(terminalID: String, reason: ReasonCode, sessionEpoch: Int64?) async {}
}

final class TerminalSessionHandlerTests: XCTestCase {
    let eid = TerminalSessionStateMachineTests.eid
    let imei = TerminalSessionStateMachineTests.imei

    func makeEnvironment(link: CoreLink) -> EdgeEnvironment {
        var config = EdgeConfiguration()
        config.nodeID = "edge-test"
        return EdgeEnvironment(configuration: config, coreLink: link, logger: Logger(label: "test"), unixTime: { 1_800_000_000 })
    }

    func makeChannel(_ env: EdgeEnvironment) async throws -> NIOAsyncTestingChannel {
        let channel = NIOAsyncTestingChannel()
        try await channel.pipeline.addHandler(TerminalSessionHandler(environment: env))
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.9", port: 4000))
        return channel
    }

    func handshake(cn: String) -> TLSHandshakeCompleted {
        TLSHandshakeCompleted(protocolVersion: "TLSv1.3", cipherSuite: "x", group: nil, resumed: false,
                              peerSubject: [TLSSubjectAttribute(name: "CN", value: cn), TLSSubjectAttribute(name: "serialNumber", value: imei)],
                              peerCertificateDER: nil, serverName: nil)
    }

    /// Writes `frame` as the bytes a terminal sends.
    func send(to channel: NIOAsyncTestingChannel, _ frame: TerminalFrame) async throws {
        var buffer = ByteBuffer()
        try TerminalFrameCodec.encode(frame, into: &buffer)
        try await channel.writeInbound(buffer)
    }

    /// The next frame the handler wrote, decoded from its bytes.
    func nextFrame(_ channel: NIOAsyncTestingChannel) async throws -> TerminalFrame {
        var buffer = try await channel.waitForOutboundWrite(as: ByteBuffer.self)
        let frame = try XCTUnwrap(try TerminalFrameCodec.readFrame(from: &buffer))
        XCTAssertEqual(buffer.readableBytes, 0, "one write, one frame")
        return frame
    }

    func hello(eid: String) -> TerminalFrame {
        .hello(Hello(protocolVersion: 1, identity: Identity(eid: eid, imei: imei, model: "SIM-METER-1"), agent: "t", maximumFrameLength: 0))
    }

    func testRegistrationWelcomeHeartbeatAndCoreRequests() async throws {
        let link = RecordingCoreLink()
        let env = makeEnvironment(link: link)
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))

        guard case .welcome(let welcome) = try await nextFrame(channel) else { return XCTFail() }
        XCTAssertEqual(welcome.settings.heartbeatIntervalSeconds, 60)
        XCTAssertEqual(welcome.model, "SIM-METER-1")
        let registration = link.record.withLockedValue { $0.registrations.first }
        XCTAssertEqual(registration?.terminalID, eid)
        XCTAssertEqual(registration?.remoteAddress, "127.0.0.9:4000")
        XCTAssertEqual(registration?.edgeNodeID, "edge-test")
        XCTAssertEqual(env.sessions.count, 1)

        try await send(to: channel, TerminalFrame.heartbeat(Heartbeat(seq: 9)))
        channel.pipeline.fireChannelReadComplete()
        let ack = try await nextFrame(channel)
        XCTAssertEqual(ack, .heartbeatAck(HeartbeatAck(seq: 9)))
        let window = env.ledger.closeWindow(newStart: 1_800_000_060)
        XCTAssertEqual(window.map(\.count), [1])
        XCTAssertEqual(window.first?.terminalID, eid)

        // The core asks for an APDU batch through the session handle.
        let handle = try XCTUnwrap(env.sessions.session(for: eid))
        let pending = handle.transmit(ApduBatch(channel: 1, apdus: [[0x81, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x3E, 0x00]]))
        guard case .apduBatch(let sent) = try await nextFrame(channel) else { return XCTFail() }
        XCTAssertEqual(sent.channel, 1)
        try await send(to: channel, TerminalFrame.apduBatchResult(ApduBatchResult(batchID: sent.batchID, status: .ok, responses: [[0x90, 0x00]], detail: "")))
        let result = try await pending.get()
        XCTAssertEqual(result.responses, [[0x90, 0x00]])

        // New settings reach the terminal.
        let settings = TerminalSettings(heartbeatIntervalSeconds: 15, historyLimit: 20, version: 2)
        try await handle.push(settings: settings).get()
        let pushed = try await nextFrame(channel)
        XCTAssertEqual(pushed, .settings(settings))

        // Closing fails what is still pending and tells the core.
        let orphan = handle.transmit(ApduBatch(channel: 1, apdus: [[0x00, 0xA4, 0x04, 0x00]]))
        _ = try await nextFrame(channel)
        try await channel.close()
        do {
            _ = try await orphan.get()
            XCTFail("expected failure")
        } catch let error as TerminalSessionError {
            XCTAssertEqual(error, .sessionClosed(terminalID: eid))
        }
        XCTAssertEqual(env.sessions.count, 0)
    }

    func testTheSessionKeepsTheEpochTheCoreGaveIt() async throws {
        let link = RecordingCoreLink(decision: .accept(settings: TerminalSettings(heartbeatIntervalSeconds: 60, historyLimit: 10, version: 1),
                                                       model: "SIM-METER-1", requiredFields: ["eid"], sessionEpoch: 7))
        let env = makeEnvironment(link: link)
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))
        guard case .welcome = try await nextFrame(channel) else { return XCTFail() }
        XCTAssertNil(link.record.withLockedValue { $0.registrations.first?.sessionEpoch }, "a new session registers without an epoch")
        let handle = try XCTUnwrap(env.sessions.session(for: eid))
        XCTAssertEqual(handle.sessionEpoch, 7, "carried when the edge registers this session again")
        try await channel.close()
    }

    func testSpoofedIdentityIsRejectedAndNeverRegistered() async throws {
        let link = RecordingCoreLink()
        let env = makeEnvironment(link: link)
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: "89049032123451234512345678901300"))
        guard case .reject(let reject) = try await nextFrame(channel) else { return XCTFail() }
        XCTAssertEqual(reject.code, .identityMismatch)
        try await channel.closeFuture.get()
        XCTAssertTrue(link.record.withLockedValue { $0.registrations.isEmpty })
        XCTAssertEqual(env.sessions.count, 0)
    }

    func testMalformedFrameBeforeWelcomeIsRejectedWithProtocolViolation() async throws {
        let env = makeEnvironment(link: RecordingCoreLink())
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        // A length prefix announcing 1 MiB, above the 256 KiB limit: refused before any body arrives.
        var prefix = ByteBuffer()
        LengthPrefix.write(1 << 20, to: &prefix)
        try await channel.writeInbound(prefix)
        guard case .reject(let reject) = try await nextFrame(channel) else { return XCTFail("Reject before Welcome") }
        XCTAssertEqual(reject.code, .protocolViolation)
        try await channel.closeFuture.get()
    }

    func testMalformedFrameAfterWelcomeEndsWithGoodbye() async throws {
        let env = makeEnvironment(link: RecordingCoreLink())
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))
        _ = try await nextFrame(channel)
        try await channel.writeInbound(ByteBuffer(bytes: [0x00]))  // a zero-length frame
        guard case .goodbye(let bye) = try await nextFrame(channel) else { return XCTFail() }
        XCTAssertEqual(bye.reason, .protocolViolation)
        try await channel.closeFuture.get()
    }

    func testFrameLargerThanAnyHelloIsRefusedBeforeWelcomeOnly() async throws {
        let env = makeEnvironment(link: RecordingCoreLink())
        let limit = env.configuration.limits.helloMaxFrameBytes
        // 64 KiB is within the session's 256 KiB frame limit but no Hello is that large.
        var prefix = ByteBuffer()
        LengthPrefix.write(64 * 1024, to: &prefix)
        XCTAssertLessThan(limit, 64 * 1024)

        let early = try await makeChannel(env)
        early.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await early.writeInbound(prefix)
        guard case .reject(let reject) = try await nextFrame(early) else { return XCTFail("refused as the prefix arrives") }
        XCTAssertEqual(reject.code, .protocolViolation)
        try await early.closeFuture.get()

        // After Welcome the same prefix is a frame the edge waits for.
        let admitted = try await makeChannel(env)
        admitted.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: admitted, hello(eid: eid))
        _ = try await nextFrame(admitted)
        try await admitted.writeInbound(prefix)
        let nothing = try await admitted.readOutbound(as: ByteBuffer.self)
        XCTAssertNil(nothing)
        XCTAssertTrue(admitted.isActive)
        try await admitted.close()
    }

    func testLargestValidHelloFitsThePreWelcomeLimit() throws {
        let limits = TerminalProtocolLimits.default
        let field = String(repeating: "7", count: limits.maximumStringLength)
        let extra = (0..<limits.maximumExtraFields).map { i in
            Identity.Field(key: String(format: "%03d", i) + String(repeating: "k", count: limits.maximumStringLength - 3), value: field)
        }
        let hello = Hello(protocolVersion: 1, identity: Identity(eid: field, imei: field, iccid: field, model: field, firmware: field, extra: extra),
                          agent: field, maximumFrameLength: UInt32(limits.maximumFrameLength))
        var buffer = ByteBuffer()
        try TerminalFrameCodec.encode(.hello(hello), into: &buffer)
        XCTAssertLessThanOrEqual(buffer.readableBytes, EdgeConfiguration.Limits().helloMaxFrameBytes)
    }

    func testHeartbeatFloodIsDroppedAndCountedThenEnded() async throws {
        var config = EdgeConfiguration()
        config.nodeID = "edge-test"
        config.heartbeat.maxPerSecond = 1
        config.heartbeat.burst = 3
        config.heartbeat.excessBeforeClose = 2
        let link = RecordingCoreLink()
        let env = EdgeEnvironment(configuration: config, coreLink: link, logger: Logger(label: "test"), unixTime: { 1_800_000_000 })
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))
        _ = try await nextFrame(channel)
        var flood = ByteBuffer()
        for seq in 1...10 { try TerminalFrameCodec.encode(.heartbeat(Heartbeat(seq: UInt32(seq))), into: &flood) }
        try await channel.writeInbound(flood)
        channel.pipeline.fireChannelReadComplete()
        for seq in 1...3 {
            let ack = try await nextFrame(channel)
            XCTAssertEqual(ack, .heartbeatAck(HeartbeatAck(seq: UInt32(seq))))
        }
        guard case .goodbye(let bye) = try await nextFrame(channel) else { return XCTFail("the flood ends the session") }
        XCTAssertEqual(bye.reason, .protocolViolation)
        try await channel.closeFuture.get()
        // The ended session's partial window goes to the core: only admitted heartbeats are in it.
        try await eventually("the partial window reported") { link.record.withLockedValue { !$0.gone.isEmpty } }
        XCTAssertEqual(link.record.withLockedValue { $0.reports.map(\.count) }, [3])
    }

    func testFramesSplitAcrossReadsAndSharingOneAreAllHandled() async throws {
        let env = makeEnvironment(link: RecordingCoreLink())
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))
        _ = try await nextFrame(channel)
        var bytes = ByteBuffer()
        for seq in 1...3 { try TerminalFrameCodec.encode(.heartbeat(Heartbeat(seq: UInt32(seq))), into: &bytes) }
        // The first heartbeat and half of the second in one read, the rest in another.
        let cut = bytes.readableBytes / 2
        try await channel.writeInbound(bytes.getSlice(at: 0, length: cut)!)
        try await channel.writeInbound(bytes.getSlice(at: cut, length: bytes.readableBytes - cut)!)
        channel.pipeline.fireChannelReadComplete()
        for seq in 1...3 {
            let ack = try await nextFrame(channel)
            XCTAssertEqual(ack, .heartbeatAck(HeartbeatAck(seq: UInt32(seq))))
        }
        XCTAssertEqual(env.ledger.closeWindow(newStart: 1_800_000_060).map(\.count), [3])
        try await channel.close()
    }

    func testNewerSessionReplacesOlderOne() async throws {
        let env = makeEnvironment(link: RecordingCoreLink())
        let first = try await makeChannel(env)
        first.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: first, hello(eid: eid))
        _ = try await nextFrame(first)

        let second = try await makeChannel(env)
        second.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: second, hello(eid: eid))
        _ = try await nextFrame(second)

        guard case .goodbye(let bye) = try await nextFrame(first) else { return XCTFail() }
        XCTAssertEqual(bye.reason, .duplicateSession)
        try await first.closeFuture.get()
        XCTAssertEqual(env.sessions.count, 1)
        XCTAssertTrue(env.sessions.session(for: eid) != nil)
        try await second.close()
    }

    /// A terminal that said Hello and whose registration the core has not answered yet.
    func terminalBeingRegistered() async throws -> (GatedCoreLink, SessionTable, NIOAsyncTestingChannel) {
        let link = GatedCoreLink()
        let env = makeEnvironment(link: link)
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))
        await link.waitForRegistration()
        return (link, env.sessions, channel)
    }

    /// The core may act on a registration before the edge has activated the session: a request
    /// for a terminal whose registration is in flight waits for the session instead of failing.
    func testCoreRequestDuringRegistrationWaitsForTheSession() async throws {
        let (link, sessions, channel) = try await terminalBeingRegistered()
        let id = eid
        let lookup = Task { await sessions.session(for: id, waitingUpTo: .seconds(10)) }
        let other = await sessions.session(for: "89049032000000000000000000000001", waitingUpTo: .seconds(10))
        XCTAssertNil(other, "a terminal that is not registering is not waited for")
        try await Task.sleep(for: .milliseconds(50))
        link.open(with: RecordingCoreLink().decision)
        guard case .welcome = try await nextFrame(channel) else { return XCTFail() }
        let found = await lookup.value
        XCTAssertNotNil(found)
        XCTAssertTrue(found === sessions.session(for: id))
        try await channel.close()
    }

    func testCoreRequestDuringARefusedRegistrationFailsWhenItEnds() async throws {
        let (link, sessions, channel) = try await terminalBeingRegistered()
        let id = eid
        let started = ContinuousClock.now
        let lookup = Task { await sessions.session(for: id, waitingUpTo: .seconds(30)) }
        try await Task.sleep(for: .milliseconds(50))
        link.open(with: .reject(code: .unknownModel, text: "no", retryAfterSeconds: 0))
        guard case .reject = try await nextFrame(channel) else { return XCTFail() }
        let found = await lookup.value
        XCTAssertNil(found)
        XCTAssertLessThan(ContinuousClock.now - started, .seconds(20), "answered when the registration ended, not at the timeout")
        try await channel.closeFuture.get()
    }

    func testCoreRejectionIsRelayed() async throws {
        let link = RecordingCoreLink(decision: .reject(code: .unknownModel, text: "no device model matches 'SIM-METER-1'", retryAfterSeconds: 0))
        let env = makeEnvironment(link: link)
        let channel = try await makeChannel(env)
        channel.pipeline.fireUserInboundEventTriggered(handshake(cn: eid))
        try await send(to: channel, hello(eid: eid))
        guard case .reject(let reject) = try await nextFrame(channel) else { return XCTFail() }
        XCTAssertEqual(reject.code, .unknownModel)
        try await channel.closeFuture.get()
    }

    func testSlowTerminalStopsReadsUntilWritableAgain() async throws {
        let env = makeEnvironment(link: RecordingCoreLink())
        let channel = NIOAsyncTestingChannel()
        let counter = ReadCounter()
        try await channel.pipeline.addHandler(counter)
        try await channel.pipeline.addHandler(TerminalSessionHandler(environment: env))
        try await channel.connect(to: try SocketAddress(ipAddress: "127.0.0.9", port: 4000))
        let before = counter.reads.withLockedValue { $0 }
        try await channel.testingEventLoop.executeInContext {
            channel.isWritable = false
            channel.read()
        }
        XCTAssertEqual(counter.reads.withLockedValue { $0 }, before, "no read while the terminal is not taking our writes")
        try await channel.testingEventLoop.executeInContext {
            channel.isWritable = true
            channel.pipeline.fireChannelWritabilityChanged()
        }
        XCTAssertEqual(counter.reads.withLockedValue { $0 }, before + 1, "the held read is issued once writable")
        try await channel.close()
    }
}

/// Counts `read()` calls passing towards the socket.
final class ReadCounter: ChannelOutboundHandler, Sendable {
    typealias OutboundIn = Any
    let reads = NIOLockedValueBox(0)
    func read(context: ChannelHandlerContext) {
        reads.withLockedValue { $0 += 1 }
        context.read()
    }
}
