import Foundation
import LPACrypto
import LPAIdentity

/// A GSMA RSP test PKI (SGP.22 v2 §4.5 certificate hierarchy) in memory, for a simulated SM-DP+ and virtual
/// eUICCs:
///
/// ```
/// CI (self-signed, id-rspRole-ci)
/// ├── EUM (id-rspRole-eum, CA pathLen 0, name constraint O = EUM, serialNumber = IIN)
/// │   └── eUICC (id-rspRole-euicc, subject serialNumber = EID), minted on demand by `makeEUICC(eid:)`
/// ├── SM-DP+ DPauth (id-rspRole-dp-auth)
/// ├── SM-DP+ DPpb (id-rspRole-dp-pb)
/// └── SM-DP+ DPtls (id-rspRole-dp-tls, TLS server for the SM-DP+ address)
/// ```
///
/// Profiles follow SGP.22 and the SGP.26 test certificates: every certificate has a subject key identifier and
/// all but the CI an authority key identifier; policies are critical (except on the TLS certificate, as in
/// SGP.26, so that generic TLS stacks accept it); key usage is critical. Serial numbers are random, positive,
/// 16 bytes; signatures are ECDSA-with-SHA256 on one curve for the whole PKI. The CI is valid for 30 years,
/// the other certificates for `Parameters.validityYears`; eUICC certificates end with their EUM.
///
/// The EUM's name constraint holds the SGP.22 convention (`serialNumber` = the IIN, a prefix of every EID it
/// certifies), which RFC 5280 matching rejects: verify eUICC paths with a
/// `CertificateVerifier(trustRoots:directoryNameMatching: .sgp22)` (`makeVerifier()`).
///
/// `write(to:)` and `load(from:)` store the set as PEM files named as in the GSMA SGP.26 test set (see
/// `RSPTestPKI.FileName`). Immutable and safe to share between threads.
public struct RSPTestPKI: Sendable {
    /// A certificate and its private key.
    public struct Credential: Sendable {
        public let certificate: Certificate
        public let privateKey: PrivateKey

        public init(certificate: Certificate, privateKey: PrivateKey) {
            self.certificate = certificate
            self.privateKey = privateKey
        }
    }

    /// What `create` makes.
    public struct Parameters: Sendable, Hashable {
        /// The curve of every key: `.p256` (SGP.22 "NIST") or `.brainpoolP256r1` ("BRP").
        public var curve: EllipticCurve = .p256
        /// The organisation (O) of the CI.
        public var ciOrganization = "ServerLPA RSP Test"
        /// The EUM's organisation: O of the EUM, of its name constraint and of every eUICC subject.
        public var eumOrganization = "ServerLPA Test EUM"
        /// The EUM's IIN or EIN: every EID it certifies begins with it (2 to 30 digits, starting with `89`).
        public var eumIIN = "89049032"
        /// The organisation (O) of the SM-DP+ certificates.
        public var smdpOrganization = "ServerLPA Test SM-DP+"
        /// The SM-DP+ address: CN and DNS subject alternative name of the TLS certificate.
        public var smdpAddress = "smdp.test"
        /// IP addresses in the TLS certificate's subject alternative names.
        public var smdpIPAddresses = ["127.0.0.1"]
        /// Lifetime of every certificate but the CI, in years (at least 1).
        public var validityYears = 10
        /// The EID of the eUICC identity included in the set; `nil` takes `eumIIN` followed by index 1.
        public var euiccEID: EID?

        public init() {}
    }

    /// Lifetime of the CI certificate, in years.
    public static let ciValidityYears = 30

    /// The curve of every key in the set.
    public let curve: EllipticCurve
    /// The Certificate Issuer (root).
    public let ci: Credential
    /// The eUICC Manufacturer.
    public let eum: Credential
    /// The SM-DP+ authentication certificate (CERT.DPauth.ECDSA).
    public let dpAuth: Credential
    /// The SM-DP+ profile binding certificate (CERT.DPpb.ECDSA).
    public let dpPb: Credential
    /// The SM-DP+ TLS server certificate (CERT.DP.TLS).
    public let dpTLS: Credential
    /// The eUICC identity of the set (CERT.EUICC.ECDSA), if it has one; `create` always makes one.
    public let euicc: Credential?
    /// The EUM organisation that eUICC subjects carry.
    public let eumOrganization: String
    /// The prefix every EID certified by the EUM begins with.
    public let eumIIN: String

    /// The CI's subject key identifier: the value that identifies this PKI in `euiccCiPKIdListForVerification`,
    /// `euiccCiPKIdListForSigning` and `euiccCiPKIdToBeUsed`.
    public var ciSubjectKeyIdentifier: [UInt8] { ci.certificate.subjectKeyIdentifier ?? [] }

    /// The chain an eUICC presents after its own certificate (the EUM certificate).
    public var eumCertificate: Certificate { eum.certificate }

    /// Assembles a PKI from existing parts; `load(from:)` and `create(_:)` check them, this does not.
    public init(
        curve: EllipticCurve, ci: Credential, eum: Credential, dpAuth: Credential, dpPb: Credential,
        dpTLS: Credential, euicc: Credential?, eumOrganization: String, eumIIN: String
    ) {
        self.curve = curve
        self.ci = ci
        self.eum = eum
        self.dpAuth = dpAuth
        self.dpPb = dpPb
        self.dpTLS = dpTLS
        self.euicc = euicc
        self.eumOrganization = eumOrganization
        self.eumIIN = eumIIN
    }

    /// A verifier trusting this PKI's CI, matching the EUM's name constraint by the SGP.22 rule.
    public func makeVerifier() throws(CryptoError) -> CertificateVerifier {
        try CertificateVerifier(trustRoots: [ci.certificate], directoryNameMatching: .sgp22)
    }

    // MARK: - Creating

    /// Creates a new PKI: fresh keys for the CI, EUM, three SM-DP+ certificates and one eUICC.
    ///
    /// - Throws: `TestPKIError.invalidParameter` naming a parameter that cannot be used,
    ///   `eidOutsideEUM` when `euiccEID` does not begin with `eumIIN`, `crypto` when OpenSSL fails.
    public static func create(_ parameters: Parameters = Parameters()) throws(TestPKIError) -> RSPTestPKI {
        try validate(parameters)
        let ipAddresses: [GeneralName]
        do throws(CryptoError) {
            ipAddresses = try parameters.smdpIPAddresses.map { (text) throws(CryptoError) in try GeneralName.ip(text) }
        } catch {
            throw .invalidParameter(name: "smdpIPAddresses", reason: error.context)
        }
        let now = Date()
        let notBefore = now.addingTimeInterval(-3600)
        let notAfter = now.addingTimeInterval(years(parameters.validityYears))

        var what = "CI"
        do throws(CryptoError) {
            let generator = try KeyPairGenerator(curve: parameters.curve)
            let ci = try makeCI(parameters, key: generator.generate(), notBefore: notBefore)
            what = "EUM"
            let eum = try makeEUM(parameters, key: generator.generate(), ci: ci, notBefore: notBefore, notAfter: notAfter)
            what = "SM-DP+ DPauth"
            let dpAuth = try makeSMDP(parameters, role: .dpAuth, key: generator.generate(), ci: ci, notBefore: notBefore, notAfter: notAfter)
            what = "SM-DP+ DPpb"
            let dpPb = try makeSMDP(parameters, role: .dpPb, key: generator.generate(), ci: ci, notBefore: notBefore, notAfter: notAfter)
            what = "SM-DP+ DPtls"
            var tls = try makeSMDPBuilder(parameters, role: .dpTLS, key: generator.generate(), notBefore: notBefore, notAfter: notAfter)
            tls.builder.subject = DistinguishedName(organization: parameters.smdpOrganization, commonName: parameters.smdpAddress)
            tls.builder.certificatePoliciesAreCritical = false
            tls.builder.extendedKeyUsage = [.serverAuth]
            tls.builder.subjectAltNames = [.dnsName(parameters.smdpAddress)] + ipAddresses
            let dpTLS = Credential(
                certificate: try tls.builder.build(issuer: .certificate(ci.certificate, key: ci.privateKey)),
                privateKey: tls.key
            )
            let partial = RSPTestPKI(
                curve: parameters.curve, ci: ci, eum: eum, dpAuth: dpAuth, dpPb: dpPb, dpTLS: dpTLS, euicc: nil,
                eumOrganization: parameters.eumOrganization, eumIIN: parameters.eumIIN
            )
            let eid: EID
            if let chosen = parameters.euiccEID {
                eid = chosen
            } else {
                eid = try defaultEID(iin: parameters.eumIIN)
            }
            what = "eUICC \(eid)"
            let euicc = try partial.makeEUICC(eid: eid, key: generator.generate(), notBefore: notBefore)
            return RSPTestPKI(
                curve: parameters.curve, ci: ci, eum: eum, dpAuth: dpAuth, dpPb: dpPb, dpTLS: dpTLS, euicc: euicc,
                eumOrganization: parameters.eumOrganization, eumIIN: parameters.eumIIN
            )
        } catch {
            throw .crypto(what: "creating the RSP test PKI: \(what)", error)
        }
    }

    /// Mints an eUICC identity for `eid`: a fresh key pair and its certificate signed by the EUM (subject
    /// O = EUM organisation, serialNumber = EID, CN = "Test eUICC"), valid from an hour ago until the EUM expires.
    ///
    /// Each call generates a key with a new OpenSSL context; to mint many, `makeEUICCs(eids:)` is faster.
    /// - Throws: `TestPKIError.eidOutsideEUM` when `eid` does not begin with the EUM's IIN; `crypto` when
    ///   OpenSSL fails.
    public func makeEUICC(eid: EID) throws(TestPKIError) -> Credential {
        try makeEUICCs(eids: [eid])[0]
    }

    /// Mints one eUICC identity per EID (as `makeEUICC(eid:)`), reusing one key generation context; the result
    /// is in the order of `eids`. All EIDs are checked before any key is made.
    public func makeEUICCs(eids: [EID]) throws(TestPKIError) -> [Credential] {
        for eid in eids {
            try checkInRange(eid)
        }
        guard !eids.isEmpty else { return [] }
        let notBefore = Date(timeIntervalSinceNow: -3600)
        var current = eids[0]
        do throws(CryptoError) {
            let generator = try KeyPairGenerator(curve: curve)
            var credentials: [Credential] = []
            credentials.reserveCapacity(eids.count)
            for eid in eids {
                current = eid
                credentials.append(try makeEUICC(eid: eid, key: generator.generate(), notBefore: notBefore))
            }
            return credentials
        } catch {
            throw .crypto(what: "minting the eUICC certificate of EID \(current)", error)
        }
    }

    /// The subject of the eUICC certificate for `eid`: O, serialNumber, CN, in the order of the SGP.26 eUICC.
    public func euiccSubject(for eid: EID) -> DistinguishedName {
        DistinguishedName([
            .init(.organizationName, eumOrganization),
            .init(.serialNumber, eid.value),
            .init(.commonName, "Test eUICC"),
        ])
    }

    /// Refuses an EID outside the EUM: it must begin with the IIN and satisfy the EUM's name constraint.
    private func checkInRange(_ eid: EID) throws(TestPKIError) {
        let permitted = eum.certificate.nameConstraints?.permitsSGP22(euiccSubject(for: eid)) ?? true
        guard eid.value.hasPrefix(eumIIN), permitted else {
            throw .eidOutsideEUM(eid: eid.value, organization: eumOrganization, prefix: eumIIN)
        }
    }

    private func makeEUICC(eid: EID, key: PrivateKey, notBefore: Date) throws(CryptoError) -> Credential {
        var builder = CertificateBuilder(
            subject: euiccSubject(for: eid), subjectPublicKey: key.publicKey,
            notBefore: notBefore, notAfter: eum.certificate.notAfter
        )
        builder.keyUsage = [.digitalSignature]
        builder.certificatePolicies = [RSPCertificateRole.euicc.policyOID]
        builder.certificatePoliciesAreCritical = true
        return Credential(
            certificate: try builder.build(issuer: .certificate(eum.certificate, key: eum.privateKey)),
            privateKey: key
        )
    }

    // MARK: - Profiles

    private static func makeCI(_ parameters: Parameters, key: PrivateKey, notBefore: Date) throws(CryptoError) -> Credential {
        var builder = CertificateBuilder(
            subject: DistinguishedName(
                organization: parameters.ciOrganization, organizationalUnit: "TESTCERT", commonName: "ServerLPA Test CI"
            ),
            subjectPublicKey: key.publicKey,
            notBefore: notBefore,
            notAfter: notBefore.addingTimeInterval(years(ciValidityYears))
        )
        builder.basicConstraints = .certificateAuthority()
        builder.keyUsage = [.keyCertSign, .cRLSign]
        builder.certificatePolicies = [RSPCertificateRole.ci.policyOID]
        builder.certificatePoliciesAreCritical = true
        builder.includesAuthorityKeyIdentifier = false
        return Credential(certificate: try builder.build(issuer: .selfSigned(key)), privateKey: key)
    }

    private static func makeEUM(
        _ parameters: Parameters, key: PrivateKey, ci: Credential, notBefore: Date, notAfter: Date
    ) throws(CryptoError) -> Credential {
        var builder = CertificateBuilder(
            subject: DistinguishedName(organization: parameters.eumOrganization, commonName: "\(parameters.eumOrganization) EUM"),
            subjectPublicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter
        )
        builder.basicConstraints = .certificateAuthority(pathLength: 0)
        builder.keyUsage = [.keyCertSign]
        builder.certificatePolicies = [RSPCertificateRole.eum.policyOID]
        builder.certificatePoliciesAreCritical = true
        builder.nameConstraints = NameConstraints(permittedSubtrees: [
            .directoryName(DistinguishedName(organization: parameters.eumOrganization, serialNumber: parameters.eumIIN)),
        ])
        return Credential(
            certificate: try builder.build(issuer: .certificate(ci.certificate, key: ci.privateKey)),
            privateKey: key
        )
    }

    private static func makeSMDPBuilder(
        _ parameters: Parameters, role: RSPCertificateRole, key: PrivateKey, notBefore: Date, notAfter: Date
    ) -> (builder: CertificateBuilder, key: PrivateKey) {
        let label = role == .dpAuth ? "DPauth" : role == .dpPb ? "DPpb" : "DPtls"
        var builder = CertificateBuilder(
            subject: DistinguishedName(organization: parameters.smdpOrganization, commonName: "\(parameters.smdpAddress) \(label)"),
            subjectPublicKey: key.publicKey, notBefore: notBefore, notAfter: notAfter
        )
        builder.keyUsage = [.digitalSignature]
        builder.certificatePolicies = [role.policyOID]
        builder.certificatePoliciesAreCritical = true
        return (builder, key)
    }

    private static func makeSMDP(
        _ parameters: Parameters, role: RSPCertificateRole, key: PrivateKey, ci: Credential, notBefore: Date, notAfter: Date
    ) throws(CryptoError) -> Credential {
        let made = makeSMDPBuilder(parameters, role: role, key: key, notBefore: notBefore, notAfter: notAfter)
        return Credential(
            certificate: try made.builder.build(issuer: .certificate(ci.certificate, key: ci.privateKey)),
            privateKey: key
        )
    }

    // MARK: - Parameters

    private static func validate(_ parameters: Parameters) throws(TestPKIError) {
        let iin = parameters.eumIIN
        guard (2...(EID.length - 2)).contains(iin.count), iin.allSatisfy({ $0.isASCII && $0.isNumber }),
              iin.hasPrefix(EID.industryIdentifier)
        else {
            throw .invalidParameter(
                name: "eumIIN",
                reason: "\"\(iin)\" must be 2 to \(EID.length - 2) digits starting with \(EID.industryIdentifier)"
            )
        }
        for (name, value) in [("ciOrganization", parameters.ciOrganization), ("eumOrganization", parameters.eumOrganization),
                              ("smdpOrganization", parameters.smdpOrganization)] where value.isEmpty {
            throw .invalidParameter(name: name, reason: "must not be empty")
        }
        let address = parameters.smdpAddress
        guard !address.isEmpty, address.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: "/") }) else {
            throw .invalidParameter(name: "smdpAddress", reason: "\"\(address)\" must be a host name (printable ASCII, no spaces)")
        }
        guard (1...ciValidityYears).contains(parameters.validityYears) else {
            throw .invalidParameter(
                name: "validityYears",
                reason: "must be between 1 and \(ciValidityYears) (the CI's lifetime), got \(parameters.validityYears)"
            )
        }
        if let eid = parameters.euiccEID, !eid.value.hasPrefix(iin) {
            throw .eidOutsideEUM(eid: eid.value, organization: parameters.eumOrganization, prefix: iin)
        }
    }

    /// The EID `iin` followed by index 1 (never fails for a validated IIN).
    private static func defaultEID(iin: String) throws(CryptoError) -> EID {
        do throws(IdentityError) {
            return try EID.make(prefix: iin, index: 1)
        } catch {
            throw CryptoError(code: .invalidInput, context: "making an EID from IIN \(iin): \(error)")
        }
    }

    private static func years(_ count: Int) -> TimeInterval {
        TimeInterval(count) * 365.25 * 86400
    }
}
