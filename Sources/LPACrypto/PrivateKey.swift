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

    /// The matching public key (holding no private material).
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
        let spki: [UInt8]
        do throws(CryptoError) {
            spki = try encodeDER("the public half of a private key") { i2d_PUBKEY(pointer, $0) }
        } catch {
            EVP_PKEY_free(pointer)
            throw error
        }
        self.pointer = pointer
        self.curve = curve
        self.publicKey = try PublicKey(spkiDER: spki)
    }

    deinit {
        EVP_PKEY_free(pointer)
    }

    /// Generates a fresh key pair on `curve` from OpenSSL's default random generator.
    public static func generate(curve: EllipticCurve) throws(CryptoError) -> PrivateKey {
        let context = "generating a \(curve) key pair"
        guard let keyContext = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .openSSL(.keyGenerationFailed, context)
        }
        defer { EVP_PKEY_CTX_free(keyContext) }
        var key: OpaquePointer? = nil
        guard EVP_PKEY_keygen_init(keyContext) == 1,
              EVP_PKEY_CTX_set_group_name(keyContext, curve.openSSLGroupName) == 1,
              EVP_PKEY_generate(keyContext, &key) == 1,
              let key
        else {
            throw .openSSL(.keyGenerationFailed, context)
        }
        return try PrivateKey(owning: key, context: context)
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

    /// The key as unencrypted PKCS#8 PEM (`-----BEGIN PRIVATE KEY-----`), newline-terminated.
    public var pemPKCS8: String {
        get throws(CryptoError) {
            let bio = try MemoryBIO(context: "writing a private key as PEM")
            guard PEM_write_bio_PKCS8PrivateKey(bio.pointer, pointer, nil, nil, 0, nil, nil) == 1 else {
                throw .openSSL(.encodingFailed, "writing a \(curve) private key as PKCS#8 PEM")
            }
            return bio.string()
        }
    }

    /// The key as an unencrypted DER PKCS#8 PrivateKeyInfo.
    public var derPKCS8: [UInt8] {
        get throws(CryptoError) {
            guard let info = EVP_PKEY2PKCS8(pointer) else {
                throw .openSSL(.encodingFailed, "writing a \(curve) private key as PKCS#8 DER")
            }
            defer { PKCS8_PRIV_KEY_INFO_free(info) }
            return try encodeDER("a PKCS#8 PrivateKeyInfo") { i2d_PKCS8_PRIV_KEY_INFO(info, $0) }
        }
    }

    /// The ECDH shared secret with `peer` (the x-coordinate of `d·Q`, `curve.coordinateByteCount` bytes), as
    /// used by the ECKA-DH key agreement of SGP.22 (BSI TR-03111).
    ///
    /// - Throws: `CryptoError.mismatchedInput` when `peer` is on another curve or not an EC key;
    ///   `keyAgreementFailed` when OpenSSL rejects the peer key.
    public func sharedSecret(with peer: PublicKey) throws(CryptoError) -> [UInt8] {
        let context = "deriving an ECDH shared secret on \(curve)"
        guard peer.curve == curve else {
            throw CryptoError(
                code: .mismatchedInput,
                context: "\(context): the peer key is on \(peer.curve?.rawValue ?? "no supported curve")"
            )
        }
        guard let deriveContext = EVP_PKEY_CTX_new_from_pkey(nil, pointer, nil) else {
            throw .openSSL(.internalFailure, context)
        }
        defer { EVP_PKEY_CTX_free(deriveContext) }
        var length = 0
        guard EVP_PKEY_derive_init(deriveContext) == 1,
              EVP_PKEY_derive_set_peer(deriveContext, peer.pointer) == 1,
              EVP_PKEY_derive(deriveContext, nil, &length) == 1, length > 0
        else {
            throw .openSSL(.keyAgreementFailed, context)
        }
        var secret = [UInt8](repeating: 0, count: length)
        guard EVP_PKEY_derive(deriveContext, &secret, &length) == 1 else {
            throw .openSSL(.keyAgreementFailed, context)
        }
        secret.removeSubrange(length...)
        return secret
    }

    public var description: String {
        "PrivateKey(\(curve))"
    }
}
