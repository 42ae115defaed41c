/// Writes protobuf wire format by hand, for bodies the Swift API cannot produce (invalid UTF-8,
/// unknown fields, out-of-range numbers).
struct WireBuilder {
    private(set) var bytes: [UInt8] = []

    mutating func varint(_ value: UInt64) {
        var value = value
        while value >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: value) | 0x80)
            value >>= 7
        }
        bytes.append(UInt8(value))
    }

    mutating func field(_ number: UInt32, varint value: UInt64) {
        varint(UInt64(number) << 3)
        varint(value)
    }

    mutating func field(_ number: UInt32, bytes value: [UInt8]) {
        varint(UInt64(number) << 3 | 2)
        varint(UInt64(value.count))
        bytes += value
    }

    mutating func field(_ number: UInt32, message: WireBuilder) {
        field(number, bytes: message.bytes)
    }

    static func message(_ build: (inout WireBuilder) -> Void) -> WireBuilder {
        var builder = WireBuilder()
        build(&builder)
        return builder
    }

    /// A `Frame` whose `body` member `number` holds `message`.
    static func frame(member number: UInt32, _ build: (inout WireBuilder) -> Void) -> [UInt8] {
        var frame = WireBuilder()
        frame.field(number, message: message(build))
        return frame.bytes
    }
}

/// SplitMix64: a small, fast, seedable generator so that fuzz runs are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
