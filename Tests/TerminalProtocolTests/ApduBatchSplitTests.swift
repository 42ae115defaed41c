import NIOCore
import TerminalProtocol
import XCTest

/// Batches cut to a terminal's announced frame limit: every part's encoded frame fits, order is kept.
final class ApduBatchSplitTests: XCTestCase {
    func testPartsFitTheFrameLimitAndKeepOrder() throws {
        let apdus = (0..<40).map { i in [UInt8(0x80), 0xE2, 0x11, UInt8(i)] + [UInt8](repeating: UInt8(i), count: 250) }
        let batch = ApduBatch(batchID: 7, channel: 1, apdus: apdus, acceptSW: [0x9000, 0x6310])
        for limit in [2048, 4096, 65_536] {
            let parts = ApduBatch.split(batch, maximumFrameLength: limit)
            XCTAssertEqual(parts.flatMap(\.apdus), apdus, "limit \(limit)")
            for part in parts {
                XCTAssertEqual(part.channel, 1)
                XCTAssertEqual(part.acceptSW, [0x9000, 0x6310])
                var buffer = ByteBufferAllocator().buffer(capacity: 0)
                try TerminalFrameEncoder().encode(data: .apduBatch(part), out: &buffer)
                XCTAssertLessThanOrEqual(buffer.readableBytes, limit, "limit \(limit)")
            }
            if limit == 65_536 { XCTAssertEqual(parts.count, 1) }
        }
        XCTAssertEqual(ApduBatch.split(ApduBatch(channel: 0, apdus: []), maximumFrameLength: 100).count, 1)
        // An APDU larger than the limit travels alone.
        let big = ApduBatch(channel: 0, apdus: [[1, 2, 3, 4], [UInt8](repeating: 0, count: 500), [5, 6, 7, 8]])
        XCTAssertEqual(ApduBatch.split(big, maximumFrameLength: 200).map(\.apdus.count), [1, 1, 1])
    }
}
