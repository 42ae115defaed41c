import Testing
@testable import RSP

@Suite struct BoundProfilePackageTests {
    static func segment(_ tag: UInt32, _ fill: UInt8, _ count: Int) -> [UInt8] {
        TLV.encode(tag, [UInt8](repeating: fill, count: count))
    }

    static let secureChannel = InitialiseSecureChannelRequest(
        transactionId: [0x01, 0x02, 0x03, 0x04], hostId: Array("host".utf8),
        smdpOtpk: [0x04] + [UInt8](repeating: 0x11, count: 64), smdpSign: [UInt8](repeating: 0x22, count: 64)
    )

    static func package(withReplaceSessionKeys: Bool = true) -> [UInt8] {
        BoundProfilePackage.encode(
            initialiseSecureChannel: secureChannel,
            firstSequenceOf87: [segment(0x87, 0x87, 24)],
            sequenceOf88: [segment(0x88, 0x01, 200), segment(0x88, 0x02, 16)],
            secondSequenceOf87: withReplaceSessionKeys ? [segment(0x87, 0x33, 40)] : nil,
            sequenceOf86: [segment(0x86, 0xA1, 1000), segment(0x86, 0xA2, 300), segment(0x86, 0xA3, 9)]
        )
    }

    @Test func splitsAsSection255Says() throws {
        let der = Self.package()
        let bpp = try BoundProfilePackage(der: der)
        let commands = bpp.loadCommands
        #expect(commands.map(\.kind) == [
            .initialiseSecureChannel, .configureISDP, .storeMetadataHeader, .storeMetadata, .storeMetadata,
            .replaceSessionKeys, .profileElementsHeader, .profileElements, .profileElements, .profileElements,
        ])
        // [BF36 tag and length + whole BF23]: the outer value is 3 + 66 + ... bytes, so its length takes 3 bytes.
        let bf23 = Self.secureChannel.der
        #expect(commands[0].bytes == [0xBF, 0x36, 0x82] + Array(der[3..<5]) + bf23)
        #expect(commands[1].bytes == TLV.encode(0xA0, Self.segment(0x87, 0x87, 24)))
        // [A1 tag and length] only: the two 88s are 203 + 18 = 221 bytes.
        #expect(commands[2].bytes == [0xA1, 0x81, 221])
        #expect(commands[3].bytes == Self.segment(0x88, 0x01, 200))
        #expect(commands[4].bytes == Self.segment(0x88, 0x02, 16))
        #expect(commands[5].bytes == TLV.encode(0xA2, Self.segment(0x87, 0x33, 40)))
        // [A3 tag and length]: 1004 + 304 + 11 = 1319 bytes.
        #expect(commands[6].bytes == [0xA3, 0x82, 0x05, 0x27])
        #expect(commands[7].bytes == Self.segment(0x86, 0xA1, 1000))
        #expect(commands[9].bytes == Self.segment(0x86, 0xA3, 9))
        // Concatenated, the commands are the package.
        #expect(commands.flatMap(\.bytes) == der)
        #expect(bpp.initialiseSecureChannel == Self.secureChannel)
    }

    @Test func withoutReplaceSessionKeys() throws {
        let bpp = try BoundProfilePackage(der: Self.package(withReplaceSessionKeys: false))
        #expect(!bpp.loadCommands.contains { $0.kind == .replaceSessionKeys })
        #expect(bpp.secondSequenceOf87 == nil)
        #expect(bpp.loadCommands.flatMap(\.bytes) == bpp.encoded)
    }

    @Test func malformedPackagesAreRefusedWithAReason() throws {
        func refused(_ bytes: [UInt8], _ fragment: String) {
            do {
                _ = try BoundProfilePackage(der: bytes)
                Issue.record("accepted a malformed package (\(fragment))")
            } catch {
                guard case .invalidBoundProfilePackage(let reason) = error else {
                    Issue.record("wrong error \(error)")
                    return
                }
                #expect(reason.contains(fragment), "\(reason)")
            }
        }
        let good = Self.package()
        refused(Array(good.dropLast()), "malformed")
        refused(good + [0x00], "malformed")
        refused(TLV.encode(0xBF37, [0x80, 0x00]), "not BF36")
        refused(TLV.encode(0xBF36, TLV.encode(0xA0, Self.segment(0x87, 0, 20))), "BF23")
        let isc = Self.secureChannel.der
        refused(TLV.encode(0xBF36, isc + TLV.encode(0xA0, Self.segment(0x87, 0, 20))), "sequenceOf88 (A1) is missing")
        refused(TLV.encode(0xBF36, isc + TLV.encode(0xA0, Self.segment(0x86, 0, 20))), "firstSequenceOf87[0] has tag 86")
        refused(TLV.encode(0xBF36, isc + TLV.encode(0xA0, [])), "firstSequenceOf87 is empty")
        refused(TLV.encode(0xBF36, isc + TLV.encode(0xA0, Self.segment(0x87, 0, 4))), "too short to carry a MAC")
        refused(TLV.encode(0xBF36, isc + TLV.encode(0xA0, Self.segment(0x87, 0, 65_281))), "more than one command carries")
        let noProfile = isc + TLV.encode(0xA0, Self.segment(0x87, 0, 20)) + TLV.encode(0xA1, Self.segment(0x88, 0, 20))
        refused(TLV.encode(0xBF36, noProfile), "sequenceOf86 (A3) is missing")
        refused(TLV.encode(0xBF36, noProfile + TLV.encode(0xA3, Self.segment(0x86, 0, 20)) + [0x80, 0x00]), "unexpected element 80")
    }

    /// SM-DP+s that cut segments larger than §2.5.3's 1020 bytes exist: the package is carried, the size counted.
    @Test func oversizedSegmentsAreCarriedAndCounted() throws {
        let isc = Self.secureChannel.der
        let big86 = Self.segment(0x86, 0xA1, 1032)
        #expect(big86.count == 1036)
        let der = TLV.encode(0xBF36, isc + TLV.encode(0xA0, Self.segment(0x87, 0, 20))
            + TLV.encode(0xA1, Self.segment(0x88, 0, 20)) + TLV.encode(0xA3, big86 + Self.segment(0x86, 0xA2, 500)))
        let bpp = try BoundProfilePackage(der: der)
        #expect(bpp.oversizedSegments == 1)
        #expect(bpp.largestSegment == 1036)
        #expect(bpp.loadCommands.last?.bytes == Self.segment(0x86, 0xA2, 500))
        #expect(bpp.loadCommands.flatMap(\.bytes) == der)
        #expect(try BoundProfilePackage(der: Self.package()).oversizedSegments == 0)
    }

    @Test func everyTruncationAndRandomCorruptionIsAnErrorNotACrash() {
        let good = Self.package()
        for length in 0..<good.count {
            #expect(throws: RSPError.self) { try BoundProfilePackage(der: Array(good.prefix(length))) }
        }
        var generator = SplitMix(seed: 0x5EED)
        for _ in 0..<2000 {
            var bytes = good
            for _ in 0..<(1 + Int(generator.next() % 4)) {
                bytes[Int(generator.next() % UInt64(bytes.count))] = UInt8(truncatingIfNeeded: generator.next())
            }
            _ = try? BoundProfilePackage(der: bytes)
        }
    }
}

/// A small deterministic generator for fuzzing.
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
