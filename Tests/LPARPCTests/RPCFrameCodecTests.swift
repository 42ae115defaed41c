import Foundation
import LPARPC
import NIOCore
import NIOEmbedded
import XCTest

final class RPCFrameCodecTests: XCTestCase {
    static let sampleFrames: [RPCFrame] = [
        RPCFrame(streamID: 0, payload: .hello(RPCHello(nodeID: "edge-1", maxFrameLength: 65_536, maxConcurrentCalls: 100))),
        RPCFrame(streamID: 1, payload: .request(method: "core.RegisterTerminal", deadlineMilliseconds: 1500, body: ByteBuffer(bytes: [1, 2, 3]))),
        RPCFrame(streamID: 1, payload: .request(method: "x", deadlineMilliseconds: 0, body: ByteBuffer())),
        RPCFrame(streamID: 2, payload: .response(status: .ok, message: "", body: ByteBuffer(bytes: Array(repeating: 7, count: 300)))),
        RPCFrame(streamID: 3, payload: .response(status: .notFound, message: "no terminal «8901»", body: ByteBuffer())),
        RPCFrame(streamID: 5, payload: .cancel),
        RPCFrame(streamID: 0, payload: .ping(0xDEAD_BEEF_0102_0304)),
        RPCFrame(streamID: 0, payload: .pong(42)),
        RPCFrame(streamID: 0, payload: .goAway(lastStreamID: 8, status: .unavailable, message: "draining")),
    ]

    private func encode(_ frames: [RPCFrame]) throws -> ByteBuffer {
        var buffer = ByteBuffer()
        for frame in frames { try RPCFrameEncoder.encode(frame, into: &buffer) }
        return buffer
    }

    private func decoderChannel(maxFrameLength: UInt32 = RPCFrameDecoder.defaultMaxFrameLength) -> EmbeddedChannel {
        EmbeddedChannel(handler: ByteToMessageHandler(RPCFrameDecoder(maxFrameLength: maxFrameLength)))
    }

    private func readFrames(_ channel: EmbeddedChannel) throws -> [RPCFrame] {
        var frames: [RPCFrame] = []
        while let frame = try channel.readInbound(as: RPCFrame.self) { frames.append(frame) }
        return frames
    }

    func testWireLayoutOfRequest() throws {
        let frame = RPCFrame(streamID: 0x0102_0304, payload: .request(method: "ab", deadlineMilliseconds: 0x0A0B_0C0D, body: ByteBuffer(bytes: [0xFF])))
        let bytes = Array(try encode([frame]).readableBytesView)
        XCTAssertEqual(bytes, [
            0, 0, 0, 14,  // length: kind + id + 2 + 2 + 4 + 1
            2,  // REQUEST
            1, 2, 3, 4,  // stream id
            0, 2, 0x61, 0x62,  // method
            0x0A, 0x0B, 0x0C, 0x0D,  // deadline ms
            0xFF,  // body
        ])
        XCTAssertEqual(frame.encodedLength, 14)
    }

    func testReadmeExample() throws {
        let frame = RPCFrame(streamID: 1, payload: .request(method: "core.TerminalGone", deadlineMilliseconds: 1500, body: ByteBuffer(bytes: [0x0A, 0x01, 0x74])))
        let hex = try encode([frame]).readableBytesView.map { String(format: "%02X", $0) }.joined(separator: " ")
        XCTAssertEqual(hex, "00 00 00 1F 02 00 00 00 01 00 11 63 6F 72 65 2E 54 65 72 6D 69 6E 61 6C 47 6F 6E 65 00 00 05 DC 0A 01 74")
    }

    func testWireLayoutOfGoAwayAndResponse() throws {
        let goAway = Array(try encode([RPCFrame(streamID: 0, payload: .goAway(lastStreamID: 7, status: .unavailable, message: "x"))]).readableBytesView)
        XCTAssertEqual(goAway, [0, 0, 0, 14, 7, 0, 0, 0, 0, 0, 0, 0, 7, 0, 14, 0, 1, 0x78])
        let response = Array(try encode([RPCFrame(streamID: 2, payload: .response(status: .notFound, message: "", body: ByteBuffer(bytes: [9])))]).readableBytesView)
        XCTAssertEqual(response, [0, 0, 0, 10, 3, 0, 0, 0, 2, 0, 5, 0, 0, 9])
    }

    func testRoundTripThroughHandlers() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(RPCFrameDecoder()))
        try channel.pipeline.syncOperations.addHandler(MessageToByteHandler(RPCFrameEncoder()))
        for frame in Self.sampleFrames {
            try channel.writeOutbound(frame)
            let bytes = try XCTUnwrap(channel.readOutbound(as: ByteBuffer.self))
            XCTAssertEqual(bytes.readableBytes, RPCFrame.lengthFieldSize + frame.encodedLength)
            try channel.writeInbound(bytes)
            XCTAssertEqual(try channel.readInbound(as: RPCFrame.self), frame)
        }
        XCTAssertNoThrow(try channel.finish())
    }

    func testEverySplitPointDecodesTheSameFrames() throws {
        let stream = try encode(Self.sampleFrames)
        for split in 0...stream.readableBytes {
            let channel = decoderChannel()
            try channel.writeInbound(stream.getSlice(at: 0, length: split)!)
            try channel.writeInbound(stream.getSlice(at: split, length: stream.readableBytes - split)!)
            XCTAssertEqual(try readFrames(channel), Self.sampleFrames, "split at \(split)")
            XCTAssertNoThrow(try channel.finish())
        }
    }

    func testByteByByteDecodesTheSameFrames() throws {
        let stream = try encode(Self.sampleFrames)
        let channel = decoderChannel()
        var decoded: [RPCFrame] = []
        for index in 0..<stream.readableBytes {
            try channel.writeInbound(stream.getSlice(at: index, length: 1)!)
            decoded += try readFrames(channel)
        }
        XCTAssertEqual(decoded, Self.sampleFrames)
        XCTAssertNoThrow(try channel.finish())
    }

    func testOversizedLengthIsRejectedBeforeTheBody() throws {
        let channel = decoderChannel(maxFrameLength: 1024)
        var header = ByteBuffer()
        header.writeInteger(UInt32(1025))
        XCTAssertThrowsError(try channel.writeInbound(header)) { error in
            XCTAssertEqual(error as? RPCFrameError, .frameTooLarge(length: 1025, limit: 1024))
        }
        _ = try? channel.finish()

        // Exactly the limit is fine.
        let frame = RPCFrame(streamID: 1, payload: .request(method: "m", deadlineMilliseconds: 0, body: ByteBuffer(repeating: 0, count: 1024 - 12)))
        XCTAssertEqual(frame.encodedLength, 1024)
        let ok = decoderChannel(maxFrameLength: 1024)
        try ok.writeInbound(try encode([frame]))
        XCTAssertEqual(try ok.readInbound(as: RPCFrame.self), frame)
        XCTAssertNoThrow(try ok.finish())
    }

    func testHugeLengthFromTheFirstFourBytes() throws {
        let decoder = RPCFrameDecoder()
        var buffer = ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF])
        XCTAssertThrowsError(try decoder.decodeFrame(from: &buffer)) { error in
            XCTAssertEqual(error as? RPCFrameError, .frameTooLarge(length: .max, limit: RPCFrameDecoder.defaultMaxFrameLength))
        }
    }

    func testLengthBelowHeaderIsRejected() throws {
        for length in UInt32(0)..<5 {
            var buffer = ByteBuffer()
            buffer.writeInteger(length)
            XCTAssertThrowsError(try RPCFrameDecoder().decodeFrame(from: &buffer)) { error in
                XCTAssertEqual(error as? RPCFrameError, .frameTooShort(length: length))
            }
        }
    }

    func testGarbageKindsAreRejected() throws {
        let known = Set(RPCFrame.Kind.allCases.map(\.rawValue))
        for kind in UInt8.min...UInt8.max where !known.contains(kind) {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32(5))
            buffer.writeInteger(kind)
            buffer.writeInteger(UInt32(1))
            XCTAssertThrowsError(try RPCFrameDecoder().decodeFrame(from: &buffer)) { error in
                XCTAssertEqual(error as? RPCFrameError, .unknownKind(kind))
            }
        }
    }

    func testStreamIDRulesPerKind() throws {
        func frame(kind: RPCFrame.Kind, streamID: UInt32, payload: [UInt8]) -> ByteBuffer {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32(5 + payload.count))
            buffer.writeInteger(kind.rawValue)
            buffer.writeInteger(streamID)
            buffer.writeBytes(payload)
            return buffer
        }
        var cancelOnZero = frame(kind: .cancel, streamID: 0, payload: [])
        XCTAssertThrowsError(try RPCFrameDecoder().decodeFrame(from: &cancelOnZero)) { error in
            XCTAssertEqual(error as? RPCFrameError, .invalidStreamID(kind: .cancel, streamID: 0))
        }
        var pingOnStream = frame(kind: .ping, streamID: 3, payload: Array(repeating: 0, count: 8))
        XCTAssertThrowsError(try RPCFrameDecoder().decodeFrame(from: &pingOnStream)) { error in
            XCTAssertEqual(error as? RPCFrameError, .invalidStreamID(kind: .ping, streamID: 3))
        }
    }

    func testMalformedPayloads() throws {
        func decode(_ kind: RPCFrame.Kind, streamID: UInt32, _ payload: [UInt8]) -> RPCFrameError? {
            var buffer = ByteBuffer()
            buffer.writeInteger(UInt32(5 + payload.count))
            buffer.writeInteger(kind.rawValue)
            buffer.writeInteger(streamID)
            buffer.writeBytes(payload)
            do {
                _ = try RPCFrameDecoder().decodeFrame(from: &buffer)
                return nil
            } catch {
                return error as? RPCFrameError
            }
        }
        func isMalformed(_ error: RPCFrameError?) -> Bool {
            if case .malformed = error { return true }
            return false
        }
        XCTAssertTrue(isMalformed(decode(.request, streamID: 1, [0, 5, 0x61])), "method longer than the frame")
        XCTAssertTrue(isMalformed(decode(.request, streamID: 1, [0, 1, 0x61, 0, 0])), "deadline cut short")
        XCTAssertTrue(isMalformed(decode(.request, streamID: 1, [0, 0, 0, 0, 0, 0])), "empty method")
        XCTAssertTrue(isMalformed(decode(.request, streamID: 1, [0, 1, 0xFF, 0, 0, 0, 0])), "method not UTF-8")
        XCTAssertTrue(isMalformed(decode(.response, streamID: 2, [0])), "status cut short")
        XCTAssertTrue(isMalformed(decode(.response, streamID: 2, [0, 0, 0, 2, 0xC3])), "message cut short")
        XCTAssertTrue(isMalformed(decode(.cancel, streamID: 2, [1])), "CANCEL with a payload")
        XCTAssertTrue(isMalformed(decode(.ping, streamID: 0, [1, 2, 3])), "short PING")
        XCTAssertTrue(isMalformed(decode(.pong, streamID: 0, Array(repeating: 0, count: 9))), "long PONG")
        XCTAssertTrue(isMalformed(decode(.hello, streamID: 0, [0, 1, 0, 0])), "short HELLO")
        XCTAssertTrue(isMalformed(decode(.goAway, streamID: 0, [0, 0, 0, 1, 0, 0, 0, 0, 9])), "GOAWAY with trailing bytes")
        XCTAssertNil(decode(.response, streamID: 2, [0, 99, 0, 0]), "unknown status numbers decode")
        XCTAssertNil(decode(.hello, streamID: 0, [0, 1, 0, 0, 4, 0, 0, 0, 0, 1, 0, 1, 0x65, 0xAA, 0xBB]), "HELLO may grow")
    }

    func testUnknownStatusNumbersDecodeAsUnknown() throws {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt32(5 + 4))
        buffer.writeInteger(RPCFrame.Kind.response.rawValue)
        buffer.writeInteger(UInt32(2))
        buffer.writeBytes([0x01, 0x00, 0, 0])
        let frame = try XCTUnwrap(try RPCFrameDecoder().decodeFrame(from: &buffer))
        XCTAssertEqual(frame.payload, .response(status: .unknown, message: "", body: ByteBuffer()))
    }

    func testTruncatedAtEndOfStream() throws {
        let stream = try encode(Self.sampleFrames)
        for cut in [1, 3, 4, 8, stream.readableBytes - 1] {
            let channel = decoderChannel()
            try channel.writeInbound(stream.getSlice(at: 0, length: cut)!)
            XCTAssertThrowsError(try channel.finish(), "cut at \(cut)") { error in
                guard case .truncated = error as? RPCFrameError else {
                    return XCTFail("expected truncated, got \(error)")
                }
            }
        }
        // A stream ending on a frame boundary is fine.
        let channel = decoderChannel()
        try channel.writeInbound(stream)
        XCTAssertEqual(try readFrames(channel), Self.sampleFrames)
        XCTAssertNoThrow(try channel.finish())
    }

    func testRandomBytesNeverCrashTheDecoder() throws {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<2000 {
            let count = Int(generator.next() % 64)
            var buffer = ByteBuffer(bytes: (0..<count).map { _ in UInt8(truncatingIfNeeded: generator.next()) })
            // Keep lengths small half of the time so that bodies are reached.
            if count >= 4, generator.next() % 2 == 0 {
                buffer.setInteger(UInt32(generator.next() % 40), at: 0)
            }
            while true {
                let before = buffer.readableBytes
                guard let frame = try? RPCFrameDecoder().decodeFrame(from: &buffer) else { break }
                var reencoded = ByteBuffer()
                XCTAssertNoThrow(try RPCFrameEncoder.encode(frame, into: &reencoded))
                XCTAssertLessThan(buffer.readableBytes, before)
            }
        }
    }

    func testEncoderRefusesOverlongStrings() throws {
        let method = String(repeating: "m", count: 70_000)
        var buffer = ByteBuffer()
        XCTAssertThrowsError(try RPCFrameEncoder.encode(
            RPCFrame(streamID: 1, payload: .request(method: method, deadlineMilliseconds: 0, body: ByteBuffer())), into: &buffer))
        XCTAssertEqual(buffer.readableBytes, 0, "nothing written on failure")
    }
}

/// A small deterministic random number generator for reproducible fuzz inputs.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
