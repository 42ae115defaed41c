import NIOCore

/// The few MQTT 3.1.1 control packets the benchmark client writes, and a reader that splits a
/// broker's byte stream into packets (OASIS MQTT 3.1.1, §2 and §3).
///
/// A packet is a fixed header — type in the high nibble of the first byte, flags in the low
/// nibble, then the "remaining length" as a little-endian base-128 varint of one to four bytes —
/// followed by that many bytes of variable header and payload.
enum MQTTPacket {
    enum PacketType: UInt8 {
        case connect = 1
        case connack = 2
        case publish = 3
        case puback = 4
        case subscribe = 8
        case suback = 9
        case pingresp = 13
        case disconnect = 14
    }

    /// The largest remaining length the encoding can carry (§2.2.3).
    static let maximumRemainingLength = 268_435_455

    /// The fixed header of a whole packet at the front of a buffer: its type and flags and where
    /// its body lies (absolute indices, valid until the buffer's reader moves).
    struct Header: Equatable {
        var type: UInt8
        var flags: UInt8
        /// Index of the first byte after the fixed header.
        var bodyIndex: Int
        var bodyLength: Int
        /// Fixed header plus body: how far to move the reader to consume the packet.
        var totalLength: Int
    }

    /// Reads the fixed header of the packet at the front of `buffer`, without consuming anything;
    /// nil while the packet is not complete in `buffer`.
    ///
    /// - Throws: a remaining length longer than four bytes, or above `limit`.
    static func peek(in buffer: ByteBuffer, limit: Int) throws(BenchWireError) -> Header? {
        let start = buffer.readerIndex
        guard let first = buffer.getInteger(at: start, as: UInt8.self) else { return nil }
        var length = 0
        var index = start + 1
        var shift = 0
        while true {
            guard let byte = buffer.getInteger(at: index, as: UInt8.self) else { return nil }
            index += 1
            length |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
            guard shift < 28 else {
                throw BenchWireError("MQTT remaining length longer than four bytes (packet type \(first >> 4))")
            }
        }
        guard length <= limit else {
            throw BenchWireError("MQTT packet of \(length) bytes exceeds the client's limit of \(limit)")
        }
        guard buffer.writerIndex - index >= length else { return nil }
        return Header(type: first >> 4, flags: first & 0x0F, bodyIndex: index, bodyLength: length, totalLength: index + length - start)
    }

    /// Appends the remaining-length varint for `value`.
    ///
    /// - Precondition: `value` is in `0...maximumRemainingLength`.
    static func writeRemainingLength(_ value: Int, to buffer: inout ByteBuffer) {
        precondition((0...maximumRemainingLength).contains(value), "MQTT remaining length \(value) out of range")
        var rest = value
        repeat {
            var byte = UInt8(rest & 0x7F)
            rest >>= 7
            if rest > 0 { byte |= 0x80 }
            buffer.writeInteger(byte)
        } while rest > 0
    }

    private static func writeString(_ bytes: [UInt8], to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt16(bytes.count))
        buffer.writeBytes(bytes)
    }

    /// CONNECT (§3.1), protocol level 4, no will, user name or password.
    static func writeConnect(clientID: String, cleanSession: Bool, keepAliveSeconds: UInt16, to buffer: inout ByteBuffer) {
        let id = Array(clientID.utf8)
        let remaining = 10 + 2 + id.count
        buffer.writeInteger(PacketType.connect.rawValue << 4)
        writeRemainingLength(remaining, to: &buffer)
        writeString(Array("MQTT".utf8), to: &buffer)
        buffer.writeInteger(UInt8(4))
        buffer.writeInteger(UInt8(cleanSession ? 0x02 : 0x00))
        buffer.writeInteger(keepAliveSeconds)
        writeString(id, to: &buffer)
    }

    /// SUBSCRIBE (§3.8) to one topic filter.
    static func writeSubscribe(packetID: UInt16, topic: String, qos: UInt8, to buffer: inout ByteBuffer) {
        let filter = Array(topic.utf8)
        buffer.writeInteger(PacketType.subscribe.rawValue << 4 | 0x02)
        writeRemainingLength(2 + 2 + filter.count + 1, to: &buffer)
        buffer.writeInteger(packetID)
        writeString(filter, to: &buffer)
        buffer.writeInteger(qos)
    }

    /// PUBLISH (§3.3) at QoS 0: no packet identifier.
    static func writePublishQoS0(topic: String, payload: [UInt8], to buffer: inout ByteBuffer) {
        let name = Array(topic.utf8)
        buffer.writeInteger(PacketType.publish.rawValue << 4)
        writeRemainingLength(2 + name.count + payload.count, to: &buffer)
        writeString(name, to: &buffer)
        buffer.writeBytes(payload)
    }
}
