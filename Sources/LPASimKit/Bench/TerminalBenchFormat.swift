import NIOCore
import TerminalProtocol

/// The ServerLPA terminal protocol as the benchmark speaks it to `lpa-edge`: Hello, wait for
/// Welcome; a heartbeat is one Heartbeat frame, its ack one HeartbeatAck.
public struct TerminalBenchFormat: BenchWireFormat {
    public var name: String { "terminal protocol" }

    /// The body of every heartbeat in a run, in both protocols: one encoded
    /// `serverlpa.terminal.v1.Frame` holding a Heartbeat with values a device would send.
    public static let heartbeatBody: [UInt8] = TerminalFrameCodec.encode(
        .heartbeat(Heartbeat(seq: 1_000, uptimeSeconds: 86_400, rssiDBm: -71)))

    private let agent: String
    private let limits: TerminalProtocolLimits
    private let heartbeatFrame: ByteBuffer

    public init(agent: String = "lpa-sim-bench/1", limits: TerminalProtocolLimits = .default) {
        self.agent = agent
        self.limits = limits
        var frame = ByteBufferAllocator().buffer(capacity: Self.heartbeatBody.count + LengthPrefix.maximumByteCount)
        LengthPrefix.write(Self.heartbeatBody.count, to: &frame)
        frame.writeBytes(Self.heartbeatBody)
        self.heartbeatFrame = frame
    }

    public func makeSession(for device: SimulatedDevice, allocator: ByteBufferAllocator) -> Session {
        let hello = Hello(
            protocolVersion: TerminalProtocolVersion.current, identity: device.identity, agent: agent, maximumFrameLength: 0)
        var greeting = allocator.buffer(capacity: 256)
        // A Hello built from a loaded device is far below any frame limit.
        try? TerminalFrameCodec.encode(.hello(hello), into: &greeting)
        return Session(greeting: greeting, heartbeat: heartbeatFrame, limits: limits)
    }

    public struct Session: BenchWireSession {
        public let greeting: ByteBuffer
        public let heartbeat: ByteBuffer
        private let limits: TerminalProtocolLimits

        init(greeting: ByteBuffer, heartbeat: ByteBuffer, limits: TerminalProtocolLimits) {
            self.greeting = greeting
            self.heartbeat = heartbeat
            self.limits = limits
        }

        public mutating func nextEvent(in buffer: inout ByteBuffer) throws(BenchWireError) -> BenchServerEvent? {
            let frame: TerminalFrame?
            do {
                frame = try TerminalFrameCodec.readFrame(from: &buffer, limits: limits)
            } catch {
                throw BenchWireError("malformed frame from the edge: \(error)")
            }
            switch frame {
            case nil:
                return nil
            case .heartbeatAck:
                return .acknowledged
            case .welcome:
                return .welcomed
            case .reject(let reject):
                return .ended(reason: "REJECT \(reject.code.name)")
            case .goodbye(let goodbye):
                return .ended(reason: "GOODBYE \(goodbye.reason.name)")
            case .some:
                return .ignored
            }
        }
    }
}
