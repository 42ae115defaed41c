import Foundation
import LPACrypto
import LPAIdentity

extension VirtualEUICC {
    /// Who the virtual eUICC is: its certificate and private key (CERT.EUICC.ECDSA / SK.EUICC.ECDSA), the EUM
    /// certificate that issued it, and the CI certificates it trusts (SGP.22 §4.5.2). The EID is the eUICC
    /// certificate's subject serialNumber.
    ///
    /// Build one from an `RSPTestPKI` (`init(pki:eid:)` mints a fresh eUICC, `init(pki:)` takes the set's own)
    /// or from PEM files (`init(certificatePEM:privateKeyPEM:eumCertificatePEM:ciCertificatePEMs:)`), for
    /// example those of an external SM-DP+'s test PKI. Immutable and safe to share.
    public struct Identity: Sendable {
        public let euiccCertificate: Certificate
        public let privateKey: PrivateKey
        public let eumCertificate: Certificate
        /// The trusted CIs, in the order their key identifiers are reported in EUICCInfo1/2.
        public let ciCertificates: [Certificate]
        /// The 32 EID digits.
        public let eid: String

        /// Checks the parts belong together: the key is the certificate's, the certificate's subject carries
        /// a valid EID, every CI has a subject key identifier, and the eUICC certificate chains through the
        /// EUM to one of the CIs.
        public init(
            euiccCertificate: Certificate, privateKey: PrivateKey, eumCertificate: Certificate, ciCertificates: [Certificate]
        ) throws(IdentityFailure) {
            guard privateKey.publicKey == euiccCertificate.publicKey else {
                throw .invalid("the private key is not the key of the eUICC certificate")
            }
            guard let serial = euiccCertificate.subject.value(for: .serialNumber) else {
                throw .invalid("the eUICC certificate subject has no serialNumber (EID)")
            }
            do throws(IdentityError) {
                eid = try EID(serial).value
            } catch {
                throw .invalid("the eUICC certificate subject serialNumber is not an EID: \(error)")
            }
            guard !ciCertificates.isEmpty, ciCertificates.allSatisfy({ $0.subjectKeyIdentifier != nil }) else {
                throw .invalid("at least one CI certificate, each with a subject key identifier, is needed")
            }
            do {
                let verifier = try CertificateVerifier(trustRoots: ciCertificates, directoryNameMatching: .sgp22)
                try verifier.verify(euiccCertificate, intermediates: [eumCertificate])
            } catch {
                throw .invalid("the eUICC certificate does not chain through the EUM to a trusted CI: \(error)")
            }
            self.euiccCertificate = euiccCertificate
            self.privateKey = privateKey
            self.eumCertificate = eumCertificate
            self.ciCertificates = ciCertificates
        }

        /// The eUICC of a test PKI set (`pki.euicc`), trusting the set's CI.
        public init(pki: RSPTestPKI) throws(IdentityFailure) {
            guard let euicc = pki.euicc else { throw .invalid("the RSP test PKI has no eUICC credential") }
            try self.init(
                euiccCertificate: euicc.certificate, privateKey: euicc.privateKey,
                eumCertificate: pki.eum.certificate, ciCertificates: [pki.ci.certificate]
            )
        }

        /// A freshly minted eUICC for `eid` under the test PKI's EUM, trusting the set's CI.
        public init(pki: RSPTestPKI, eid: EID) throws(IdentityFailure) {
            let credential: RSPTestPKI.Credential
            do throws(TestPKIError) {
                credential = try pki.makeEUICC(eid: eid)
            } catch {
                throw .invalid("minting the eUICC of \(eid): \(error)")
            }
            try self.init(
                euiccCertificate: credential.certificate, privateKey: credential.privateKey,
                eumCertificate: pki.eum.certificate, ciCertificates: [pki.ci.certificate]
            )
        }

        /// An identity from PEM text: the eUICC certificate, its private key (PKCS#8 or SEC1), the EUM
        /// certificate and one or more CI certificates.
        public init(
            certificatePEM: String, privateKeyPEM: String, eumCertificatePEM: String, ciCertificatePEMs: [String]
        ) throws(IdentityFailure) {
            let certificate: Certificate, key: PrivateKey, eum: Certificate, cis: [Certificate]
            do throws(CryptoError) {
                certificate = try Certificate(pem: certificatePEM)
                key = try PrivateKey(pem: privateKeyPEM)
                eum = try Certificate(pem: eumCertificatePEM)
                cis = try ciCertificatePEMs.map { (text) throws(CryptoError) in try Certificate(pem: text) }
            } catch {
                throw .invalid("reading PEM: \(error)")
            }
            try self.init(euiccCertificate: certificate, privateKey: key, eumCertificate: eum, ciCertificates: cis)
        }

        /// An identity from PEM files (see `init(certificatePEM:privateKeyPEM:eumCertificatePEM:ciCertificatePEMs:)`).
        public init(certificateFile: URL, privateKeyFile: URL, eumCertificateFile: URL, ciCertificateFiles: [URL]) throws(IdentityFailure) {
            func read(_ url: URL) throws(IdentityFailure) -> String {
                guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
                    throw .invalid("cannot read \(url.path)")
                }
                return text
            }
            try self.init(
                certificatePEM: read(certificateFile), privateKeyPEM: read(privateKeyFile),
                eumCertificatePEM: read(eumCertificateFile),
                ciCertificatePEMs: ciCertificateFiles.map { (url) throws(IdentityFailure) in try read(url) }
            )
        }

        /// The subject key identifiers of the trusted CIs (`euiccCiPKIdListForVerification` / `ForSigning`).
        public var ciKeyIdentifiers: [[UInt8]] { ciCertificates.compactMap(\.subjectKeyIdentifier) }
    }

    /// Why an `Identity` could not be assembled.
    public enum IdentityFailure: Error, Sendable, Hashable, CustomStringConvertible {
        case invalid(String)

        public var description: String {
            switch self {
            case .invalid(let reason): return "virtual eUICC identity: \(reason)"
            }
        }
    }
}
