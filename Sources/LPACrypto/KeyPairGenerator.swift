import COpenSSL

/// Generates EC key pairs on one curve, reusing one OpenSSL key generation context.
///
/// OpenSSL 3 prepares the curve on a context's first generation; reusing the context makes each further key
/// about three times cheaper than `PrivateKey.generate(curve:)`. Not thread-safe: use one generator per
/// thread (the keys it returns are themselves safe to share).
public final class KeyPairGenerator {
    /// The curve of the generated keys.
    public let curve: EllipticCurve
    private let context: OpaquePointer

    /// A generator for keys on `curve`.
    public init(curve: EllipticCurve) throws(CryptoError) {
        let what = "preparing \(curve) key generation"
        guard let context = EVP_PKEY_CTX_new_from_name(nil, "EC", nil) else {
            throw .openSSL(.keyGenerationFailed, what)
        }
        guard EVP_PKEY_keygen_init(context) == 1,
              EVP_PKEY_CTX_set_group_name(context, curve.openSSLGroupName) == 1
        else {
            EVP_PKEY_CTX_free(context)
            throw .openSSL(.keyGenerationFailed, what)
        }
        self.curve = curve
        self.context = context
    }

    deinit {
        EVP_PKEY_CTX_free(context)
    }

    /// A fresh key pair from OpenSSL's default random generator.
    public func generate() throws(CryptoError) -> PrivateKey {
        var key: OpaquePointer? = nil
        guard EVP_PKEY_generate(context, &key) == 1, let key else {
            throw .openSSL(.keyGenerationFailed, "generating a \(curve) key pair")
        }
        return try PrivateKey(generated: key, curve: curve)
    }
}
