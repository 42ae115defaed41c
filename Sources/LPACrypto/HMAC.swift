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

    /// The 32-byte HMAC-SHA256 of `message` under `key` (any length, empty included; keys longer than the
    /// block are hashed first, as RFC 2104 says).
    ///
    /// - Throws: `CryptoError.internalFailure` when OpenSSL has no HMAC.
    public static func tag(for message: some ContiguousBytes, key: some ContiguousBytes) throws(CryptoError) -> [UInt8] {
        try EVPMAC.tag("HMAC", parameter: OSSL_MAC_PARAM_DIGEST, value: "SHA256", key: key, message: message,
                       tagByteCount: tagByteCount, context: "computing an HMAC-SHA256")
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
