/// The ANSI X9.63 key derivation function with SHA-256 (also SEC 1 §3.6.1 and BSI TR-03111 §4.3.3), which
/// SGP.22 uses to turn the ECKA shared secret into the BPP session keys.
///
/// `output = SHA-256(Z ‖ 00000001 ‖ sharedInfo) ‖ SHA-256(Z ‖ 00000002 ‖ sharedInfo) ‖ …`, truncated to the
/// requested length; the counter is 4 bytes big-endian. Stateless and safe to call from any thread.
public enum X963KDF {
    /// The largest output the 32-bit counter allows: `(2³² − 1)` SHA-256 blocks.
    public static let maximumByteCount = Int(UInt32.max) * SHA256.byteCount

    /// Derives `byteCount` bytes from the shared secret `sharedSecret` (Z) and `sharedInfo`.
    ///
    /// - Throws: `CryptoError.invalidInput` when `byteCount` is negative or above `maximumByteCount`.
    public static func deriveKey(
        sharedSecret: [UInt8],
        sharedInfo: [UInt8] = [],
        byteCount: Int
    ) throws(CryptoError) -> [UInt8] {
        guard byteCount >= 0, byteCount <= maximumByteCount else {
            throw CryptoError(
                code: .invalidInput,
                context: "deriving \(byteCount) bytes with the X9.63 KDF: the length must be between 0 and "
                    + "\(maximumByteCount)"
            )
        }
        var output: [UInt8] = []
        output.reserveCapacity(byteCount + SHA256.byteCount)
        var input = sharedSecret + [0, 0, 0, 0] + sharedInfo
        var counter: UInt32 = 1
        while output.count < byteCount {
            input[sharedSecret.count] = UInt8(truncatingIfNeeded: counter >> 24)
            input[sharedSecret.count + 1] = UInt8(truncatingIfNeeded: counter >> 16)
            input[sharedSecret.count + 2] = UInt8(truncatingIfNeeded: counter >> 8)
            input[sharedSecret.count + 3] = UInt8(truncatingIfNeeded: counter)
            output += SHA256.hash(input)
            counter &+= 1
        }
        input.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }
        output.removeSubrange(byteCount...)
        return output
    }
}
