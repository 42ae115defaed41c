import COpenSSL

/// An OpenSSL `SSL_CTX` built from a ``TLSConfiguration``: credentials loaded, verification and
/// algorithms set. Immutable after `init`; safe to share across event loops, since OpenSSL allows
/// concurrent `SSL_new` from one context. Create one per configuration and reuse it for every
/// connection — that is what makes session resumption and low per-connection memory possible.
public final class TLSContext: @unchecked Sendable {
    public let configuration: TLSConfiguration
    let ctx: OpaquePointer

    public init(configuration: TLSConfiguration) throws {
        self.configuration = configuration
        OpenSSLErrorQueue.clear()
        let method = configuration.role == .server ? TLS_server_method() : TLS_client_method()
        guard let ctx = SSL_CTX_new(method) else {
            throw TLSError.invalidConfiguration("SSL_CTX_new failed: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
        }
        self.ctx = ctx
        // A throw from here on runs deinit, which frees the context.
        try Self.apply(configuration, to: ctx)
    }

    deinit {
        if let raw = SSL_CTX_get_ex_data(ctx, TLSTicketKeys.exDataIndex) {
            Unmanaged<TLSTicketKeys>.fromOpaque(raw).release()
        }
        SSL_CTX_free(ctx)
    }

    private static func versionConstant(_ v: TLSConfiguration.ProtocolVersion) -> Int32 {
        switch v {
        case .tls12: return TLS1_2_VERSION
        case .tls13: return TLS1_3_VERSION
        }
    }

    private static func apply(_ c: TLSConfiguration, to ctx: OpaquePointer) throws {
        guard c.minimumVersion <= c.maximumVersion else {
            throw TLSError.invalidConfiguration(
                "minimum version \(c.minimumVersion.rawValue) is above maximum \(c.maximumVersion.rawValue)")
        }
        guard lpa_SSL_CTX_set_min_proto_version(ctx, versionConstant(c.minimumVersion)) == 1,
              lpa_SSL_CTX_set_max_proto_version(ctx, versionConstant(c.maximumVersion)) == 1
        else {
            throw TLSError.invalidConfiguration("protocol versions rejected: \(OpenSSLErrorQueue.drain())")
        }
        var options = lpa_SSL_OP_NO_COMPRESSION() | lpa_SSL_OP_NO_RENEGOTIATION() | lpa_SSL_OP_CIPHER_SERVER_PREFERENCE()
        if !c.sessionResumption { options |= lpa_SSL_OP_NO_TICKET() }
        _ = lpa_SSL_CTX_set_options(ctx, options)

        // The configured chain is sent as given: no automatic chain building from the trust store,
        // which would add the root to every handshake (bytes that matter on NB-IoT links).
        var mode = Int(SSL_MODE_AUTO_RETRY) | Int(SSL_MODE_NO_AUTO_CHAIN)
        if c.releaseBuffersWhenIdle { mode |= Int(SSL_MODE_RELEASE_BUFFERS) }
        _ = lpa_SSL_CTX_set_mode(ctx, mode)

        if c.maximumVersion >= .tls12, c.minimumVersion <= .tls12 {
            guard SSL_CTX_set_cipher_list(ctx, c.cipherList) == 1 else {
                throw TLSError.invalidConfiguration(
                    "cipher list '\(c.cipherList)' rejected: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
            }
        }
        guard SSL_CTX_set_ciphersuites(ctx, c.cipherSuites) == 1 else {
            throw TLSError.invalidConfiguration(
                "TLS 1.3 cipher suites '\(c.cipherSuites)' rejected: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
        }
        guard lpa_SSL_CTX_set1_groups_list(ctx, c.groups) == 1 else {
            throw TLSError.invalidConfiguration(
                "groups '\(c.groups)' rejected: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
        }

        try loadCredentials(c, into: ctx)
        try configureVerification(c, ctx: ctx)

        switch c.role {
        case .server:
            let sidContext = Array(c.sessionContext.utf8.prefix(Int(SSL_MAX_SID_CTX_LENGTH)))
            _ = sidContext.withUnsafeBufferPointer {
                SSL_CTX_set_session_id_context(ctx, $0.baseAddress, UInt32($0.count))
            }
            // Stateless tickets carry the session; no per-session memory is kept on the server.
            _ = lpa_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
            _ = lpa_SSL_CTX_set_num_tickets(ctx, c.sessionResumption ? max(0, c.ticketsPerHandshake) : 0)
            if c.sessionResumption, let keys = c.ticketKeys {
                // Retained here, released in deinit; the callback finds it through the context.
                SSL_CTX_set_ex_data(ctx, TLSTicketKeys.exDataIndex, Unmanaged.passRetained(keys).toOpaque())
                guard SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, TLSTicketKeys.callback) == 1 else {
                    throw TLSError.invalidConfiguration("session-ticket keys rejected: \(OpenSSLErrorQueue.drain().joined(separator: "; "))")
                }
                _ = SSL_CTX_set_timeout(ctx, keys.ticketLifetimeSeconds)
            }
            // The traffic secrets reach only the connection that hands itself to TLS13RecordLayer.
            if c.compactSessions { SSL_CTX_set_keylog_callback(ctx, TrafficSecrets.keyLogCallback) }
        case .client:
            // Sessions are stored by TLSClientSessionCache, keyed by peer; OpenSSL's own cache stays off.
            _ = lpa_SSL_CTX_set_session_cache_mode(ctx, Int(SSL_SESS_CACHE_OFF))
        }
        OpenSSLErrorQueue.clear()
    }

    private static func loadCredentials(_ c: TLSConfiguration, into ctx: OpaquePointer) throws {
        switch (c.certificateChain, c.privateKey) {
        case (nil, nil):
            if c.role == .server {
                throw TLSError.invalidConfiguration("a server needs a certificate chain and a private key")
            }
        case (.some, nil), (nil, .some):
            throw TLSError.invalidConfiguration("certificate chain and private key must be given together")
        case (.some(let chainSource), .some(let keySource)):
            let chain = try PEMLoader.certificates(from: chainSource, what: "certificate chain")
            defer { chain.forEach { X509_free($0) } }
            guard let leaf = chain.first else {
                throw TLSError.credentialLoadFailed(what: "certificate chain", reasons: ["no certificate found"])
            }
            guard SSL_CTX_use_certificate(ctx, leaf) == 1 else {
                throw TLSError.credentialLoadFailed(what: "certificate", reasons: OpenSSLErrorQueue.drain())
            }
            for extra in chain.dropFirst() {
                guard lpa_SSL_CTX_add1_chain_cert(ctx, extra) == 1 else {
                    throw TLSError.credentialLoadFailed(what: "intermediate certificate", reasons: OpenSSLErrorQueue.drain())
                }
            }
            let key = try PEMLoader.privateKey(from: keySource)
            defer { EVP_PKEY_free(key) }
            guard SSL_CTX_use_PrivateKey(ctx, key) == 1, SSL_CTX_check_private_key(ctx) == 1 else {
                throw TLSError.credentialLoadFailed(
                    what: "private key", reasons: ["key does not match the certificate"] + OpenSSLErrorQueue.drain())
            }
        }
    }

    private static func configureVerification(_ c: TLSConfiguration, ctx: OpaquePointer) throws {
        if let roots = c.trustRoots {
            let certificates = try PEMLoader.certificates(from: roots, what: "trust roots")
            defer { certificates.forEach { X509_free($0) } }
            guard !certificates.isEmpty else {
                throw TLSError.credentialLoadFailed(what: "trust roots", reasons: ["no certificate found"])
            }
            let store = SSL_CTX_get_cert_store(ctx)
            for cert in certificates where X509_STORE_add_cert(store, cert) != 1 {
                throw TLSError.credentialLoadFailed(what: "trust roots", reasons: OpenSSLErrorQueue.drain())
            }
        }
        var mode: Int32
        switch (c.role, c.peerVerification) {
        case (_, .none):
            mode = SSL_VERIFY_NONE
        case (.server, .optional):
            mode = SSL_VERIFY_PEER
        case (.server, .required):
            mode = SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT
        case (.client, .optional), (.client, .required):
            mode = SSL_VERIFY_PEER
        }
        if mode != SSL_VERIFY_NONE, c.trustRoots == nil {
            throw TLSError.invalidConfiguration("peer verification '\(c.peerVerification.rawValue)' needs trust roots")
        }
        SSL_CTX_set_verify(ctx, mode, nil)
        SSL_CTX_set_verify_depth(ctx, Int32(c.verifyDepth))
    }
}

/// Reads PEM certificates and keys into OpenSSL objects. Callers own the returned pointers.
enum PEMLoader {
    private static func withBIO<T>(_ source: TLSConfiguration.PEMSource, what: String, _ body: (OpaquePointer) throws -> T) throws -> T {
        let bio: OpaquePointer?
        switch source {
        case .file(let path):
            bio = BIO_new_file(path, "r")
            if bio == nil {
                OpenSSLErrorQueue.clear()
                throw TLSError.credentialLoadFailed(what: "\(what) (\(path))", reasons: ["cannot open file"])
            }
        case .pem(let text):
            let bytes = Array(text.utf8)
            bio = BIO_new(BIO_s_mem())
            if let bio, !bytes.isEmpty {
                let written = bytes.withUnsafeBytes { BIO_write(bio, $0.baseAddress, Int32(clamping: $0.count)) }
                guard written == bytes.count else {
                    BIO_free(bio)
                    throw TLSError.credentialLoadFailed(what: what, reasons: ["PEM text could not be buffered"] + OpenSSLErrorQueue.drain())
                }
            }
        }
        guard let bio else {
            throw TLSError.credentialLoadFailed(what: what, reasons: OpenSSLErrorQueue.drain())
        }
        defer { BIO_free(bio) }
        return try body(bio)
    }

    static func certificates(from source: TLSConfiguration.PEMSource, what: String) throws -> [OpaquePointer] {
        try withBIO(source, what: what) { bio in
            var result: [OpaquePointer] = []
            OpenSSLErrorQueue.clear()
            while let cert = PEM_read_bio_X509(bio, nil, nil, nil) {
                result.append(cert)
            }
            // Reaching the end of the input leaves PEM_R_NO_START_LINE as the last error; anything else is real.
            let last = ERR_peek_last_error()
            let reachedEnd = ERR_GET_LIB(last) == ERR_LIB_PEM && ERR_GET_REASON(last) == PEM_R_NO_START_LINE
            let reasons = reachedEnd ? [] : OpenSSLErrorQueue.drain()
            OpenSSLErrorQueue.clear()
            if !reasons.isEmpty {
                result.forEach { X509_free($0) }
                throw TLSError.credentialLoadFailed(what: what, reasons: reasons)
            }
            return result
        }
    }

    static func privateKey(from source: TLSConfiguration.PEMSource) throws -> OpaquePointer {
        try withBIO(source, what: "private key") { bio in
            guard let key = PEM_read_bio_PrivateKey(bio, nil, nil, nil) else {
                throw TLSError.credentialLoadFailed(what: "private key", reasons: OpenSSLErrorQueue.drain())
            }
            return key
        }
    }
}
