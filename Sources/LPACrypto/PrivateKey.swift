import COpenSSL

/// An EC private key on one of the `EllipticCurve`s, owned by Swift (an OpenSSL `EVP_PKEY`).
///
/// Immutable after initialisation and safe to share between threads: signing and key agreement each create
/// their own OpenSSL operation context and only read the key. The key never appears in `description`, logs or
/// errors; it leaves the process only through `pemPKCS8`.
public final class PrivateKey: @unchecked Sendable, CustomStringConvertible {
    /// The owned `EVP_PKEY *`; freed in `deinit`.
    let pointer: OpaquePointer

    /// The key's curve.
    public let curve: EllipticCurve

    /// The matching public key. It shares this key's OpenSSL object, but only public operations (verifying,
    /// encoding the public key, being a key agreement peer) are reachable through it.
    public let publicKey: PublicKey

    /// Takes ownership of `pointer` (freed even when this throws).
    private init(owning pointer: OpaquePointer, context: @autoclosure () -> String) throws(CryptoError) {
        guard let curve = ellipticCurve(of: pointer) else {
            EVP_PKEY_free(pointer)
            throw CryptoError(
                code: .unsupportedAlgorithm,
                context: "\(context()): only EC keys on "
                    + EllipticCurve.allCases.map(\.rawValue).joined(separator: " or ") + " are supported"
            )
        }
        guard EVP_PKEY_up_ref(pointer) == 1 else {
            EVP_PKEY_free(pointer)
            throw .openSSL(.internalFailure, context())
        }
        do throws(CryptoError) {
            publicKey = try PublicKey(owning: pointer)
        } catch {
            EVP_PKEY_free(pointer)
            throw error
        }
        self.pointer = pointer
        self.curve = curve
    }

    /// Wraps a freshly generated key on `curve` (ownership of `pointer` is taken).
    convenience init(generated pointer: OpaquePointer, curve: EllipticCurve) throws(CryptoError) {
        try self.init(owning: pointer, context: "generating a \(curve) key pair")
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Generates a fresh key pair on `curve` from OpenSSL's default random generator.
    ///
    /// To make many keys, a `KeyPairGenerator` per thread is several times faster.
    public static func generate(curve: EllipticCurve) throws(CryptoError) -> PrivateKey {
        try KeyPairGenerator(curve: curve).generate()
    }

    /// Reads the first private key in PEM text: PKCS#8 (`BEGIN PRIVATE KEY`) or SEC1 (`BEGIN EC PRIVATE KEY`).
    ///
    /// Encrypted keys are rejected (no passphrase prompt is ever shown).
    /// - Throws: `CryptoError.invalidInput` for text without a readable key, `unsupportedAlgorithm` for a key
    ///   that is not EC on a supported curve.
    public convenience init(pem: String) throws(CryptoError) {
        let context = "reading a PEM private key"
        let bio = try MemoryBIO(copying: pem.utf8, context: context)
        OpenSSLErrorQueue.clear()
        guard let key = PEM_read_bio_PrivateKey(bio.pointer, nil, { _, _, _, _ in -1 }, nil) else {
            throw .openSSL(.invalidInput, context)
        }
        try self.init(owning: key, context: context)
    }

    /// Reads a DER PKCS#8 PrivateKeyInfo (RFC 5208), unencrypted.
    public convenience init(derPKCS8: [UInt8]) throws(CryptoError) {
        let context = "reading a DER PKCS#8 private key"
        let info = try decodeDER(derPKCS8, "a PKCS#8 PrivateKeyInfo", free: { PKCS8_PRIV_KEY_INFO_free($0) }) {
            d2i_PKCS8_PRIV_KEY_INFO(nil, $0, $1)
        }
        defer { PKCS8_PRIV_KEY_INFO_free(info) }
        guard let key = EVP_PKCS82PKEY(info) else {
            throw .openSSL(.invalidInput, context)
        }
        try self.init(owning: key, context: context)
    }

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), newline-terminated; the same bytes
    /// OpenSSL's `PEM_write_PKCS8PrivateKey` writes.
    public var pemPKCS8: String {
        get throws(CryptoError) {
            let info = try makePrivateKeyInfo()
            defer { PKCS8_PRIV_KEY_INFO_free(info) }
            let bio = try MemoryBIO(context: "writing a private key as PEM")
            guard PEM_write_bio_PKCS8_PRIV_KEY_INFO(bio.pointer, info) == 1 else {
                throw .openSSL(.encodingFailed, "writing a \(curve) private key as PKCS#8 PEM")
            }
            return bio.string()
        }
    }

    /// The key as an unencrypted DER PKCS#8 PrivateKeyInfo (RFC 5208) holding an RFC 5915 ECPrivateKey with
    /// the public key and without repeated curve parameters, as OpenSSL writes it.
    public var derPKCS8: [UInt8] {
        get throws(CryptoError) {
            let info = try makePrivateKeyInfo()
            defer { PKCS8_PRIV_KEY_INFO_free(info) }
            return try encodeDER("a PKCS#8 PrivateKeyInfo") { i2d_PKCS8_PRIV_KEY_INFO(info, $0) }
        }
    }

    /// A new PKCS#8 structure (owned by the caller) for this key.
    ///
    /// OpenSSL 3.0's generic key encoder costs about 150 µs per key; this assembles the same structure from
    /// the key's parameters in a few microseconds. The fixed-size ECPrivateKey is laid out here; the PKCS#8
    /// wrapper is encoded by OpenSSL.
    private func makePrivateKeyInfo() throws(CryptoError) -> OpaquePointer {
        func failure() -> CryptoError { .openSSL(.encodingFailed, "encoding a \(curve) private key as PKCS#8") }
        var scalarNumber: OpaquePointer? = nil
        guard EVP_PKEY_get_bn_param(pointer, OSSL_PKEY_PARAM_PRIV_KEY, &scalarNumber) == 1, let scalarNumber else {
            throw failure()
        }
        defer { BN_clear_free(scalarNumber) }
        var scalar = [UInt8](repeating: 0, count: curve.coordinateByteCount)
        guard scalar.withUnsafeMutableBufferPointer({ BN_bn2binpad(scalarNumber, $0.baseAddress, Int32($0.count)) }) == scalar.count else {
            throw failure()
        }
        var encoded = ecPrivateKeyDER(scalar: scalar, point: try publicKey.uncompressedPoint)
        scalar.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        defer { encoded.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
        guard let info = PKCS8_PRIV_KEY_INFO_new() else { throw failure() }
        guard let bytes = lpac_OPENSSL_malloc(encoded.count)?.assumingMemoryBound(to: UInt8.self) else {
            PKCS8_PRIV_KEY_INFO_free(info)
            throw failure()
        }
        encoded.withUnsafeBufferPointer { bytes.update(from: $0.baseAddress!, count: $0.count) }
        let algorithm = OBJ_nid2obj(NID_X9_62_id_ecPublicKey)
        let parameters = OBJ_nid2obj(curve.nid)
        guard PKCS8_pkey_set0(info, algorithm, 0, V_ASN1_OBJECT, UnsafeMutableRawPointer(parameters), bytes, Int32(encoded.count)) == 1 else {
            lpac_OPENSSL_clear_free(bytes, encoded.count)
            PKCS8_PRIV_KEY_INFO_free(info)
            throw failure()
        }
        return info
    }

    /// The ECDH shared secret with `peer` (the x-coordinate of `d·Q`, `curve.coordinateByteCount` bytes), as
    /// used by the ECKA-DH key agreement of SGP.22 (BSI TR-03111).
    ///
    /// - Throws: `CryptoError.mismatchedInput` when `peer` is on another curve or not an EC key;
    ///   `keyAgreementFailed` when OpenSSL rejects the peer key.
    public func sharedSecret(with peer: PublicKey) throws(CryptoError) -> [UInt8] {
        func context() -> String { "deriving an ECDH shared secret on \(curve)" }
        guard peer.curve == curve else {
            throw CryptoError(
                code: .mismatchedInput,
                context: "\(context()): the peer key is on \(peer.curve?.rawValue ?? "no supported curve")"
            )
        }
        guard let deriveContext = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            throw .openSSL(.internalFailure, context())
        }
        defer { EVP_PKEY_CTX_free(deriveContext) }
        var length = 0
        guard EVP_PKEY_derive_init(deriveContext) == 1,
              EVP_PKEY_derive_set_peer(deriveContext, peer.pointer) == 1,
              EVP_PKEY_derive(deriveContext, nil, &length) == 1, length > 0
        else {
            throw .openSSL(.keyAgreementFailed, context())
        }
        var secret = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_derive(deriveContext, &secret, &length) == 1 else {
            throw .openSSL(.keyAgreementFailed, context())
        }
        secret.removeSubrange(length...)
        return secret
    }

    public var description: String {
        "PrivateKey(\(curve))"
    }
}

/// The RFC 5915 `ECPrivateKey ::= SEQUENCE { version 1, privateKey OCTET STRING, [1] publicKey BIT STRING }`
/// for a 256-bit curve. Every length is below 128, so each fits a one-byte DER length.
private func ecPrivateKeyDER(scalar: [UInt8], point: [UInt8]) -> [UInt8] {
    let publicKeyBits: [UInt8] = [0x03, UInt8(point.count + 1), 0x00] + point
    var content: [UInt8] = [0x02, 0x01, 0x01, 0x04, UInt8(scalar.count)] + scalar
    content += [0xA1, UInt8(publicKeyBits.count)] + publicKeyBits
    precondition(content.count < 128, "ECPrivateKey layout is for 256-bit curves")
    return [0x30, UInt8(content.count)] + content
}
