import Foundation
import LPACrypto

extension RSPTestPKI {
    /// The files of an RSP test PKI, named as in the GSMA SGP.26 test certificate set so that set can be
    /// loaded in place of a generated one. `<V>` is `NIST` for P-256 and `BRP` for brainpoolP256r1.
    ///
    /// | member | certificate | private key | SGP.26 folder |
    /// |---|---|---|---|
    /// | CI | `CERT_CI_ECDSA_<V>` | `SK_CI_ECDSA_<V>.pem` | `CertificateIssuer` |
    /// | EUM | `CERT_EUM_ECDSA_<V>` | `SK_EUM_ECDSA_<V>.pem` | `EUM` |
    /// | eUICC (optional) | `CERT_EUICC_ECDSA_<V>` | `SK_EUICC_ECDSA_<V>.pem` | `eUICC` |
    /// | SM-DP+ DPauth | `CERT_S_SM_DPauth_ECDSA_<V>` | `SK_S_SM_DPauth_ECDSA_<V>.pem` | `DPauth` |
    /// | SM-DP+ DPpb | `CERT_S_SM_DPpb_ECDSA_<V>` | `SK_S_SM_DPpb_ECDSA_<V>.pem` | `DPpb` |
    /// | SM-DP+ DPtls | `CERT_S_SM_DP_TLS_<V>` | `SK_S_SM_DP_TLS_<V>.pem` | `DPtls` |
    ///
    /// `write(to:)` puts every file, certificates as `.pem`, straight into the directory (keys: unencrypted
    /// PKCS#8, mode 0600). `load(from:)` looks for each certificate as `.pem` then `.der`, first in the
    /// directory and then in the member's SGP.26 folder, and for each key (`.pem`, PKCS#8 or SEC1) likewise.
    public enum Member: String, Sendable, CaseIterable {
        case ci, eum, euicc, dpAuth, dpPb, dpTLS

        /// The certificate file name without extension, for keys on `curve`.
        public func certificateName(curve: EllipticCurve) -> String { "CERT_\(stem)_\(RSPTestPKI.variant(curve))" }
        /// The private key file name, for keys on `curve`.
        public func keyName(curve: EllipticCurve) -> String { "SK_\(stem)_\(RSPTestPKI.variant(curve)).pem" }
        /// The folder of the member in the SGP.26 set.
        public var sgp26Folder: String {
            switch self {
            case .ci: "CertificateIssuer"
            case .eum: "EUM"
            case .euicc: "eUICC"
            case .dpAuth: "DPauth"
            case .dpPb: "DPpb"
            case .dpTLS: "DPtls"
            }
        }

        private var stem: String {
            switch self {
            case .ci: "CI_ECDSA"
            case .eum: "EUM_ECDSA"
            case .euicc: "EUICC_ECDSA"
            case .dpAuth: "S_SM_DPauth_ECDSA"
            case .dpPb: "S_SM_DPpb_ECDSA"
            case .dpTLS: "S_SM_DP_TLS"
            }
        }
    }

    /// `NIST` or `BRP`, the SGP.26 spelling of a curve in file names.
    static func variant(_ curve: EllipticCurve) -> String {
        switch curve {
        case .p256: "NIST"
        case .brainpoolP256r1: "BRP"
        }
    }

    private var members: [(Member, Credential)] {
        var members: [(Member, Credential)] = [(.ci, ci), (.eum, eum), (.dpAuth, dpAuth), (.dpPb, dpPb), (.dpTLS, dpTLS)]
        if let euicc { members.append((.euicc, euicc)) }
        return members
    }

    // MARK: - Writing

    /// Writes the set into `directory` (made if missing) as described in `Member`.
    ///
    /// - Parameter overwrite: replace files of an existing set; without it an existing file is an error and
    ///   nothing is written.
    /// - Throws: `TestPKIError.alreadyExists`, `fileSystem` or `crypto`, naming the file.
    public func write(to directory: URL, overwrite: Bool = false) throws(TestPKIError) {
        try TestPKI.createDirectory(directory)
        var files: [(name: String, text: String, mode: mode_t)] = []
        for (member, credential) in members {
            let keyPEM: String
            do throws(CryptoError) {
                keyPEM = try credential.privateKey.pemPKCS8
            } catch {
                throw .crypto(what: "encoding the \(member.rawValue) private key", error)
            }
            files.append((member.certificateName(curve: curve) + ".pem", credential.certificate.pem, 0o644))
            files.append((member.keyName(curve: curve), keyPEM, 0o600))
        }
        if !overwrite, let existing = files.first(where: { FileManager.default.fileExists(atPath: directory.appendingPathComponent($0.name).path) }) {
            throw .alreadyExists(path: directory.appendingPathComponent(existing.name).path)
        }
        for file in files {
            try TestPKI.writeFile(file.text, to: directory.appendingPathComponent(file.name), mode: file.mode)
        }
    }

    // MARK: - Loading

    /// Reads a set written by `write(to:)`, or the GSMA SGP.26 test set, for keys on `curve`.
    ///
    /// Every member but the eUICC is required. Each key must match its certificate, the EUM and SM-DP+
    /// certificates must be signed by the CI and the eUICC certificate by the EUM (signatures only: validity
    /// dates are not checked, as SGP.26 TLS certificates expire yearly). The EUM's organisation and IIN are
    /// read from its name constraint (falling back to its subject O and, for the IIN, the eUICC's EID).
    /// - Throws: `TestPKIError.inconsistentFiles` listing every missing file or naming the mismatch;
    ///   `fileSystem` or `crypto` naming an unreadable file.
    public static func load(from directory: URL, curve: EllipticCurve = .p256) throws(TestPKIError) -> RSPTestPKI {
        var missing: [String] = []
        var loaded: [Member: Credential] = [:]
        for member in Member.allCases {
            let certificateURL = find(member, [".pem", ".der"].map { member.certificateName(curve: curve) + $0 }, in: directory)
            let keyURL = find(member, [member.keyName(curve: curve)], in: directory)
            guard let certificateURL, let keyURL else {
                if member != .euicc || (certificateURL == nil) != (keyURL == nil) {
                    if certificateURL == nil { missing.append(member.certificateName(curve: curve) + ".pem|.der") }
                    if keyURL == nil { missing.append(member.keyName(curve: curve)) }
                }
                continue
            }
            loaded[member] = try readCredential(member, certificate: certificateURL, key: keyURL, curve: curve)
        }
        guard missing.isEmpty, let ci = loaded[.ci], let eum = loaded[.eum], let dpAuth = loaded[.dpAuth],
              let dpPb = loaded[.dpPb], let dpTLS = loaded[.dpTLS]
        else {
            throw .inconsistentFiles(directory: directory.path, reason: "missing \(missing.joined(separator: ", "))")
        }
        let euicc = loaded[.euicc]
        var issued: [(Member, Credential, Credential)] = [(.eum, ci, eum), (.dpAuth, ci, dpAuth), (.dpPb, ci, dpPb), (.dpTLS, ci, dpTLS)]
        if let euicc { issued.append((.euicc, eum, euicc)) }
        for (member, issuer, credential) in issued
        where !credential.certificate.isSignature(validBy: issuer.certificate.publicKey) {
            throw .inconsistentFiles(
                directory: directory.path,
                reason: "\(member.certificateName(curve: curve)) is not signed by \(issuer.certificate.subject)"
            )
        }
        let permitted = eum.certificate.nameConstraints?.permittedDirectoryNames.first
        let organization = permitted?.value(for: .organizationName) ?? eum.certificate.subject.value(for: .organizationName)
        let iin = permitted?.value(for: .serialNumber)
            ?? euicc?.certificate.subject.value(for: .serialNumber).map { String($0.prefix(8)) }
        guard let organization, let iin else {
            throw .inconsistentFiles(
                directory: directory.path,
                reason: "the EUM certificate names no organisation or IIN (no name constraint, subject O or eUICC EID)"
            )
        }
        return RSPTestPKI(
            curve: curve, ci: ci, eum: eum, dpAuth: dpAuth, dpPb: dpPb, dpTLS: dpTLS, euicc: euicc,
            eumOrganization: organization, eumIIN: iin
        )
    }

    /// The first of `names` found in `directory`, then in the member's SGP.26 folder.
    private static func find(_ member: Member, _ names: [String], in directory: URL) -> URL? {
        for folder in [directory, directory.appendingPathComponent(member.sgp26Folder, isDirectory: true)] {
            for name in names {
                let url = folder.appendingPathComponent(name)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
        }
        return nil
    }

    private static func readCredential(
        _ member: Member, certificate certificateURL: URL, key keyURL: URL, curve: EllipticCurve
    ) throws(TestPKIError) -> Credential {
        let certificate: Certificate
        let key: PrivateKey
        let certificateText = certificateURL.pathExtension == "der" ? nil : try TestPKI.readText(certificateURL)
        let keyText = try TestPKI.readText(keyURL)
        do throws(CryptoError) {
            if let certificateText {
                certificate = try Certificate(pem: certificateText)
            } else {
                guard let data = FileManager.default.contents(atPath: certificateURL.path) else {
                    throw CryptoError(code: .invalidInput, context: "reading DER: the file cannot be read")
                }
                certificate = try Certificate(der: [UInt8](data))
            }
        } catch {
            throw .crypto(what: certificateURL.path, error)
        }
        do throws(CryptoError) {
            key = try PrivateKey(pem: keyText)
        } catch {
            throw .crypto(what: keyURL.path, error)
        }
        guard key.publicKey == certificate.publicKey else {
            throw .inconsistentFiles(
                directory: keyURL.deletingLastPathComponent().path,
                reason: "\(keyURL.lastPathComponent) is not the key of \(certificateURL.lastPathComponent)"
            )
        }
        guard key.curve == curve else {
            throw .inconsistentFiles(
                directory: keyURL.deletingLastPathComponent().path,
                reason: "\(keyURL.lastPathComponent) is on \(key.curve), expected \(curve)"
            )
        }
        return Credential(certificate: certificate, privateKey: key)
    }
}
