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
