import NIOCore

/// What a benchmark client speaks over TLS to the server under test: how a device introduces
/// itself, the bytes of one heartbeat, and what the server's bytes mean.
///
/// A format is shared by every connection of a run; it makes one ``BenchWireSession`` per
/// connection. Both the terminal protocol (``TerminalBenchFormat``) and MQTT 3.1.1
/// (``MQTTBenchFormat``) send the same heartbeat body, so the servers move the same payload.
public protocol BenchWireFormat: Sendable {
    associatedtype Session: BenchWireSession

    /// Short name for tables and errors, e.g. `terminal protocol`.
    var name: String { get }

    /// The per-connection state for `device`, built before the connection opens.
    func makeSession(for device: SimulatedDevice, allocator: ByteBufferAllocator) -> Session
}

/// One connection's view of a ``BenchWireFormat``. Owned by one ``BenchConnectionHandler``
/// and used only on its event loop.
public protocol BenchWireSession {
    /// Sent once the TLS handshake completes: the request to be let in (Hello; CONNECT and SUBSCRIBE).
    var greeting: ByteBuffer { get }

    /// One heartbeat, built once and written as often as needed (writes share its storage).
    var heartbeat: ByteBuffer { get }

    /// Consumes the next whole message at the front of `buffer` and says what it meant; nil,
    /// consuming nothing, while the message is incomplete.
    ///
    /// - Throws: ``BenchWireError`` when the bytes break the protocol; the stream is then lost.
    mutating func nextEvent(in buffer: inout ByteBuffer) throws(BenchWireError) -> BenchServerEvent?
}

/// What one message from the server meant to the benchmark.
public enum BenchServerEvent: Sendable, Equatable {
    /// The server let the device in (Welcome; SUBACK after a successful CONNACK).
    case welcomed
    /// The answer to one heartbeat (HeartbeatAck; the broker's echo of our PUBLISH).
    case acknowledged
    /// Anything the benchmark does not count.
    case ignored
    /// The server refused or ended the session (Reject, Goodbye, a failing CONNACK/SUBACK).
    case ended(reason: String)
}

/// The server sent bytes that break the protocol the client speaks.
public struct BenchWireError: Error, Sendable, CustomStringConvertible {
    public var description: String

    public init(_ description: String) {
        self.description = description
    }
}
