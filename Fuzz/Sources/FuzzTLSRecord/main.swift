// The compact TLS 1.3 record layer opening records (`TLS13RecordLayer.read`), as a server after the hand-over from
// OpenSSL runs it.
//
// Input: byte 0 holds options (bits 0-1: cipher suite; bit 2: structured mode; bits 3-7: where the input is cut in
// two reads, times 16).
// - Raw mode: the rest is ciphertext from the peer, as it arrives from the network.
// - Structured mode: the rest is a list of records the peer seals under the right keys — each a type byte, a length
//   byte, that many content bytes and a byte of zero padding, the inner type last (type 0 means "the content
//   already ends with its type and padding") — and, when the list ends with 0xFF and two more bytes, one ciphertext
//   byte flipped at that position. Reaching past authentication is what the raw mode cannot do.
// Checked beyond "no crash": application data sealed under the right keys and not corrupted opens to exactly what
// was sealed.
import FuzzSupport
@testable import LPATLS
import NIOCore

private let secretA = [UInt8](repeating: 0x11, count: 48)
private let secretB = [UInt8](repeating: 0x22, count: 48)

private func layer(_ suite: TLS13RecordLayer.Suite, read: [UInt8], write: [UInt8]) -> TLS13RecordLayer {
    do {
        return try read.prefix(suite.hashLength).withUnsafeBytes { r in
            try write.prefix(suite.hashLength).withUnsafeBytes { w in
                try TLS13RecordLayer(suite: suite, readSecret: r, writeSecret: w, writeSequence: 0, pendingInput: nil)
            }
        }
    } catch {
        fatalError("record layer: \(error)")
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTLSRecord(_ start: UnsafeRawPointer, _ count: Int) -> CInt {
    guard count > 0 else { return 0 }
    let input = UnsafeRawBufferPointer(start: start, count: count)
    let options = input[0]
    let suite = TLS13RecordLayer.Suite.all[Int(options & 3) % TLS13RecordLayer.Suite.all.count]
    var body = input[1...]
    let receiver = layer(suite, read: secretA, write: secretB)

    var wire: [UInt8]
    var expected: [UInt8]?  // the application data, when only untouched application data was sealed
    var maxEmptyRun = 0  // the longest run of empty application records sealed
    if options & 4 == 0 {
        wire = Array(body)
        expected = nil
    } else {
        let sender = layer(suite, read: secretB, write: secretA)
        var plain: [UInt8]? = []
        var emptyRun = 0
        while let type = body.popFirst() {
            if type == 0xFF, body.count == 2 {
                break
            }
            let length = Int(body.popFirst() ?? 0)
            let data = Array(body.prefix(length))
            body = body.dropFirst(length)
            let padding = Int(body.popFirst() ?? 0)
            var content = data
            var sealedType = type
            if type != 0, padding > 0 {
                // Inner plaintext: data ‖ type ‖ zeros, sealed with a final zero byte.
                content.append(type)
                content += [UInt8](repeating: 0, count: padding - 1)
                sealedType = 0
            }
            if let failure = content.withUnsafeBytes({ sender.seal(type: sealedType, $0) }) {
                fatalError("sealing failed: \(failure.reason)")
            }
            if type == 23 {
                plain? += data
                emptyRun = data.isEmpty ? emptyRun + 1 : 0
                maxEmptyRun = max(maxEmptyRun, emptyRun)
            } else {
                plain = nil
            }
        }
        var output = sender.takeOutput() ?? ByteBuffer()
        wire = output.readBytes(length: output.readableBytes) ?? []
        expected = plain
        if body.count == 2, !wire.isEmpty {
            let position = (Int(body[body.startIndex]) << 8 | Int(body[body.startIndex + 1])) % wire.count
            wire[position] ^= 0x01
            expected = nil
        }
    }

    let cut = min(wire.count, Int(options >> 3) * 16)
    var plaintext = ByteBuffer()
    var outcome = TLSConnection.ReadResult.wantMore
    for chunk in [wire[..<cut], wire[cut...]] {
        receiver.feed(ByteBuffer(bytes: chunk))
        let result = receiver.read(into: &plaintext)
        if case .wantMore = result { continue }
        outcome = result
        if case .data = result { continue }
        break
    }
    _ = receiver.takeOutput()
    if let expected {
        precondition(Array(plaintext.readableBytesView) == expected, "application data did not open to what was sealed")
        if case .failed(let error) = outcome, maxEmptyRun <= TLS13RecordLayer.recordsWithoutDataLimit {
            fatalError("well-formed application records were refused: \(error)")
        }
    }
    return 0
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: FuzzArguments) -> CInt {
    FuzzSeeds.writeIfRequested(seeds)
    return 0
}

/// Records as a peer's record layer seals them: application data of several sizes, padded, an alert, a KeyUpdate;
/// in raw form and as structured scripts.
private func seeds() throws -> [[UInt8]] {
    var seeds: [[UInt8]] = []
    for (index, suite) in TLS13RecordLayer.Suite.all.enumerated() {
        let sender = layer(suite, read: secretB, write: secretA)
        for text in ["heartbeat", String(repeating: "apdu", count: 100)] {
            _ = Array(text.utf8).withUnsafeBytes { sender.write($0) }
        }
        try sender.requestKeyUpdate()
        _ = [UInt8](repeating: 7, count: 300).withUnsafeBytes { sender.write($0) }
        sender.closeNotify()
        var output = sender.takeOutput() ?? ByteBuffer()
        seeds.append([UInt8(index) | 0x20] + (output.readBytes(length: output.readableBytes) ?? []))
        // Structured: data, padded data, an empty record, user_canceled, data, then a flipped byte.
        seeds.append([UInt8(index) | 0x04] + [23, 5] + Array("hello".utf8) + [0] + [23, 3, 1, 2, 3, 40] + [23, 0, 0] + [21, 2, 1, 90, 0] + [23, 1, 9, 0])
        seeds.append([UInt8(index) | 0x04] + [23, 4, 1, 2, 3, 4, 0, 0xFF, 0x00, 0x09])
        seeds.append([UInt8(index) | 0x04] + [22, 5, 24, 0, 0, 1, 1, 0])
    }
    return seeds
}
