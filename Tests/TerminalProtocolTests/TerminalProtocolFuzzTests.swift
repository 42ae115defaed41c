import NIOCore
import NIOEmbedded
import TerminalProtocol
import XCTest

/// Deterministic random and hostile input. Every run uses the same seeds, so a failure reproduces.
final class TerminalProtocolFuzzTests: XCTestCase {
    /// Random bytes, and valid bodies with random damage, through ``TerminalFrameCodec/decode(_:limits:)``.
    /// A decode either fails with a `TerminalProtocolError` (the only error type it can throw) or
    /// returns a frame that survives re-encoding unchanged.
    func testRandomBodies() {
        var rng = SeededGenerator(seed: 0x5EED_7E57_0001)
        var decoded = 0
        var refused: [String: Int] = [:]
        for iteration in 0..<20_000 {
            let body: [UInt8]
            if iteration % 2 == 0 {
                body = (0..<Int.random(in: 0...48, using: &rng)).map { _ in UInt8.random(in: 0...255, using: &rng) }
            } else {
                body = Self.damage(TerminalFrameCodec.encode(SampleFrames.random(using: &rng)), using: &rng)
            }
            do {
                let frame = try TerminalFrameCodec.decode(body)
                decoded += 1
                let again = try TerminalFrameCodec.decode(TerminalFrameCodec.encode(frame))
                XCTAssertEqual(again, frame, "body \(body)")
            } catch {
                refused[Self.caseName(error), default: 0] += 1
            }
        }
        // Both outcomes must be exercised, and the damage must reach the message checks.
        XCTAssertGreaterThan(decoded, 1_000)
        XCTAssertGreaterThan(refused["malformedMessage"] ?? 0, 1_000)
        XCTAssertGreaterThan(refused["invalidField"] ?? 0, 100)
        XCTAssertGreaterThan(refused["unknownBody"] ?? 0, 20)
    }

    /// Undamaged random frames always round trip.
    func testRandomFramesRoundTrip() throws {
        var rng = SeededGenerator(seed: 0x5EED_7E57_0002)
        for _ in 0..<5_000 {
            let frame = SampleFrames.random(using: &rng)
            XCTAssertEqual(try TerminalFrameCodec.decode(TerminalFrameCodec.encode(frame)), frame)
        }
    }

    /// Streams of frames, some damaged, cut into random pieces and fed to the channel decoder.
    /// Undamaged streams must yield exactly the frames sent; damaged ones may fail, but only with a
    /// `TerminalProtocolError`, and never after yielding a frame that was not sent.
    func testRandomStreamsThroughTheChannelDecoder() throws {
        var rng = SeededGenerator(seed: 0x5EED_7E57_0003)
        var failedStreams = 0
        for _ in 0..<2_000 {
            let sent = (0..<Int.random(in: 1...6, using: &rng)).map { _ in SampleFrames.random(using: &rng) }
            var buffer = ByteBuffer()
            for frame in sent {
                try TerminalFrameCodec.encode(frame, into: &buffer)
            }
            var stream = Array(buffer.readableBytesView)
            let damaged = Bool.random(using: &rng)
            if damaged {
                stream = Self.damage(stream, using: &rng)
            }

            let channel = EmbeddedChannel()
            try channel.pipeline.syncOperations.addHandler(
                ByteToMessageHandler(TerminalFrameDecoder(limits: TerminalProtocolLimits(maximumFrameLength: 4096)))
            )
            var failure: Error?
            var offset = 0
            while offset < stream.count, failure == nil {
                let end = min(stream.count, offset + Int.random(in: 1...64, using: &rng))
                do {
                    try channel.writeInbound(ByteBuffer(bytes: stream[offset..<end]))
                } catch {
                    failure = error
                }
                offset = end
            }
            if failure == nil {
                do {
                    _ = try channel.finish()
                } catch {
                    failure = error
                }
            } else {
                _ = try? channel.finish()
            }
            var received: [TerminalFrame] = []
            while let frame = try channel.readInbound(as: TerminalFrame.self) {
                received.append(frame)
            }

            if let failure {
                failedStreams += 1
                XCTAssertTrue(failure is TerminalProtocolError, "unexpected error \(failure)")
                XCTAssertTrue(damaged, "an undamaged stream failed: \(failure)")
            }
            if !damaged {
                XCTAssertEqual(received, sent)
            } else if failure != nil {
                // Frames delivered before the failure come from the undamaged front of the stream
                // or are damaged frames that still parse; either way they are valid frames.
                for frame in received {
                    XCTAssertNoThrow(try frame.validate())
                }
            }
        }
        XCTAssertGreaterThan(failedStreams, 200)
    }

    /// Flips, replaces, inserts, deletes or truncates one or two bytes.
    private static func damage(_ bytes: [UInt8], using rng: inout SeededGenerator) -> [UInt8] {
        var bytes = bytes
        for _ in 0..<Int.random(in: 1...2, using: &rng) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0..<bytes.count, using: &rng)
            switch Int.random(in: 0..<20, using: &rng) {
            case 0..<7 where !bytes.isEmpty:
                bytes[position] ^= UInt8(1) << UInt8.random(in: 0...7, using: &rng)
            case 7..<12 where !bytes.isEmpty:
                bytes[position] = UInt8.random(in: 0...255, using: &rng)
            case 12..<15:
                bytes.insert(UInt8.random(in: 0...255, using: &rng), at: position)
            case 15..<18 where !bytes.isEmpty:
                bytes.remove(at: position)
            default:
                bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }

    private static func caseName(_ error: TerminalProtocolError) -> String {
        switch error {
        case .malformedMessage: return "malformedMessage"
        case .invalidField: return "invalidField"
        case .unknownBody: return "unknownBody"
        case .missingBody: return "missingBody"
        case .frameTooLarge: return "frameTooLarge"
        case .emptyFrame, .malformedLengthPrefix, .truncatedFrame: return "framing"
        }
    }
}
