import LPACrypto

/// The `X-ServerLPA-Signature` header: `sha256=` and the lowercase hex HMAC-SHA256, keyed with the endpoint's
/// secret, of the `X-ServerLPA-Timestamp` value, a `.`, and the exact body bytes.
///
/// Signing the timestamp with the body lets a receiver refuse old (replayed) deliveries by checking the
/// timestamp is recent. Stateless; callable from any thread.
public enum WebhookSignature {
    public static let prefix = "sha256="

    /// The header value for `body` sent at `timestamp` (seconds since 1970).
    public static func header(body: [UInt8], timestamp: Int64, secret: [UInt8]) throws -> String {
        prefix + hex(try HMACSHA256.tag(for: signedBytes(body: body, timestamp: String(timestamp)), key: secret))
    }

    /// Whether `header` is the signature of `body` at `timestamp` (the header's text as received) under
    /// `secret`. Compares in constant time.
    public static func isValid(header: String, body: [UInt8], timestamp: String, secret: [UInt8]) -> Bool {
        guard header.hasPrefix(prefix), let expected = try? HMACSHA256.tag(for: signedBytes(body: body, timestamp: timestamp), key: secret)
        else { return false }
        return HMACSHA256.constantTimeEqual(Array(header.dropFirst(prefix.count).utf8), Array(hex(expected).utf8))
    }

    private static func signedBytes(body: [UInt8], timestamp: String) -> [UInt8] {
        Array(timestamp.utf8) + [UInt8(ascii: ".")] + body
    }

    private static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 2)
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }
}
