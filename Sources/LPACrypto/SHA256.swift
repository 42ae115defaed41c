import COpenSSL
import Foundation

/// SHA-256 (FIPS 180-4) through OpenSSL.
public enum SHA256 {
    /// Length of a digest in bytes.
    public static let byteCount = 32

    /// The SHA-256 digest of `data` (32 bytes).
    ///
    /// Never fails for in-memory input; a failure inside OpenSSL (a broken installation) stops the process
    /// rather than returning a wrong digest.
    public static func hash(_ data: some ContiguousBytes) -> [UInt8] {
        var digest = [UInt8](repeating: 0, count: byteCount)
        var length: UInt32 = 0
        let status = data.withUnsafeBytes { input in
            digest.withUnsafeMutableBufferPointer { output in
                EVP_Digest(input.baseAddress, input.count, output.baseAddress, &length, EVP_sha256(), nil)
            }
        }
        precondition(status == 1 && length == UInt32(byteCount), "OpenSSL SHA-256 failed: \(OpenSSLErrorQueue.drain())")
        return digest
    }
}
