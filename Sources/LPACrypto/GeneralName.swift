import COpenSSL
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An X.509 GeneralName (RFC 5280 §4.2.1.6): an entry of a subject alternative name or a name constraint.
public enum GeneralName: Sendable, Hashable, CustomStringConvertible {
    /// A DNS name, for example `localhost`.
    case dnsName(String)
    /// An IP address: 4 bytes (IPv4) or 16 bytes (IPv6); in name constraints, address followed by mask (8 or
    /// 32 bytes).
    case ipAddress([UInt8])
    /// A URI.
    case uri(String)
    /// An e-mail address (rfc822Name).
    case email(String)
    /// A directory name.
    case directoryName(DistinguishedName)
    /// A kind `LPACrypto` does not interpret; `tag` is the GeneralName choice number.
    case other(tag: Int)

    /// An `ipAddress` from its text form (`127.0.0.1`, `::1`).
    /// - Throws: `CryptoError.invalidInput` when `text` is neither an IPv4 nor an IPv6 address.
    public static func ip(_ text: String) throws(CryptoError) -> GeneralName {
        var v4 = [UInt8](repeating: 0, count: 4)
        if inet_pton(AF_INET, text, &v4) == 1 { return .ipAddress(v4) }
        var v6 = [UInt8](repeating: 0, count: 16)
        if inet_pton(AF_INET6, text, &v6) == 1 { return .ipAddress(v6) }
        throw CryptoError(code: .invalidInput, context: "parsing \"\(text)\" as an IP address")
    }

    /// OpenSSL-style text: `DNS:localhost`, `IP:127.0.0.1`, `URI:…`, `email:…`, `DirName:…`.
    public var description: String {
        switch self {
        case .dnsName(let name): "DNS:\(name)"
        case .ipAddress(let bytes): "IP:\(GeneralName.ipText(bytes))"
        case .uri(let uri): "URI:\(uri)"
        case .email(let address): "email:\(address)"
        case .directoryName(let name): "DirName:\(name)"
        case .other(let tag): "othername:[\(tag)]"
        }
    }

    private static func ipText(_ bytes: [UInt8]) -> String {
        func format(_ address: [UInt8]) -> String {
            let family = address.count == 4 ? AF_INET : AF_INET6
            var buffer = [CChar](repeating: 0, count: 64)
            guard inet_ntop(family, address, &buffer, socklen_t(buffer.count)) != nil else {
                return hexString(address)
            }
            return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        switch bytes.count {
        case 4, 16: return format(bytes)
        case 8, 32: return format(Array(bytes.prefix(bytes.count / 2))) + "/" + format(Array(bytes.suffix(bytes.count / 2)))
        default: return hexString(bytes)
        }
    }
}

extension GeneralName {
    /// Reads a `GENERAL_NAME` (borrowed).
    init(generalName: UnsafePointer<GENERAL_NAME>) {
        var type: Int32 = 0
        let value = GENERAL_NAME_get0_value(generalName, &type)
        guard let value else {
            self = .other(tag: Int(type))
            return
        }
        let string = UnsafePointer(value.assumingMemoryBound(to: ASN1_STRING.self))
        switch type {
        case GEN_DNS: self = .dnsName(String(decoding: asn1StringBytes(string), as: UTF8.self))
        case GEN_IPADD: self = .ipAddress(asn1StringBytes(string))
        case GEN_URI: self = .uri(String(decoding: asn1StringBytes(string), as: UTF8.self))
        case GEN_EMAIL: self = .email(String(decoding: asn1StringBytes(string), as: UTF8.self))
        case GEN_DIRNAME: self = .directoryName(DistinguishedName(x509Name: OpaquePointer(value)))
        default: self = .other(tag: Int(type))
        }
    }

    /// A new `GENERAL_NAME` owned by the caller.
    func makeGeneralName() throws(CryptoError) -> UnsafeMutablePointer<GENERAL_NAME> {
        guard let name = GENERAL_NAME_new() else {
            throw .openSSL(.internalFailure, "allocating a GeneralName")
        }
        func string(_ type: Int32, _ bytes: [UInt8]) throws(CryptoError) {
            guard let value = ASN1_STRING_type_new(type) else {
                GENERAL_NAME_free(name)
                throw .openSSL(.internalFailure, "allocating a GeneralName")
            }
            let set = bytes.withUnsafeBufferPointer { ASN1_STRING_set(value, $0.baseAddress, Int32($0.count)) }
            guard set == 1 else {
                ASN1_STRING_free(value)
                GENERAL_NAME_free(name)
                throw .openSSL(.internalFailure, "encoding GeneralName \(self)")
            }
            let kind: Int32 = switch self {
            case .dnsName: GEN_DNS
            case .ipAddress: GEN_IPADD
            case .uri: GEN_URI
            default: GEN_EMAIL
            }
            GENERAL_NAME_set0_value(name, kind, UnsafeMutableRawPointer(value))
        }
        switch self {
        case .dnsName(let text), .uri(let text), .email(let text):
            guard text.utf8.allSatisfy({ $0 < 0x80 }) else {
                GENERAL_NAME_free(name)
                throw CryptoError(code: .invalidInput, context: "encoding GeneralName \(self): IA5String allows ASCII only")
            }
            try string(V_ASN1_IA5STRING, Array(text.utf8))
        case .ipAddress(let bytes):
            guard [4, 8, 16, 32].contains(bytes.count) else {
                GENERAL_NAME_free(name)
                throw CryptoError(
                    code: .invalidInput,
                    context: "encoding an IP address GeneralName of \(bytes.count) bytes (expected 4, 8, 16 or 32)"
                )
            }
            try string(V_ASN1_OCTET_STRING, bytes)
        case .directoryName(let directoryName):
            let x509Name: OpaquePointer
            do throws(CryptoError) {
                x509Name = try directoryName.makeX509Name()
            } catch {
                GENERAL_NAME_free(name)
                throw error
            }
            GENERAL_NAME_set0_value(name, GEN_DIRNAME, UnsafeMutableRawPointer(x509Name))
        case .other(let tag):
            GENERAL_NAME_free(name)
            throw CryptoError(code: .unsupportedAlgorithm, context: "encoding a GeneralName of kind [\(tag)]")
        }
        return name
    }
}
