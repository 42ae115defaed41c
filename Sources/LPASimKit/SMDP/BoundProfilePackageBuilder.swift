import LPACrypto
import RSP

/// Builds the Bound Profile Package of one RSP session (SGP.22 §2.5.4, §2.6.4): a one-time key pair on the
/// PKI's curve, the ECDH shared secret with the eUICC's one-time key, the BSP session keys, then
/// `BF36 { BF23, A0 { 87 ConfigureISDP }, A1 { 88 StoreMetadata… }, [A2 { 87 ReplaceSessionKeys }], A3 { 86… } }`.
///
/// A plain value used once per session by `SMDPSimulator`.
struct BoundProfilePackageBuilder {
    let curve: EllipticCurve
    /// The DPpb key that signs the InitialiseSecureChannelRequest (smdpSign).
    let signingKey: PrivateKey
    let hostId: [UInt8]
    let usesReplaceSessionKeys: Bool
    /// Fault injection: flip a byte of the first `86` segment after its MAC was computed.
    let corruptsProfileElements: Bool
    /// Plaintext bytes per `86` segment; nil keeps segments within SGP.22 §2.5.3's 1020 bytes.
    var profileElementsPlaintextPerSegment: Int? = nil

    func build(
        transactionId: [UInt8], eid: String, euiccOtpk: [UInt8], metadata: StoreMetadataRequest, profilePackage: [UInt8]
    ) throws(SMDPError) -> [UInt8] {
        let euiccKey: PublicKey
        do {
            euiccKey = try PublicKey(uncompressedPoint: euiccOtpk, curve: curve)
        } catch {
            throw .euiccVerificationFailed("euiccOtpk is not a point on \(curve)")
        }
        guard let eidBytes = BCD.packed(eid) else { throw .euiccCertificateInvalid("EID \(eid) is not 32 digits") }
        do {
            let oneTimeKey = try PrivateKey.generate(curve: curve)
            let sharedSecret = try oneTimeKey.sharedSecret(with: euiccKey)
            var session = try BSPSession(sharedSecret: sharedSecret, keyType: 0x88, keyLength: 0x10, hostId: hostId, eid: eidBytes)

            let unsigned = InitialiseSecureChannelRequest(
                transactionId: transactionId, hostId: hostId, smdpOtpk: try oneTimeKey.publicKey.uncompressedPoint, smdpSign: [])
            let smdpSign = try ECDSA.sign(
                InitialiseSecureChannelRequest.signedData(signedPart: unsigned.signedPart, euiccOtpk: euiccOtpk),
                with: signingKey, format: .raw)
            let secureChannel = InitialiseSecureChannelRequest(
                transactionId: transactionId, hostId: hostId, smdpOtpk: unsigned.smdpOtpk, smdpSign: smdpSign)

            let first87 = try session.encryptAndMAC(tag: 0x87, PackageCommands.configureISDP())
            let all88 = try session.macOnly(tag: 0x88, metadata.der)
            var second87: [[UInt8]]?
            if usesReplaceSessionKeys {
                let ppkEnc = try SecureRandom.bytes(count: 16)
                let ppkCmac = try SecureRandom.bytes(count: 16)
                let initialMCV = try SecureRandom.bytes(count: 16)
                second87 = try session.encryptAndMAC(
                    tag: 0x87, PackageCommands.replaceSessionKeys(initialMCV: initialMCV, ppkEnc: ppkEnc, ppkCmac: ppkCmac))
                session = BSPSession(sEnc: ppkEnc, sMac: ppkCmac, initialMacChainingValue: initialMCV)
            }
            var all86 = try session.encryptAndMAC(
                tag: 0x86, profilePackage,
                plaintextPerSegment: profileElementsPlaintextPerSegment ?? BSPSession.defaultPlaintextPerSegment)
            if corruptsProfileElements, !all86.isEmpty {
                let middle = all86[0].count / 2
                all86[0][middle] ^= 0xFF
            }
            return BoundProfilePackage.encode(
                initialiseSecureChannel: secureChannel, firstSequenceOf87: first87, sequenceOf88: all88,
                secondSequenceOf87: second87, sequenceOf86: all86)
        } catch {
            throw .failed("8.1", "4.2", "binding the profile package failed: \(error)")
        }
    }

    /// The unprotected package of `package`, padded with filler elements to about `size` bytes.
    static func profilePackage(_ package: ProfilePackage, size: Int) -> [UInt8] {
        let elementSize = 1000
        let overhead = package.headerElement.count + 16
        let count = max(0, (size - overhead) / (elementSize + 10))
        return package.encoded(fillerElements: count, fillerSize: elementSize) { index in
            [UInt8](repeating: UInt8(truncatingIfNeeded: index &* 37 &+ 1), count: elementSize)
        }
    }
}
