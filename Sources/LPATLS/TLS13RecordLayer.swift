import COpenSSL
import NIOCore
import NIOPosix

/// TLS 1.3 record protection (RFC 8446 §5) for a connection whose handshake OpenSSL completed.
///
/// A server holding hundreds of thousands of mostly idle connections pays about 20 KiB for each
/// OpenSSL connection object (the `SSL` structure, the session with the peer's parsed certificate,
/// the ephemeral keys, two cipher contexts, buffers). Once a TLS 1.3 handshake is over, all a
/// connection needs is the two traffic secrets, keys, IVs and sequence numbers — under 300 bytes.
/// ``TLSConnection`` hands the connection over to this type at that point and frees the `SSL`
/// object; records are then sealed and opened with OpenSSL's AEAD ciphers through EVP, using one
/// cipher context per thread and suite.
///
/// Handles application data, alerts (close_notify ends the stream, user_canceled is ignored,
/// anything else is the peer's fatal error), and KeyUpdate in both directions: a peer's update
/// renews the read key and, when requested, this side answers with its own; this side also
/// renews its write key before an AES-GCM key protects 2^23 records. Any other post-handshake
/// message, a record of another outer type, an oversized or unauthenticated record is refused with
/// the matching fatal alert.
///
/// Not thread-safe: owned by one ``TLSConnection`` on one event loop.
final class TLS13RecordLayer {
    /// A TLS 1.3 cipher suite this layer implements.
    struct Suite: Equatable, Sendable {
        let name: String
        let keyLength: Int
        let digest: String
        let hashLength: Int
        /// Index into the per-thread cipher contexts.
        let slot: Int
        /// Records one write key may protect before this side renews it.
        let recordLimit: UInt64

        static let all: [Suite] = [
            Suite(name: "TLS_AES_128_GCM_SHA256", keyLength: 16, digest: "SHA256", hashLength: 32, slot: 0, recordLimit: 1 << 23),
            Suite(name: "TLS_AES_256_GCM_SHA384", keyLength: 32, digest: "SHA384", hashLength: 48, slot: 1, recordLimit: 1 << 23),
            Suite(name: "TLS_CHACHA20_POLY1305_SHA256", keyLength: 32, digest: "SHA256", hashLength: 32, slot: 2, recordLimit: 1 << 62),
        ]

        static func named(_ name: String) -> Suite? {
            all.first { $0.name == name }
        }

        func cipher() -> OpaquePointer? {
            switch slot {
            case 0: return EVP_aes_128_gcm()
            case 1: return EVP_aes_256_gcm()
            default: return EVP_chacha20_poly1305()
            }
        }
    }

    /// One direction's keys: `material` holds secret ‖ key ‖ IV in one allocation that is
    /// reserved once and wiped in place whenever its contents change.
    private struct TrafficKeys {
        private(set) var material: [UInt8]
        var sequence: UInt64 = 0
        let suite: Suite

        init(secret: UnsafeRawBufferPointer, suite: Suite) throws(TLSRecordFailure) {
            self.suite = suite
            material = []
            material.reserveCapacity(suite.hashLength + suite.keyLength + 12)
            material.append(contentsOf: secret)
            try derive()
        }

        /// Replaces key and IV with those of the secret at the front of `material`.
        private mutating func derive() throws(TLSRecordFailure) {
            let h = suite.hashLength, keyLength = suite.keyLength, digest = suite.digest
            var key = try withBytes(of: material) { (m) throws(TLSRecordFailure) -> [UInt8] in
                try TLS13KeySchedule.expandLabel(secret: UnsafeRawBufferPointer(rebasing: m[0..<h]), label: "key", length: keyLength, digest: digest)
            }
            var iv = try withBytes(of: material) { (m) throws(TLSRecordFailure) -> [UInt8] in
                try TLS13KeySchedule.expandLabel(secret: UnsafeRawBufferPointer(rebasing: m[0..<h]), label: "iv", length: 12, digest: digest)
            }
            material.withUnsafeMutableBytes { OPENSSL_cleanse($0.baseAddress! + h, $0.count - h) }
            material.removeSubrange(h...)
            material.append(contentsOf: key)
            material.append(contentsOf: iv)
            cleanse(&key)
            cleanse(&iv)
            sequence = 0
        }

        /// Moves to the next generation of traffic secret (RFC 8446 §7.2).
        mutating func update() throws(TLSRecordFailure) {
            let h = suite.hashLength, digest = suite.digest
            var next = try withBytes(of: material) { (m) throws(TLSRecordFailure) -> [UInt8] in
                try TLS13KeySchedule.expandLabel(secret: UnsafeRawBufferPointer(rebasing: m[0..<h]), label: "traffic upd", length: h, digest: digest)
            }
            wipe()
            material.removeAll(keepingCapacity: true)
            material.append(contentsOf: next)
            cleanse(&next)
            try derive()
        }

        mutating func wipe() {
            cleanse(&material)
        }

        /// Runs `body` with the key and the per-record nonce (IV XOR the sequence number).
        func withKeyAndNonce<R>(_ body: (UnsafePointer<UInt8>, UnsafePointer<UInt8>) -> R) -> R {
            var nonce = (UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0), UInt8(0))
            return material.withUnsafeBufferPointer { m in
                let ivStart = suite.hashLength + suite.keyLength
                return withUnsafeMutableBytes(of: &nonce) { n in
                    for i in 0..<12 { n[i] = m[ivStart + i] }
                    for i in 0..<8 { n[4 + i] ^= UInt8(truncatingIfNeeded: sequence >> (56 - 8 * UInt64(i))) }
                    return body(m.baseAddress! + suite.hashLength, n.baseAddress!.assumingMemoryBound(to: UInt8.self))
                }
            }
        }
    }

    /// One opened record: its inner content type; application data went to the caller's buffer
    /// (`length` bytes), other content is returned.
    private struct OpenedRecord {
        var type: UInt8
        var content: [UInt8]?
        var length: Int
    }

    private enum ContentType {
        static let alert: UInt8 = 21
        static let handshake: UInt8 = 22
        static let applicationData: UInt8 = 23
    }

    static let maximumPlaintext = 1 << 14
    static let maximumCiphertext = (1 << 14) + 256
    private static let tagLength = 16
    /// Consecutive records without application data (empty records, user_canceled alerts,
    /// KeyUpdates) tolerated before the peer is taken for abusive.
    static let recordsWithoutDataLimit = 32
    private static let headerLength = 5

    let suite: Suite
    private var readKeys: TrafficKeys
    private var writeKeys: TrafficKeys
    /// Received ciphertext not yet processed (an incomplete record).
    private var input: ByteBuffer?
    /// Ciphertext produced here that the transport has not taken yet.
    private var output: ByteBuffer?
    /// A post-handshake message split across records.
    private var handshakeFragment: [UInt8] = []
    /// The peer sent close_notify, or a fatal alert went either way: nothing more is read.
    private var inputClosed = false
    private var outputClosed = false
    /// Records in a row that carried no application data (see ``recordsWithoutDataLimit``).
    private var recordsWithoutData = 0
    private let allocator = ByteBufferAllocator()
    /// The cipher contexts of the thread this connection's event loop runs on, looked up once.
    private lazy var aead = AEADContextCache.current

    /// - Parameters:
    ///   - readSecret, writeSecret: the first application traffic secrets of the peer and of this side.
    ///   - writeSequence: records this side already sent under `writeSecret` (the session tickets).
    ///   - pendingInput: ciphertext that arrived after the peer's Finished.
    ///   - readSequence: records the peer already sent under `readSecret` (0 after a handshake).
    init(
        suite: Suite, readSecret: UnsafeRawBufferPointer, writeSecret: UnsafeRawBufferPointer, writeSequence: UInt64, readSequence: UInt64 = 0,
        pendingInput: ByteBuffer?
    ) throws(TLSRecordFailure) {
        self.suite = suite
        self.readKeys = try TrafficKeys(secret: readSecret, suite: suite)
        self.writeKeys = try TrafficKeys(secret: writeSecret, suite: suite)
        self.writeKeys.sequence = writeSequence
        self.readKeys.sequence = readSequence
        if let pendingInput, pendingInput.readableBytes > 0 { self.input = pendingInput }
    }

    deinit {
        readKeys.wipe()
        writeKeys.wipe()
    }

    // MARK: Input

    /// Appends received ciphertext.
    func feed(_ buffer: ByteBuffer) {
        guard !inputClosed, buffer.readableBytes > 0 else { return }
        if input == nil {
            input = buffer
        } else {
            var incoming = buffer
            input!.writeBuffer(&incoming)
        }
    }

    /// Received ciphertext not processed yet.
    var pendingInputBytes: Int { input?.readableBytes ?? 0 }

    /// Whether a record may be waiting to be opened.
    var hasInput: Bool { (input?.readableBytes ?? 0) >= Self.headerLength }

    /// Opens every complete record, appending application data to `plaintext`.
    func read(into plaintext: inout ByteBuffer) -> TLSConnection.ReadResult {
        guard !inputClosed, var buffer = input else { return .wantMore }
        input = nil
        var produced = false
        defer { keepRemainder(of: &buffer) }
        while buffer.readableBytes >= Self.headerLength {
            let start = buffer.readerIndex
            let outerType = buffer.getInteger(at: start, as: UInt8.self)!
            let length = Int(buffer.getInteger(at: start + 3, as: UInt16.self)!)
            guard length <= Self.maximumCiphertext else {
                return fail(.recordOverflow, "a record of \(length) bytes exceeds \(Self.maximumCiphertext)")
            }
            guard buffer.readableBytes >= Self.headerLength + length else { break }
            guard outerType == ContentType.applicationData else {
                return fail(.unexpectedMessage, "a record of type \(outerType) after the handshake")
            }
            guard length > Self.tagLength else {
                return fail(.badRecordMAC, "a record of \(length) bytes is too short to be authenticated")
            }
            guard length - Self.tagLength <= Self.maximumPlaintext + 1 else {
                return fail(.recordOverflow, "\(length - Self.tagLength) bytes of inner plaintext in one record")
            }
            let opened: Result<OpenedRecord, TLSRecordFailure> = buffer.withUnsafeReadableBytes { record in
                open(record: UnsafeRawBufferPointer(rebasing: record[0..<(Self.headerLength + length)]), into: &plaintext)
            }
            buffer.moveReaderIndex(forwardBy: Self.headerLength + length)
            let inner: OpenedRecord
            switch opened {
            case .success(let value): inner = value
            case .failure(let failure): return fail(failure)
            }
            if inner.type != ContentType.handshake, !handshakeFragment.isEmpty {
                return fail(.unexpectedMessage, "a handshake message was interrupted by a record of type \(inner.type)")
            }
            if inner.type == ContentType.applicationData, inner.length > 0 {
                recordsWithoutData = 0
            } else {
                // Empty records, warning alerts and KeyUpdates cost work and move no data.
                recordsWithoutData += 1
                guard recordsWithoutData <= Self.recordsWithoutDataLimit else {
                    return fail(.unexpectedMessage, "\(recordsWithoutData) records in a row without application data")
                }
            }
            switch inner.type {
            case ContentType.applicationData:
                if inner.length > 0 { produced = true }
            case ContentType.alert:
                let alert = inner.content ?? []
                guard alert.count == 2 else { return fail(.decodeError, "an alert of \(alert.count) bytes") }
                if alert[1] == TLSAlert.closeNotify.rawValue {
                    inputClosed = true
                    buffer.moveReaderIndex(to: buffer.writerIndex)
                    return .closeNotify
                }
                if alert[1] == TLSAlert.userCanceled.rawValue { continue }
                inputClosed = true
                outputClosed = true
                buffer.moveReaderIndex(to: buffer.writerIndex)
                return .failed(.readFailed(reasons: ["peer sent alert \(TLSAlert.describe(alert[1]))"]))
            case ContentType.handshake:
                guard let content = inner.content, !content.isEmpty else {
                    return fail(.unexpectedMessage, "an empty handshake record")
                }
                handshakeFragment += content
                if let failure = processHandshakeMessages() { return fail(failure) }
            default:
                return fail(.unexpectedMessage, "a protected record of content type \(inner.type)")
            }
        }
        return produced ? .data : .wantMore
    }

    /// Authenticates and decrypts one whole record (header included). Application data is
    /// appended to `plaintext`; other content is returned.
    private func open(record: UnsafeRawBufferPointer, into plaintext: inout ByteBuffer) -> Result<OpenedRecord, TLSRecordFailure> {
        let sealedLength = record.count - Self.headerLength - Self.tagLength
        // OpenSSL copies the expected tag out of the record; it never writes through this pointer.
        let tag = UnsafeMutableRawPointer(mutating: record.baseAddress! + (record.count - Self.tagLength))
        guard let ctx = aead.context(for: suite) else {
            return .failure(TLSRecordFailure(.internalError, "no cipher context for \(suite.name)"))
        }
        var result: Result<OpenedRecord, TLSRecordFailure> = .failure(TLSRecordFailure(.badRecordMAC, "record authentication failed"))
        plaintext.writeWithUnsafeMutableBytes(minimumWritableBytes: sealedLength) { out -> Int in
            let base = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let header = record.baseAddress!.assumingMemoryBound(to: UInt8.self)
            var n: Int32 = 0
            let ok = readKeys.withKeyAndNonce { key, nonce -> Bool in
                guard EVP_CipherInit_ex(ctx, nil, nil, key, nonce, 0) == 1,
                      EVP_CipherUpdate(ctx, nil, &n, header, Int32(Self.headerLength)) == 1,
                      EVP_CipherUpdate(ctx, base, &n, header + Self.headerLength, Int32(sealedLength)) == 1,
                      EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagLength), tag) == 1
                else { return false }
                var last: Int32 = 0
                return EVP_CipherFinal_ex(ctx, base + Int(n), &last) == 1
            }
            guard ok else {
                OpenSSLErrorQueue.clear()
                return 0
            }
            // Inner plaintext: content ‖ type ‖ zero padding.
            var end = sealedLength
            while end > 0, base[end - 1] == 0 { end -= 1 }
            guard end > 0 else {
                result = .failure(TLSRecordFailure(.unexpectedMessage, "a record without a content type"))
                return 0
            }
            let type = base[end - 1]
            let contentLength = end - 1
            if type == ContentType.applicationData {
                result = .success(OpenedRecord(type: type, content: nil, length: contentLength))
                return contentLength
            }
            result = .success(OpenedRecord(type: type, content: Array(UnsafeBufferPointer(start: base, count: contentLength)), length: contentLength))
            return 0
        }
        if case .success = result {
            readKeys.sequence += 1
        }
        return result
    }

    /// Handles complete post-handshake messages; a client may only send KeyUpdate.
    private func processHandshakeMessages() -> TLSRecordFailure? {
        while handshakeFragment.count >= 4 {
            let type = handshakeFragment[0]
            let length = Int(handshakeFragment[1]) << 16 | Int(handshakeFragment[2]) << 8 | Int(handshakeFragment[3])
            guard type == 24 else {
                return TLSRecordFailure(.unexpectedMessage, "post-handshake message of type \(type) is not accepted")
            }
            guard length == 1 else { return TLSRecordFailure(.decodeError, "KeyUpdate of \(length) bytes") }
            guard handshakeFragment.count >= 5 else { return nil }
            let request = handshakeFragment[4]
            handshakeFragment.removeFirst(5)
            guard request <= 1 else { return TLSRecordFailure(.illegalParameter, "KeyUpdate request \(request)") }
            // The next record is protected under the new key: nothing may follow in this one.
            guard handshakeFragment.isEmpty else {
                return TLSRecordFailure(.unexpectedMessage, "data after a KeyUpdate in the same record")
            }
            do {
                try readKeys.update()
                if request == 1, !outputClosed { try sendKeyUpdate() }
            } catch {
                return error
            }
        }
        return nil
    }

    private func keepRemainder(of buffer: inout ByteBuffer) {
        guard !inputClosed, buffer.readableBytes > 0 else { return }
        let pending = input
        input = buffer.keptRemainder(allocator: allocator)
        if var pending {
            // More ciphertext was fed while reading (not expected on one event loop, kept anyway).
            input!.writeBuffer(&pending)
        }
    }

    private func fail(_ alert: TLSAlert, _ reason: String) -> TLSConnection.ReadResult {
        fail(TLSRecordFailure(alert, reason))
    }

    /// Sends the fatal alert (when still possible) and stops reading.
    private func fail(_ failure: TLSRecordFailure) -> TLSConnection.ReadResult {
        if !outputClosed {
            _ = seal(type: ContentType.alert, UnsafeRawBufferPointer(start: nil, count: 0), control: [2, failure.alert.rawValue])
            outputClosed = true
        }
        inputClosed = true
        input = nil
        return .failed(.readFailed(reasons: ["\(failure.reason) (alert \(TLSAlert.describe(failure.alert.rawValue)))"]))
    }

    // MARK: Output

    /// Seals application data into records of at most 16 KiB.
    func write(_ bytes: UnsafeRawBufferPointer) -> TLSError? {
        guard !outputClosed else { return .closed }
        var offset = 0
        repeat {
            let count = min(Self.maximumPlaintext, bytes.count - offset)
            if writeKeys.sequence >= suite.recordLimit {
                do { try sendKeyUpdate() } catch { return .writeFailed(reasons: [error.reason]) }
            }
            let chunk = UnsafeRawBufferPointer(rebasing: bytes[offset..<(offset + count)])
            if let failure = seal(type: ContentType.applicationData, chunk) {
                return .writeFailed(reasons: [failure.reason])
            }
            offset += count
        } while offset < bytes.count
        return nil
    }

    /// Queues close_notify; nothing is sent after it.
    func closeNotify() {
        guard !outputClosed else { return }
        _ = seal(type: ContentType.alert, UnsafeRawBufferPointer(start: nil, count: 0), control: [1, TLSAlert.closeNotify.rawValue])
        outputClosed = true
    }

    /// Everything sealed since the last call.
    func takeOutput() -> ByteBuffer? {
        defer { output = nil }
        return output
    }

    /// Renews this side's write key and asks the peer to renew its own (KeyUpdate with
    /// update_requested).
    func requestKeyUpdate() throws(TLSRecordFailure) {
        guard !outputClosed else { throw TLSRecordFailure(.internalError, "the connection is closed for writing") }
        try sendKeyUpdate(requestingPeerUpdate: true)
    }

    /// Sends KeyUpdate under the current key, then moves to the next one.
    private func sendKeyUpdate(requestingPeerUpdate: Bool = false) throws(TLSRecordFailure) {
        let message: [UInt8] = [24, 0, 0, 1, requestingPeerUpdate ? 1 : 0]
        if let failure = seal(type: ContentType.handshake, UnsafeRawBufferPointer(start: nil, count: 0), control: message) {
            throw failure
        }
        try writeKeys.update()
    }

    /// Seals `bytes` (or, for alerts and KeyUpdate, `control`) as one record of inner type `type`.
    func seal(type: UInt8, _ bytes: UnsafeRawBufferPointer, control: [UInt8] = []) -> TLSRecordFailure? {
        guard let ctx = aead.context(for: suite) else {
            return TLSRecordFailure(.internalError, "no cipher context for \(suite.name)")
        }
        let contentLength = control.isEmpty ? bytes.count : control.count
        let sealedLength = contentLength + 1 + Self.tagLength
        var out = output ?? allocator.buffer(capacity: Self.headerLength + sealedLength)
        output = nil  // `out` is then the only reference: appending does not copy what is queued
        var failed = false
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: Self.headerLength + sealedLength) { raw -> Int in
            let p = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
            p[0] = ContentType.applicationData
            p[1] = 3
            p[2] = 3
            p[3] = UInt8(sealedLength >> 8)
            p[4] = UInt8(sealedLength & 0xFF)
            var innerType = type
            var n: Int32 = 0
            let ok = writeKeys.withKeyAndNonce { key, nonce -> Bool in
                guard EVP_CipherInit_ex(ctx, nil, nil, key, nonce, 1) == 1,
                      EVP_CipherUpdate(ctx, nil, &n, p, Int32(Self.headerLength)) == 1
                else { return false }
                let body = p + Self.headerLength
                if !control.isEmpty {
                    guard control.withUnsafeBufferPointer({ EVP_CipherUpdate(ctx, body, &n, $0.baseAddress, Int32($0.count)) }) == 1 else { return false }
                } else if contentLength > 0 {
                    guard EVP_CipherUpdate(ctx, body, &n, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(contentLength)) == 1 else { return false }
                }
                guard EVP_CipherUpdate(ctx, body + contentLength, &n, &innerType, 1) == 1 else { return false }
                var last: Int32 = 0
                guard EVP_CipherFinal_ex(ctx, body + contentLength + 1, &last) == 1 else { return false }
                return EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagLength), body + contentLength + 1) == 1
            }
            guard ok else {
                failed = true
                return 0
            }
            return Self.headerLength + sealedLength
        }
        output = out
        if failed {
            let reasons = OpenSSLErrorQueue.drain()
            return TLSRecordFailure(.internalError, "sealing a record failed: \(reasons.joined(separator: "; "))")
        }
        writeKeys.sequence += 1
        return nil
    }
}

/// A record-layer failure: the alert to send and the reason for logs.
struct TLSRecordFailure: Error {
    let alert: TLSAlert
    let reason: String

    init(_ alert: TLSAlert, _ reason: String) {
        self.alert = alert
        self.reason = reason
    }
}

/// Alert descriptions this layer sends or names (RFC 8446 §6).
enum TLSAlert: UInt8 {
    case closeNotify = 0
    case unexpectedMessage = 10
    case badRecordMAC = 20
    case recordOverflow = 22
    case illegalParameter = 47
    case decodeError = 50
    case internalError = 80
    case userCanceled = 90

    static func describe(_ code: UInt8) -> String {
        if let alert = TLSAlert(rawValue: code) { return "\(alert) (\(code))" }
        return "\(code)"
    }
}

/// HKDF-Expand-Label of RFC 8446 §7.1, with HMAC from OpenSSL.
enum TLS13KeySchedule {
    /// HKDF-Expand-Label; intermediate blocks are wiped before returning.
    static func expandLabel(secret: UnsafeRawBufferPointer, label: String, context: [UInt8] = [], length: Int, digest: String) throws(TLSRecordFailure) -> [UInt8] {
        let fullLabel = Array("tls13 \(label)".utf8)
        var info: [UInt8] = [UInt8(length >> 8), UInt8(length & 0xFF), UInt8(fullLabel.count)]
        info += fullLabel
        info.append(UInt8(context.count))
        info += context
        var output: [UInt8] = []
        output.reserveCapacity(length + 64)
        var data: [UInt8] = []
        data.reserveCapacity(64 + info.count + 1)
        var counter: UInt8 = 1
        defer {
            cleanse(&output)
            cleanse(&data)
        }
        while output.count < length {
            // T(n) = HMAC(secret, T(n-1) ‖ info ‖ n)
            data.append(contentsOf: info)
            data.append(counter)
            let produced = try hmac(digest: digest, key: secret, data: data, into: &output)
            cleanse(&data)
            data.removeAll(keepingCapacity: true)
            data.append(contentsOf: output[(output.count - produced)...])
            counter += 1
        }
        return Array(output.prefix(length))
    }

    static func expandLabel(secret: [UInt8], label: String, context: [UInt8] = [], length: Int, digest: String) throws(TLSRecordFailure) -> [UInt8] {
        try withBytes(of: secret) { (s) throws(TLSRecordFailure) -> [UInt8] in
            try expandLabel(secret: s, label: label, context: context, length: length, digest: digest)
        }
    }

    /// Appends HMAC(key, data) to `output`; returns its length.
    private static func hmac(digest: String, key: UnsafeRawBufferPointer, data: [UInt8], into output: inout [UInt8]) throws(TLSRecordFailure) -> Int {
        var out = [UInt8](repeating: 0, count: 64)
        defer { cleanse(&out) }
        var outLength = 0
        let produced = data.withUnsafeBufferPointer { d in
            out.withUnsafeMutableBufferPointer { o in
                EVP_Q_mac(nil, "HMAC", nil, digest, nil, key.baseAddress, key.count, d.baseAddress, d.count, o.baseAddress, o.count, &outLength)
            }
        }
        guard produced != nil, outLength > 0 else {
            throw TLSRecordFailure(.internalError, "HMAC-\(digest) failed: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
        }
        output.append(contentsOf: out[0..<outLength])
        return outLength
    }
}

/// `withUnsafeBytes` for a body that throws ``TLSRecordFailure`` only.
func withBytes<R>(of bytes: [UInt8], _ body: (UnsafeRawBufferPointer) throws(TLSRecordFailure) -> R) throws(TLSRecordFailure) -> R {
    try bytes.withUnsafeBytes { p in Result { () throws(TLSRecordFailure) -> R in try body(p) } }.get()
}

/// Overwrites `bytes` in place (the array must not share its storage, or only a copy is wiped).
func cleanse(_ bytes: inout [UInt8]) {
    bytes.withUnsafeMutableBytes { if let base = $0.baseAddress { OPENSSL_cleanse(base, $0.count) } }
}

/// One AEAD cipher context per suite for the current thread. Contexts are re-keyed for every
/// record, so connections share them instead of keeping their own (about 1 KiB each).
final class AEADContextCache: @unchecked Sendable {
    // Unchecked: each instance is reached only through its own thread's slot.
    private var contexts: [OpaquePointer?] = Array(repeating: nil, count: TLS13RecordLayer.Suite.all.count)
    private static let perThread = ThreadSpecificVariable<AEADContextCache>()

    static var current: AEADContextCache {
        if let cache = perThread.currentValue { return cache }
        let cache = AEADContextCache()
        perThread.currentValue = cache
        return cache
    }

    func context(for suite: TLS13RecordLayer.Suite) -> OpaquePointer? {
        if let ctx = contexts[suite.slot] { return ctx }
        guard let ctx = EVP_CIPHER_CTX_new() else { return nil }
        guard EVP_CipherInit_ex(ctx, suite.cipher(), nil, nil, nil, 1) == 1 else {
            EVP_CIPHER_CTX_free(ctx)
            OpenSSLErrorQueue.clear()
            return nil
        }
        contexts[suite.slot] = ctx
        return ctx
    }

    deinit {
        for ctx in contexts { EVP_CIPHER_CTX_free(ctx) }
    }
}
