import COpenSSL
import Foundation

/// ECDSA with SHA-256 on the `EllipticCurve`s.
///
/// Signatures come in two encodings:
/// - `.raw`: `r ‖ s`, each left-padded to the curve's coordinate size (64 bytes for both curves) — the format of
///   GSMA SGP.22 signatures (tag `5F37`) and of BSI TR-03111 "plain" signatures;
/// - `.der`: the X.509 `Ecdsa-Sig-Value ::= SEQUENCE { r INTEGER, s INTEGER }`, as in certificates and TLS.
///
/// All functions are stateless and safe to call from any thread.
public enum ECDSA {
    /// The encoding of a signature.
    public enum SignatureFormat: String, Sendable, Hashable, CaseIterable {
        /// `r ‖ s`, fixed length (`EllipticCurve.rawSignatureByteCount`).
        case raw
        /// DER `SEQUENCE { INTEGER r, INTEGER s }`, variable length.
        case der
    }

    /// Signs the SHA-256 digest of `message` with `key`.
    ///
    /// ECDSA signatures are randomised: two signatures of the same message differ, and both verify.
    /// - Throws: `CryptoError.signingFailed` when OpenSSL cannot sign.
    public static func sign(
        _ message: some ContiguousBytes,
        with key: PrivateKey,
        format: SignatureFormat = .raw
    ) throws(CryptoError) -> [UInt8] {
        func context() -> String { "signing with a \(key.curve) key" }
        guard let digestContext = EVP_MD_CTX_new() else { throw .openSSL(.internalFailure, context()) }
        defer { EVP_MD_CTX_free(digestContext) }
        guard EVP_DigestSignInit(digestContext, nil, EVP_sha256(), nil, key.pointer) == 1 else {
            throw .openSSL(.signingFailed, context())
        }
        var length = Int(EVP_PKEY_get_size(key.pointer))
        var signature = [UInt8](repeating: 0, count: max(length, 1))
        let status = message.withUnsafeBytes { input in
            signature.withUnsafeMutableBufferPointer { output in
                EVP_DigestSign(digestContext, output.baseAddress, &length, input.baseAddress, input.count)
            }
        }
        guard status == 1, length > 0, length <= signature.count else {
            throw .openSSL(.signingFailed, context())
        }
        signature.removeSubrange(length...)
        switch format {
        case .der: return signature
        case .raw: return try rawSignature(fromDER: signature, coordinateByteCount: key.curve.coordinateByteCount)
        }
    }

    /// Checks that `signature` (in `format`) is a valid ECDSA signature of SHA-256(`message`) by `publicKey`.
    ///
    /// Returns `false` for a wrong signature and for one that is not well formed (wrong length, non-canonical
    /// DER, r or s out of range).
    /// - Throws: `CryptoError.unsupportedAlgorithm` when `publicKey` is not an EC key on a supported curve.
    public static func verify(
        _ signature: [UInt8],
        format: SignatureFormat = .raw,
        for message: some ContiguousBytes,
        with publicKey: PublicKey
    ) throws(CryptoError) -> Bool {
        guard let curve = publicKey.curve else {
            throw CryptoError(code: .unsupportedAlgorithm, context: "verifying an ECDSA signature with a non-EC key")
        }
        let der: [UInt8]
        switch format {
        case .der:
            der = signature
        case .raw:
            guard signature.count == curve.rawSignatureByteCount,
                  let converted = try? derSignature(fromRaw: signature)
            else { return false }
            der = converted
        }
        guard let digestContext = EVP_MD_CTX_new() else {
            throw .openSSL(.internalFailure, "verifying an ECDSA signature")
        }
        defer { EVP_MD_CTX_free(digestContext) }
        guard EVP_DigestVerifyInit(digestContext, nil, EVP_sha256(), nil, publicKey.pointer) == 1 else {
            throw .openSSL(.internalFailure, "verifying an ECDSA signature on \(curve)")
        }
        let status = message.withUnsafeBytes { input in
            der.withUnsafeBufferPointer { sig in
                EVP_DigestVerify(digestContext, sig.baseAddress, sig.count, input.baseAddress, input.count)
            }
        }
        if status != 1 { OpenSSLErrorQueue.clear() }
        return status == 1
    }

    /// Converts a DER `Ecdsa-Sig-Value` into `r ‖ s`, each left-padded with zeros to `coordinateByteCount`.
    ///
    /// - Throws: `CryptoError.invalidInput` when the DER is malformed, has trailing bytes, holds a negative
    ///   integer, or an integer longer than `coordinateByteCount`.
    public static func rawSignature(fromDER der: [UInt8], coordinateByteCount: Int = 32) throws(CryptoError) -> [UInt8] {
        guard coordinateByteCount > 0 else {
            throw CryptoError(code: .invalidInput, context: "converting a DER signature: coordinate size must be positive")
        }
        let signature = try decodeDER(der, "an ECDSA signature", free: { ECDSA_SIG_free($0) }) {
            d2i_ECDSA_SIG(nil, $0, $1)
        }
        defer { ECDSA_SIG_free(signature) }
        var r: OpaquePointer? = nil
        var s: OpaquePointer? = nil
        ECDSA_SIG_get0(signature, &r, &s)
        var raw = [UInt8](repeating: 0, count: 2 * coordinateByteCount)
        for (index, component) in [r, s].enumerated() {
            guard let component, BN_is_negative(component) == 0 else {
                throw CryptoError(code: .invalidInput, context: "converting a DER signature: r and s must be positive")
            }
            let written = raw.withUnsafeMutableBufferPointer {
                BN_bn2binpad(component, $0.baseAddress! + index * coordinateByteCount, Int32(coordinateByteCount))
            }
            guard written == coordinateByteCount else {
                OpenSSLErrorQueue.clear()
                throw CryptoError(
                    code: .invalidInput,
                    context: "converting a DER signature: \(index == 0 ? "r" : "s") is longer than \(coordinateByteCount) bytes"
                )
            }
        }
        return raw
    }

    /// Converts `r ‖ s` (two halves of equal length) into a canonical DER `Ecdsa-Sig-Value`.
    ///
    /// - Throws: `CryptoError.invalidInput` for an empty or odd-length input.
    public static func derSignature(fromRaw raw: [UInt8]) throws(CryptoError) -> [UInt8] {
        guard !raw.isEmpty, raw.count % 2 == 0 else {
            throw CryptoError(
                code: .invalidInput,
                context: "converting a raw signature: expected r ‖ s of even, non-zero length, got \(raw.count) bytes"
            )
        }
        let half = raw.count / 2
        let components: (OpaquePointer?, OpaquePointer?) = raw.withUnsafeBufferPointer {
            (BN_bin2bn($0.baseAddress, Int32(half), nil), BN_bin2bn($0.baseAddress! + half, Int32(half), nil))
        }
        guard let r = components.0, let s = components.1, let signature = ECDSA_SIG_new() else {
            BN_free(components.0)
            BN_free(components.1)
            throw .openSSL(.internalFailure, "converting a raw signature to DER")
        }
        defer { ECDSA_SIG_free(signature) }
        guard ECDSA_SIG_set0(signature, r, s) == 1 else {
            BN_free(r)
            BN_free(s)
            throw .openSSL(.internalFailure, "converting a raw signature to DER")
        }
        return try encodeDER("an ECDSA signature") { i2d_ECDSA_SIG(signature, $0) }
    }
}
