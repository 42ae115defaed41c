import COpenSSL

/// The first application traffic secrets of a TLS 1.3 connection, as OpenSSL reports them through
/// its key-log callback while the handshake runs. Kept only until ``TLSConnection`` hands the
/// connection to ``TLS13RecordLayer`` (or decides not to), then wiped.
final class TrafficSecrets {
    private(set) var client: [UInt8]?
    private(set) var server: [UInt8]?

    /// The `SSL` ex-data slot that points at a connection's instance.
    static let exDataIndex: Int32 = CRYPTO_get_ex_new_index(CRYPTO_EX_INDEX_SSL, 0, nil, nil, nil, nil)

    /// Installed on server contexts that compact sessions; never writes key material anywhere else.
    static let keyLogCallback: SSL_CTX_keylog_cb_func = { ssl, line in
        guard let ssl, let line, let raw = SSL_get_ex_data(ssl, TrafficSecrets.exDataIndex) else { return }
        Unmanaged<TrafficSecrets>.fromOpaque(raw).takeUnretainedValue().record(line: line)
    }

    /// Takes `CLIENT_TRAFFIC_SECRET_0 <client random> <secret>` and its server twin; ignores the
    /// rest. Parsed straight from OpenSSL's line, so the secret's hex is not copied anywhere.
    private func record(line: UnsafePointer<CChar>) {
        let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(line).assumingMemoryBound(to: UInt8.self), count: strlen(line))
        let fields = bytes.split(separator: UInt8(ascii: " "), maxSplits: 3, omittingEmptySubsequences: false)
        guard fields.count == 3, let secret = Self.bytes(hex: fields[2]) else { return }
        if fields[0].elementsEqual("CLIENT_TRAFFIC_SECRET_0".utf8) {
            replace(&client, with: secret)
        } else if fields[0].elementsEqual("SERVER_TRAFFIC_SECRET_0".utf8) {
            replace(&server, with: secret)
        } else {
            var unused = secret
            cleanse(&unused)
        }
    }

    private func replace(_ slot: inout [UInt8]?, with secret: [UInt8]) {
        if var old = slot { slot = nil; cleanse(&old) }
        slot = secret
    }

    /// Runs `body` with both secrets (nil when OpenSSL did not report both), without copying them.
    func withSecrets<R>(_ body: (UnsafeRawBufferPointer, UnsafeRawBufferPointer) throws(TLSRecordFailure) -> R?) throws(TLSRecordFailure) -> R? {
        guard let client, let server else { return nil }
        return try withBytes(of: client) { (c) throws(TLSRecordFailure) -> R? in
            try withBytes(of: server) { (s) throws(TLSRecordFailure) -> R? in try body(c, s) }
        }
    }

    func wipe() {
        if var c = client { client = nil; cleanse(&c) }
        if var s = server { server = nil; cleanse(&s) }
    }

    private static func bytes(hex digits: Slice<UnsafeBufferPointer<UInt8>>) -> [UInt8]? {
        guard digits.count % 2 == 0, !digits.isEmpty else { return nil }
        var out = [UInt8]()
        out.reserveCapacity(digits.count / 2)
        var i = digits.startIndex
        while i < digits.endIndex {
            guard let high = nibble(digits[i]), let low = nibble(digits[i + 1]) else {
                cleanse(&out)
                return nil
            }
            out.append(high << 4 | low)
            i += 2
        }
        return out
    }

    private static func nibble(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return c - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
