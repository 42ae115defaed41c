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
        guard let algorithm = EVP_MAC_fetch(nil, "CMAC", nil) else { throw .openSSL(.internalFailure, context) }
        defer { EVP_MAC_free(algorithm) }
        guard let macContext = EVP_MAC_CTX_new(algorithm) else { throw .openSSL(.internalFailure, context) }
        defer { EVP_MAC_CTX_free(macContext) }

        // OSSL_PARAM entries point at their keys and values without copying them: both buffers stay alive
        // (inside these closures) until EVP_MAC_init returns.
        let cipherKey = Array(OSSL_MAC_PARAM_CIPHER.utf8CString)
        var cipherValue = Array(cipherName.utf8CString)
        let initialised = cipherKey.withUnsafeBufferPointer { cipherKey in
            cipherValue.withUnsafeMutableBufferPointer { cipherValue in
                key.withUnsafeBufferPointer { key in
                    var parameters = [
                        OSSL_PARAM_construct_utf8_string(cipherKey.baseAddress, cipherValue.baseAddress, cipherValue.count - 1),
                        OSSL_PARAM_construct_end(),
                    ]
                    return EVP_MAC_init(macContext, key.baseAddress, key.count, &parameters)
                }
            }
        }
        guard initialised == 1 else { throw .openSSL(.internalFailure, "\(context) with \(cipherName)") }

        var tag = [UInt8](repeating: 0, count: tagByteCount)
        var length = 0
        let status = message.withUnsafeBytes { message in
            tag.withUnsafeMutableBufferPointer { tag -> Int32 in
                if message.count > 0 {
                    guard EVP_MAC_update(
                        macContext,
                        message.baseAddress!.assumingMemoryBound(to: UInt8.self),
                        message.count
                    ) == 1 else { return 0 }
                }
                return EVP_MAC_final(macContext, tag.baseAddress, &length, tag.count)
            }
        }
        guard status == 1, length == tagByteCount else { throw .openSSL(.internalFailure, context) }
        return tag
    }
}
