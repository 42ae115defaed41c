import Foundation
import LPACrypto

extension VirtualEUICC.Identity {
    /// The eUICC identities found in `directory` under their SGP.26 file names, one per curve present:
    /// `CERT_EUICC_ECDSA_<V>` and `SK_EUICC_ECDSA_<V>.pem` (the eUICC), `CERT_EUM_ECDSA_<V>` (its EUM) and
    /// `CERT_CI_ECDSA_<V>` (the CI it trusts), `<V>` being `NIST` (P-256) or `BRP` (brainpoolP256r1).
    /// Certificates are read as `.pem` or `.der`, from the directory or its SGP.26 sub-folder (`eUICC`, `EUM`,
    /// `CertificateIssuer`).
    ///
    /// A real eUICC identity is its certificate, its key and its EUM's certificate: no CI or SM-DP+ private key
    /// is read or needed. The eUICC certificate is presented exactly as read, and the EID is its subject
    /// serialNumber.
    ///
    /// - Throws: `IdentityFailure` naming the missing file or the check that failed (for example a
    ///   certificate that does not chain to the CI); when no curve has an eUICC certificate.
    public static func load(from directory: URL) throws(VirtualEUICC.IdentityFailure) -> [VirtualEUICC.Identity] {
        var identities: [VirtualEUICC.Identity] = []
        for curve in [EllipticCurve.p256, .brainpoolP256r1] {
            let variant = RSPTestPKI.variant(curve)
            guard let certificate = find("CERT_EUICC_ECDSA_\(variant)", folder: "eUICC", in: directory) else { continue }
            guard let key = find("SK_EUICC_ECDSA_\(variant)", folder: "eUICC", in: directory, extensions: [".pem"]) else {
                throw .invalid("\(directory.path): \(certificate.lastPathComponent) has no SK_EUICC_ECDSA_\(variant).pem")
            }
            guard let eum = find("CERT_EUM_ECDSA_\(variant)", folder: "EUM", in: directory) else {
                throw .invalid("\(directory.path): no CERT_EUM_ECDSA_\(variant).pem|.der for \(certificate.lastPathComponent)")
            }
            guard let ci = find("CERT_CI_ECDSA_\(variant)", folder: "CertificateIssuer", in: directory) else {
                throw .invalid("\(directory.path): no CERT_CI_ECDSA_\(variant).pem|.der for \(certificate.lastPathComponent)")
            }
            let privateKey: PrivateKey
            let keyText = try text(key)
            do throws(CryptoError) {
                privateKey = try PrivateKey(pem: keyText)
            } catch {
                throw .invalid("\(key.path): \(error)")
            }
            identities.append(try VirtualEUICC.Identity(
                euiccCertificate: try readCertificate(certificate), privateKey: privateKey,
                eumCertificate: try readCertificate(eum), ciCertificates: [try readCertificate(ci)]))
        }
        guard !identities.isEmpty else {
            throw .invalid("\(directory.path) holds no eUICC identity (CERT_EUICC_ECDSA_NIST or _BRP, .pem or .der)")
        }
        return identities
    }

    private static func find(_ stem: String, folder: String, in directory: URL, extensions: [String] = [".pem", ".der"]) -> URL? {
        for place in [directory, directory.appendingPathComponent(folder, isDirectory: true)] {
            for suffix in extensions {
                let url = place.appendingPathComponent(stem + suffix)
                if FileManager.default.fileExists(atPath: url.path) { return url }
            }
        }
        return nil
    }

    private static func text(_ url: URL) throws(VirtualEUICC.IdentityFailure) -> String {
        guard let data = FileManager.default.contents(atPath: url.path), let text = String(data: data, encoding: .utf8) else {
            throw .invalid("cannot read \(url.path)")
        }
        return text
    }

    private static func readCertificate(_ url: URL) throws(VirtualEUICC.IdentityFailure) -> Certificate {
        let isDER = url.pathExtension == "der"
        let pem = isDER ? "" : try text(url)
        do throws(CryptoError) {
            if isDER {
                guard let data = FileManager.default.contents(atPath: url.path) else { throw CryptoError(code: .invalidInput, context: "unreadable") }
                return try Certificate(der: [UInt8](data))
            }
            return try Certificate(pem: pem)
        } catch {
            throw .invalid("\(url.path): \(error)")
        }
    }
}
