import COpenSSL
import Foundation

/// HMAC-SHA256 (RFC 2104, FIPS 198-1) through OpenSSL 3's `EVP_MAC` "HMAC": the signature of the core's
/// webhook deliveries.
///
/// Stateless and safe to call from any thread; each call fetches its own MAC context. Errors never contain key
/// material or data.
public enum HMACSHA256 {
    /// Bytes in a tag.
    public static let tagByteCount = 32

    /// The 32-byte HMAC-SHA256 of `message` under `key` (any length; keys longer than the block are hashed first,
    /// as RFC 2104 says).
    ///
    /// - Throws: `CryptoError.internalFailure` when OpenSSL has no HMAC.
    public static func tag(for message: some ContiguousBytes, key: some ContiguousBytes) throws(CryptoError) -> [UInt8] {
        let context = "computing an HMAC-SHA256"
        guard let algorithm = EVP_MAC_fetch(nil, "HMAC", nil) else { throw .openSSL(.internalFailure, context) }
        defer { EVP_MAC_free(algorithm) }
        guard let macContext = EVP_MAC_CTX_new(algorithm) else { throw .openSSL(.internalFailure, context) }
        defer { EVP_MAC_CTX_free(macContext) }

        // OSSL_PARAM entries point at their keys and values without copying them: both buffers stay alive
        // (inside these closures) until EVP_MAC_init returns.
        let digestKey = Array(OSSL_MAC_PARAM_DIGEST.utf8CString)
        var digestValue = Array("SHA256".utf8CString)
        // A zero-length key is valid for HMAC; OpenSSL wants a non-null pointer for it.
        var keyBytes = key.withUnsafeBytes { [UInt8]($0) }
        let keyLength = keyBytes.count
        if keyBytes.isEmpty { keyBytes = [0] }
        let initialised = digestKey.withUnsafeBufferPointer { digestKey in
            digestValue.withUnsafeMutableBufferPointer { digestValue in
                keyBytes.withUnsafeBufferPointer { key in
                    var parameters = [
                        OSSL_PARAM_construct_utf8_string(digestKey.baseAddress, digestValue.baseAddress, digestValue.count - 1),
                        OSSL_PARAM_construct_end(),
                    ]
                    return EVP_MAC_init(macContext, key.baseAddress, keyLength, &parameters)
                }
            }
        }
        guard initialised == 1 else { throw .openSSL(.internalFailure, context) }

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

    /// Compares two tags in time that depends only on their lengths, so a verifier leaks nothing about where a
    /// forged tag first differs.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
