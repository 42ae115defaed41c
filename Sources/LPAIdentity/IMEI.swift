/// An International Mobile Equipment Identity: 15 decimal digits — an 8-digit Type Allocation Code (TAC), a
/// 6-digit serial number and a Luhn check digit (3GPP TS 23.003 §6.2.1).
public struct IMEI: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Digits in an IMEI.
    public static let length = 15
    /// Digits in the Type Allocation Code.
    public static let tacLength = 8

    /// The 15 digits.
    public let value: String

    /// Validates `text` and wraps it.
    /// - Throws: the first `IdentityError` found (see `validate(_:)`).
    public init(_ text: String) throws(IdentityError) {
        if let error = IMEI.validate(text) { throw error }
        value = text
    }

    /// The Type Allocation Code (first 8 digits), which identifies the device model.
    public var typeAllocationCode: String { String(value.prefix(IMEI.tacLength)) }

    /// `nil` when `text` is a valid IMEI; otherwise the first fault: length, non-digit, Luhn check digit.
    public static func validate(_ text: String) -> IdentityError? {
        let digits: [UInt8]
        switch DecimalDigits.parse(text, field: .imei, lengths: length...length) {
        case .success(let parsed): digits = parsed
        case .failure(let error): return error
        }
        let expected = DecimalDigits.luhnCheckDigit(for: Array(digits.dropLast()))
        guard expected == digits.last else {
            return .badCheckDigits(.imei, expected: "\(expected)", actual: "\(digits.last!)")
        }
        return nil
    }

    /// A deterministic IMEI for a simulated fleet: `tac` (8 digits), `index` as the 6-digit serial number,
    /// then the Luhn check digit.
    /// - Throws: `invalidPrefix` when `tac` is not 8 digits; `indexOutOfRange` when `index` > 999999.
    public static func make(tac: String, index: UInt64) throws(IdentityError) -> IMEI {
        let tacDigits: [UInt8]
        switch DecimalDigits.parsePrefix(tac, field: .imei, maximumLength: tacLength) {
        case .success(let digits): tacDigits = digits
        case .failure(let error): throw error
        }
        guard tacDigits.count == tacLength else {
            throw .invalidPrefix(.imei, prefix: tac, reason: "a TAC has exactly \(tacLength) digits")
        }
        let serial: [UInt8]
        switch DecimalDigits.padded(index, width: length - 1 - tacLength, field: .imei) {
        case .success(let digits): serial = digits
        case .failure(let error): throw error
        }
        let payload = tacDigits + serial
        return IMEI(unchecked: DecimalDigits.string(payload + [DecimalDigits.luhnCheckDigit(for: payload)]))
    }

    private init(unchecked value: String) {
        self.value = value
    }

    public var description: String { value }

    public static func < (lhs: IMEI, rhs: IMEI) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let error = IMEI.validate(text) {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
        value = text
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
