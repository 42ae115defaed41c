/// Several ES10 commands cut into STORE DATA APDUs for one terminal round trip, and the terminal's
/// responses mapped back to each command.
///
/// The device stops a batch at the first status word other than `9000`/`91xx` (answering `61xx` with GET
/// RESPONSE itself), so a command either completed — all its blocks acknowledged, the last one's data is the
/// response — or was refused at one block, or never ran.
public struct ES10Batch: Sendable {
    /// What became of one command of the batch.
    public enum Outcome: Sendable, Hashable {
        /// Every block was acknowledged; `data` is the response (possibly empty).
        case completed(data: [UInt8])
        /// Block `block` answered with `sw` (and `data`, if any).
        case refused(block: Int, sw: StatusWord, data: [UInt8])
        /// The batch stopped before this command.
        case notExecuted

        /// The response data of a completed command.
        public var data: [UInt8]? {
            if case .completed(let data) = self { return data }
            return nil
        }
    }

    public let channel: UInt8
    public let blockSize: Int
    /// The APDUs to send, in order.
    public private(set) var apdus: [[UInt8]] = []
    /// Names of the commands, for errors.
    public private(set) var names: [String] = []
    private var ranges: [Range<Int>] = []

    public init(channel: UInt8, blockSize: Int = StoreData.defaultBlockSize) {
        self.channel = channel
        self.blockSize = blockSize
    }

    /// Adds one ES10 command (its DER); returns its index.
    @discardableResult
    public mutating func append(_ command: some Collection<UInt8>, name: String) throws(StoreData.SegmentationError) -> Int {
        let blocks = try StoreData.apdus(for: command, channel: channel, blockSize: blockSize)
        ranges.append(apdus.count..<(apdus.count + blocks.count))
        apdus += blocks
        names.append(name)
        return ranges.count - 1
    }

    public var commandCount: Int { ranges.count }

    /// Maps the responses of a run (one per executed APDU, data then SW) to the commands.
    public func outcomes(_ responses: [[UInt8]]) -> [Outcome] {
        ranges.map { range in
            for index in range {
                guard index < responses.count else { return .notExecuted }
                guard let (data, sw) = StatusWord.split(responses[index]) else {
                    return .refused(block: index - range.lowerBound, sw: StatusWord(0), data: [])
                }
                let accepted = sw.isSuccess || sw.value >> 8 == 0x91
                if !accepted { return .refused(block: index - range.lowerBound, sw: sw, data: Array(data)) }
                if index == range.upperBound - 1 { return .completed(data: Array(data)) }
            }
            return .notExecuted
        }
    }
}
