import COpenSSL
import Foundation

/// One MAC computed with OpenSSL 3's `EVP_MAC` API: the shared body of ``AESCMAC`` and ``HMACSHA256``, which
/// differ only in the algorithm and the one string parameter that selects its cipher or digest.
///
/// Stateless; each call fetches its own MAC context. Errors never contain key material or data.
enum EVPMAC {
    /// The `tagByteCount`-byte MAC of `message` under `key` with MAC `algorithm` ("CMAC", "HMAC"), whose
    /// `parameter` (e.g. `OSSL_MAC_PARAM_CIPHER`) is set to `value`.
    ///
    /// - Throws: `CryptoError.internalFailure`, naming `context`, when OpenSSL lacks the algorithm or refuses
    ///   the key.
    static func tag(
        _ algorithm: String, parameter: String, value: String, key: some ContiguousBytes, message: some ContiguousBytes,
        tagByteCount: Int, context: String
    ) throws(CryptoError) -> [UInt8] {
        guard let mac = EVP_MAC_fetch(nil, algorithm, nil) else { throw .openSSL(.internalFailure, context) }
        defer { EVP_MAC_free(mac) }
        guard let macContext = EVP_MAC_CTX_new(mac) else { throw .openSSL(.internalFailure, context) }
        defer { EVP_MAC_CTX_free(macContext) }

        // OSSL_PARAM entries point at their keys and values without copying them: both buffers stay alive
        // (inside these closures) until EVP_MAC_init returns. An empty key (valid for HMAC) still needs a
        // non-null pointer.
        let parameterKey = Array(parameter.utf8CString)
        var parameterValue = Array(value.utf8CString)
        var keyBytes = key.withUnsafeBytes { [UInt8]($0) }
        let keyLength = keyBytes.count
        if keyBytes.isEmpty { keyBytes = [0] }
        let initialised = parameterKey.withUnsafeBufferPointer { parameterKey in
            parameterValue.withUnsafeMutableBufferPointer { parameterValue in
                keyBytes.withUnsafeBufferPointer { key in
                    var parameters = [
                        OSSL_PARAM_construct_utf8_string(parameterKey.baseAddress, parameterValue.baseAddress, parameterValue.count - 1),
                        OSSL_PARAM_construct_end(),
                    ]
                    return EVP_MAC_init(macContext, key.baseAddress, keyLength, &parameters)
                }
            }
        }
        guard initialised == 1 else { throw .openSSL(.internalFailure, "\(context) with \(value)") }

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
