import SwiftASN1

/// One BER-TLV data object as SGP.22 writes it, read from strict DER.
///
/// SGP.22 objects are defined with implicit context, application and private tags (`BF38`, `5F37`, `E3`, …), so
/// this type names tags by their encoded bytes as the specification prints them: `0xBF38` is context-specific,
/// constructed, number 56. Parsing goes through swift-asn1's DER parser, which refuses indefinite and non-minimal
/// lengths, trailing bytes and excessive nesting before anything here looks at a value.
///
/// `encoded` is the exact slice of the input, so signatures over sub-objects (`serverSigned1`, `euiccSigned1`, …)
/// are checked on the bytes that were received, never on a re-encoding.
public struct TLV: Sendable, Hashable {
    /// The tag as encoded (`0x80`, `0x5F37`, `0xBF2E`, …).
    public let tag: UInt32
    /// The whole object: tag, length and value.
    public let encoded: ArraySlice<UInt8>
    /// The value bytes (for a constructed object: the concatenated encodings of its children).
    public let value: ArraySlice<UInt8>
    /// Whether the tag's constructed bit is set.
    public var isConstructed: Bool { firstTagByte & 0x20 != 0 }

    private let node: ASN1Node
    private var firstTagByte: UInt8 { encoded[encoded.startIndex] }

    /// Parses `bytes` as exactly one DER object; `object` names it in errors.
    public init(der bytes: ArraySlice<UInt8>, object: String) throws(RSPError) {
        guard !bytes.isEmpty else { throw .malformed(object: object, reason: "no bytes") }
        let node: ASN1Node
        do {
            node = try DER.parse(bytes)
        } catch {
            throw .malformed(object: object, reason: "\(error)")
        }
        self.init(node: node)
    }

    /// Parses `bytes` as exactly one DER object; `object` names it in errors.
    public init(der bytes: [UInt8], object: String) throws(RSPError) {
        try self.init(der: bytes[...], object: object)
    }

    private init(node: ASN1Node) {
        self.node = node
        self.encoded = node.encodedBytes
        let (tag, headerLength) = TLV.readHeader(node.encodedBytes)
        self.tag = tag
        self.value = node.encodedBytes.dropFirst(headerLength)
    }

    /// The children of a constructed object, in order; empty for a primitive one.
    public var children: [TLV] {
        guard case .constructed(let collection) = node.content else { return [] }
        return collection.map { TLV(node: $0) }
    }

    /// The first child with `tag`, if any.
    public func child(_ tag: UInt32) -> TLV? {
        children.first { $0.tag == tag }
    }

    /// The first child with `tag`, or `missingElement`.
    public func requiredChild(_ tag: UInt32, in object: String) throws(RSPError) -> TLV {
        guard let found = child(tag) else { throw .missingElement(object: object, tag: tag) }
        return found
    }

    /// Throws unless this object's tag is `expected`.
    public func expect(_ expected: UInt32, object: String) throws(RSPError) -> TLV {
        guard tag == expected else { throw .unexpectedTag(object: object, expected: expected, found: tag) }
        return self
    }

    /// The value as bytes.
    public var bytes: [UInt8] { Array(value) }

    /// The value as a UTF-8 string.
    public func utf8(field: String, in object: String) throws(RSPError) -> String {
        guard let text = String(validating: value, as: UTF8.self) else {
            throw .invalidValue(object: object, field: field, reason: "not UTF-8")
        }
        return text
    }

    /// The value as a two's-complement INTEGER that fits in `Int`.
    public func integer(field: String, in object: String) throws(RSPError) -> Int {
        guard !value.isEmpty, value.count <= 8 else {
            throw .invalidValue(object: object, field: field, reason: "INTEGER of \(value.count) bytes")
        }
        if value.count > 1 {
            let first = value[value.startIndex], second = value[value.startIndex + 1]
            if (first == 0x00 && second & 0x80 == 0) || (first == 0xFF && second & 0x80 != 0) {
                throw .invalidValue(object: object, field: field, reason: "INTEGER not minimally encoded")
            }
        }
        var result: Int = (value[value.startIndex] & 0x80) != 0 ? -1 : 0
        for byte in value { result = (result << 8) | Int(byte) }
        return result
    }

    /// The value as a DER BOOLEAN.
    public func boolean(field: String, in object: String) throws(RSPError) -> Bool {
        guard value.count == 1, value.first == 0x00 || value.first == 0xFF else {
            throw .invalidValue(object: object, field: field, reason: "BOOLEAN must be one byte 00 or FF")
        }
        return value.first == 0xFF
    }

    /// The value, which must be exactly `count` bytes long.
    public func fixedBytes(_ count: Int, field: String, in object: String) throws(RSPError) -> [UInt8] {
        guard value.count == count else {
            throw .invalidValue(object: object, field: field, reason: "\(value.count) bytes, expected \(count)")
        }
        return bytes
    }

    /// The value, whose length must lie in `range`.
    public func bytes(in range: ClosedRange<Int>, field: String, object: String) throws(RSPError) -> [UInt8] {
        guard range.contains(value.count) else {
            throw .invalidValue(object: object, field: field, reason: "\(value.count) bytes, expected \(range)")
        }
        return bytes
    }

    /// The tag and header length at the start of a DER encoding already validated by the parser.
    static func readHeader(_ bytes: ArraySlice<UInt8>) -> (tag: UInt32, headerLength: Int) {
        var index = bytes.startIndex
        var tag = UInt32(bytes[index])
        index += 1
        if tag & 0x1F == 0x1F {
            while true {
                let byte = bytes[index]
                tag = (tag << 8) | UInt32(byte)
                index += 1
                if byte & 0x80 == 0 { break }
            }
        }
        let lengthByte = bytes[index]
        index += 1
        if lengthByte & 0x80 != 0 { index += Int(lengthByte & 0x7F) }
        return (tag, index - bytes.startIndex)
    }

    /// `BF38`-style text for a tag.
    public static func tagString(_ tag: UInt32) -> String {
        let width = tag > 0xFFFF ? 6 : (tag > 0xFF ? 4 : 2)
        let hex = String(tag, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, width - hex.count)) + hex
    }
}

extension TLV {
    /// The encoded tag bytes of `tag` (`0xBF38` → `BF 38`).
    public static func tagBytes(_ tag: UInt32) -> [UInt8] {
        var bytes: [UInt8] = []
        var remaining = tag
        repeat {
            bytes.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        } while remaining != 0
        return bytes
    }

    /// The DER length octets for `length`.
    public static func lengthBytes(_ length: Int) -> [UInt8] {
        precondition(length >= 0)
        if length < 0x80 { return [UInt8(length)] }
        var octets: [UInt8] = []
        var remaining = length
        while remaining > 0 {
            octets.insert(UInt8(remaining & 0xFF), at: 0)
            remaining >>= 8
        }
        return [0x80 | UInt8(octets.count)] + octets
    }

    /// Tag and length for a value of `length` bytes.
    public static func header(_ tag: UInt32, length: Int) -> [UInt8] {
        tagBytes(tag) + lengthBytes(length)
    }

    /// A complete TLV with `value`.
    public static func encode<Value: Collection<UInt8>>(_ tag: UInt32, _ value: Value) -> [UInt8] {
        var out = header(tag, length: value.count)
        out.append(contentsOf: value)
        return out
    }

    /// A constructed TLV whose value is the concatenation of `children` (each already encoded).
    public static func encode(_ tag: UInt32, children: [[UInt8]]) -> [UInt8] {
        encode(tag, children.flatMap { $0 })
    }

    /// A minimal two's-complement INTEGER value for `number`.
    public static func integerValue(_ number: Int) -> [UInt8] {
        var bytes: [UInt8] = []
        var remaining = number
        repeat {
            bytes.insert(UInt8(truncatingIfNeeded: remaining), at: 0)
            remaining >>= 8
        } while remaining != 0 && remaining != -1
        if number >= 0, bytes[0] & 0x80 != 0 { bytes.insert(0, at: 0) }
        if number < 0, bytes[0] & 0x80 == 0 { bytes.insert(0xFF, at: 0) }
        return bytes
    }

    /// An INTEGER TLV under `tag`.
    public static func integer(_ tag: UInt32, _ number: Int) -> [UInt8] {
        encode(tag, integerValue(number))
    }

    /// A BOOLEAN TLV under `tag`.
    public static func boolean(_ tag: UInt32, _ flag: Bool) -> [UInt8] {
        encode(tag, [flag ? 0xFF : 0x00])
    }

    /// A UTF8String TLV under `tag`.
    public static func utf8(_ tag: UInt32, _ text: String) -> [UInt8] {
        encode(tag, Array(text.utf8))
    }
}
