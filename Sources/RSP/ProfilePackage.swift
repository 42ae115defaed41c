/// An Unprotected Profile Package (SGP.22 §2.5.2): the sequence of Profile Elements of the eUICC Profile
/// Package format (TCA/SIMalliance Interoperable Profile) that the SM-DP+ encrypts into `86` segments.
///
/// This module reads only the header (`ProfileElement.header`, `A0`: versions, profile type, ICCID) and can
/// build well-formed packages for simulation: a header, a number of `genericFileManagement` elements carrying
/// filler data, and the end element (`PEDefinitions`, `AUTOMATIC TAGS`).
///
/// `ProfileHeader.iccid` is written in ITU-T E.118 digit order (not nibble-swapped like EF.ICCID and the
/// SGP.22 `Iccid`); for a full profile the eUICC does not compare it with the metadata.
public struct ProfilePackage: Sendable, Hashable {
    static let object = "ProfileElement header"
    /// `ProfileHeader.iccid`, as digits.
    public var iccid: String
    /// Whether `iccid` is written nibble-swapped as in EF.ICCID: a deviation some SM-DP+s show, reproduced by
    /// the simulator on request. `init(headerOf:)` sets it only when the value cannot be read in E.118 order.
    public var swapsHeaderICCID: Bool = false
    /// `ProfileHeader.profileType`.
    public var profileType: String
    public var majorVersion: Int
    public var minorVersion: Int

    public init(iccid: String, profileType: String, majorVersion: Int = 2, minorVersion: Int = 3) {
        self.iccid = iccid
        self.profileType = profileType
        self.majorVersion = majorVersion
        self.minorVersion = minorVersion
    }

    /// Reads the header of an encoded package (its first Profile Element, `A0`).
    public init(headerOf package: [UInt8]) throws(RSPError) {
        let object = Self.object
        guard !package.isEmpty else { throw .malformed(object: object, reason: "empty package") }
        // The package is a concatenation of elements; the header is the first, so read one TLV.
        let length = try Self.firstElementLength(package)
        let header = try TLV(der: package[..<length], object: object).expect(0xA0, object: object)
        majorVersion = try header.requiredChild(0x80, in: object).integer(field: "major-version", in: object)
        minorVersion = try header.requiredChild(0x81, in: object).integer(field: "minor-version", in: object)
        profileType = try header.child(0x82)?.utf8(field: "profileType", in: object) ?? ""
        let iccidValue = try header.requiredChild(0x83, in: object)
        guard iccidValue.value.count == 10 else {
            throw .invalidValue(object: object, field: "iccid", reason: "\(iccidValue.value.count) bytes, expected 10")
        }
        // E.118 order as the Profile Package specification writes it; a value only readable swapped (a known
        // field deviation) is read that way rather than refused: the header's ICCID is informative.
        if let digits = BCD.packedDigitsPadded(iccidValue.value) {
            iccid = digits
        } else if let digits = BCD.swappedDigits(iccidValue.value) {
            iccid = digits
            swapsHeaderICCID = true
        } else {
            throw .invalidValue(object: object, field: "iccid", reason: "not a 10-byte BCD ICCID")
        }
    }

    /// Splits an encoded package into its Profile Elements; throws when any is malformed.
    public static func elements(of package: [UInt8]) throws(RSPError) -> [TLV] {
        var elements: [TLV] = []
        var rest = package[...]
        while !rest.isEmpty {
            let length = try firstElementLength(rest)
            elements.append(try TLV(der: rest.prefix(length), object: "ProfileElement"))
            rest = rest.dropFirst(length)
        }
        return elements
    }

    /// The header element: `ProfileElement.header [0] ProfileHeader { major-version [0], minor-version [1],
    /// profileType [2], iccid [3], eUICC-Mandatory-services [5] { usim [1], milenage [4] },
    /// eUICC-Mandatory-GFSTEList [6] {} }`.
    public var headerElement: [UInt8] {
        let iccidBytes = (swapsHeaderICCID ? BCD.swapped(iccid, byteCount: 10) : BCD.packed(iccid, byteCount: 10)) ?? []
        var children = [TLV.integer(0x80, majorVersion), TLV.integer(0x81, minorVersion)]
        if !profileType.isEmpty { children.append(TLV.utf8(0x82, profileType)) }
        children += [
            TLV.encode(0x83, iccidBytes),
            TLV.encode(0xA5, children: [[0x81, 0x00], [0x84, 0x00]]),
            TLV.encode(0xA6, []),
        ]
        return TLV.encode(0xA0, children: children)
    }

    /// A complete package: the header, `fillerElements` generic file-management elements
    /// (`genericFileManagement [1] { gfm-header [0] { identification [1] }, fileManagementCMD [1] {
    /// SEQUENCE { fillFileContent [1] } } }`) of about `fillerSize` bytes each (their content is taken from
    /// `filler`), and the end element (`end [10] { end-header [0] { identification [1] } }`).
    public func encoded(fillerElements: Int, fillerSize: Int, filler: (Int) -> [UInt8]) -> [UInt8] {
        var out = headerElement
        for index in 0..<fillerElements {
            let content = filler(index)
            out += TLV.encode(0xA1, children: [
                TLV.encode(0xA0, children: [TLV.integer(0x81, index + 1)]),
                TLV.encode(0xA1, TLV.encode(RSPTag.sequence, TLV.encode(0x81, content.prefix(max(0, fillerSize))))),
            ])
        }
        out += TLV.encode(0xAA, TLV.encode(0xA0, TLV.integer(0x81, fillerElements + 1)))
        return out
    }

    /// The encoded length of the first TLV in `bytes`, read from its header without trusting it beyond
    /// the available bytes.
    static func firstElementLength(_ bytes: ArraySlice<UInt8>) throws(RSPError) -> Int {
        let object = "ProfileElement"
        var index = bytes.startIndex
        func next() throws(RSPError) -> UInt8 {
            guard index < bytes.endIndex else { throw .malformed(object: object, reason: "truncated header") }
            defer { index += 1 }
            return bytes[index]
        }
        let first = try next()
        if first & 0x1F == 0x1F {
            var count = 0
            while try next() & 0x80 != 0 {
                count += 1
                guard count < 4 else { throw .malformed(object: object, reason: "tag too long") }
            }
        }
        let lengthByte = try next()
        var length = Int(lengthByte)
        if lengthByte & 0x80 != 0 {
            let count = Int(lengthByte & 0x7F)
            guard (1...3).contains(count) else { throw .malformed(object: object, reason: "length of \(count) bytes") }
            length = 0
            for _ in 0..<count { length = length << 8 | Int(try next()) }
        }
        let total = index - bytes.startIndex + length
        guard total <= bytes.count else { throw .malformed(object: object, reason: "element of \(total) bytes, \(bytes.count) available") }
        return total
    }

    static func firstElementLength(_ bytes: [UInt8]) throws(RSPError) -> Int {
        try firstElementLength(bytes[...])
    }
}
