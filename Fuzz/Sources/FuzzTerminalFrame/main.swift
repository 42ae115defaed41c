// The terminal frame path as lpa-edge runs it: bytes from a terminal go through the length prefix and the
// protobuf-c decoder (`TerminalFrameCodec.readFrame`, the call `TerminalSessionHandler.channelRead` makes) and each
// decoded frame into the session's `TerminalSessionStateMachine`.
//
// Input: byte 0 holds options (bit 0: certificate binding on; bits 1-7: where the stream is cut in two reads, to
// exercise partial frames); the rest is the byte stream the terminal sends after the TLS handshake.
//
// Checked beyond "no crash": a decoded frame re-encodes to a body that decodes to the same frame.
import FuzzSupport
@testable import LPAEdge
import LPATLS
import NIOCore
import TerminalProtocol

private let subject = [
    TLSSubjectAttribute(name: "CN", value: "89049032123451234512345678901235"),
    TLSSubjectAttribute(name: "serialNumber", value: "356938035643809"),
]
private let handshake = TLSHandshakeCompleted(
    protocolVersion: "TLSv1.3", cipherSuite: "TLS_AES_128_GCM_SHA256", group: "prime256v1", resumed: false,
    peerSubject: subject, peerCertificateDER: nil, serverName: nil)
private let settings = TerminalSettings(heartbeatIntervalSeconds: 60, historyLimit: 10, version: 1)

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTerminalFrame(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let options = input[0]
    let stream = input[1...]
    let cut = min(stream.count, Int(options >> 1) * 4)

    var machine = TerminalSessionStateMachine(policy: .init(
        bindingRules: IdentityBindingRule.defaults, requireCertificateBinding: options & 1 == 1,
        missedIntervalsBeforeDrop: 3))
    _ = machine.handshakeCompleted(handshake)
    let limits = TerminalProtocolLimits.default
    var now = NIODeadline.uptimeNanoseconds(1_000_000_000_000)

    var buffer = ByteBuffer()
    for chunk in [stream.prefix(cut), stream.dropFirst(cut)] {
        buffer.writeBytes(chunk)
        while !machine.isClosed {
            let frame: TerminalFrame?
            do {
                frame = try TerminalFrameCodec.readFrame(from: &buffer, limits: limits)
            } catch {
                _ = machine.serverClose(reason: .protocolViolation, text: "\(error)")
                break
            }
            guard let frame else { break }
            let body = TerminalFrameCodec.encode(frame)
            guard let again = try? TerminalFrameCodec.decode(body, limits: .init(maximumFrameLength: TerminalProtocolLimits.hardMaximumFrameLength)),
                  again == frame
            else {
                fatalError("\(frame.kind) does not survive re-encoding")
            }
            now = now + .seconds(1)
            switch machine.frameReceived(frame, now: now) {
            case .register:
                _ = machine.registrationDecided(
                    .accept(settings: settings, model: "SIM-METER-1", requiredFields: ["eid"]), sessionID: "s", now: now)
                _ = machine.settingsPushed(settings, now: now)
            default:
                _ = machine.livenessCheck(now: now)
            }
        }
    }
    machine.connectionClosed()
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// A terminal's session as the edge sees it: Hello (matching the certificate), heartbeats, answers to the core's
/// requests, Goodbye — each stream encoded by `TerminalFrameCodec`.
private func seeds() throws -> [[UInt8]] {
    let hello = TerminalFrame.hello(Hello(
        identity: Identity(eid: "89049032123451234512345678901235", imei: "356938035643809", iccid: "89882110000000000010",
                           model: "SIM-METER-1", firmware: "1.0.3", extra: [.init(key: "hw", value: "rev-b")]),
        agent: "lpa-agent-c/1", maximumFrameLength: 4093))
    let session: [TerminalFrame] = [
        hello,
        .heartbeat(Heartbeat(seq: 1, uptimeSeconds: 60, rssiDBm: -71)),
        .apduBatchResult(ApduBatchResult(batchID: 7, status: .ok, responses: [[0xBF, 0x2E, 0x12, 0x80, 0x10] + [UInt8](repeating: 0x5C, count: 16) + [0x90, 0x00], [0x90, 0x00]])),
        .channelOpenResult(ChannelOpenResult(requestID: 8, channel: 1, statusWord: 0x9000, selectResponse: [0x6F, 0x00])),
        .channelCloseResult(ChannelCloseResult(requestID: 9, statusWord: 0x9000)),
        .heartbeat(Heartbeat(seq: 2, uptimeSeconds: 120, rssiDBm: -70)),
        .goodbye(Goodbye(reason: .deviceRestart, text: "reboot")),
    ]
    func stream(_ frames: [TerminalFrame]) throws -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames { try TerminalFrameCodec.encode(frame, into: &buffer) }
        return Array(buffer.readableBytesView)
    }
    return [
        [0x01] + (try stream(session)),
        [0x00] + (try stream(Array(session.prefix(3)))),
        [0x0B] + (try stream([hello, .apduBatchResult(ApduBatchResult(batchID: 1, status: .stopped, responses: [[0x6A, 0x88]], detail: "stopped"))])),
    ]
}
