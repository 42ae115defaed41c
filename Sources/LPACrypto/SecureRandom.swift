import COpenSSL

/// Cryptographically secure random bytes from OpenSSL's default generator (seeded by the operating system).
public enum SecureRandom {
    /// `count` random bytes.
    ///
    /// - Throws: `CryptoError.invalidInput` for a negative count, `randomFailed` when the generator cannot
    ///   be seeded.
    public static func bytes(count: Int) throws(CryptoError) -> [UInt8] {
        guard count >= 0, count <= Int(Int32.max) else {
            throw CryptoError(code: .invalidInput, context: "drawing \(count) random bytes: count out of range")
        }
        var output = [UInt8](repeating: 0, count: count)
        guard count > 0 else { return output }
        let status = output.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
        guard status == 1 else {
            throw .openSSL(.randomFailed, "drawing \(count) random bytes")
        }
        return output
    }
}
