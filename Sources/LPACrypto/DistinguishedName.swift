import COpenSSL

/// An X.501 distinguished name: an ordered list of attributes (type, value), most significant first — the order
/// they are encoded in a certificate.
///
/// Each attribute is its own RDN; multi-valued RDNs read from a certificate are flattened in encoding order.
/// Values are text; OpenSSL picks the ASN.1 string type when encoding (PrintableString for `C` and
/// `serialNumber`, UTF8String otherwise).
public struct DistinguishedName: Sendable, Hashable, CustomStringConvertible {
    /// An attribute type, identified by its OID.
    public struct AttributeType: Sendable, Hashable, CustomStringConvertible {
        /// The dotted object identifier, for example `2.5.4.3`.
        public let oid: String

        /// An attribute type by OID; any OID is allowed, known ones get their short names.
        public init(oid: String) {
            self.oid = oid
        }

        /// The conventional short name (`CN`, `O`, …), or `nil` for an OID without one.
        public var shortName: String? {
            AttributeType.shortNames[oid]
        }

        /// The short name if there is one, else the dotted OID.
        public var description: String { shortName ?? oid }

        public static let commonName = AttributeType(oid: "2.5.4.3")
        public static let surname = AttributeType(oid: "2.5.4.4")
        public static let serialNumber = AttributeType(oid: "2.5.4.5")
        public static let countryName = AttributeType(oid: "2.5.4.6")
        public static let localityName = AttributeType(oid: "2.5.4.7")
        public static let stateOrProvinceName = AttributeType(oid: "2.5.4.8")
        public static let streetAddress = AttributeType(oid: "2.5.4.9")
        public static let organizationName = AttributeType(oid: "2.5.4.10")
        public static let organizationalUnitName = AttributeType(oid: "2.5.4.11")
        public static let title = AttributeType(oid: "2.5.4.12")
        public static let userID = AttributeType(oid: "0.9.2342.19200300.100.1.1")
        public static let domainComponent = AttributeType(oid: "0.9.2342.19200300.100.1.25")
        public static let emailAddress = AttributeType(oid: "1.2.840.113549.1.9.1")

        private static let shortNames: [String: String] = [
            "2.5.4.3": "CN", "2.5.4.4": "SN", "2.5.4.5": "serialNumber", "2.5.4.6": "C", "2.5.4.7": "L",
            "2.5.4.8": "ST", "2.5.4.9": "street", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.12": "title",
            "0.9.2342.19200300.100.1.1": "UID", "0.9.2342.19200300.100.1.25": "DC",
            "1.2.840.113549.1.9.1": "emailAddress",
        ]
    }

    /// One attribute of the name.
    public struct Attribute: Sendable, Hashable {
        public var type: AttributeType
        public var value: String

        public init(_ type: AttributeType, _ value: String) {
            self.type = type
            self.value = value
        }
    }

    /// The attributes, most significant first.
    public var attributes: [Attribute]

    /// A name made of `attributes`, most significant first.
    public init(_ attributes: [Attribute] = []) {
        self.attributes = attributes
    }

    /// A name from the common attributes, encoded in the order C, O, OU, CN, serialNumber; `nil` ones are left
    /// out.
    public init(
        country: String? = nil,
        organization: String? = nil,
        organizationalUnit: String? = nil,
        commonName: String? = nil,
        serialNumber: String? = nil
    ) {
        let pairs: [(AttributeType, String?)] = [
            (.countryName, country), (.organizationName, organization),
            (.organizationalUnitName, organizationalUnit), (.commonName, commonName),
            (.serialNumber, serialNumber),
        ]
        attributes = pairs.compactMap { type, value in value.map { Attribute(type, $0) } }
    }

    /// Appends an attribute (least significant so far).
    public mutating func append(_ type: AttributeType, _ value: String) {
        attributes.append(Attribute(type, value))
    }

    /// A copy with an attribute appended.
    public func appending(_ type: AttributeType, _ value: String) -> DistinguishedName {
        var copy = self
        copy.append(type, value)
        return copy
    }

    /// The value of the first attribute of `type`, or `nil`.
    public func value(for type: AttributeType) -> String? {
        attributes.first { $0.type == type }?.value
    }

    /// The values of every attribute of `type`, in order.
    public func values(for type: AttributeType) -> [String] {
        attributes.filter { $0.type == type }.map(\.value)
    }

    /// The common name (CN), if any.
    public var commonName: String? { value(for: .commonName) }

    /// The name as an RFC 4514 string: least significant attribute first (`CN=…,O=…,C=…`), special characters
    /// escaped. Stable: the same name always gives the same string.
    public var description: String {
        attributes.reversed().map { "\($0.type)=\(Self.escape($0.value))" }.joined(separator: ",")
    }

    private static func escape(_ value: String) -> String {
        var output = ""
        let characters = Array(value)
        for (index, character) in characters.enumerated() {
            switch character {
            case ",", "+", "\"", "\\", "<", ">", ";", "=":
                output += "\\\(character)"
            case "#" where index == 0, " " where index == 0 || index == characters.count - 1:
                output += "\\\(character)"
            case "\0":
                output += "\\00"
            default:
                output.append(character)
            }
        }
        return output
    }
}

extension DistinguishedName {
    /// Reads an `X509_NAME` (borrowed; not freed).
    init(x509Name name: OpaquePointer) {
        var attributes: [Attribute] = []
        let count = X509_NAME_entry_count(name)
        for index in 0..<max(count, 0) {
            guard let entry = X509_NAME_get_entry(name, index),
                  let object = X509_NAME_ENTRY_get_object(entry),
                  let data = X509_NAME_ENTRY_get_data(entry)
            else { continue }
            attributes.append(Attribute(AttributeType(oid: objectIdentifierText(object)), asn1StringText(data)))
        }
        self.init(attributes)
    }

    /// A new `X509_NAME` owned by the caller.
    func makeX509Name() throws(CryptoError) -> OpaquePointer {
        guard let name = X509_NAME_new() else {
            throw .openSSL(.internalFailure, "allocating a distinguished name")
        }
        for attribute in attributes {
            guard let object = OBJ_txt2obj(attribute.type.oid, 1) else {
                X509_NAME_free(name)
                throw .openSSL(.invalidInput, "encoding name attribute type \"\(attribute.type.oid)\": not a dotted OID")
            }
            let bytes = Array(attribute.value.utf8)
            let added = bytes.withUnsafeBufferPointer {
                X509_NAME_add_entry_by_OBJ(name, object, MBSTRING_UTF8, $0.baseAddress, Int32($0.count), -1, 0)
            }
            ASN1_OBJECT_free(object)
            guard added == 1 else {
                X509_NAME_free(name)
                throw .openSSL(
                    .invalidInput,
                    "encoding name attribute \(attribute.type)=\"\(attribute.value)\" (check its length and characters)"
                )
            }
        }
        return name
    }
}

/// The dotted text of an `ASN1_OBJECT` (borrowed).
func objectIdentifierText(_ object: OpaquePointer) -> String {
    var buffer = [CChar](repeating: 0, count: 128)
    let length = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
    guard length > 0 else { return "" }
    if Int(length) >= buffer.count {
        buffer = [CChar](repeating: 0, count: Int(length) + 1)
        _ = OBJ_obj2txt(&buffer, Int32(buffer.count), object, 1)
    }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}

/// The bytes of an `ASN1_STRING` (borrowed).
func asn1StringBytes(_ string: UnsafePointer<ASN1_STRING>) -> [UInt8] {
    let length = Int(ASN1_STRING_length(string))
    guard length > 0, let data = ASN1_STRING_get0_data(string) else { return [] }
    return Array(UnsafeBufferPointer(start: data, count: length))
}

/// An `ASN1_STRING` as UTF-8 text, converting from its ASN.1 string type; `#` + hex for values that are not
/// text (RFC 4514 §2.4).
func asn1StringText(_ string: UnsafePointer<ASN1_STRING>) -> String {
    var output: UnsafeMutablePointer<UInt8>? = nil
    let length = ASN1_STRING_to_UTF8(&output, string)
    guard length >= 0, let output else {
        OpenSSLErrorQueue.clear()
        return "#" + hexString(asn1StringBytes(string))
    }
    defer { lpac_OPENSSL_free(output) }
    return String(decoding: UnsafeBufferPointer(start: output, count: Int(length)), as: UTF8.self)
}

/// Lower-case hex of `bytes`.
func hexString(_ bytes: [UInt8], uppercase: Bool = false) -> String {
    let digits = Array((uppercase ? "0123456789ABCDEF" : "0123456789abcdef").utf8)
    var output = [UInt8]()
    output.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        output.append(digits[Int(byte >> 4)])
        output.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: output, as: UTF8.self)
}
