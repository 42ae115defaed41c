import COpenSSL
import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// An X.509 certificate owned by Swift (an OpenSSL `X509`).
///
/// Immutable after initialisation and safe to share between threads (OpenSSL 3 guards its lazily computed
/// extension cache with a lock). `der` is the exact encoding the certificate was decoded from or signed as;
/// equality and hashing use it. Accessors decode on every call; keep the result if you need it often.
public final class Certificate: @unchecked Sendable, Hashable, CustomStringConvertible {
    /// The owned `X509 *`; freed in `deinit`.
    let pointer: OpaquePointer

    /// The DER encoding.
    public let der: [UInt8]

    /// The subject public key.
    public let publicKey: PublicKey

    /// Takes ownership of `pointer` (freed even when this throws). `publicKey`, when given, must be the
    /// certificate's subject public key; it spares decoding the key again.
    init(owning pointer: OpaquePointer, publicKey knownKey: PublicKey? = nil) throws(CryptoError) {
        let der: [UInt8]
        do throws(CryptoError) {
            der = try encodeDER("a certificate") { i2d_X509(pointer, $0) }
        } catch {
            X509_free(pointer)
            throw error
        }
        if let knownKey {
            publicKey = knownKey
        } else {
            guard let key = X509_get_pubkey(pointer) else {
                X509_free(pointer)
                throw .openSSL(.invalidInput, "reading the public key of a certificate")
            }
            do throws(CryptoError) {
                publicKey = try PublicKey(owning: key)
            } catch {
                X509_free(pointer)
                throw error
            }
        }
        self.pointer = pointer
        self.der = der
    }

    deinit {
        X509_free(pointer)
    }

    /// Decodes one DER certificate; the bytes must hold exactly one.
    /// - Throws: `CryptoError.invalidInput` for anything else (truncated, trailing bytes, garbage).
    public convenience init(der: [UInt8]) throws(CryptoError) {
        let certificate = try decodeDER(der, "a certificate", free: { X509_free($0) }) { d2i_X509(nil, $0, $1) }
        try self.init(owning: certificate)
    }

    /// Decodes the first `CERTIFICATE` block of PEM text (other block types before it are skipped).
    /// - Throws: `CryptoError.invalidInput` when there is no readable certificate block.
    public convenience init(pem: String) throws(CryptoError) {
        let bio = try MemoryBIO(copying: pem.utf8, context: "reading a PEM certificate")
        OpenSSLErrorQueue.clear()
        guard let certificate = PEM_read_bio_X509(bio.pointer, nil, nil, nil) else {
            throw .openSSL(.invalidInput, "reading a PEM certificate")
        }
        try self.init(owning: certificate)
    }

    /// Decodes every `CERTIFICATE` block of PEM text, in order (a chain file, a bundle of roots).
    /// - Throws: `CryptoError.invalidInput` when there is no certificate at all, or when a block is damaged
    ///   (the error names its position).
    public static func chain(pem: String) throws(CryptoError) -> [Certificate] {
        let bio = try MemoryBIO(copying: pem.utf8, context: "reading a PEM certificate chain")
        var certificates: [Certificate] = []
        OpenSSLErrorQueue.clear()
        while true {
            guard let certificate = PEM_read_bio_X509(bio.pointer, nil, nil, nil) else {
                let last = ERR_peek_last_error()
                let reachedEnd = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE
                if reachedEnd && !certificates.isEmpty {
                    OpenSSLErrorQueue.clear()
                    return certificates
                }
                let context = certificates.isEmpty
                    ? "reading a PEM certificate chain: no certificate found"
                    : "reading certificate \(certificates.count + 1) of a PEM certificate chain"
                throw .openSSL(.invalidInput, context)
            }
            certificates.append(try Certificate(owning: certificate))
        }
    }

    /// The certificate as PEM (`-----BEGIN CERTIFICATE-----`), newline-terminated.
    public var pem: String {
        let body = Data(der).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
        return "-----BEGIN CERTIFICATE-----\n" + body + "\n-----END CERTIFICATE-----\n"
    }

    /// The subject name.
    public var subject: DistinguishedName {
        DistinguishedName(x509Name: X509_get_subject_name(pointer))
    }

    /// The issuer name.
    public var issuer: DistinguishedName {
        DistinguishedName(x509Name: X509_get_issuer_name(pointer))
    }

    /// The serial number's magnitude, big-endian, without leading zero bytes.
    public var serialNumber: [UInt8] {
        let bytes = asn1StringBytes(X509_get0_serialNumber(pointer))
        return Array(bytes.drop { $0 == 0 })
    }

    /// The serial number in upper-case hex (as `openssl x509 -serial` prints it), `-` first if negative.
    public var serialNumberHex: String {
        let serial = X509_get0_serialNumber(pointer)!
        let sign = ASN1_STRING_type(serial) == V_ASN1_NEG_INTEGER ? "-" : ""
        let magnitude = serialNumber
        return sign + (magnitude.isEmpty ? "00" : hexString(magnitude, uppercase: true))
    }

    /// The start of the validity period.
    public var notBefore: Date {
        certificateDate(X509_get0_notBefore(pointer))
    }

    /// The end of the validity period.
    public var notAfter: Date {
        certificateDate(X509_get0_notAfter(pointer))
    }

    /// Whether `date` is within the validity period (inclusive).
    public func isValid(at date: Date) -> Bool {
        notBefore <= date && date <= notAfter
    }

    /// The subject alternative names, in order; empty without the extension.
    public var subjectAltNames: [GeneralName] {
        guard let names = extensionValue(NID_subject_alt_name) else { return [] }
        defer { GENERAL_NAMES_free(OpaquePointer(names)) }
        return generalNames(in: OpaquePointer(names))
    }

    /// The subject key identifier, or `nil` without the extension.
    public var subjectKeyIdentifier: [UInt8]? {
        guard let identifier = X509_get0_subject_key_id(pointer) else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        return asn1StringBytes(identifier)
    }

    /// The key identifier of the authority key identifier extension, or `nil` without one.
    public var authorityKeyIdentifier: [UInt8]? {
        guard let identifier = X509_get0_authority_key_id(pointer) else {
            OpenSSLErrorQueue.clear()
            return nil
        }
        return asn1StringBytes(identifier)
    }

    /// The basic constraints extension, or `nil` without one.
    public var basicConstraints: BasicConstraints? {
        var critical: Int32 = 0
        guard let raw = extensionValue(NID_basic_constraints, critical: &critical) else { return nil }
        let constraints = raw.assumingMemoryBound(to: BASIC_CONSTRAINTS.self)
        defer { BASIC_CONSTRAINTS_free(constraints) }
        var pathLength: Int? = nil
        if let value = constraints.pointee.pathlen {
            pathLength = Int(ASN1_INTEGER_get(value))
        }
        return BasicConstraints(
            isCA: constraints.pointee.ca != 0,
            pathLengthConstraint: pathLength,
            isCritical: critical == 1
        )
    }

    /// Whether basic constraints mark the subject as a CA.
    public var isCA: Bool {
        basicConstraints?.isCA ?? false
    }

    /// The key usage extension, or `nil` without one.
    public var keyUsage: KeyUsage? {
        guard let raw = extensionValue(NID_key_usage) else { return nil }
        let bits = raw.assumingMemoryBound(to: ASN1_BIT_STRING.self)
        defer { ASN1_BIT_STRING_free(bits) }
        var usage: UInt16 = 0
        for bit in 0..<KeyUsage.bitCount where ASN1_BIT_STRING_get_bit(bits, Int32(bit)) == 1 {
            usage |= 1 << bit
        }
        return KeyUsage(rawValue: usage)
    }

    /// The extended key usage purposes, in order; empty without the extension.
    public var extendedKeyUsage: [ExtendedKeyUsage] {
        guard let raw = extensionValue(NID_ext_key_usage) else { return [] }
        let stack = OpaquePointer(raw)
        defer { EXTENDED_KEY_USAGE_free(stack) }
        return (0..<OPENSSL_sk_num(stack)).compactMap { index in
            OPENSSL_sk_value(stack, index).map { ExtendedKeyUsage(oid: objectIdentifierText(OpaquePointer($0))) }
        }
    }

    /// The policy OIDs of the certificate policies extension, in order; empty without the extension.
    public var policies: [String] {
        guard let raw = extensionValue(NID_certificate_policies) else { return [] }
        let stack = OpaquePointer(raw)
        defer { CERTIFICATEPOLICIES_free(stack) }
        return (0..<OPENSSL_sk_num(stack)).compactMap { index in
            guard let info = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: POLICYINFO.self),
                  let policy = info.pointee.policyid
            else { return nil }
            return objectIdentifierText(policy)
        }
    }

    /// The name constraints extension, or `nil` without one.
    public var nameConstraints: NameConstraints? {
        guard let raw = extensionValue(NID_name_constraints) else { return nil }
        let constraints = raw.assumingMemoryBound(to: NAME_CONSTRAINTS.self)
        defer { NAME_CONSTRAINTS_free(constraints) }
        func subtrees(_ stack: OpaquePointer?) -> [GeneralName] {
            guard let stack else { return [] }
            return (0..<OPENSSL_sk_num(stack)).compactMap { index in
                guard let subtree = OPENSSL_sk_value(stack, index)?.assumingMemoryBound(to: GENERAL_SUBTREE.self),
                      let base = subtree.pointee.base
                else { return nil }
                return GeneralName(generalName: base)
            }
        }
        return NameConstraints(
            permittedSubtrees: subtrees(constraints.pointee.permittedSubtrees),
            excludedSubtrees: subtrees(constraints.pointee.excludedSubtrees)
        )
    }

    /// SHA-256 of `der`: the certificate's fingerprint.
    public var fingerprintSHA256: [UInt8] {
        SHA256.hash(der)
    }

    /// Whether the certificate's signature verifies with `issuer` (an issuer certificate's `publicKey`).
    ///
    /// Checks the signature only — not validity dates, names or extensions; use `CertificateVerifier` for a
    /// path.
    public func isSignature(validBy issuer: PublicKey) -> Bool {
        let valid = X509_verify(pointer, issuer.pointer) == 1
        if !valid { OpenSSLErrorQueue.clear() }
        return valid
    }

    public static func == (lhs: Certificate, rhs: Certificate) -> Bool {
        lhs.der == rhs.der
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(der)
    }

    public var description: String {
        "Certificate(subject: \(subject), issuer: \(issuer), serial: \(serialNumberHex))"
    }

    /// A reference to an `X509` whose public key OpenSSL has decoded, for path validation (owned by the
    /// caller: release it with `X509_free`).
    ///
    /// Certificates made by `CertificateBuilder` carry their key only in encoded form (decoding it in
    /// OpenSSL 3.0 costs hundreds of microseconds, which bulk issuance avoids); for those this decodes `der`.
    func verifiableX509() throws(CryptoError) -> OpaquePointer {
        if X509_get0_pubkey(pointer) != nil, X509_up_ref(pointer) == 1 {
            return pointer
        }
        OpenSSLErrorQueue.clear()
        return try decodeDER(der, "a certificate", free: { X509_free($0) }) { d2i_X509(nil, $0, $1) }
    }

    /// The decoded value of the extension `nid` (owned by the caller), or `nil` when absent.
    private func extensionValue(_ nid: Int32, critical: UnsafeMutablePointer<Int32>? = nil) -> UnsafeMutableRawPointer? {
        let value = X509_get_ext_d2i(pointer, nid, critical, nil)
        if value == nil { OpenSSLErrorQueue.clear() }
        return value
    }
}

/// The entries of a `STACK_OF(GENERAL_NAME)` (borrowed).
func generalNames(in stack: OpaquePointer) -> [GeneralName] {
    (0..<OPENSSL_sk_num(stack)).compactMap { index in
        OPENSSL_sk_value(stack, index).map { GeneralName(generalName: $0.assumingMemoryBound(to: GENERAL_NAME.self)) }
    }
}

/// An `ASN1_TIME` as a `Date` (UTCTime and GeneralizedTime are both UTC in certificates).
private func certificateDate(_ time: UnsafePointer<ASN1_TIME>?) -> Date {
    var components = tm()
    guard let time, ASN1_TIME_to_tm(time, &components) == 1 else {
        OpenSSLErrorQueue.clear()
        return Date(timeIntervalSince1970: 0)
    }
    return Date(timeIntervalSince1970: TimeInterval(timegm(&components)))
}
