import COpenSSL
import Foundation

/// Verifies certificate paths against a fixed set of trust roots with OpenSSL's path validation
/// (`X509_STORE` / `X509_verify_cert`, RFC 5280): signatures, validity at a chosen time, CA flags, path
/// lengths, name constraints and, optionally, the TLS purpose.
///
/// Build one per set of roots and reuse it: the store is read-only after `init`, and `verify` is safe to call
/// from many threads at once (each call uses its own `X509_STORE_CTX`).
public final class CertificateVerifier: @unchecked Sendable {
    /// What the leaf certificate must be good for.
    public enum Purpose: Sendable, Hashable {
        /// No purpose check.
        case any
        /// A TLS server certificate (extended key usage `serverAuth` if the extension is present).
        case tlsServer
        /// A TLS client certificate (extended key usage `clientAuth` if the extension is present).
        case tlsClient

        var openSSLPurpose: Int32? {
            switch self {
            case .any: nil
            case .tlsServer: X509_PURPOSE_SSL_SERVER
            case .tlsClient: X509_PURPOSE_SSL_CLIENT
            }
        }
    }

    /// The owned `X509_STORE *`.
    private let store: OpaquePointer

    /// The trust roots, as given.
    public let trustRoots: [Certificate]

    /// A verifier that trusts exactly `trustRoots` (an empty list trusts nothing).
    public init(trustRoots: [Certificate]) throws(CryptoError) {
        guard let store = X509_STORE_new() else {
            throw .openSSL(.internalFailure, "allocating a certificate store")
        }
        for root in trustRoots {
            let x509: OpaquePointer
            do throws(CryptoError) {
                x509 = try root.verifiableX509()
            } catch {
                X509_STORE_free(store)
                throw error
            }
            let added = X509_STORE_add_cert(store, x509) == 1
            X509_free(x509)
            guard added else {
                X509_STORE_free(store)
                throw .openSSL(.invalidInput, "adding trust root \(root.subject)")
            }
        }
        self.store = store
        self.trustRoots = trustRoots
    }

    deinit {
        X509_STORE_free(store)
    }

    /// Builds and checks a path from `leaf` through `intermediates` (any order; unused ones are ignored) to one
    /// of the trust roots, as of `time`.
    ///
    /// - Returns: the verified path, leaf first, trust root last.
    /// - Throws: `CertificateVerificationError` naming OpenSSL's reason (expired, unknown issuer, …), the depth
    ///   and the subject of the certificate that failed.
    @discardableResult
    public func verify(
        _ leaf: Certificate,
        intermediates: [Certificate] = [],
        at time: Date = Date(),
        purpose: Purpose = .any
    ) throws(CertificateVerificationError) -> [Certificate] {
        guard let context = X509_STORE_CTX_new() else {
            throw .internalFailure("allocating a verification context", OpenSSLErrorQueue.drain())
        }
        defer { X509_STORE_CTX_free(context) }
        guard let untrusted = OPENSSL_sk_new_null() else {
            throw .internalFailure("allocating the intermediate list", OpenSSLErrorQueue.drain())
        }
        defer { OPENSSL_sk_pop_free(untrusted, freeX509) }
        for certificate in intermediates {
            guard let x509 = try? certificate.verifiableX509() else {
                throw .internalFailure("preparing intermediate \(certificate.subject)", OpenSSLErrorQueue.drain())
            }
            guard OPENSSL_sk_push(untrusted, UnsafeRawPointer(x509)) > 0 else {
                X509_free(x509)
                throw .internalFailure("listing intermediates", OpenSSLErrorQueue.drain())
            }
        }
        guard let leafX509 = try? leaf.verifiableX509() else {
            throw .internalFailure("preparing certificate \(leaf.subject)", OpenSSLErrorQueue.drain())
        }
        defer { X509_free(leafX509) }
        guard X509_STORE_CTX_init(context, store, leafX509, untrusted) == 1 else {
            throw .internalFailure("initialising a verification context", OpenSSLErrorQueue.drain())
        }
        X509_STORE_CTX_set_time(context, 0, time_t(time.timeIntervalSince1970.rounded(.down)))
        if let openSSLPurpose = purpose.openSSLPurpose, X509_STORE_CTX_set_purpose(context, openSSLPurpose) != 1 {
            throw .internalFailure("setting the verification purpose", OpenSSLErrorQueue.drain())
        }
        let result = X509_verify_cert(context)
        guard result == 1 else {
            OpenSSLErrorQueue.clear()
            let code = X509_STORE_CTX_get_error(context)
            let failing = X509_STORE_CTX_get_current_cert(context).map { DistinguishedName(x509Name: X509_get_subject_name($0)) }
            throw CertificateVerificationError(
                reason: .init(openSSLCode: code),
                openSSLCode: code,
                message: String(cString: X509_verify_cert_error_string(Int(code))),
                depth: Int(X509_STORE_CTX_get_error_depth(context)),
                subject: failing
            )
        }
        guard let chain = X509_STORE_CTX_get1_chain(context) else { return [leaf] }
        defer { OPENSSL_sk_pop_free(chain, freeX509) }
        var path: [Certificate] = []
        for index in 0..<OPENSSL_sk_num(chain) {
            guard let raw = OPENSSL_sk_value(chain, index) else { continue }
            let x509 = OpaquePointer(raw)
            guard X509_up_ref(x509) == 1, let certificate = try? Certificate(owning: x509) else {
                throw .internalFailure("collecting the verified path", OpenSSLErrorQueue.drain())
            }
            path.append(certificate)
        }
        return path
    }
}

/// `X509_free` with the signature `OPENSSL_sk_pop_free` expects.
private func freeX509(_ pointer: UnsafeMutableRawPointer?) {
    X509_free(pointer.map(OpaquePointer.init))
}
