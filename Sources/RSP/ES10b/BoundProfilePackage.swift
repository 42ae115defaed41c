/// `InitialiseSecureChannelRequest ::= [35] SEQUENCE` (BF23): the first part of a Bound Profile Package.
public struct InitialiseSecureChannelRequest: Sendable, Hashable {
    static let object = "BF23 InitialiseSecureChannelRequest"
    /// `remoteOpId`: 1 = installBoundProfilePackage, the only value SGP.22 defines.
    public var remoteOpId: Int
    public var transactionId: [UInt8]
    /// `controlRefTemplate.keyType` (`88`: AES).
    public var keyType: UInt8
    /// `controlRefTemplate.keyLen` (`10`: 16 bytes).
    public var keyLength: UInt8
    /// `controlRefTemplate.hostId`.
    public var hostId: [UInt8]
    /// The SM-DP+'s one-time key agreement public key (uncompressed point).
    public var smdpOtpk: [UInt8]
    /// The 64-byte r‖s of `smdpSign`.
    public var smdpSign: [UInt8]

    public init(
        remoteOpId: Int = 1, transactionId: [UInt8], keyType: UInt8 = 0x88, keyLength: UInt8 = 0x10,
        hostId: [UInt8], smdpOtpk: [UInt8], smdpSign: [UInt8]
    ) {
        self.remoteOpId = remoteOpId
        self.transactionId = transactionId
        self.keyType = keyType
        self.keyLength = keyLength
        self.hostId = hostId
        self.smdpOtpk = smdpOtpk
        self.smdpSign = smdpSign
    }

    public init(tlv: TLV) throws(RSPError) {
        let object = Self.object
        _ = try tlv.expect(RSPTag.initialiseSecureChannel, object: object)
        remoteOpId = try tlv.requiredChild(0x82, in: object).integer(field: "remoteOpId", in: object)
        transactionId = try tlv.requiredChild(0x80, in: object).bytes(in: 1...16, field: "transactionId", object: object)
        let template = try tlv.requiredChild(0xA6, in: object)
        keyType = try template.requiredChild(0x80, in: object).fixedBytes(1, field: "keyType", in: object)[0]
        keyLength = try template.requiredChild(0x81, in: object).fixedBytes(1, field: "keyLen", in: object)[0]
        hostId = try template.requiredChild(0x84, in: object).bytes(in: 1...16, field: "hostId", object: object)
        smdpOtpk = try tlv.requiredChild(RSPTag.publicKey, in: object).bytes(in: 33...133, field: "smdpOtpk", object: object)
        smdpSign = try tlv.requiredChild(RSPTag.signature, in: object).fixedBytes(64, field: "smdpSign", in: object)
    }

    /// The data objects from `remoteOpId` to `smdpOtpk`: the first half of what smdpSign covers (the second
    /// half is the eUICC's `euiccOtpk` object, `5F49`).
    public var signedPart: [UInt8] {
        TLV.integer(0x82, remoteOpId)
            + TLV.encode(0x80, transactionId)
            + TLV.encode(0xA6, children: [TLV.encode(0x80, [keyType]), TLV.encode(0x81, [keyLength]), TLV.encode(0x84, hostId)])
            + TLV.encode(RSPTag.publicKey, smdpOtpk)
    }

    /// The bytes smdpSign is computed over, given the eUICC's one-time public key.
    public static func signedData(signedPart: [UInt8], euiccOtpk: [UInt8]) -> [UInt8] {
        signedPart + TLV.encode(RSPTag.publicKey, euiccOtpk)
    }

    public var der: [UInt8] {
        TLV.encode(RSPTag.initialiseSecureChannel, signedPart + TLV.encode(RSPTag.signature, smdpSign))
    }
}

/// `BoundProfilePackage ::= [54] SEQUENCE` (BF36), read and split into the ES10b.LoadBoundProfilePackage
/// commands of SGP.22 §2.5.5 — the unpacking step (S130).
///
/// Unpacking validates the whole structure first: a package that is not exactly `BF23`, `A0` of `87`s, `A1` of
/// `88`s, an optional `A2` of `87`s and `A3` of `86`s is refused before a single byte goes to a device, and so is
/// a segment that cannot be carried (more than 256 STORE DATA blocks of 255 bytes) or has no room for its MAC.
///
/// Segments larger than the 1020 bytes SGP.22 §2.5.3 has the SM-DP+ cut are *not* refused: the LPA cannot
/// decrypt them, so the eUICC judges. They are counted in `oversizedSegments` for the caller to report.
public struct BoundProfilePackage: Sendable, Hashable {
    /// One ES10b.LoadBoundProfilePackage command and what it carries.
    public struct LoadCommand: Sendable, Hashable {
        public enum Kind: String, Sendable, Hashable {
            case initialiseSecureChannel, configureISDP, storeMetadataHeader, storeMetadata, replaceSessionKeys
            case profileElementsHeader, profileElements
        }
        public var kind: Kind
        /// The bytes of this command (one ES10b call, before STORE DATA blocking).
        public var bytes: [UInt8]
    }

    /// The largest segment SGP.22 §2.5.3 has the SM-DP+ produce (tag, length and MAC included); larger ones are
    /// carried and counted.
    public static let maximumSegmentSize = 1020
    /// The largest segment one ES10b.LoadBoundProfilePackage command can carry: 256 STORE DATA blocks of 255 bytes.
    public static let maximumCarriedSegmentSize = 256 * StoreData.blockSizes.upperBound

    public let initialiseSecureChannel: InitialiseSecureChannelRequest
    public let firstSequenceOf87: [[UInt8]]
    public let sequenceOf88: [[UInt8]]
    public let secondSequenceOf87: [[UInt8]]?
    public let sequenceOf86: [[UInt8]]
    /// How many `87`/`88`/`86` segments are larger than `maximumSegmentSize`.
    public let oversizedSegments: Int
    /// The size of the largest segment (tag, length and MAC included).
    public let largestSegment: Int
    /// The commands in the order they must be sent.
    public let loadCommands: [LoadCommand]
    public let encoded: [UInt8]

    public init(der: [UInt8]) throws(RSPError) {
        let package: TLV
        do {
            package = try TLV(der: der, object: "BF36 BoundProfilePackage")
        } catch {
            throw .invalidBoundProfilePackage(reason: "\(error)")
        }
        guard package.tag == RSPTag.boundProfilePackage else {
            throw .invalidBoundProfilePackage(reason: "outer tag is \(TLV.tagString(package.tag)), not BF36")
        }
        var parts = package.children[...]
        guard let secureChannel = parts.popFirst(), secureChannel.tag == RSPTag.initialiseSecureChannel else {
            throw .invalidBoundProfilePackage(reason: "the first element must be BF23 InitialiseSecureChannelRequest")
        }
        initialiseSecureChannel = try InitialiseSecureChannelRequest(tlv: secureChannel)

        func sequence(_ tag: UInt32, of member: UInt32, name: String) throws(RSPError) -> TLV {
            guard let part = parts.popFirst() else {
                throw .invalidBoundProfilePackage(reason: "\(name) (\(TLV.tagString(tag))) is missing")
            }
            guard part.tag == tag else {
                throw .invalidBoundProfilePackage(reason: "expected \(name) (\(TLV.tagString(tag))), found \(TLV.tagString(part.tag))")
            }
            let members = part.children
            guard !members.isEmpty else {
                throw .invalidBoundProfilePackage(reason: "\(name) is empty")
            }
            for (index, item) in members.enumerated() {
                guard item.tag == member else {
                    throw .invalidBoundProfilePackage(reason: "\(name)[\(index)] has tag \(TLV.tagString(item.tag)), expected \(TLV.tagString(member))")
                }
                guard item.encoded.count <= Self.maximumCarriedSegmentSize else {
                    throw .invalidBoundProfilePackage(
                        reason: "\(name)[\(index)] is \(item.encoded.count) bytes, more than one command carries (\(Self.maximumCarriedSegmentSize))")
                }
                guard item.value.count > 8 else {
                    throw .invalidBoundProfilePackage(reason: "\(name)[\(index)] is too short to carry a MAC")
                }
            }
            return part
        }

        let first87 = try sequence(0xA0, of: 0x87, name: "firstSequenceOf87")
        let all88 = try sequence(0xA1, of: 0x88, name: "sequenceOf88")
        var second87: TLV?
        if parts.first?.tag == 0xA2 {
            second87 = try sequence(0xA2, of: 0x87, name: "secondSequenceOf87")
        }
        let all86 = try sequence(0xA3, of: 0x86, name: "sequenceOf86")
        guard parts.isEmpty else {
            throw .invalidBoundProfilePackage(reason: "unexpected element \(TLV.tagString(parts.first!.tag)) after sequenceOf86")
        }

        firstSequenceOf87 = first87.children.map { Array($0.encoded) }
        sequenceOf88 = all88.children.map { Array($0.encoded) }
        secondSequenceOf87 = second87.map { $0.children.map { Array($0.encoded) } }
        sequenceOf86 = all86.children.map { Array($0.encoded) }
        let sizes = (firstSequenceOf87 + sequenceOf88 + (secondSequenceOf87 ?? []) + sequenceOf86).map(\.count)
        oversizedSegments = sizes.filter { $0 > Self.maximumSegmentSize }.count
        largestSegment = sizes.max() ?? 0
        encoded = der

        // SGP.22 §2.5.5: the commands are [BF36 header + BF23], [A0 whole], [A1 header], [each 88],
        // [A2 whole], [A3 header], [each 86].
        let packageHeader = Array(package.encoded.prefix(package.encoded.count - package.value.count))
        var commands = [LoadCommand(kind: .initialiseSecureChannel, bytes: packageHeader + Array(secureChannel.encoded))]
        commands.append(LoadCommand(kind: .configureISDP, bytes: Array(first87.encoded)))
        commands.append(LoadCommand(kind: .storeMetadataHeader, bytes: Self.header(of: all88)))
        commands += sequenceOf88.map { LoadCommand(kind: .storeMetadata, bytes: $0) }
        if let second87 {
            commands.append(LoadCommand(kind: .replaceSessionKeys, bytes: Array(second87.encoded)))
        }
        commands.append(LoadCommand(kind: .profileElementsHeader, bytes: Self.header(of: all86)))
        commands += sequenceOf86.map { LoadCommand(kind: .profileElements, bytes: $0) }
        loadCommands = commands
    }

    private static func header(of tlv: TLV) -> [UInt8] {
        Array(tlv.encoded.prefix(tlv.encoded.count - tlv.value.count))
    }

    /// Builds a package from its parts (each member already protected and encoded, tag and MAC included).
    public static func encode(
        initialiseSecureChannel: InitialiseSecureChannelRequest, firstSequenceOf87: [[UInt8]],
        sequenceOf88: [[UInt8]], secondSequenceOf87: [[UInt8]]?, sequenceOf86: [[UInt8]]
    ) -> [UInt8] {
        var children = [
            initialiseSecureChannel.der,
            TLV.encode(0xA0, children: firstSequenceOf87),
            TLV.encode(0xA1, children: sequenceOf88),
        ]
        if let secondSequenceOf87 { children.append(TLV.encode(0xA2, children: secondSequenceOf87)) }
        children.append(TLV.encode(0xA3, children: sequenceOf86))
        return TLV.encode(RSPTag.boundProfilePackage, children: children)
    }
}
