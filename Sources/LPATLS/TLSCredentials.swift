import COpenSSL

/// A certificate chain and private key loaded once and presented by individual connections,
/// independent of the ``TLSContext`` they share. A client simulating many devices keeps one
/// context and one `TLSCredentials` per device. Immutable; thread-safe.
public final class TLSCredentials: @unchecked Sendable {
    let chain: [OpaquePointer]
    let key: OpaquePointer

    public init(certificateChain: TLSConfiguration.PEMSource, privateKey: TLSConfiguration.PEMSource) throws {
        let chain = try PEMLoader.certificates(from: certificateChain, what: "certificate chain")
        guard !chain.isEmpty else {
            throw TLSError.credentialLoadFailed(what: "certificate chain", reasons: ["no certificate found"])
        }
        let key: OpaquePointer
        do {
            key = try PEMLoader.privateKey(from: privateKey)
        } catch {
            chain.forEach { X509_free($0) }
            throw error
        }
        guard X509_check_private_key(chain[0], key) == 1 else {
            chain.forEach { X509_free($0) }
            EVP_PKEY_free(key)
            OpenSSLErrorQueue.clear()
            throw TLSError.credentialLoadFailed(what: "private key", reasons: ["key does not match the certificate"])
        }
        self.chain = chain
        self.key = key
    }

    deinit {
        chain.forEach { X509_free($0) }
        EVP_PKEY_free(key)
    }

    /// Installs the chain and key on one connection.
    func apply(to ssl: OpaquePointer) throws {
        OpenSSLErrorQueue.clear()
        guard SSL_use_certificate(ssl, chain[0]) == 1, SSL_use_PrivateKey(ssl, key) == 1 else {
            throw TLSError.credentialLoadFailed(what: "connection credentials", reasons: OpenSSLErrorQueue.drain())
        }
        for extra in chain.dropFirst() where lpa_SSL_add1_chain_cert(ssl, extra) != 1 {
            throw TLSError.credentialLoadFailed(what: "intermediate certificate", reasons: OpenSSLErrorQueue.drain())
        }
    }
}
