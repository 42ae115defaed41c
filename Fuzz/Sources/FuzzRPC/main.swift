// The edge↔core RPC inbound path: bytes from the peer through `RPCFrameDecoder` and each frame into
// `RPCConnectionStateMachine`, the calls `RPCConnectionHandler.channelRead` makes for it. Frames are re-encoded with
// `RPCFrameEncoder` and must decode to the same frame.
//
// Input: byte 0 holds options (bit 0: this side is the acceptor; bits 1-3: outgoing calls started before the peer's
// frames, so that responses can match; bits 4-7: where the stream is cut in two reads); the rest is the peer's
// byte stream.
import FuzzSupport
import LPARPC
import NIOCore

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRPC(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let options = input[0]
    let stream = input[1...]
    let cut = min(stream.count, Int(options >> 4) * 16)

    var configuration = RPCConnectionConfiguration(nodeID: "fuzz")
    configuration.maxFrameLength = 64 * 1024
    var machine = RPCConnectionStateMachine(
        role: options & 1 == 1 ? .acceptor : .initiator, localHello: configuration.hello, maxConcurrentOutgoingCalls: 4)
    _ = machine.channelActive()
    let decoder = RPCFrameDecoder(maxFrameLength: configuration.maxFrameLength)
    let encoder = RPCFrameEncoder()
    var started = false

    var buffer = ByteBuffer()
    chunks: for chunk in [stream.prefix(cut), stream.dropFirst(cut)] {
        buffer.writeBytes(chunk)
        while true {
            let frame: RPCFrame?
            do {
                frame = try decoder.decodeFrame(from: &buffer)
            } catch {
                _ = machine.protocolViolation("\(error)")
                break chunks
            }
            guard let frame else { break }
            var encoded = ByteBuffer()
            do {
                try encoder.encode(data: frame, out: &encoded)
            } catch {
                fatalError("a decoded \(frame.payload.kind) frame does not encode: \(error)")
            }
            guard let again = try? decoder.decodeFrame(from: &encoded), again == frame, encoded.readableBytes == 0 else {
                fatalError("a \(frame.payload.kind) frame does not survive re-encoding")
            }
            switch frame.payload {
            case .hello(let hello):
                _ = machine.helloReceived(hello)
                if !started {
                    started = true
                    for _ in 0..<((options >> 1) & 7) { _ = machine.startCall(frameLength: 64) }
                }
            case .request:
                switch machine.requestReceived(streamID: frame.streamID) {
                case .dispatch:
                    _ = machine.handlerFinished(streamID: frame.streamID, responseFrameLength: 32)
                default:
                    break
                }
            case .response:
                _ = machine.responseReceived(streamID: frame.streamID)
            case .cancel:
                _ = machine.cancelReceived(streamID: frame.streamID)
            case .ping:
                _ = machine.pingReceived()
            case .pong:
                machine.pongReceived()
            case .goAway(let lastStreamID, let status, let message):
                _ = machine.goAwayReceived(lastStreamID: lastStreamID, status: status, message: message)
            }
        }
    }
    _ = machine.keepaliveIntervalElapsed()
    _ = machine.closeGracefully()
    machine.channelInactive()
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// The frames of an edge↔core connection, encoded by `RPCFrameEncoder`: HELLO, calls both ways, cancel, keepalive,
/// GOAWAY.
private func seeds() throws -> [[UInt8]] {
    let hello = RPCFrame(streamID: 0, payload: .hello(RPCHello(nodeID: "edge-1", maxFrameLength: 4 << 20, maxConcurrentCalls: 10_000)))
    let frames = [
        hello,
        RPCFrame(streamID: 1, payload: .response(status: .ok, message: "", body: ByteBuffer(bytes: [0x0A, 0x03, 0x61, 0x62, 0x63]))),
        RPCFrame(streamID: 2, payload: .request(method: "/serverlpa.edge.v1.Edge/Transmit", deadlineMilliseconds: 30_000, body: ByteBuffer(bytes: [0x08, 0x01]))),
        RPCFrame(streamID: 4, payload: .request(method: "/serverlpa.edge.v1.Edge/Push", deadlineMilliseconds: 0, body: ByteBuffer())),
        RPCFrame(streamID: 4, payload: .cancel),
        RPCFrame(streamID: 0, payload: .ping(42)),
        RPCFrame(streamID: 0, payload: .pong(42)),
        RPCFrame(streamID: 3, payload: .response(status: .unavailable, message: "draining", body: ByteBuffer())),
        RPCFrame(streamID: 0, payload: .goAway(lastStreamID: 4, status: .ok, message: "closing")),
    ]
    func stream(_ frames: [RPCFrame]) throws -> [UInt8] {
        var buffer = ByteBuffer()
        for frame in frames { try RPCFrameEncoder().encode(data: frame, out: &buffer) }
        return Array(buffer.readableBytesView)
    }
    return [[0x02] + (try stream(frames)), [0x07] + (try stream(Array(frames.prefix(3)))), [0x30] + (try stream([hello, frames[5], frames[8]]))]
}
