import COpenSSL
import Foundation

/// Session-ticket keys that every server holding the same secret derives alike, so a ticket one
/// edge of a deployment issued resumes on any other: a terminal moved by a balancer or an edge
/// restart skips the certificate exchange and its signatures.
///
/// Keys change every ``rotationSeconds``: the key of period `p = ⌊unix time / rotationSeconds⌋`
/// seals new tickets; tickets sealed in the ``acceptedPeriods`` − 1 periods before it still open
/// (and are replaced by a fresh ticket on resumption), older ones are refused, so the client makes a
/// full handshake. A ticket is thus valid between `(acceptedPeriods − 1) × rotationSeconds` and
/// `acceptedPeriods × rotationSeconds`. Servers' clocks may differ by up to one period.
///
/// Derivation (RFC 5077 ticket protection: AES-256-CBC + HMAC-SHA256, done by OpenSSL):
/// `aesKey = HMAC-SHA256(secret, "serverlpa ticket aes" ‖ p)`, `hmacKey = HMAC-SHA256(secret,
/// "serverlpa ticket hmac" ‖ p)`, with `p` as 8 bytes big-endian. The 16-byte key name sent in each
/// ticket is `"LPAT"` ‖ `p` ‖ the first 4 bytes of `HMAC-SHA256(secret, "serverlpa ticket id")`,
/// so servers with another secret refuse the ticket before any decryption.
///
/// The secret never leaves this object; it is wiped when the object is released. Thread-safe
/// (immutable).
public final class TLSTicketKeys: @unchecked Sendable {
    public let rotationSeconds: Int
    public let acceptedPeriods: Int
    private var secret: [UInt8]
    private let secretID: [UInt8]
    /// The time source (seconds since 1970); replaceable in tests.
    let now: @Sendable () -> Int

    static let minimumSecretLength = 32
    private static let magic: [UInt8] = Array("LPAT".utf8)

    /// - Parameters:
    ///   - secret: at least 32 bytes of high-entropy material shared by the servers of a deployment.
    ///   - rotationSeconds: how long one key seals new tickets (at least 60).
    ///   - acceptedPeriods: how many periods a key opens tickets for, the current one included (≥ 1).
    public init(secret: [UInt8], rotationSeconds: Int = 43_200, acceptedPeriods: Int = 2,
                now: @escaping @Sendable () -> Int = { Int(Date().timeIntervalSince1970) }) throws {
        guard secret.count >= Self.minimumSecretLength else {
            throw TLSError.invalidConfiguration("the session-ticket secret has \(secret.count) bytes; at least \(Self.minimumSecretLength) are needed")
        }
        guard rotationSeconds >= 60 else {
            throw TLSError.invalidConfiguration("session-ticket rotation of \(rotationSeconds) s is below the minimum of 60 s")
        }
        guard acceptedPeriods >= 1 else {
            throw TLSError.invalidConfiguration("session-ticket keys must be accepted for at least one period")
        }
        self.secret = secret
        self.rotationSeconds = rotationSeconds
        self.acceptedPeriods = acceptedPeriods
        self.now = now
        self.secretID = Array(Self.hmac(key: secret, Array("serverlpa ticket id".utf8)).prefix(4))
    }

    /// Reads the secret from `path`: the file's bytes, surrounding whitespace removed (e.g. the
    /// output of `openssl rand -base64 48`).
    public convenience init(file path: String, rotationSeconds: Int = 43_200, acceptedPeriods: Int = 2) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw TLSError.credentialLoadFailed(what: "session-ticket secret (\(path))", reasons: ["cannot read file"])
        }
        var bytes = Array(data)
        defer { OPENSSL_cleanse(&bytes, bytes.count) }
        let whitespace: Set<UInt8> = [0x20, 0x09, 0x0A, 0x0D]
        let trimmed = Array(bytes.drop(while: { whitespace.contains($0) }).reversed().drop(while: { whitespace.contains($0) }).reversed())
        try self.init(secret: trimmed, rotationSeconds: rotationSeconds, acceptedPeriods: acceptedPeriods)
    }

    deinit {
        OPENSSL_cleanse(&secret, secret.count)
    }

    /// The lifetime to announce in tickets: the longest time one stays valid.
    var ticketLifetimeSeconds: Int { acceptedPeriods * rotationSeconds }

    /// The period whose key seals tickets now.
    public var currentPeriod: UInt64 { UInt64(max(0, now()) / rotationSeconds) }

    /// The key name a ticket sealed in `period` carries.
    func keyName(period: UInt64) -> [UInt8] {
        Self.magic + Self.bigEndian(period) + secretID
    }

    /// The period a key name belongs to, when it is one of ours and still accepted; nil otherwise.
    func acceptedPeriod(keyName: UnsafeBufferPointer<UInt8>) -> UInt64? {
        guard keyName.count == 16, keyName.prefix(4).elementsEqual(Self.magic), keyName.suffix(4).elementsEqual(secretID) else { return nil }
        let period = keyName[4..<12].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let current = currentPeriod
        // One period ahead is tolerated: another server's clock may have rotated first.
        guard period <= current + 1, period + UInt64(acceptedPeriods) > current else { return nil }
        return period
    }

    /// AES-256 and HMAC-SHA256 keys of `period`; the caller wipes them after use.
    func keys(period: UInt64) -> (aes: [UInt8], hmac: [UInt8]) {
        let p = Self.bigEndian(period)
        return (Self.hmac(key: secret, Array("serverlpa ticket aes".utf8) + p),
                Self.hmac(key: secret, Array("serverlpa ticket hmac".utf8) + p))
    }

    private static func bigEndian(_ value: UInt64) -> [UInt8] {
        (0..<8).map { UInt8(truncatingIfNeeded: value >> (56 - 8 * $0)) }
    }

    private static func hmac(key: [UInt8], _ data: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
        var length: UInt32 = 0
        _ = HMAC(EVP_sha256(), key, Int32(key.count), data, data.count, &out, &length)
        return Array(out.prefix(Int(length)))
    }

    // MARK: OpenSSL callback

    /// The `SSL_CTX` ex-data slot holding a context's ``TLSTicketKeys`` (retained by ``TLSContext``).
    static let exDataIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL_CTX, 0, nil, nil, nil, nil)

    /// `SSL_CTX_set_tlsext_ticket_key_evp_cb`'s callback: seals with the current period's key
    /// (returns 1), opens with the key its name designates (1 for the current key, 2 to have the
    /// ticket renewed), refuses unknown and expired names (0: full handshake), -1 on failure.
    static let callback: @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UInt8>?, UnsafeMutablePointer<UInt8>?, OpaquePointer?, OpaquePointer?, Int32
    ) -> Int32 = { ssl, keyName, iv, cipherContext, macContext, encrypt in
        guard let ssl, let keyName, let iv, let cipherContext, let macContext,
              let ctx = SSL_get_SSL_CTX(ssl), let raw = SSL_CTX_get_ex_data(ctx, TLSTicketKeys.exDataIndex)
        else { return -1 }
        let ring = Unmanaged<TLSTicketKeys>.fromOpaque(raw).takeUnretainedValue()
        let period: UInt64
        if encrypt == 1 {
            period = ring.currentPeriod
            let name = ring.keyName(period: period)
            name.withUnsafeBufferPointer { keyName.update(from: $0.baseAddress!, count: 16) }
            guard RAND_bytes(iv, 16) == 1 else { return -1 }
        } else {
            guard let accepted = ring.acceptedPeriod(keyName: UnsafeBufferPointer(start: keyName, count: 16)) else { return 0 }
            period = accepted
        }
        var (aes, hmac) = ring.keys(period: period)
        defer {
            OPENSSL_cleanse(&aes, aes.count)
            OPENSSL_cleanse(&hmac, hmac.count)
        }
        let cipherReady = encrypt == 1
            ? EVP_EncryptInit_ex2(cipherContext, EVP_aes_256_cbc(), aes, iv, nil)
            : EVP_DecryptInit_ex2(cipherContext, EVP_aes_256_cbc(), aes, iv, nil)
        guard cipherReady == 1 else { return -1 }
        let macReady: Int32 = "digest".withCString { digestKey in
            "key".withCString { keyKey in
                "SHA256".withCString { sha256 in
                    hmac.withUnsafeMutableBytes { key in
                        var params = [
                            OSSL_PARAM_construct_utf8_string(digestKey, UnsafeMutablePointer(mutating: sha256), 0),
                            OSSL_PARAM_construct_octet_string(keyKey, key.baseAddress, key.count),
                            OSSL_PARAM_construct_end(),
                        ]
                        return EVP_MAC_CTX_set_params(macContext, &params)
                    }
                }
            }
        }
        guard macReady == 1 else { return -1 }
        return encrypt == 1 || period == ring.currentPeriod ? 1 : 2
    }
}
