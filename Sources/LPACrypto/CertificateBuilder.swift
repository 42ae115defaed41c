import COpenSSL
import Foundation

/// Describes an X.509 v3 certificate and signs it with ECDSA-with-SHA256.
///
/// Set the fields, then call `build(issuer:)`; the builder is a plain value and can be reused as a template
/// (for example one per device with only subject, key and serial changed). Extensions are written in this
/// order, each only when set: basic constraints, key usage, extended key usage, subject alternative names,
/// subject key identifier, authority key identifier, certificate policies, name constraints. The result is
/// canonical DER (OpenSSL's encoder).
public struct CertificateBuilder: Sendable {
    /// Who signs the certificate.
    public enum Issuer: Sendable {
        /// The subject signs its own certificate with this key, whose public half must be `subjectPublicKey`.
        case selfSigned(PrivateKey)
        /// The certificate authority `certificate` signs with `key`, which must match its public key.
        case certificate(Certificate, key: PrivateKey)
    }

    /// The subject name.
    public var subject: DistinguishedName
    /// The public key being certified.
    public var subjectPublicKey: PublicKey
    /// The serial number (big-endian magnitude, 1 to 20 bytes, not zero); `nil` draws a random positive 16-byte
    /// number for each `build`.
    public var serialNumber: [UInt8]?
    /// Start of validity; any date, including past ones. Truncated to whole seconds.
    public var notBefore: Date
    /// End of validity; may be in the past (for expired-certificate tests). Truncated to whole seconds.
    public var notAfter: Date
    /// Basic constraints; `nil` leaves the extension out.
    public var basicConstraints: BasicConstraints?
    /// Key usage, written critical; `nil` leaves the extension out.
    public var keyUsage: KeyUsage?
    /// Extended key usage purposes, written non-critical; empty leaves the extension out.
    public var extendedKeyUsage: [ExtendedKeyUsage] = []
    /// Subject alternative names; empty leaves the extension out. Critical when the subject is empty
    /// (RFC 5280 §4.2.1.6).
    public var subjectAltNames: [GeneralName] = []
    /// Whether to write a subject key identifier.
    public var includesSubjectKeyIdentifier = true
    /// The subject key identifier to write; `nil` uses SHA-1 of the subject public key bits (RFC 5280
    /// §4.2.1.2, method 1).
    public var subjectKeyIdentifier: [UInt8]?
    /// Whether to write an authority key identifier: the issuer's subject key identifier (or, when it has none,
    /// SHA-1 of its public key bits).
    public var includesAuthorityKeyIdentifier = true
    /// Policy OIDs (dotted) for the certificate policies extension, without qualifiers; empty leaves it out.
    public var certificatePolicies: [String] = []
    /// Whether the certificate policies extension is critical (GSMA SGP.22 certificates mark it so).
    public var certificatePoliciesAreCritical = false
    /// Name constraints, written critical; `nil` leaves the extension out.
    public var nameConstraints: NameConstraints?

    /// A builder for `subject` and `subjectPublicKey`, valid from `notBefore` (default: an hour ago, to absorb
    /// clock skew) to `notAfter` (default: a year from now), with no extensions except the key identifiers.
    public init(
        subject: DistinguishedName,
        subjectPublicKey: PublicKey,
        notBefore: Date = Date(timeIntervalSinceNow: -3600),
        notAfter: Date = Date(timeIntervalSinceNow: 365 * 86400)
    ) {
        self.subject = subject
        self.subjectPublicKey = subjectPublicKey
        self.notBefore = notBefore
        self.notAfter = notAfter
    }

    /// A random positive serial number of 16 bytes with a non-zero first byte.
    public static func randomSerialNumber() throws(CryptoError) -> [UInt8] {
        var serial = try SecureRandom.bytes(count: 16)
        serial[0] &= 0x7F
        if serial[0] == 0 { serial[0] = 0x01 }
        return serial
    }

    /// Signs the certificate described by the builder.
    ///
    /// - Throws: `CryptoError.mismatchedInput` when the issuer key does not match the issuer certificate (or, for
    ///   `.selfSigned`, `subjectPublicKey`); `invalidInput` for an unusable field (bad serial, name attribute,
    ///   OID, IP address); `certificateBuildFailed` when OpenSSL cannot assemble or sign it.
    public func build(issuer: Issuer) throws(CryptoError) -> Certificate {
        let signingKey: PrivateKey
        switch issuer {
        case .selfSigned(let key):
            guard key.publicKey == subjectPublicKey else {
                throw CryptoError(
                    code: .mismatchedInput,
                    context: "building self-signed certificate \(subject): the signing key is not the subject key"
                )
            }
            signingKey = key
        case .certificate(let certificate, let key):
            guard key.publicKey == certificate.publicKey else {
                throw CryptoError(
                    code: .mismatchedInput,
                    context: "building certificate \(subject): the issuer key does not match issuer \(certificate.subject)"
                )
            }
            signingKey = key
        }
        guard let x509 = X509_new() else {
            throw .openSSL(.internalFailure, "allocating certificate \(subject)")
        }
        do throws(CryptoError) {
            try fill(x509, issuer: issuer)
            guard X509_sign(x509, signingKey.pointer, EVP_sha256()) > 0 else {
                throw .openSSL(.certificateBuildFailed, "signing certificate \(subject) with a \(signingKey.curve) key")
            }
        } catch {
            X509_free(x509)
            throw error
        }
        return try Certificate(owning: x509, publicKey: subjectPublicKey)
    }

    private func fill(_ x509: OpaquePointer, issuer: Issuer) throws(CryptoError) {
        guard X509_set_version(x509, Int(X509_VERSION_3)) == 1 else {
            throw .openSSL(.certificateBuildFailed, what)
        }
        try setSerialNumber(x509)

        let subjectName = try subject.makeX509Name()
        defer { X509_NAME_free(subjectName) }
        guard X509_set_subject_name(x509, subjectName) == 1 else {
            throw .openSSL(.certificateBuildFailed, "\(what): setting the subject")
        }
        let issuerNameSet: Bool
        switch issuer {
        case .selfSigned: issuerNameSet = X509_set_issuer_name(x509, subjectName) == 1
        case .certificate(let certificate, _):
            issuerNameSet = X509_set_issuer_name(x509, X509_get_subject_name(certificate.pointer)) == 1
        }
        guard issuerNameSet else { throw .openSSL(.certificateBuildFailed, "\(what): setting the issuer") }

        guard ASN1_TIME_set(X509_getm_notBefore(x509), time_t(notBefore.timeIntervalSince1970.rounded(.down))) != nil,
              ASN1_TIME_set(X509_getm_notAfter(x509), time_t(notAfter.timeIntervalSince1970.rounded(.down))) != nil
        else {
            throw .openSSL(.invalidInput, "\(what): validity \(notBefore) to \(notAfter) cannot be encoded")
        }
        // EC keys go in as curve OID and point: X509_set_pubkey would run OpenSSL 3.0's slow key encoder.
        let publicKeySet: Bool
        if let curve = subjectPublicKey.curve, let info = X509_get_X509_PUBKEY(x509) {
            publicKeySet = try setPublicKey(point: subjectPublicKey.uncompressedPoint, curve: curve, in: info)
        } else {
            publicKeySet = X509_set_pubkey(x509, subjectPublicKey.pointer) == 1
        }
        guard publicKeySet else {
            throw .openSSL(.certificateBuildFailed, "\(what): setting the public key")
        }
        try addExtensions(x509, issuer: issuer)
    }

    private func setSerialNumber(_ x509: OpaquePointer) throws(CryptoError) {
        let requested: [UInt8]
        if let serialNumber {
            requested = serialNumber
        } else {
            requested = try CertificateBuilder.randomSerialNumber()
        }
        let serial = Array(requested.drop { $0 == 0 })
        guard !serial.isEmpty, serial.count <= 20 else {
            throw CryptoError(
                code: .invalidInput,
                context: "building certificate \(subject): a serial number must be 1 to 20 bytes and not zero"
            )
        }
        let set = serial.withUnsafeBufferPointer {
            ASN1_STRING_set(X509_get_serialNumber(x509), $0.baseAddress, Int32($0.count))
        }
        guard set == 1 else { throw .openSSL(.internalFailure, "building certificate \(subject): setting the serial") }
    }

    private func addExtensions(_ x509: OpaquePointer, issuer: Issuer) throws(CryptoError) {
        if let basicConstraints {
            try addBasicConstraints(basicConstraints, to: x509)
        }
        if let keyUsage {
            try addKeyUsage(keyUsage, to: x509)
        }
        if !extendedKeyUsage.isEmpty {
            try addExtendedKeyUsage(to: x509)
        }
        if !subjectAltNames.isEmpty {
            try addGeneralNames(subjectAltNames, nid: NID_subject_alt_name, critical: subject.attributes.isEmpty, to: x509)
        }
        var ownKeyIdentifier: [UInt8]? = nil
        if includesSubjectKeyIdentifier {
            let identifier = try keyIdentifier(subjectKeyIdentifier, orDigestOf: x509)
            try addOctetString(identifier, nid: NID_subject_key_identifier, to: x509)
            ownKeyIdentifier = identifier
        }
        if includesAuthorityKeyIdentifier {
            let identifier: [UInt8]
            switch issuer {
            case .selfSigned: identifier = try keyIdentifier(ownKeyIdentifier, orDigestOf: x509)
            case .certificate(let certificate, _):
                identifier = try keyIdentifier(certificate.subjectKeyIdentifier, orDigestOf: certificate.pointer)
            }
            try addAuthorityKeyIdentifier(identifier, to: x509)
        }
        if !certificatePolicies.isEmpty {
            try addPolicies(to: x509)
        }
        if let nameConstraints {
            try addNameConstraints(nameConstraints, to: x509)
        }
    }

    /// "building certificate <subject>", for error contexts (made only when an error is).
    private var what: String { "building certificate \(subject)" }

    private func add(
        _ value: UnsafeMutableRawPointer, nid: Int32, critical: Bool, to x509: OpaquePointer, _ name: @autoclosure () -> String
    ) throws(CryptoError) {
        guard X509_add1_ext_i2d(x509, nid, value, critical ? 1 : 0, UInt(X509V3_ADD_DEFAULT)) == 1 else {
            throw .openSSL(.certificateBuildFailed, "\(what): adding \(name())")
        }
    }

    private func addBasicConstraints(_ constraints: BasicConstraints, to x509: OpaquePointer) throws(CryptoError) {
        guard let value = BASIC_CONSTRAINTS_new() else { throw .openSSL(.internalFailure, "allocating basic constraints") }
        defer { BASIC_CONSTRAINTS_free(value) }
        value.pointee.ca = constraints.isCA ? 0xFF : 0
        if let pathLength = constraints.pathLengthConstraint {
            guard pathLength >= 0 else {
                throw CryptoError(code: .invalidInput, context: "building certificate \(subject): negative path length \(pathLength)")
            }
            guard let integer = ASN1_INTEGER_new() else { throw .openSSL(.internalFailure, "allocating a path length") }
            value.pointee.pathlen = integer
            guard ASN1_INTEGER_set(integer, pathLength) == 1 else { throw .openSSL(.internalFailure, "setting a path length") }
        }
        try add(UnsafeMutableRawPointer(value), nid: NID_basic_constraints, critical: constraints.isCritical, to: x509, "basic constraints")
    }

    private func addKeyUsage(_ usage: KeyUsage, to x509: OpaquePointer) throws(CryptoError) {
        guard let bits = ASN1_BIT_STRING_new() else { throw .openSSL(.internalFailure, "allocating key usage") }
        defer { ASN1_BIT_STRING_free(bits) }
        for bit in 0..<KeyUsage.bitCount where usage.rawValue & (1 << bit) != 0 {
            guard ASN1_BIT_STRING_set_bit(bits, Int32(bit), 1) == 1 else { throw .openSSL(.internalFailure, "setting key usage") }
        }
        try add(UnsafeMutableRawPointer(bits), nid: NID_key_usage, critical: true, to: x509, "key usage \(usage)")
    }

    private func addExtendedKeyUsage(to x509: OpaquePointer) throws(CryptoError) {
        guard let stack = EXTENDED_KEY_USAGE_new() else { throw .openSSL(.internalFailure, "allocating extended key usage") }
        defer { EXTENDED_KEY_USAGE_free(stack) }
        for purpose in extendedKeyUsage {
            let object = try makeObject(purpose.oid, "extended key usage")
            guard OPENSSL_sk_push(stack, UnsafeRawPointer(object)) > 0 else {
                ASN1_OBJECT_free(object)
                throw .openSSL(.internalFailure, "adding extended key usage \(purpose)")
            }
        }
        try add(UnsafeMutableRawPointer(stack), nid: NID_ext_key_usage, critical: false, to: x509, "extended key usage")
    }

    private func addGeneralNames(_ names: [GeneralName], nid: Int32, critical: Bool, to x509: OpaquePointer) throws(CryptoError) {
        guard let stack = GENERAL_NAMES_new() else { throw .openSSL(.internalFailure, "allocating alternative names") }
        defer { GENERAL_NAMES_free(stack) }
        for name in names {
            let generalName = try name.makeGeneralName()
            guard OPENSSL_sk_push(stack, generalName) > 0 else {
                GENERAL_NAME_free(generalName)
                throw .openSSL(.internalFailure, "adding alternative name \(name)")
            }
        }
        try add(UnsafeMutableRawPointer(stack), nid: nid, critical: critical, to: x509, "subject alternative names")
    }

    private func addOctetString(_ bytes: [UInt8], nid: Int32, to x509: OpaquePointer) throws(CryptoError) {
        guard let string = ASN1_OCTET_STRING_new() else { throw .openSSL(.internalFailure, "allocating a key identifier") }
        defer { ASN1_OCTET_STRING_free(string) }
        guard bytes.withUnsafeBufferPointer({ ASN1_OCTET_STRING_set(string, $0.baseAddress, Int32($0.count)) }) == 1 else {
            throw .openSSL(.internalFailure, "setting a key identifier")
        }
        try add(UnsafeMutableRawPointer(string), nid: nid, critical: false, to: x509, "subject key identifier")
    }

    private func addAuthorityKeyIdentifier(_ identifier: [UInt8], to x509: OpaquePointer) throws(CryptoError) {
        guard let value = AUTHORITY_KEYID_new() else {
            throw .openSSL(.internalFailure, "allocating an authority key identifier")
        }
        defer { AUTHORITY_KEYID_free(value) }
        guard let keyID = ASN1_OCTET_STRING_new() else {
            throw .openSSL(.internalFailure, "allocating an authority key identifier")
        }
        value.pointee.keyid = keyID
        guard identifier.withUnsafeBufferPointer({ ASN1_OCTET_STRING_set(keyID, $0.baseAddress, Int32($0.count)) }) == 1 else {
            throw .openSSL(.internalFailure, "setting an authority key identifier")
        }
        try add(UnsafeMutableRawPointer(value), nid: NID_authority_key_identifier, critical: false, to: x509, "authority key identifier")
    }

    private func addPolicies(to x509: OpaquePointer) throws(CryptoError) {
        guard let stack = CERTIFICATEPOLICIES_new() else { throw .openSSL(.internalFailure, "allocating certificate policies") }
        defer { CERTIFICATEPOLICIES_free(stack) }
        for oid in certificatePolicies {
            let object = try makeObject(oid, "certificate policy")
            guard let info = POLICYINFO_new() else {
                ASN1_OBJECT_free(object)
                throw .openSSL(.internalFailure, "allocating a certificate policy")
            }
            info.pointee.policyid = object
            guard OPENSSL_sk_push(stack, info) > 0 else {
                POLICYINFO_free(info)
                throw .openSSL(.internalFailure, "adding certificate policy \(oid)")
            }
        }
        try add(UnsafeMutableRawPointer(stack), nid: NID_certificate_policies, critical: certificatePoliciesAreCritical, to: x509, "certificate policies")
    }

    private func addNameConstraints(_ constraints: NameConstraints, to x509: OpaquePointer) throws(CryptoError) {
        guard let value = NAME_CONSTRAINTS_new() else { throw .openSSL(.internalFailure, "allocating name constraints") }
        defer { NAME_CONSTRAINTS_free(value) }
        func subtrees(_ names: [GeneralName]) throws(CryptoError) -> OpaquePointer? {
            guard !names.isEmpty else { return nil }
            guard let stack = OPENSSL_sk_new_null() else { throw .openSSL(.internalFailure, "allocating name subtrees") }
            for name in names {
                guard let subtree = GENERAL_SUBTREE_new() else {
                    OPENSSL_sk_pop_free(stack, freeGeneralSubtree)
                    throw .openSSL(.internalFailure, "allocating a name subtree")
                }
                GENERAL_NAME_free(subtree.pointee.base)
                subtree.pointee.base = nil
                do throws(CryptoError) {
                    subtree.pointee.base = try name.makeGeneralName()
                } catch {
                    GENERAL_SUBTREE_free(subtree)
                    OPENSSL_sk_pop_free(stack, freeGeneralSubtree)
                    throw error
                }
                guard OPENSSL_sk_push(stack, subtree) > 0 else {
                    GENERAL_SUBTREE_free(subtree)
                    OPENSSL_sk_pop_free(stack, freeGeneralSubtree)
                    throw .openSSL(.internalFailure, "adding name subtree \(name)")
                }
            }
            return stack
        }
        value.pointee.permittedSubtrees = try subtrees(constraints.permittedSubtrees)
        value.pointee.excludedSubtrees = try subtrees(constraints.excludedSubtrees)
        try add(UnsafeMutableRawPointer(value), nid: NID_name_constraints, critical: true, to: x509, "name constraints")
    }

    private func makeObject(_ oid: String, _ what: String) throws(CryptoError) -> OpaquePointer {
        guard let object = OBJ_txt2obj(oid, 1) else {
            throw .openSSL(.invalidInput, "building certificate \(subject): \(what) \"\(oid)\" is not a dotted OID")
        }
        return object
    }

    /// `identifier` when set, else the digest of the public key of `x509`.
    private func keyIdentifier(_ identifier: [UInt8]?, orDigestOf x509: OpaquePointer) throws(CryptoError) -> [UInt8] {
        if let identifier { return identifier }
        return try publicKeyDigest(x509)
    }

    /// SHA-1 of the subject public key bits of `x509` (RFC 5280 §4.2.1.2 method 1).
    private func publicKeyDigest(_ x509: OpaquePointer) throws(CryptoError) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        guard X509_pubkey_digest(x509, EVP_sha1(), &digest, &length) == 1 else {
            throw .openSSL(.internalFailure, "computing a key identifier")
        }
        return Array(digest.prefix(Int(length)))
    }
}

/// `GENERAL_SUBTREE_free` with the signature `OPENSSL_sk_pop_free` expects.
private func freeGeneralSubtree(_ pointer: UnsafeMutableRawPointer?) {
    GENERAL_SUBTREE_free(pointer?.assumingMemoryBound(to: GENERAL_SUBTREE.self))
}
