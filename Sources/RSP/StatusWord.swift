/// A status word and its class, as an ES10 exchange sees it.
public struct StatusWord: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt16
    public init(_ value: UInt16) { self.value = value }
    public init(sw1: UInt8, sw2: UInt8) { value = UInt16(sw1) << 8 | UInt16(sw2) }

    public static let success = StatusWord(0x9000)
    public var isSuccess: Bool { value == 0x9000 }
    /// `61xx`: more response data is waiting for GET RESPONSE.
    public var hasMoreData: Bool { value >> 8 == 0x61 }
    public var description: String {
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// Splits a response APDU into data and status word; `nil` when it is shorter than two bytes.
    public static func split(_ response: [UInt8]) -> (data: ArraySlice<UInt8>, sw: StatusWord)? {
        guard response.count >= 2 else { return nil }
        return (response.dropLast(2), StatusWord(sw1: response[response.count - 2], sw2: response[response.count - 1]))
    }
}
