/// The device identifier an `IdentityError` is about.
public enum IdentityField: String, Sendable, Hashable, CaseIterable, Codable {
    case eid = "EID"
    case imei = "IMEI"
    case iccid = "ICCID"
}

/// Why a device identifier is invalid, or why one cannot be generated.
///
/// Each case names the field and the precise fault, so a rejection can tell the operator what to fix. `code` is
/// a stable identifier for logs, metrics and APIs; `description` is the sentence for people. Positions are
/// 1-based, counted from the left.
public enum IdentityError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The identifier has `actual` characters; `expected` is the allowed range.
    case wrongLength(IdentityField, expected: ClosedRange<Int>, actual: Int)
    /// The character at `position` is not an ASCII decimal digit.
    case nonDigit(IdentityField, position: Int, character: Character)
    /// The identifier does not start with `expected` (for example "89", the telecom industry identifier).
    case wrongPrefix(IdentityField, expected: String, actual: String)
    /// The check digit(s) are `actual` but the other digits call for `expected`.
    case badCheckDigits(IdentityField, expected: String, actual: String)
    /// A generator prefix is unusable; `reason` says why.
    case invalidPrefix(IdentityField, prefix: String, reason: String)
    /// A generator index does not fit in the digits left after the prefix.
    case indexOutOfRange(IdentityField, index: UInt64, maximum: UInt64)

    /// The field the error is about.
    public var field: IdentityField {
        switch self {
        case .wrongLength(let field, _, _), .nonDigit(let field, _, _), .wrongPrefix(let field, _, _),
             .badCheckDigits(let field, _, _), .invalidPrefix(let field, _, _), .indexOutOfRange(let field, _, _):
            field
        }
    }

    /// A stable machine-readable code, for example `eid.bad_check_digits`.
    public var code: String {
        let kind = switch self {
        case .wrongLength: "wrong_length"
        case .nonDigit: "non_digit"
        case .wrongPrefix: "wrong_prefix"
        case .badCheckDigits: "bad_check_digits"
        case .invalidPrefix: "invalid_prefix"
        case .indexOutOfRange: "index_out_of_range"
        }
        return "\(field.rawValue.lowercased()).\(kind)"
    }

    public var description: String {
        switch self {
        case .wrongLength(let field, let expected, let actual):
            let range = expected.lowerBound == expected.upperBound
                ? "\(expected.lowerBound)" : "\(expected.lowerBound) to \(expected.upperBound)"
            return "\(field.rawValue) has \(actual) characters; it must have \(range) digits"
        case .nonDigit(let field, let position, let character):
            return "\(field.rawValue) has \(String(reflecting: String(character))) at position \(position); only digits 0-9 are allowed"
        case .wrongPrefix(let field, let expected, let actual):
            return "\(field.rawValue) starts with \"\(actual)\"; it must start with \"\(expected)\""
        case .badCheckDigits(let field, let expected, let actual):
            let noun = field == .eid ? "check digits are" : "check digit is"
            return "\(field.rawValue) \(noun) \"\(actual)\" but the other digits require \"\(expected)\" (mistyped digit?)"
        case .invalidPrefix(let field, let prefix, let reason):
            return "\(field.rawValue) prefix \"\(prefix)\" cannot be used: \(reason)"
        case .indexOutOfRange(let field, let index, let maximum):
            return "\(field.rawValue) index \(index) does not fit after the prefix; the largest index is \(maximum)"
        }
    }
}
