import NIOCore
import NIOEmbedded
import TerminalProtocol
import XCTest

final class TerminalFrameEncoderTests: XCTestCase {
    func testWritesLengthPrefixedFrames() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TerminalFrameEncoder()))
        try channel.writeOutbound(KnownAnswerTests.heartbeat)
        try channel.writeOutbound(KnownAnswerTests.apduBatch)
        XCTAssertEqual(try channel.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) }, KnownAnswerTests.heartbeatFrame)
        XCTAssertEqual(try channel.readOutbound(as: ByteBuffer.self).map { Array($0.readableBytesView) }, KnownAnswerTests.apduBatchFrame)
        XCTAssertTrue(try channel.finish().isClean)
    }

    func testEncoderAndDecoderAgree() throws {
        let client = EmbeddedChannel()
        try client.pipeline.syncOperations.addHandler(MessageToByteHandler(TerminalFrameEncoder()))
        let server = EmbeddedChannel()
        try server.pipeline.syncOperations.addHandler(ByteToMessageHandler(TerminalFrameDecoder()))

        for frame in SampleFrames.allFieldsSet {
            try client.writeOutbound(frame)
        }
        while let bytes = try client.readOutbound(as: ByteBuffer.self) {
            try server.writeInbound(bytes)
        }
        var received: [TerminalFrame] = []
        while let frame = try server.readInbound(as: TerminalFrame.self) {
            received.append(frame)
        }
        XCTAssertEqual(received, SampleFrames.allFieldsSet)
        XCTAssertTrue(try client.finish().isClean)
        XCTAssertTrue(try server.finish().isClean)
    }

    func testFrameOverThePeersLimitFailsTheWriteAndSendsNothing() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(TerminalFrameEncoder(maximumFrameLength: 64)))
        let frame = TerminalFrame.goodbye(Goodbye(reason: .shuttingDown, text: String(repeating: "z", count: 80)))
        let size = TerminalFrameCodec.encode(frame).count
        let write = channel.writeAndFlush(frame)
        XCTAssertThrowsError(try write.wait()) { error in
            XCTAssertEqual(error as? TerminalProtocolError, .frameTooLarge(length: size, limit: 64))
        }
        XCTAssertNil(try channel.readOutbound(as: ByteBuffer.self))
        _ = try? channel.finish()
    }
}
