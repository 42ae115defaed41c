import LPACrypto

/// The BPP protection protocol of SGP.22 §2.6.4 (SCP03t): the session keys both ends derive from the
/// ECKA shared secret, and the protection of each segment of a Bound Profile Package.
///
/// One value serves one direction of one session: the SM-DP+ protects segments in order, the eUICC
/// verifies and decrypts them in the same order. It is a value type; keep one per session and use it from
/// one task at a time.
public struct BSPSession: Sendable {
    /// Bytes of the C-MAC carried in each segment.
    public static let macLength = 8
    /// The largest segment (tag, length and MAC included).
    public static let maximumSegmentSize = 1020

    /// Why a segment was refused.
    public enum Failure: Error, Sendable, Hashable, CustomStringConvertible {
        case macMismatch
        case structure(String)
        case crypto(String)

        public var description: String {
            switch self {
            case .macMismatch: return "segment MAC does not verify"
            case .structure(let reason): return "segment structure: \(reason)"
            case .crypto(let reason): return "crypto: \(reason)"
            }
        }
    }

    public private(set) var sEnc: [UInt8]
    public private(set) var sMac: [UInt8]
    /// The MAC chaining value: the full CMAC of the previous segment (initially from the KDF).
    public private(set) var macChainingValue: [UInt8]
    /// The block counter the ICV of the next encrypted segment is made from; starts at 1 and counts every
    /// segment, MAC-only ones included.
    public private(set) var blockCounter: UInt64 = 1

    public init(sEnc: [UInt8], sMac: [UInt8], initialMacChainingValue: [UInt8]) {
        self.sEnc = sEnc
        self.sMac = sMac
        macChainingValue = initialMacChainingValue
    }

    /// Derives the session keys (§2.6.4.2): X9.63 KDF with SHA-256 over the shared secret and
    /// `keyType ‖ keyLength ‖ LV(hostId) ‖ LV(EID)`; the output is the initial MAC chaining value, S-ENC and S-MAC.
    public init(sharedSecret: [UInt8], keyType: UInt8, keyLength: UInt8, hostId: [UInt8], eid: [UInt8]) throws(Failure) {
        let length = Int(keyLength)
        guard keyType == 0x88, length == 16 else {
            throw .structure("unsupported control reference template: keyType \(keyType), keyLen \(keyLength)")
        }
        let sharedInfo = [keyType, keyLength] + TLV.lengthBytes(hostId.count) + hostId + TLV.lengthBytes(eid.count) + eid
        let output: [UInt8]
        do {
            output = try X963KDF.deriveKey(sharedSecret: sharedSecret, sharedInfo: sharedInfo, byteCount: 3 * length)
        } catch {
            throw .crypto("\(error)")
        }
        self.init(sEnc: Array(output[length..<(2 * length)]), sMac: Array(output[(2 * length)...]),
                  initialMacChainingValue: Array(output[..<length]))
    }

    /// The largest plaintext payload one segment carries.
    public static var maximumPayload: Int {
        maximumSegmentSize - 1 - TLV.lengthBytes(maximumSegmentSize).count - macLength
    }

    // MARK: Protecting (SM-DP+)

    /// The plaintext bytes per segment that keep every encrypted segment within `maximumSegmentSize`
    /// (encryption pads each to a multiple of 16 with at least one byte).
    public static var defaultPlaintextPerSegment: Int { (maximumPayload / 16) * 16 - 1 }

    /// Encrypts and MACs `plaintext` into segments under `tag` (`87` or `86`), `plaintextPerSegment` bytes of
    /// plaintext each (the default keeps to SGP.22 §2.5.3; a larger value reproduces SM-DP+s that cut bigger
    /// segments: 1008 gives 1036-byte `86` segments).
    public mutating func encryptAndMAC(
        tag: UInt8, _ plaintext: [UInt8], plaintextPerSegment: Int = defaultPlaintextPerSegment
    ) throws(Failure) -> [[UInt8]] {
        var segments: [[UInt8]] = []
        let chunk = max(1, plaintextPerSegment)
        for start in stride(from: 0, to: max(plaintext.count, 1), by: chunk) {
            let piece = Array(plaintext[start..<min(start + chunk, plaintext.count)])
            let ciphertext = try encrypt(piece)
            segments.append(try mac(tag: tag, ciphertext))
        }
        return segments
    }

    /// MACs `plaintext` into segments under `tag` (`88`) without encrypting it.
    public mutating func macOnly(tag: UInt8, _ plaintext: [UInt8]) throws(Failure) -> [[UInt8]] {
        var segments: [[UInt8]] = []
        for start in stride(from: 0, to: max(plaintext.count, 1), by: Self.maximumPayload) {
            let piece = Array(plaintext[start..<min(start + Self.maximumPayload, plaintext.count)])
            segments.append(try mac(tag: tag, piece))
            blockCounter += 1
        }
        return segments
    }

    // MARK: Verifying (eUICC)

    /// Verifies the MAC of an encoded segment and decrypts its payload.
    public mutating func verifyAndDecrypt(_ segment: [UInt8]) throws(Failure) -> [UInt8] {
        let payload = try verify(segment)
        return try decrypt(payload)
    }

    /// Verifies the MAC of an encoded MAC-only segment and returns its payload.
    public mutating func verifyOnly(_ segment: [UInt8]) throws(Failure) -> [UInt8] {
        let payload = try verify(segment)
        blockCounter += 1
        return payload
    }

    // MARK: Internals

    private mutating func mac(tag: UInt8, _ data: [UInt8]) throws(Failure) -> [UInt8] {
        let header = [tag] + TLV.lengthBytes(data.count + Self.macLength)
        let full = try cmac(macChainingValue + header + data)
        macChainingValue = full
        return header + data + full.prefix(Self.macLength)
    }

    private mutating func verify(_ segment: [UInt8]) throws(Failure) -> [UInt8] {
        guard segment.count > 2 + Self.macLength else { throw .structure("segment of \(segment.count) bytes") }
        let tlv: TLV
        do {
            tlv = try TLV(der: segment, object: "BPP segment")
        } catch {
            throw .structure("\(error)")
        }
        guard tlv.value.count >= Self.macLength else { throw .structure("no room for a MAC") }
        let received = Array(segment.suffix(Self.macLength))
        let full = try cmac(macChainingValue + segment.dropLast(Self.macLength))
        guard constantTimeEquals(Array(full.prefix(Self.macLength)), received) else { throw .macMismatch }
        macChainingValue = full
        return Array(tlv.value.dropLast(Self.macLength))
    }

    private mutating func encrypt(_ plaintext: [UInt8]) throws(Failure) -> [UInt8] {
        var padded = plaintext + [0x80]
        while padded.count % 16 != 0 { padded.append(0) }
        let icv = try nextICV()
        do {
            return try AES.encryptCBC(padded, key: sEnc, iv: icv)
        } catch {
            throw .crypto("\(error)")
        }
    }

    private mutating func decrypt(_ ciphertext: [UInt8]) throws(Failure) -> [UInt8] {
        guard !ciphertext.isEmpty, ciphertext.count % 16 == 0 else {
            throw .structure("ciphertext of \(ciphertext.count) bytes is not whole blocks")
        }
        let icv = try nextICV()
        let padded: [UInt8]
        do {
            padded = try AES.decryptCBC(ciphertext, key: sEnc, iv: icv)
        } catch {
            throw .crypto("\(error)")
        }
        guard let marker = padded.lastIndex(where: { $0 != 0 }), padded[marker] == 0x80 else {
            throw .structure("padding is not 80 00…")
        }
        return Array(padded[..<marker])
    }

    private mutating func nextICV() throws(Failure) -> [UInt8] {
        var block = [UInt8](repeating: 0, count: 16)
        var counter = blockCounter
        for index in stride(from: 15, through: 8, by: -1) {
            block[index] = UInt8(truncatingIfNeeded: counter)
            counter >>= 8
        }
        blockCounter += 1
        do {
            return try AES.encryptBlock(block, key: sEnc)
        } catch {
            throw .crypto("\(error)")
        }
    }

    private func cmac(_ data: [UInt8]) throws(Failure) -> [UInt8] {
        do {
            return try AESCMAC.tag(for: data, key: sMac)
        } catch {
            throw .crypto("\(error)")
        }
    }

    private func constantTimeEquals(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }
}
