// X.509 and key loading in LPACrypto: DER and PEM certificates, PEM chains, PKCS#8 and PEM private keys, SPKI
// public keys and uncompressed points, and every accessor a loaded certificate offers (names, extensions, RSP
// roles, validity, self-signature), as the verifier and the admin API read them.
//
// Input: byte 0 selects the loader; the rest is the encoding (PEM loaders read it as UTF-8).
import FuzzSupport
import Foundation
import LPACrypto

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzX509(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let bytes = Array(input[1...])
    let text = String(decoding: bytes, as: UTF8.self)
    switch input[0] % 6 {
    case 0:
        if let certificate = try? Certificate(der: bytes) { inspect(certificate) }
    case 1:
        if let certificate = try? Certificate(pem: text) { inspect(certificate) }
    case 2:
        for certificate in (try? Certificate.chain(pem: text)) ?? [] { inspect(certificate) }
    case 3:
        if let key = try? PrivateKey(derPKCS8: bytes) { _ = try? key.pemPKCS8; _ = key.description }
        if let key = try? PrivateKey(pem: text) { _ = try? key.derPKCS8 }
    case 4:
        if let key = try? PublicKey(spkiDER: bytes) { _ = try? key.uncompressedPoint; _ = key.description }
    default:
        for curve in EllipticCurve.allCases {
            if let key = try? PublicKey(uncompressedPoint: bytes, curve: curve) { _ = try? key.uncompressedPoint }
        }
    }
    return 0
}

private func inspect(_ certificate: Certificate) {
    guard let again = try? Certificate(der: certificate.der), again == certificate else {
        fatalError("a loaded certificate does not load again from its own DER")
    }
    _ = certificate.pem
    _ = certificate.description
    _ = certificate.subject.values(for: .commonName)
    _ = certificate.issuer.value(for: .serialNumber)
    _ = certificate.serialNumberHex
    _ = certificate.notBefore
    _ = certificate.notAfter
    _ = certificate.isValid(at: Date(timeIntervalSince1970: 1_800_000_000))
    _ = certificate.subjectAltNames
    _ = certificate.subjectKeyIdentifier
    _ = certificate.authorityKeyIdentifier
    _ = certificate.basicConstraints
    _ = certificate.isCA
    _ = certificate.keyUsage
    _ = certificate.extendedKeyUsage
    _ = certificate.policies
    _ = certificate.rspRoles
    _ = certificate.nameConstraints
    _ = certificate.fingerprintSHA256
    _ = certificate.isSignature(validBy: certificate.publicKey)
    _ = try? certificate.publicKey.uncompressedPoint
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// A self-signed P-256 certificate with the extensions RSP certificates carry, a chain of two, and the keys, in
/// each encoding the loaders read.
private func seeds() throws -> [[UInt8]] {
    let caKey = try PrivateKey.generate(curve: .p256)
    var ca = CertificateBuilder(subject: DistinguishedName([.init(.commonName, "Test CI"), .init(.organizationName, "ServerLPA")]), subjectPublicKey: caKey.publicKey)
    ca.basicConstraints = .certificateAuthority(pathLength: 2)
    ca.certificatePolicies = [RSPCertificateRole.ci.policyOID]
    let root = try ca.build(issuer: .selfSigned(caKey))
    let leafKey = try PrivateKey.generate(curve: .brainpoolP256r1)
    var leaf = CertificateBuilder(
        subject: DistinguishedName([.init(.commonName, "eUICC"), .init(.serialNumber, "89049032123451234512345678901235")]),
        subjectPublicKey: leafKey.publicKey)
    leaf.subjectAltNames = [.dnsName("smdp.example")]
    leaf.certificatePolicies = [RSPCertificateRole.euicc.policyOID]
    let certificate = try leaf.build(issuer: .certificate(root, key: caKey))
    return [
        [0] + root.der,
        [0] + certificate.der,
        [1] + Array(certificate.pem.utf8),
        [2] + Array((certificate.pem + root.pem).utf8),
        [3] + (try leafKey.derPKCS8),
        [3] + Array((try caKey.pemPKCS8).utf8),
        [4] + Array(certificate.der),
        [5] + (try leafKey.publicKey.uncompressedPoint),
    ]
}
