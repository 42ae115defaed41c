/// An eUICC identifier: 32 decimal digits whose last two are check digits (GSMA SGP.29).
///
/// The check digits follow ISO/IEC 7064 MOD 97-10: read as one integer, a valid EID satisfies
/// `EID mod 97 == 1`. An EID starts with `89`, the telecom industry identifier. The example EID of SGP.29,
/// `89049032123451234512345678901235`, is valid.
public struct EID: Sendable, Hashable, Comparable, Codable, CustomStringConvertible {
    /// Digits in an EID.
    public static let length = 32
    /// The industry identifier every EID starts with.
    public static let industryIdentifier = "89"

    /// The 32 digits.
    public let value: String

    /// Validates `text` and wraps it.
    /// - Throws: the first `IdentityError` found (see `validate(_:)`).
    public init(_ text: String) throws(IdentityError) {
        if let error = EID.validate(text) { throw error }
        value = text
    }

    /// `nil` when `text` is a valid EID; otherwise the first fault, checked in this order: length, non-digit
    /// characters, the `89` prefix, the check digits.
    public static func validate(_ text: String) -> IdentityError? {
        let digits: [UInt8]
        switch DecimalDigits.parse(text, field: .eid, lengths: length...length) {
        case .success(let parsed): digits = parsed
        case .failure(let error): return error
        }
        guard text.hasPrefix(industryIdentifier) else {
            return .wrongPrefix(.eid, expected: industryIdentifier, actual: String(text.prefix(2)))
        }
        let expected = checkDigits(forDigits: Array(digits.prefix(length - 2)))
        let actual = String(text.suffix(2))
        guard expected == actual else {
            return .badCheckDigits(.eid, expected: expected, actual: actual)
        }
        return nil
    }

    /// The two check digits for a 30-digit EID body: `98 - (body·100 mod 97)`, zero-padded.
    /// - Throws: `wrongLength` or `nonDigit` for a body that is not 30 digits.
    public static func checkDigits(forPrefix body: String) throws(IdentityError) -> String {
        switch DecimalDigits.parse(body, field: .eid, lengths: (length - 2)...(length - 2)) {
        case .success(let digits): return checkDigits(forDigits: digits)
        case .failure(let error): throw error
        }
    }

    /// A deterministic EID for a simulated fleet: `prefix`, then `index` zero-padded to fill 30 digits, then the
    /// check digits. Distinct indexes give distinct EIDs.
    ///
    /// `EID.make(prefix: "89049032", index: 7)` is `89049032` + `0000000000000000000007` + check digits.
    /// - Throws: `invalidPrefix` when `prefix` is not at most 30 digits starting with `89`; `indexOutOfRange`
    ///   when `index` needs more digits than the prefix leaves.
    public static func make(prefix: String, index: UInt64) throws(IdentityError) -> EID {
        let bodyLength = length - 2
        let prefixDigits: [UInt8]
        switch DecimalDigits.parsePrefix(prefix, field: .eid, maximumLength: bodyLength) {
        case .success(let digits): prefixDigits = digits
        case .failure(let error): throw error
        }
        guard prefix.hasPrefix(industryIdentifier) else {
            throw .invalidPrefix(.eid, prefix: prefix, reason: "an EID must start with \(industryIdentifier)")
        }
        let indexDigits: [UInt8]
        switch DecimalDigits.padded(index, width: bodyLength - prefixDigits.count, field: .eid) {
        case .success(let digits): indexDigits = digits
        case .failure(let error): throw error
        }
        let body = prefixDigits + indexDigits
        return EID(unchecked: DecimalDigits.string(body) + checkDigits(forDigits: body))
    }

    private init(unchecked value: String) {
        self.value = value
    }

    private static func checkDigits(forDigits body: [UInt8]) -> String {
        var remainder = 0
        for digit in body + [0, 0] {
            remainder = (remainder * 10 + Int(digit)) % 97
        }
        let check = 98 - remainder
        return check < 10 ? "0\(check)" : "\(check)"
    }

    public var description: String { value }

    public static func < (lhs: EID, rhs: EID) -> Bool { lhs.value < rhs.value }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        let text = try container.decode(String.self)
        if let error = EID.validate(text) {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
        value = text
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(value)
    }
}
