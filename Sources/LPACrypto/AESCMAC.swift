import COpenSSL
import Foundation

/// AES-CMAC (NIST SP 800-38B, RFC 4493) through OpenSSL 3's `EVP_MAC` "CMAC": the MAC of the SGP.22 BPP
/// protection protocol (SCP03t), which uses the full 16-byte tag or its first 8 bytes.
///
/// Stateless and safe to call from any thread; each call fetches its own MAC context. Errors never contain key
/// material or data.
public enum AESCMAC {
    /// Bytes in a full tag.
    public static let tagByteCount = 16

    /// The full 16-byte CMAC of `message` under `key` (16, 24 or 32 bytes: AES-128, -192 or -256).
    ///
    /// - Throws: `CryptoError.invalidInput` for another key length; `internalFailure` when OpenSSL has no CMAC.
    public static func tag(for message: some ContiguousBytes, key: [UInt8]) throws(CryptoError) -> [UInt8] {
        let context = "computing an AES-CMAC"
        let cipherName: String
        switch key.count {
        case 16: cipherName = "AES-128-CBC"
        case 24: cipherName = "AES-192-CBC"
        case 32: cipherName = "AES-256-CBC"
        default:
            throw CryptoError(
                code: .invalidInput,
                context: "\(context): an AES key must be 16, 24 or 32 bytes, got \(key.count)"
            )
        }
        return try EVPMAC.tag("CMAC", parameter: OSSL_MAC_PARAM_CIPHER, value: cipherName, key: key, message: message,
                              tagByteCount: tagByteCount, context: context)
    }
}
