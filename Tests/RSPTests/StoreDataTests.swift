import Testing
@testable import RSP

@Suite struct StoreDataTests {
    @Test func tenBytesInBlocksOfSixOnChannelOne() throws {
        let command: [UInt8] = [0xBF, 0x2E, 0x08, 1, 2, 3, 4, 5, 6, 7]
        let apdus = try StoreData.apdus(for: command, channel: 1, blockSize: 6)
        #expect(apdus == [
            [0x81, 0xE2, 0x11, 0x00, 0x06, 0xBF, 0x2E, 0x08, 1, 2, 3],
            [0x81, 0xE2, 0x91, 0x01, 0x04, 4, 5, 6, 7, 0x00],
        ])
    }

    @Test func singleBlockCommandIsLastBlockZero() throws {
        let apdus = try StoreData.apdus(for: EUICCQueries.getEuiccChallenge, channel: 0)
        #expect(apdus == [[0x80, 0xE2, 0x91, 0x00, 0x03, 0xBF, 0x2E, 0x00, 0x00]])
    }

    @Test func exactMultipleOfBlockSize() throws {
        let command = [UInt8](repeating: 0xAB, count: 510)
        let apdus = try StoreData.apdus(for: command, channel: 2, blockSize: 255)
        #expect(apdus.count == 2)
        #expect(Array(apdus[0].prefix(5)) == [0x82, 0xE2, 0x11, 0x00, 0xFF])
        #expect(Array(apdus[1].prefix(5)) == [0x82, 0xE2, 0x91, 0x01, 0xFF])
        #expect(apdus[0].count == 260 && apdus[1].count == 261)
    }

    @Test func extendedChannelsUseFurtherInterindustryClass() throws {
        #expect(try StoreData.classByte(channel: 3) == 0x83)
        #expect(try StoreData.classByte(channel: 4) == 0xC0)
        #expect(try StoreData.classByte(channel: 19) == 0xCF)
        #expect(throws: StoreData.SegmentationError.channelOutOfRange(20)) { try StoreData.classByte(channel: 20) }
    }

    @Test func blockSizeLimitsAndReassembly() throws {
        #expect(throws: StoreData.SegmentationError.blockSizeOutOfRange(5)) { try StoreData.apdus(for: [1], channel: 0, blockSize: 5) }
        #expect(throws: StoreData.SegmentationError.blockSizeOutOfRange(256)) { try StoreData.apdus(for: [1], channel: 0, blockSize: 256) }
        #expect(throws: StoreData.SegmentationError.emptyCommand) { try StoreData.apdus(for: [], channel: 0) }
        #expect(throws: StoreData.SegmentationError.tooManyBlocks(257)) {
            try StoreData.apdus(for: [UInt8](repeating: 0, count: 6 * 256 + 1), channel: 0, blockSize: 6)
        }
        // Every size from 6 to 255 carries a command back intact, block numbers counting from zero.
        let command = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        for size in StoreData.blockSizes {
            let apdus = try StoreData.apdus(for: command, channel: 1, blockSize: size)
            var rebuilt: [UInt8] = []
            for (index, apdu) in apdus.enumerated() {
                #expect(apdu[3] == UInt8(index))
                #expect(apdu[2] == (index == apdus.count - 1 ? 0x91 : 0x11))
                rebuilt += apdu[5..<(5 + Int(apdu[4]))]
            }
            #expect(rebuilt == command)
        }
    }

    @Test func statusWordSplit() {
        let split = StatusWord.split([0xBF, 0x2E, 0x61, 0x10])
        #expect(split?.sw == StatusWord(0x6110))
        #expect(split?.sw.hasMoreData == true)
        #expect(StatusWord.split([0x90]) == nil)
        #expect(StatusWord(0x6A88).description == "6A88")
    }
}

@Suite struct ES10BatchTests {
    @Test func responsesMapToCommands() throws {
        var batch = ES10Batch(channel: 1, blockSize: 6)
        try batch.append([UInt8](repeating: 1, count: 10), name: "two blocks")
        try batch.append([0xBF, 0x2E, 0x00], name: "one block")
        try batch.append([UInt8](repeating: 2, count: 13), name: "three blocks")
        #expect(batch.apdus.count == 6)
        let all = batch.outcomes([[0x90, 0x00], [0xAA, 0x90, 0x00], [0xBF, 0x2E, 0x00, 0x90, 0x00], [0x90, 0x00], [0x90, 0x00], [0x91, 0x10]])
        #expect(all == [.completed(data: [0xAA]), .completed(data: [0xBF, 0x2E, 0x00]), .completed(data: [])])
        let stopped = batch.outcomes([[0x90, 0x00], [0x90, 0x00], [0x6A, 0x88]])
        #expect(stopped == [.completed(data: []), .refused(block: 0, sw: StatusWord(0x6A88), data: []), .notExecuted])
        #expect(batch.outcomes([]) == [.notExecuted, .notExecuted, .notExecuted])
        #expect(batch.outcomes([[0x90]]).first == .refused(block: 0, sw: StatusWord(0), data: []))
    }
}
