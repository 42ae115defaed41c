/// An Integrated Circuit Card Identifier (ITU-T E.118): 18 to 20 decimal digits starting with `89` (telecom),
/// the last being a Luhn check digit over all the others.
public struct ICCID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Allowed numbers of digits, check digit included.
    public static let lengths = 18...20
    /// The industry identifier every ICCID starts with.
    public static let industryIdentifier = "89"

    /// The digits.
    public let value: String

    /// Validates `text` and wraps it.
    /// - Throws: the first `IdentityError` found (see `validate(_:)`).
    public init(_ text: String) throws(IdentityError) {
        if let error = ICCID.validate(text) { throw error }
        value = text
    }

    /// `nil` when `text` is a valid ICCID; otherwise the first fault: length, non-digit, `89` prefix, Luhn
    /// check digit.
    public static func validate(_ text: String) -> IdentityError? {
        let digits: [UInt8]
        switch DecimalDigits.parse(text, field: .iccid, lengths: lengths) {
        case .success(let parsed): digits = parsed
        case .failure(let error): return error
        }
        guard text.hasPrefix(industryIdentifier) else {
            return .wrongPrefix(.iccid, expected: industryIdentifier, actual: String(text.prefix(2)))
        }
        let expected = DecimalDigits.luhnCheckDigit(for: Array(digits.dropLast()))
        guard expected == digits.last else {
            return .badCheckDigits(.iccid, expected: "\(expected)", actual: "\(digits.last!)")
        }
        return nil
    }

    /// A deterministic ICCID for a simulated fleet: `issuerPrefix` (starting `89`), `index` zero-padded to
    /// fill `length - 1` digits, then the Luhn check digit.
    /// - Throws: `invalidPrefix` when the prefix is not digits starting with `89` or leaves no room for the
    ///   index; `wrongLength` for a `length` outside 18...20; `indexOutOfRange` when `index` does not fit.
    public static func make(issuerPrefix: String, index: UInt64, length: Int = 20) throws(IdentityError) -> ICCID {
        guard lengths.contains(length) else {
            throw .wrongLength(.iccid, expected: lengths, actual: length)
        }
        let prefixDigits: [UInt8]
        switch DecimalDigits.parsePrefix(issuerPrefix, field: .iccid, maximumLength: length - 2) {
        case .success(let digits): prefixDigits = digits
        case .failure(let error): throw error
        }
        guard issuerPrefix.hasPrefix(industryIdentifier) else {
            throw .invalidPrefix(.iccid, prefix: issuerPrefix, reason: "an ICCID must start with \(industryIdentifier)")
        }
        let indexDigits: [UInt8]
        switch DecimalDigits.padded(index, width: length - 1 - prefixDigits.count, field: .iccid) {
        case .success(let digits): indexDigits = digits
        case .failure(let error): throw error
        }
        let payload = prefixDigits + indexDigits
        return ICCID(unchecked: DecimalDigits.string(payload + [DecimalDigits.luhnCheckDigit(for: payload)]))
    }

    private init(unchecked value: String) {
        self.value = value
    }

    public var description: String { value }

    public static func < (lhs: ICCID, rhs: ICCID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let error = ICCID.validate(text) {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
        value = text
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
