import Foundation
import LPACrypto
import RSP

/// One object cross-checked with asn1tools.
///
/// `der` is what our code produced (the RSP module, the virtual eUICC or the SM-DP+ simulator). `value`, when
/// given, is the same object built independently in the JSON form of asn1_oracle.py: asn1tools must decode
/// `der` to exactly it and encode it to exactly `der`. `parse` runs our parser on asn1tools' encoding and throws
/// unless it reads back the model the object was made from.
struct ConformanceCase {
    var type: String
    var label: String
    var der: [UInt8]
    var value: Any?
    var parse: (([UInt8]) throws -> Void)?

    init(_ type: String, _ label: String, der: [UInt8], value: Any?, parse: (([UInt8]) throws -> Void)? = nil) {
        self.type = type
        self.label = label
        self.der = der
        self.value = value
        self.parse = parse
    }
}

/// What our parser read differed from the model.
struct ParsedDifferently: Error, CustomStringConvertible {
    var description: String
}

/// Throws unless `parsed == expected`.
func expectParsed<T: Equatable>(_ parsed: T, _ expected: T) throws {
    guard parsed == expected else { throw ParsedDifferently(description: "parsed \(parsed), expected \(expected)") }
}
