import COpenSSL
import NIOCore

#if canImport(Glibc)
import Glibc
#endif

/// One OpenSSL `SSL` object with its pair of memory BIOs: ciphertext goes in through ``feed(_:)``
/// and comes out through ``drainCiphertext(allocator:)``; plaintext is read and written in between.
///
/// A server connection whose TLS 1.3 handshake completed can leave OpenSSL's record layer for
/// ``TLS13RecordLayer`` (``TLSConfiguration/compactSessions``): ``finishHandshake()`` then frees the
/// `SSL` object and every later call goes to the record layer.
///
/// Not thread-safe: owned by exactly one ``TLSHandler`` and used only on its channel's event loop.
/// It never touches sockets, which keeps it testable on its own.
final class TLSConnection {
    enum HandshakeResult {
        case complete
        case wantMore
        case failed(TLSError)
    }

    enum ReadResult: Equatable {
        /// Plaintext was appended to the buffer; more may follow.
        case data
        /// No complete record is buffered.
        case wantMore
        /// The peer sent close_notify.
        case closeNotify
        case failed(TLSError)
    }

    /// The OpenSSL connection; nil once the record layer took over.
    private var ssl: OpaquePointer?
    private var rbio: OpaquePointer?
    private var wbio: OpaquePointer?
    let role: TLSConfiguration.Role
    /// The record layer after the hand-over.
    private var records: TLS13RecordLayer?
    /// Traffic secrets OpenSSL reports during the handshake, while a hand-over is possible.
    private var secrets: TrafficSecrets?
    /// Records the server wrote under its first application key (its session tickets).
    private var recordsAfterHandshake: Int?
    /// The URI the peer's certificate must carry (``TLSConfiguration/requiredPeerURI``).
    private let requiredPeerURI: String?

    init(context: TLSContext, serverHostname: String?, credentials: TLSCredentials? = nil) throws {
        OpenSSLErrorQueue.clear()
        guard let ssl = SSL_new(context.ctx) else {
            throw TLSError.invalidConfiguration("SSL_new failed: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
        }
        guard let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.invalidConfiguration("BIO_new failed")
        }
        _ = lpa_BIO_set_mem_eof_return(r, -1)
        _ = lpa_BIO_set_mem_eof_return(w, -1)
        SSL_set_bio(ssl, r, w)
        self.ssl = ssl
        self.rbio = r
        self.wbio = w
        self.role = context.configuration.role
        self.requiredPeerURI = context.configuration.requiredPeerURI
        if role == .server, context.configuration.compactSessions {
            let secrets = TrafficSecrets()
            SSL_set_ex_data(ssl, TrafficSecrets.exDataIndex, Unmanaged.passUnretained(secrets).toOpaque())
            self.secrets = secrets
        }

        if let credentials {
            try credentials.apply(to: ssl)
        }
        switch role {
        case .server:
            SSL_set_accept_state(ssl)
        case .client:
            SSL_set_connect_state(ssl)
            if let host = serverHostname, !host.isEmpty {
                try configureHostname(host, verify: context.configuration.peerVerification != .none)
            }
        }
    }

    deinit {
        if let ssl { SSL_free(ssl) }  // frees both BIOs
        secrets?.wipe()
    }

    /// Whether the record layer took over from OpenSSL.
    var usesCompactRecordLayer: Bool { records != nil }

    private func configureHostname(_ host: String, verify: Bool) throws {
        guard let ssl else { return }
        let isIPAddress = Self.isIPAddress(host)
        if !isIPAddress {
            guard lpa_SSL_set_tlsext_host_name(ssl, host) == 1 else {
                throw TLSError.invalidConfiguration("server name '\(host)' rejected: \(OpenSSLErrorQueue.drain())")
            }
        }
        guard verify else { return }
        let ok: Int32
        if isIPAddress {
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), host)
        } else {
            ok = SSL_set1_host(ssl, host)
        }
        guard ok == 1 else {
            throw TLSError.invalidConfiguration("cannot verify against host '\(host)': \(OpenSSLErrorQueue.drain())")
        }
    }

    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// Offers an earlier session for resumption (client side, before the handshake).
    func offer(session: OpaquePointer) {
        guard let ssl else { return }
        SSL_set_session(ssl, session)
    }

    /// Appends received ciphertext to the input BIO. Fails when OpenSSL does not take all of it
    /// (the memory BIO could not grow): the record stream would have a hole, so the connection
    /// cannot go on.
    func feed(_ buffer: ByteBuffer) throws(TLSError) {
        if let records {
            records.feed(buffer)
            return
        }
        guard let rbio else { return }
        guard Self.write(buffer, to: rbio) else {
            throw TLSError.readFailed(reasons: ["received ciphertext could not be buffered"] + OpenSSLErrorQueue.drain())
        }
    }

    /// Writes all of `buffer` into a memory BIO; false when a write is refused.
    static func write(_ buffer: ByteBuffer, to bio: OpaquePointer) -> Bool {
        buffer.withUnsafeReadableBytes { bytes in
            var offset = 0
            while offset < bytes.count {
                let n = BIO_write(bio, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
                if n <= 0 { return false }
                offset += Int(n)
            }
            return true
        }
    }

    /// Runs the handshake as far as the buffered input allows.
    func doHandshake() -> HandshakeResult {
        guard let ssl, let wbio else { return .complete }
        OpenSSLErrorQueue.clear()
        let before = Int(lpa_BIO_pending(wbio))
        let rc = SSL_do_handshake(ssl)
        if rc == 1 {
            if let required = requiredPeerURI, !Self.peerCertificate(of: ssl, carriesURI: required) {
                return .failed(.handshakeFailed(
                    reasons: ["the peer certificate does not carry the role \(required) in its subject alternative names"],
                    verifyError: "certificate role \(required) missing"))
            }
            // A TLS 1.3 server writes only its session tickets, under the first application key,
            // in the step that completes the handshake.
            if secrets != nil { recordsAfterHandshake = Self.countRecords(in: wbio, from: before) }
            return .complete
        }
        let error = SSL_get_error(ssl, rc)
        switch error {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
            return .wantMore
        default:
            let verify = SSL_get_verify_result(ssl)
            let verifyText: String? = verify == X509_V_OK ? nil : String(cString: X509_verify_cert_error_string(Int(verify)))
            var reasons = OpenSSLErrorQueue.drain()
            if reasons.isEmpty { reasons = [Self.describe(sslError: error)] }
            return .failed(.handshakeFailed(reasons: reasons, verifyError: verifyText))
        }
    }

    /// Whether the peer's leaf certificate (also on a resumed session, which keeps it) has `uri` among
    /// its subject alternative names.
    static func peerCertificate(of ssl: OpaquePointer, carriesURI uri: String) -> Bool {
        guard let peer = SSL_get0_peer_certificate(ssl),
              let names = X509_get_ext_d2i(peer, NID_subject_alt_name, nil, nil)
        else { return false }
        let stack = OpaquePointer(names)
        defer { GENERAL_NAMES_free(stack) }
        let wanted = Array(uri.utf8)
        for index in 0..<OPENSSL_sk_num(stack) {
            guard let raw = OPENSSL_sk_value(stack, index) else { continue }
            let name = raw.assumingMemoryBound(to: GENERAL_NAME.self)
            var type: Int32 = 0
            guard let value = GENERAL_NAME_get0_value(name, &type), type == GEN_URI else { continue }
            let string = UnsafePointer(value.assumingMemoryBound(to: ASN1_STRING.self))
            let length = Int(ASN1_STRING_length(string))
            guard length == wanted.count, let data = ASN1_STRING_get0_data(string) else { continue }
            if Array(UnsafeBufferPointer(start: data, count: length)) == wanted { return true }
        }
        return false
    }

    /// Whether `SSL_read` could make progress: ciphertext waits in the input BIO, or OpenSSL holds
    /// decrypted or unprocessed bytes.
    ///
    /// `SSL_read` (re)allocates OpenSSL's record buffer — about 16 KiB — before it finds the input
    /// empty, and keeps it until the next record is consumed. Calling it only when there is input
    /// lets `SSL_MODE_RELEASE_BUFFERS` keep an idle connection free of that buffer.
    private var hasInput: Bool {
        if let records { return records.hasInput }
        guard let ssl, let rbio else { return false }
        return lpa_BIO_pending(rbio) > 0 || SSL_pending(ssl) > 0
    }

    /// A first capacity for the buffer ``readPlaintext(into:)`` fills: the ciphertext waiting in the
    /// compact record layer bounds the plaintext; OpenSSL's connection sizes its own reads.
    var plaintextCapacityHint: Int { records?.pendingInputBytes ?? 0 }

    /// Decrypts buffered records into `buffer` until no complete record is left.
    func readPlaintext(into buffer: inout ByteBuffer) -> ReadResult {
        if let records { return records.read(into: &buffer) }
        guard let ssl, let rbio, hasInput || SSL_has_pending(ssl) == 1 else { return .wantMore }
        var produced = false
        while true {
            if buffer.writableBytes < 1024 {
                buffer.reserveCapacity(minimumWritableBytes: max(Self.plaintextReadSize(pendingCiphertext: Int(lpa_BIO_pending(rbio))), buffer.capacity))
            }
            OpenSSLErrorQueue.clear()
            var lastReturn: Int32 = 0
            let rc = buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: 1) { ptr -> Int in
                lastReturn = SSL_read(ssl, ptr.baseAddress, Int32(min(ptr.count, Int(Int32.max))))
                return lastReturn > 0 ? Int(lastReturn) : 0
            }
            if rc > 0 {
                produced = true
                if !hasInput { return .data }
                continue
            }
            let error = SSL_get_error(ssl, lastReturn)
            switch error {
            case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE:
                return produced ? .data : .wantMore
            case SSL_ERROR_ZERO_RETURN:
                return .closeNotify
            default:
                var reasons = OpenSSLErrorQueue.drain()
                if reasons.isEmpty { reasons = [Self.describe(sslError: error)] }
                return .failed(.readFailed(reasons: reasons))
            }
        }
    }

    /// Encrypts `buffer` into the output BIO.
    func writePlaintext(_ buffer: ByteBuffer) -> TLSError? {
        guard buffer.readableBytes > 0 else { return nil }
        if let records {
            return buffer.withUnsafeReadableBytes { records.write($0) }
        }
        guard let ssl else { return .closed }
        OpenSSLErrorQueue.clear()
        return buffer.withUnsafeReadableBytes { bytes -> TLSError? in
            var offset = 0
            while offset < bytes.count {
                let n = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
                if n <= 0 {
                    let error = SSL_get_error(ssl, n)
                    var reasons = OpenSSLErrorQueue.drain()
                    if reasons.isEmpty { reasons = [Self.describe(sslError: error)] }
                    return .writeFailed(reasons: reasons)
                }
                offset += Int(n)
            }
            return nil
        }
    }

    /// Queues close_notify in the output BIO.
    func shutdown() {
        if let records {
            records.closeNotify()
            return
        }
        guard let ssl else { return }
        OpenSSLErrorQueue.clear()
        _ = SSL_shutdown(ssl)
        OpenSSLErrorQueue.clear()
    }

    /// Takes everything the output BIO holds.
    func drainCiphertext(allocator: ByteBufferAllocator) -> ByteBuffer? {
        if let records { return records.takeOutput() }
        guard let wbio else { return nil }
        let pending = lpa_BIO_pending(wbio)
        guard pending > 0 else { return nil }
        var buffer = allocator.buffer(capacity: Int(pending))
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: Int(pending)) { ptr in
            let n = BIO_read(wbio, ptr.baseAddress, Int32(pending))
            return n > 0 ? Int(n) : 0
        }
        return buffer
    }

    /// Called once the handshake completed and its last flight was drained: hands a TLS 1.3
    /// server connection over to ``TLS13RecordLayer`` and frees the `SSL` object when possible,
    /// and otherwise returns the memory the handshake left behind. Fails when ciphertext taken
    /// from OpenSSL's input for the hand-over could not be put back.
    func finishHandshake() throws(TLSError) {
        if try handOverToRecordLayer() { return }
        compactBuffers()
    }

    /// Moves a completed TLS 1.3 server connection to ``TLS13RecordLayer``; false (nothing
    /// changed) when the connection does not qualify: another version or suite, secrets not
    /// reported, or OpenSSL still holding data.
    private func handOverToRecordLayer() throws(TLSError) -> Bool {
        guard let ssl, let rbio, let wbio, let secrets else { return false }
        // The handshake is over: the keylog callback has nothing more to report. The slot is
        // cleared before anything below can free `ssl`.
        SSL_set_ex_data(ssl, TrafficSecrets.exDataIndex, nil)
        defer {
            secrets.wipe()
            self.secrets = nil
        }
        guard SSL_version(ssl) == TLS1_3_VERSION,
              let cipher = SSL_get_current_cipher(ssl),
              let suite = TLS13RecordLayer.Suite.named(String(cString: SSL_CIPHER_get_name(cipher))),
              let written = recordsAfterHandshake,
              lpa_BIO_pending(wbio) == 0, SSL_has_pending(ssl) == 0
        else { return false }
        // Ciphertext after the client's Finished: the first records under its application key.
        var pending: ByteBuffer?
        let waiting = Int(lpa_BIO_pending(rbio))
        if waiting > 0 {
            var buffer = ByteBufferAllocator().buffer(capacity: waiting)
            buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: waiting) { p in
                Int(max(0, BIO_read(rbio, p.baseAddress, Int32(waiting))))
            }
            pending = buffer
        }
        let layer = try? secrets.withSecrets { (client, server) throws(TLSRecordFailure) -> TLS13RecordLayer? in
            guard client.count == suite.hashLength, server.count == suite.hashLength else { return nil }
            return try TLS13RecordLayer(
                suite: suite, readSecret: client, writeSecret: server,
                writeSequence: UInt64(written), pendingInput: pending)
        }
        guard let layer else {
            // OpenSSL keeps the connection: what was taken out of its input goes back, or the
            // connection cannot go on.
            if let pending, !Self.write(pending, to: rbio) {
                throw TLSError.readFailed(reasons: ["received ciphertext could not be buffered"] + OpenSSLErrorQueue.drain())
            }
            return false
        }
        records = layer
        SSL_free(ssl)  // frees both BIOs
        self.ssl = nil
        self.rbio = nil
        self.wbio = nil
        return true
    }

    /// Records (5-byte header plus body) in a memory BIO's contents from `offset`; nil when they
    /// do not end exactly at its end.
    private static func countRecords(in bio: OpaquePointer, from offset: Int) -> Int? {
        var contents: UnsafeMutablePointer<CChar>?
        let length = Int(lpac_BIO_get_mem_data(bio, &contents))
        guard let contents, offset <= length else { return offset == length ? 0 : nil }
        var position = offset
        var count = 0
        while position + 5 <= length {
            let body = Int(UInt8(bitPattern: contents[position + 3])) << 8 | Int(UInt8(bitPattern: contents[position + 4]))
            position += 5 + body
            count += 1
        }
        return position == length ? count : nil
    }

    /// Returns the memory the handshake left behind: each memory BIO that holds no data is replaced
    /// by a fresh one (a memory BIO keeps the capacity of the largest flight it ever held), and
    /// OpenSSL's record buffers are freed unless they hold data. Matters with hundreds of
    /// thousands of idle connections.
    private func compactBuffers() {
        guard let ssl, let rbio, let wbio else { return }
        if lpa_BIO_pending(rbio) == 0, let r = BIO_new(BIO_s_mem()) {
            _ = lpa_BIO_set_mem_eof_return(r, -1)
            SSL_set0_rbio(ssl, r)  // frees the old BIO
            self.rbio = r
        }
        if lpa_BIO_pending(wbio) == 0, let w = BIO_new(BIO_s_mem()) {
            _ = lpa_BIO_set_mem_eof_return(w, -1)
            SSL_set0_wbio(ssl, w)
            self.wbio = w
        }
        _ = SSL_free_buffers(ssl)
    }

    /// Room to reserve for decrypting `pendingCiphertext` bytes: the plaintext is never longer
    /// than its ciphertext, so small records get small buffers; at least 1 KiB, at most one
    /// full record.
    static func plaintextReadSize(pendingCiphertext: Int) -> Int {
        min(max(1024, pendingCiphertext), 16 * 1024 + 256)
    }

    /// A new reference to the current session when it can be resumed; the caller owns it.
    func resumableSession() -> OpaquePointer? {
        guard let ssl, let s = SSL_get1_session(ssl) else { return nil }
        if SSL_SESSION_is_resumable(s) == 1 { return s }
        SSL_SESSION_free(s)
        return nil
    }

    /// Identity of the current session, to tell whether a new ticket arrived.
    var currentSessionIdentity: UnsafeRawPointer? {
        guard let ssl else { return nil }
        return SSL_get_session(ssl).map { UnsafeRawPointer($0) }
    }

    /// Details of the completed handshake.
    ///
    /// - Precondition: called before ``finishHandshake()``.
    func handshakeDetails() -> TLSHandshakeCompleted {
        guard let ssl else { preconditionFailure("handshake details are read before the hand-over") }
        let version = String(cString: SSL_get_version(ssl))
        let cipher = SSL_get_current_cipher(ssl).map { String(cString: SSL_CIPHER_get_name($0)) } ?? "unknown"
        let group = lpa_SSL_get_group_name(ssl).map { String(cString: $0) }
        let resumed = SSL_session_reused(ssl) == 1
        var subject: [TLSSubjectAttribute] = []
        var der: [UInt8]?
        if let peer = SSL_get0_peer_certificate(ssl) {
            subject = Self.subjectAttributes(of: peer)
            let length = i2d_X509(peer, nil)
            if length > 0 {
                var bytes = [UInt8](repeating: 0, count: Int(length))
                bytes.withUnsafeMutableBufferPointer { buf in
                    var p: UnsafeMutablePointer<UInt8>? = buf.baseAddress
                    _ = i2d_X509(peer, &p)
                }
                der = bytes
            }
        }
        var serverName: String?
        if role == .server, let name = SSL_get_servername(ssl, TLSEXT_NAMETYPE_host_name) {
            serverName = String(cString: name)
        }
        return TLSHandshakeCompleted(
            protocolVersion: version, cipherSuite: cipher, group: group, resumed: resumed,
            peerSubject: subject, peerCertificateDER: der, serverName: serverName)
    }

    static func subjectAttributes(of certificate: OpaquePointer) -> [TLSSubjectAttribute] {
        guard let name = X509_get_subject_name(certificate) else { return [] }
        var result: [TLSSubjectAttribute] = []
        let count = X509_NAME_entry_count(name)
        for i in 0..<count {
            guard let entry = X509_NAME_get_entry(name, i),
                  let object = X509_NAME_ENTRY_get_object(entry),
                  let data = X509_NAME_ENTRY_get_data(entry)
            else { continue }
            let nid = OBJ_obj2nid(object)
            var key: String
            if nid != NID_undef, let sn = OBJ_nid2sn(nid) {
                key = String(cString: sn)
            } else {
                var buf = [CChar](repeating: 0, count: 80)
                OBJ_obj2txt(&buf, Int32(buf.count), object, 1)
                key = buf.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            }
            var utf8: UnsafeMutablePointer<UInt8>?
            let n = ASN1_STRING_to_UTF8(&utf8, data)
            guard n >= 0, let utf8 else { continue }
            let value = String(decoding: UnsafeBufferPointer(start: utf8, count: Int(n)), as: UTF8.self)
            CRYPTO_free(utf8, #fileID, #line)
            result.append(TLSSubjectAttribute(name: key, value: value))
        }
        return result
    }

    static func describe(sslError: Int32) -> String {
        switch sslError {
        case SSL_ERROR_SYSCALL: return "unexpected end of input"
        case SSL_ERROR_SSL: return "protocol error"
        case SSL_ERROR_ZERO_RETURN: return "peer closed the TLS session"
        default: return "SSL error \(sslError)"
        }
    }
}
