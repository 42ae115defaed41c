import NIOCore

/// MQTT 3.1.1 as the benchmark speaks it to a broker, mirroring the terminal protocol:
///
/// - "Hello/Welcome": CONNECT (client id = EID, clean session, keep-alive off) and SUBSCRIBE to
///   `hb/<EID>` at QoS 0, sent together; the device is in once CONNACK accepted it and SUBACK
///   granted the subscription.
/// - Heartbeat: a QoS 0 PUBLISH to `hb/<EID>` whose payload is the terminal protocol's
///   heartbeat body (``TerminalBenchFormat/heartbeatBody``).
/// - Ack: the broker delivering that PUBLISH back to its only subscriber, the sender.
///
/// The broker identifies the device by its certificate (`use_identity_as_username`), as the
/// edge does.
public struct MQTTBenchFormat: BenchWireFormat {
    public var name: String { "MQTT 3.1.1" }

    /// Topic prefix; the device's topic is this followed by its EID.
    public let topicPrefix: String
    /// Largest packet accepted from the broker.
    public let maximumPacketLength: Int

    public init(topicPrefix: String = "hb/", maximumPacketLength: Int = 64 * 1024) {
        self.topicPrefix = topicPrefix
        self.maximumPacketLength = maximumPacketLength
    }

    public func makeSession(for device: SimulatedDevice, allocator: ByteBufferAllocator) -> Session {
        let clientID = device.identity.eid.isEmpty ? device.identity.imei : device.identity.eid
        let topic = topicPrefix + clientID
        var greeting = allocator.buffer(capacity: 128)
        MQTTPacket.writeConnect(clientID: clientID, cleanSession: true, keepAliveSeconds: 0, to: &greeting)
        MQTTPacket.writeSubscribe(packetID: Session.subscribePacketID, topic: topic, qos: 0, to: &greeting)
        var heartbeat = allocator.buffer(capacity: 8 + topic.utf8.count + TerminalBenchFormat.heartbeatBody.count)
        MQTTPacket.writePublishQoS0(topic: topic, payload: TerminalBenchFormat.heartbeatBody, to: &heartbeat)
        return Session(
            greeting: greeting, heartbeat: heartbeat, topicLength: topic.utf8.count, limit: maximumPacketLength)
    }

    public struct Session: BenchWireSession {
        static let subscribePacketID: UInt16 = 1

        private enum State {
            case awaitingConnAck
            case awaitingSubAck
            case subscribed
        }

        public let greeting: ByteBuffer
        public let heartbeat: ByteBuffer
        private let topicLength: Int
        private let limit: Int
        private var state = State.awaitingConnAck

        init(greeting: ByteBuffer, heartbeat: ByteBuffer, topicLength: Int, limit: Int) {
            self.greeting = greeting
            self.heartbeat = heartbeat
            self.topicLength = topicLength
            self.limit = limit
        }

        public mutating func nextEvent(in buffer: inout ByteBuffer) throws(BenchWireError) -> BenchServerEvent? {
            guard let packet = try MQTTPacket.peek(in: buffer, limit: limit) else { return nil }
            defer { buffer.moveReaderIndex(forwardBy: packet.totalLength) }
            switch (MQTTPacket.PacketType(rawValue: packet.type), state) {
            case (.publish, .subscribed):
                return try publishReceived(packet, in: buffer)
            case (.connack, .awaitingConnAck):
                guard packet.bodyLength == 2, let code = buffer.getInteger(at: packet.bodyIndex + 1, as: UInt8.self) else {
                    throw BenchWireError("CONNACK with a \(packet.bodyLength)-byte body")
                }
                guard code == 0 else { return .ended(reason: "CONNACK return code \(code)") }
                state = .awaitingSubAck
                return .ignored
            case (.suback, .awaitingSubAck):
                guard packet.bodyLength == 3,
                      let id = buffer.getInteger(at: packet.bodyIndex, as: UInt16.self),
                      let granted = buffer.getInteger(at: packet.bodyIndex + 2, as: UInt8.self)
                else {
                    throw BenchWireError("SUBACK with a \(packet.bodyLength)-byte body")
                }
                guard id == Self.subscribePacketID else { throw BenchWireError("SUBACK for unknown packet id \(id)") }
                guard granted <= 2 else { return .ended(reason: "SUBACK refused the subscription (\(granted))") }
                state = .subscribed
                return .welcomed
            case (.pingresp, _):
                return .ignored
            case (.disconnect, _):
                return .ended(reason: "DISCONNECT from the broker")
            default:
                throw BenchWireError("unexpected MQTT packet type \(packet.type) while \(state)")
            }
        }

        private func publishReceived(_ packet: MQTTPacket.Header, in buffer: ByteBuffer) throws(BenchWireError) -> BenchServerEvent {
            let qos = (packet.flags >> 1) & 0x03
            guard qos == 0 else { throw BenchWireError("PUBLISH at QoS \(qos) on a QoS 0 subscription") }
            guard packet.bodyLength >= 2, let nameLength = buffer.getInteger(at: packet.bodyIndex, as: UInt16.self),
                  Int(nameLength) + 2 <= packet.bodyLength
            else {
                throw BenchWireError("PUBLISH whose topic name overruns the packet")
            }
            guard Int(nameLength) == topicLength else {
                throw BenchWireError("PUBLISH on a topic this client did not subscribe to")
            }
            return .acknowledged
        }
    }
}
