import COpenSSL
import Foundation

/// Verifies certificate paths against a fixed set of trust roots with OpenSSL's path validation
/// (`X509_STORE` / `X509_verify_cert`, RFC 5280): signatures, validity at a chosen time, CA flags, path
/// lengths, name constraints and, optionally, the TLS purpose.
///
/// GSMA RSP certificates bind EIDs to their EUM with a name constraint that RFC 5280 matching rejects
/// (`serialNumber` holds a prefix of the EID, not a whole RDN); verify them with `directoryNameMatching: .sgp22`.
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

    /// How permitted `directoryName` subtrees of name constraints are matched against subject names.
    public enum DirectoryNameMatching: Sendable, Hashable {
        /// RFC 5280 §7.1, as OpenSSL implements it: the permitted name must be a prefix of the subject's RDNs.
        case rfc5280
        /// GSMA SGP.22 §4.5.2.2 (`NameConstraints.permitsSGP22`): each attribute of the permitted name must be in
        /// the subject, `serialNumber` as a prefix — an eUICC's EID must begin with its EUM's IIN. OpenSSL's
        /// permitted-subtree verdict is set aside for certificates without subject alternative names (whose
        /// only constrained name is the subject) and this rule is applied instead; excluded subtrees and
        /// certificates with alternative names keep OpenSSL's checks.
        case sgp22
    }

    /// The owned `X509_STORE *`.
    private let store: OpaquePointer

    /// The trust roots, as given.
    public let trustRoots: [Certificate]

    /// How directory-name constraints are matched.
    public let directoryNameMatching: DirectoryNameMatching

    /// A verifier that trusts exactly `trustRoots` (an empty list trusts nothing).
    public init(trustRoots: [Certificate], directoryNameMatching: DirectoryNameMatching = .rfc5280) throws(CryptoError) {
        guard let store = X509_STORE_new() else {
            throw .openSSL(.internalFailure, "allocating a certificate store")
        }
        if directoryNameMatching == .sgp22 {
            X509_STORE_set_verify_cb(store, setAsideSubjectOnlyPermittedViolation)
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
        self.directoryNameMatching = directoryNameMatching
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
        if directoryNameMatching == .sgp22 {
            try Self.checkSGP22DirectoryNames(path)
        }
        return path
    }

    /// Applies `NameConstraints.permitsSGP22` to every certificate of `path` (leaf first) below each CA that
    /// has permitted directory names; self-issued intermediates are exempt (RFC 5280 §6.1.3).
    private static func checkSGP22DirectoryNames(_ path: [Certificate]) throws(CertificateVerificationError) {
        for (depth, certificate) in path.enumerated() {
            let subject = certificate.subject
            guard !subject.attributes.isEmpty, depth == 0 || subject != certificate.issuer else { continue }
            for authority in path[(depth + 1)...] {
                guard let constraints = authority.nameConstraints, !constraints.permitsSGP22(subject) else { continue }
                let permitted = constraints.permittedDirectoryNames.map { "\"\($0)\"" }.joined(separator: " or ")
                throw CertificateVerificationError(
                    reason: .nameConstraintViolation,
                    openSSLCode: X509_V_ERR_PERMITTED_VIOLATION,
                    message: "subject is outside the names \(authority.subject) may certify: by SGP.22 it must hold "
                        + "every attribute of \(permitted), with serialNumber (the EID) beginning with the given digits",
                    depth: depth,
                    subject: subject
                )
            }
        }
    }
}

/// The verify callback of `.sgp22` verifiers: accepts OpenSSL's "permitted subtree violation" for a certificate
/// without subject alternative names, whose subject is then checked by `checkSGP22DirectoryNames`; every other
/// verdict is kept.
private func setAsideSubjectOnlyPermittedViolation(_ ok: Int32, _ context: OpaquePointer?) -> Int32 {
    guard ok == 0, let context, X509_STORE_CTX_get_error(context) == X509_V_ERR_PERMITTED_VIOLATION,
          let certificate = X509_STORE_CTX_get_current_cert(context),
          X509_get_ext_by_NID(certificate, NID_subject_alt_name, -1) < 0
    else { return ok }
    return 1
}

/// `X509_free` with the signature `OPENSSL_sk_pop_free` expects.
private func freeX509(_ pointer: UnsafeMutableRawPointer?) {
    X509_free(pointer.map(OpaquePointer.init))
}
