import Foundation
import LPAIdentity

/// How an identity field's value is checked. Written in configuration as a string:
/// `eid`, `imei`, `iccid`, `digits:MIN-MAX`, `regex:PATTERN`, or `any`.
public enum FieldValidation: Sendable, Hashable, CustomStringConvertible {
    /// 32 digits with valid check digits (GSMA SGP.29).
    case eid
    /// 15 digits with a valid Luhn check digit.
    case imei
    /// 18–20 digits starting 89 with a valid Luhn check digit.
    case iccid
    /// Only decimal digits, between the two lengths.
    case digits(min: Int, max: Int)
    /// The whole value matches the regular expression.
    case regex(String)
    /// Any non-empty value.
    case any

    /// Checks `value`; returns why it is invalid, or nil.
    public func problem(with value: String) -> String? {
        switch self {
        case .eid:
            return EID.validate(value).map { "\($0)" }
        case .imei:
            return IMEI.validate(value).map { "\($0)" }
        case .iccid:
            return ICCID.validate(value).map { "\($0)" }
        case .digits(let min, let max):
            guard value.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) else { return "must contain only digits" }
            guard (min...max).contains(value.count) else { return "must have \(min)–\(max) digits, has \(value.count)" }
            return nil
        case .regex(let pattern):
            guard let re = try? NSRegularExpression(pattern: "^(?:\(pattern))$") else { return "invalid pattern \(pattern)" }
            let range = NSRange(value.startIndex..., in: value)
            return re.firstMatch(in: value, range: range) == nil ? "does not match \(pattern)" : nil
        case .any:
            return value.isEmpty ? "must not be empty" : nil
        }
    }

    public var description: String {
        switch self {
        case .eid: return "eid"
        case .imei: return "imei"
        case .iccid: return "iccid"
        case .digits(let a, let b): return "digits:\(a)-\(b)"
        case .regex(let p): return "regex:\(p)"
        case .any: return "any"
        }
    }

    /// Parses the configuration form; nil when `text` is not one.
    public init?(_ text: String) {
        switch text {
        case "eid": self = .eid
        case "imei": self = .imei
        case "iccid": self = .iccid
        case "any", "": self = .any
        default:
            if text.hasPrefix("regex:") {
                let pattern = String(text.dropFirst(6))
                guard (try? NSRegularExpression(pattern: pattern)) != nil else { return nil }
                self = .regex(pattern)
            } else if text.hasPrefix("digits:") {
                let parts = text.dropFirst(7).split(separator: "-")
                guard parts.count == 2, let a = Int(parts[0]), let b = Int(parts[1]), a >= 0, a <= b else { return nil }
                self = .digits(min: a, max: b)
            } else {
                return nil
            }
        }
    }
}

extension FieldValidation: Codable {
    public init(from decoder: Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        guard let v = FieldValidation(text) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath,
                debugDescription: "'\(text)' is not a validation (eid, imei, iccid, digits:MIN-MAX, regex:PATTERN, any)"))
        }
        self = v
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encode(description)
    }
}
