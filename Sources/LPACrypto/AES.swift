import COpenSSL
import Foundation

/// AES (FIPS 197) through OpenSSL: CBC without padding and single-block ECB, the two modes the SGP.22 BPP
/// protection protocol (SCP03t) needs.
///
/// Keys are 16, 24 or 32 bytes (AES-128, AES-192, AES-256); SGP.22 session keys are AES-128. Every call
/// creates and frees its own OpenSSL cipher context, so all functions are safe to call from any thread. Errors
/// never contain key material or data.
public enum AES {
    /// Bytes in one AES block, and in a CBC initial vector.
    public static let blockByteCount = 16

    /// The key lengths AES accepts, in bytes.
    public static let keyByteCounts: Set<Int> = [16, 24, 32]

    /// Encrypts `plaintext` in CBC mode with `iv`, without padding.
    ///
    /// - Throws: `CryptoError.invalidInput` when the key is not 16, 24 or 32 bytes, the IV is not 16 bytes, or
    ///   the plaintext length is not a multiple of 16 (pad first, e.g. as SCP03t does with `80 00…`).
    public static func encryptCBC(
        _ plaintext: some ContiguousBytes,
        key: [UInt8],
        iv: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        try run(.cbc, encrypting: true, plaintext, key: key, iv: iv)
    }

    /// Decrypts `ciphertext` in CBC mode with `iv`, without removing any padding.
    ///
    /// - Throws: `CryptoError.invalidInput` when the key is not 16, 24 or 32 bytes, the IV is not 16 bytes, or
    ///   the ciphertext length is not a multiple of 16.
    public static func decryptCBC(
        _ ciphertext: some ContiguousBytes,
        key: [UInt8],
        iv: [UInt8]
    ) throws(CryptoError) -> [UInt8] {
        try run(.cbc, encrypting: false, ciphertext, key: key, iv: iv)
    }

    /// Encrypts exactly one 16-byte block with the raw block cipher (ECB of one block), as used to derive
    /// initial vectors in SCP03.
    ///
    /// - Throws: `CryptoError.invalidInput` when the key is not 16, 24 or 32 bytes or `block` is not 16 bytes.
    public static func encryptBlock(_ block: [UInt8], key: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard block.count == blockByteCount else {
            throw CryptoError(
                code: .invalidInput,
                context: "encrypting one AES block: expected \(blockByteCount) bytes, got \(block.count)"
            )
        }
        return try run(.ecb, encrypting: true, block, key: key, iv: nil)
    }

    /// The block cipher modes used here.
    private enum Mode: String {
        case cbc = "CBC"
        case ecb = "ECB"
    }

    /// The OpenSSL cipher for `mode` and a key of `keyByteCount` bytes; `invalidInput` for another length.
    private static func cipher(_ mode: Mode, keyByteCount: Int, _ context: String) throws(CryptoError) -> OpaquePointer {
        let cipher: OpaquePointer? = switch (mode, keyByteCount) {
        case (.cbc, 16): EVP_aes_128_cbc()
        case (.cbc, 24): EVP_aes_192_cbc()
        case (.cbc, 32): EVP_aes_256_cbc()
        case (.ecb, 16): EVP_aes_128_ecb()
        case (.ecb, 24): EVP_aes_192_ecb()
        case (.ecb, 32): EVP_aes_256_ecb()
        default:
            throw CryptoError(
                code: .invalidInput,
                context: "\(context): an AES key must be 16, 24 or 32 bytes, got \(keyByteCount)"
            )
        }
        guard let cipher else { throw .openSSL(.internalFailure, context) }
        return cipher
    }

    /// Runs `mode` over `input` (a whole number of blocks) with padding disabled.
    private static func run(
        _ mode: Mode,
        encrypting: Bool,
        _ input: some ContiguousBytes,
        key: [UInt8],
        iv: [UInt8]?
    ) throws(CryptoError) -> [UInt8] {
        let context = "\(encrypting ? "encrypting" : "decrypting") with AES-\(key.count * 8)-\(mode.rawValue)"
        let cipher = try cipher(mode, keyByteCount: key.count, context)
        if let iv, iv.count != blockByteCount {
            throw CryptoError(
                code: .invalidInput,
                context: "\(context): the IV must be \(blockByteCount) bytes, got \(iv.count)"
            )
        }
        let inputCount = input.withUnsafeBytes { $0.count }
        guard inputCount % blockByteCount == 0 else {
            throw CryptoError(
                code: .invalidInput,
                context: "\(context): the input must be a multiple of \(blockByteCount) bytes (no padding is added), "
                    + "got \(inputCount)"
            )
        }
        guard inputCount <= Int(Int32.max) - blockByteCount else {
            throw CryptoError(code: .invalidInput, context: "\(context): \(inputCount) bytes is too long for one call")
        }
        guard inputCount > 0 else { return [] }

        guard let cipherContext = EVP_CIPHER_CTX_new() else { throw .openSSL(.internalFailure, context) }
        defer { EVP_CIPHER_CTX_free(cipherContext) }
        let initialised = key.withUnsafeBufferPointer { key in
            if let iv {
                iv.withUnsafeBufferPointer { iv in
                    EVP_CipherInit_ex2(cipherContext, cipher, key.baseAddress, iv.baseAddress, encrypting ? 1 : 0, nil)
                }
            } else {
                EVP_CipherInit_ex2(cipherContext, cipher, key.baseAddress, nil, encrypting ? 1 : 0, nil)
            }
        }
        guard initialised == 1, EVP_CIPHER_CTX_set_padding(cipherContext, 0) == 1 else {
            throw .openSSL(.internalFailure, context)
        }
        var output = [UInt8](repeating: 0, count: inputCount + blockByteCount)
        var updateCount: Int32 = 0
        var finalCount: Int32 = 0
        let status = input.withUnsafeBytes { input in
            output.withUnsafeMutableBufferPointer { output -> Int32 in
                guard EVP_CipherUpdate(
                    cipherContext,
                    output.baseAddress,
                    &updateCount,
                    input.baseAddress?.assumingMemoryBound(to: UInt8.self),
                    Int32(input.count)
                ) == 1 else { return 0 }
                return EVP_CipherFinal_ex(cipherContext, output.baseAddress! + Int(updateCount), &finalCount)
            }
        }
        let total = Int(updateCount) + Int(finalCount)
        guard status == 1, total == inputCount else {
            throw .openSSL(.internalFailure, context)
        }
        output.removeSubrange(total...)
        return output
    }
}
