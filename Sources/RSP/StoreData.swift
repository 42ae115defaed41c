/// ES10 transport: every ES10 function travels to the ISD-R as GlobalPlatform STORE DATA commands (SGP.22 §5.7.2).
///
/// A command's DER is cut into blocks of at most `blockSize` bytes: `CLA=80|channel, INS=E2, P1=11` for every
/// block but the last, `P1=91` for the last, `P2` the block number from `00`, and `Le=00` on the last block so the
/// eUICC may answer with data (or `61xx`, which the device turns into GET RESPONSE).
public enum StoreData {
    /// The block sizes the ISD-R accepts in one STORE DATA command (SGP.22 allows up to 255 data bytes).
    public static let blockSizes = 6...255
    /// The default: the largest block, so a segment needs the fewest APDUs.
    public static let defaultBlockSize = 255

    /// Why a command cannot be cut into STORE DATA blocks.
    public enum SegmentationError: Error, Sendable, Hashable, CustomStringConvertible {
        case blockSizeOutOfRange(Int)
        case emptyCommand
        case tooManyBlocks(Int)
        case channelOutOfRange(UInt8)

        public var description: String {
            switch self {
            case .blockSizeOutOfRange(let size): return "STORE DATA block size \(size) is outside \(StoreData.blockSizes)"
            case .emptyCommand: return "an ES10 command needs at least one byte"
            case .tooManyBlocks(let count): return "the command needs \(count) STORE DATA blocks; at most 256 are numbered"
            case .channelOutOfRange(let channel): return "logical channel \(channel) is outside 0...19"
            }
        }
    }

    /// The class byte for a GlobalPlatform proprietary command on `channel` (0–3: `80`–`83`, 4–19: `C0`–`CF`).
    public static func classByte(channel: UInt8) throws(SegmentationError) -> UInt8 {
        switch channel {
        case 0...3: return 0x80 | channel
        case 4...19: return 0xC0 | (channel - 4)
        default: throw .channelOutOfRange(channel)
        }
    }

    /// The STORE DATA APDUs that carry `command` on `channel`, in order.
    public static func apdus(
        for command: some Collection<UInt8>,
        channel: UInt8,
        blockSize: Int = defaultBlockSize
    ) throws(SegmentationError) -> [[UInt8]] {
        guard blockSizes.contains(blockSize) else { throw .blockSizeOutOfRange(blockSize) }
        guard !command.isEmpty else { throw .emptyCommand }
        let cla = try classByte(channel: channel)
        let bytes = Array(command)
        let blockCount = (bytes.count + blockSize - 1) / blockSize
        guard blockCount <= 256 else { throw .tooManyBlocks(blockCount) }
        var apdus: [[UInt8]] = []
        apdus.reserveCapacity(blockCount)
        for block in 0..<blockCount {
            let start = block * blockSize
            let end = min(start + blockSize, bytes.count)
            let last = block == blockCount - 1
            var apdu: [UInt8] = [cla, 0xE2, last ? 0x91 : 0x11, UInt8(block), UInt8(end - start)]
            apdu.append(contentsOf: bytes[start..<end])
            if last { apdu.append(0x00) }
            apdus.append(apdu)
        }
        return apdus
    }
}

/// The ISD-R, the eUICC application every ES10 command is addressed to.
public enum ISDR {
    /// `A0000005591010FFFFFFFF8900000100`.
    public static let aid: [UInt8] = [
        0xA0, 0x00, 0x00, 0x05, 0x59, 0x10, 0x10, 0xFF, 0xFF, 0xFF, 0xFF, 0x89, 0x00, 0x00, 0x01, 0x00,
    ]
}

/// A status word and its class, as an ES10 exchange sees it.
public struct StatusWord: Sendable, Hashable, CustomStringConvertible {
    public let value: UInt16
    public init(_ value: UInt16) { self.value = value }
    public init(sw1: UInt8, sw2: UInt8) { value = UInt16(sw1) << 8 | UInt16(sw2) }

    public static let success = StatusWord(0x9000)
    public var isSuccess: Bool { value == 0x9000 }
    /// `61xx`: more response data is waiting for GET RESPONSE.
    public var hasMoreData: Bool { value >> 8 == 0x61 }
    public var description: String {
        let hex = String(value, radix: 16, uppercase: true)
        return String(repeating: "0", count: 4 - hex.count) + hex
    }

    /// Splits a response APDU into data and status word; `nil` when it is shorter than two bytes.
    public static func split(_ response: [UInt8]) -> (data: ArraySlice<UInt8>, sw: StatusWord)? {
        guard response.count >= 2 else { return nil }
        return (response.dropLast(2), StatusWord(sw1: response[response.count - 2], sw2: response[response.count - 1]))
    }
}
