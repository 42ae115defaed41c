@testable import LPATLS
import NIOCore
import XCTest

/// The compact TLS 1.3 record layer on its own: two instances with mirrored secrets talk to each
/// other, and faults are injected into the ciphertext between them.
final class TLS13RecordLayerTests: XCTestCase {
    let clientSecret = [UInt8](repeating: 0x11, count: 32)
    let serverSecret = [UInt8](repeating: 0x22, count: 32)

    func pair(_ suiteName: String = "TLS_AES_128_GCM_SHA256", clientWriteSequence: UInt64 = 0) throws -> (server: TLS13RecordLayer, client: TLS13RecordLayer) {
        let suite = try XCTUnwrap(TLS13RecordLayer.Suite.named(suiteName))
        let c = [UInt8](repeating: 0x11, count: suite.hashLength)
        let s = [UInt8](repeating: 0x22, count: suite.hashLength)
        let server = try makeLayer(suite: suite, readSecret: c, writeSecret: s, writeSequence: 0, pendingInput: nil)
        let client = try makeLayer(suite: suite, readSecret: s, writeSecret: c, writeSequence: clientWriteSequence, pendingInput: nil)
        return (server, client)
    }

    func send(_ bytes: [UInt8], from sender: TLS13RecordLayer) -> ByteBuffer {
        XCTAssertNil(bytes.withUnsafeBytes { sender.write($0) })
        return sender.takeOutput() ?? ByteBuffer()
    }

    func receive(_ ciphertext: ByteBuffer, by receiver: TLS13RecordLayer) -> (TLSConnection.ReadResult, [UInt8]) {
        receiver.feed(ciphertext)
        var plaintext = ByteBuffer()
        let result = receiver.read(into: &plaintext)
        return (result, Array(plaintext.readableBytesView))
    }

    func testHKDFExpandLabelMatchesRFC8448() throws {
        // RFC 8448 §3, server handshake traffic secret → write key and IV.
        let secret = hex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38")
        XCTAssertEqual(try TLS13KeySchedule.expandLabel(secret: secret, label: "key", length: 16, digest: "SHA256"), hex("3fce516009c21727d0f2e4e86ee403bc"))
        XCTAssertEqual(try TLS13KeySchedule.expandLabel(secret: secret, label: "iv", length: 12, digest: "SHA256"), hex("5d313eb2671276ee13000b30"))
    }

    /// RFC 8448 §3: the server side of the simple 1-RTT handshake after it sent one session ticket.
    /// Opens the client's first application record and close_notify and seals the server's echo
    /// byte for byte as printed in the RFC (nonce, additional data, inner content type).
    func testRecordsMatchRFC8448() throws {
        let suite = try XCTUnwrap(TLS13RecordLayer.Suite.named("TLS_AES_128_GCM_SHA256"))
        let server = try makeLayer(
            suite: suite,
            readSecret: hex("9e40646ce79a7f9dc05af8889bce6552875afa0b06df0087f792ebb7c17504a5"),
            writeSecret: hex("a11af9f05531f856ad47116b45a950328204b4f44bfb6b3a4b4f1f3fcb631643"),
            writeSequence: 1, pendingInput: nil)
        let payload = [UInt8](0...0x31)
        let clientRecord = hex(
            "1703030043a23f7054b62c94d0affafe8228ba55cbefacea42f914aa66bcab3f2b9819a8a5b46b395bd54a9a20441e2b"
                + "62974e1f5a6292a2977014bd1e3deae63aeebb21694915e4")
        let (result, plaintext) = receive(ByteBuffer(bytes: clientRecord), by: server)
        guard case .data = result else { return XCTFail("\(result)") }
        XCTAssertEqual(plaintext, payload)

        let sealed = send(payload, from: server)
        XCTAssertEqual(Array(sealed.readableBytesView), hex(
            "17030300432e937e11ef4ac740e538ad36005fc4a46932fc3225d05f82aa1b36e30efaf97d90e6dffc602dcb501a59a8"
                + "fcc49c4bf2e5f0a21c0047c2abf332540dd032e167c2955d"))

        let (closing, _) = receive(ByteBuffer(bytes: hex("1703030013c9872760655666b74d7ff1153efd6db6d0b0e3")), by: server)
        guard case .closeNotify = closing else { return XCTFail("\(closing)") }
    }

    func testKeyUpdateRequestIsAnsweredAndThePeerNeedsTheNewKey() throws {
        let (server, client) = try pair()
        // The client's KeyUpdate(update_requested): the server renews its read key and answers
        // with its own KeyUpdate, after which records under the server's old key are history.
        try client.requestKeyUpdate()
        let request = try XCTUnwrap(client.takeOutput())
        let (result, _) = receive(request, by: server)
        guard case .wantMore = result else { return XCTFail("\(result)") }
        let answer = try XCTUnwrap(server.takeOutput(), "no KeyUpdate came back")

        // A client that ignores the answer cannot read what the server sends next.
        let stale = try pair().client
        let unreadable = send([1, 2, 3], from: server)
        let (staleResult, _) = receive(unreadable, by: stale)
        guard case .failed = staleResult else { return XCTFail("\(staleResult)") }

        // The real client takes the answer, then reads the server and is read by it.
        let (answered, first) = receive(answer + unreadable, by: client)
        guard case .data = answered else { return XCTFail("\(answered)") }
        XCTAssertEqual(first, [1, 2, 3])
        let (readBack, bytes) = receive(send([4, 5, 6], from: server), by: client)
        guard case .data = readBack else { return XCTFail("\(readBack)") }
        XCTAssertEqual(bytes, [4, 5, 6])
        let (upstream, up) = receive(send([7], from: client), by: server)
        guard case .data = upstream else { return XCTFail("\(upstream)") }
        XCTAssertEqual(up, [7])
    }

    func testDataAfterKeyUpdateInTheSameRecordIsRefused() throws {
        let (server, client) = try pair()
        // KeyUpdate(update_not_requested) followed by a second one in one handshake record.
        XCTAssertNil(client.seal(type: 22, UnsafeRawBufferPointer(start: nil, count: 0), control: [24, 0, 0, 1, 0, 24, 0, 0, 1, 0]))
        let (result, _) = receive(try XCTUnwrap(client.takeOutput()), by: server)
        guard case .failed(let error) = result else { return XCTFail("\(result)") }
        XCTAssertTrue("\(error)".contains("after a KeyUpdate"), "\(error)")
    }

    func testRecordsWithoutDataAreLimited() throws {
        let (server, client) = try pair()
        var ciphertext = ByteBuffer()
        for _ in 0...TLS13RecordLayer.recordsWithoutDataLimit {
            var empty = send([], from: client)
            ciphertext.writeBuffer(&empty)
        }
        let (result, _) = receive(ciphertext, by: server)
        guard case .failed(let error) = result else { return XCTFail("\(result)") }
        XCTAssertTrue("\(error)".contains("without application data"), "\(error)")
        // Empty records interleaved with data are fine.
        let (server2, client2) = try pair()
        for _ in 0..<(2 * TLS13RecordLayer.recordsWithoutDataLimit) {
            _ = receive(send([], from: client2), by: server2)
            let (r, bytes) = receive(send([9], from: client2), by: server2)
            guard case .data = r else { return XCTFail("\(r)") }
            XCTAssertEqual(bytes, [9])
        }
    }

    func testEverySuiteRoundTripsLargeWritesInRecordsOfAtMost16KiB() throws {
        for name in ["TLS_AES_128_GCM_SHA256", "TLS_AES_256_GCM_SHA384", "TLS_CHACHA20_POLY1305_SHA256"] {
            let (server, client) = try pair(name)
            let message = (0..<40_000).map { UInt8(truncatingIfNeeded: $0 &* 7) }
            let wire = send(message, from: client)
            // Three records: 16384 + 16384 + 7232 bytes, each with header, type byte and tag.
            XCTAssertEqual(wire.readableBytes, 40_000 + 3 * (5 + 1 + 16), name)
            let (result, plaintext) = receive(wire, by: server)
            XCTAssertEqual(result, .data, name)
            XCTAssertEqual(plaintext, message, name)
            let (back, echoed) = receive(send([1, 2, 3], from: server), by: client)
            XCTAssertEqual(back, .data)
            XCTAssertEqual(echoed, [1, 2, 3])
        }
    }

    func testRecordsSplitAtEveryByteBoundaryAreReassembled() throws {
        let (server, client) = try pair()
        let wire = send(Array("heartbeat".utf8), from: client) + send(Array(" and more".utf8), from: client)
        var received: [UInt8] = []
        for byte in wire.readableBytesView {
            let (result, plaintext) = receive(ByteBuffer(bytes: [byte]), by: server)
            XCTAssertNotEqual(result, .closeNotify)
            if case .failed(let error) = result { return XCTFail("\(error)") }
            received += plaintext
        }
        XCTAssertEqual(String(decoding: received, as: UTF8.self), "heartbeat and more")
    }

    func testTamperedRecordIsRefusedWithBadRecordMACAlert() throws {
        let (server, client) = try pair()
        var wire = send(Array("genuine".utf8), from: client)
        let index = wire.readerIndex + 8
        wire.setInteger(wire.getInteger(at: index, as: UInt8.self)! ^ 0x01, at: index)
        let (result, plaintext) = receive(wire, by: server)
        XCTAssertTrue(plaintext.isEmpty)
        guard case .failed(.readFailed(let reasons)) = result else { return XCTFail("\(result)") }
        XCTAssertTrue(reasons.joined().contains("badRecordMAC"), "\(reasons)")
        // The alert reaches the peer, which reports it; nothing more is read or written.
        let alert = try XCTUnwrap(server.takeOutput())
        let (peer, _) = receive(alert, by: client)
        guard case .failed(.readFailed(let peerReasons)) = peer else { return XCTFail("\(peer)") }
        XCTAssertTrue(peerReasons.joined().contains("peer sent alert badRecordMAC"), "\(peerReasons)")
        XCTAssertEqual(Array("x".utf8).withUnsafeBytes { client.write($0) }, .closed)
        XCTAssertEqual(receive(ByteBuffer(bytes: [23, 3, 3, 0, 17] + [UInt8](repeating: 1, count: 17)), by: server).0, .wantMore)
        XCTAssertEqual(Array("x".utf8).withUnsafeBytes { server.write($0) }, .closed)
    }

    func testRecordFromAnotherKeyOrSequenceIsRefused() throws {
        let (server, client) = try pair()
        let first = send([1], from: client)
        _ = send([2], from: client)
        let third = send([3], from: client)
        XCTAssertEqual(receive(first, by: server).0, .data)
        // The second record is skipped: the third carries sequence 2 where 1 is expected.
        guard case .failed = receive(third, by: server).0 else { return XCTFail("a record out of sequence was accepted") }
    }

    func testOversizedAndMalformedRecordsAreRefused() throws {
        let oversized: [UInt8] = [23, 3, 3, 0x50, 0x00]
        let (server, _) = try pair()
        guard case .failed(.readFailed(let reasons)) = receive(ByteBuffer(bytes: oversized), by: server).0 else { return XCTFail() }
        XCTAssertTrue(reasons.joined().contains("recordOverflow"), "\(reasons)")

        let (other, _) = try pair()
        let plaintextHandshake: [UInt8] = [22, 3, 3, 0, 4, 1, 0, 0, 0]
        guard case .failed(.readFailed(let r2)) = receive(ByteBuffer(bytes: plaintextHandshake), by: other).0 else { return XCTFail() }
        XCTAssertTrue(r2.joined().contains("unexpectedMessage"), "\(r2)")

        let (third, _) = try pair()
        let tooShort: [UInt8] = [23, 3, 3, 0, 16] + [UInt8](repeating: 0, count: 16)
        guard case .failed(.readFailed(let r3)) = receive(ByteBuffer(bytes: tooShort), by: third).0 else { return XCTFail() }
        XCTAssertTrue(r3.joined().contains("badRecordMAC"), "\(r3)")
    }

    func testWriteKeyIsRenewedBeforeTheGCMRecordLimitAndThePeerFollows() throws {
        let suite = try XCTUnwrap(TLS13RecordLayer.Suite.named("TLS_AES_128_GCM_SHA256"))
        let c = [UInt8](repeating: 0x11, count: 32), s = [UInt8](repeating: 0x22, count: 32)
        let start = suite.recordLimit - 1
        let client = try makeLayer(suite: suite, readSecret: s, writeSecret: c, writeSequence: start, pendingInput: nil)
        let server = try makeLayer(suite: suite, readSecret: c, writeSecret: s, writeSequence: 0, readSequence: start, pendingInput: nil)
        let wire = send(Array("old key ".utf8), from: client) + send(Array("new key".utf8), from: client)
        // Record 1 under the old key, KeyUpdate at the limit, record 3 under the renewed key.
        var view = wire
        var records = 0
        while view.readableBytes >= 5 {
            let length = Int(view.getInteger(at: view.readerIndex + 3, as: UInt16.self)!)
            view.moveReaderIndex(forwardBy: 5 + length)
            records += 1
        }
        XCTAssertEqual(records, 3)
        let (result, plaintext) = receive(wire, by: server)
        XCTAssertEqual(result, .data)
        XCTAssertEqual(String(decoding: plaintext, as: UTF8.self), "old key new key")
        // The update was not requested: the server keeps its write key and the client still reads it.
        XCTAssertEqual(receive(send([7], from: server), by: client).1, [7])
    }

    func testReplayingARecordAfterAKeyUpdateIsRefused() throws {
        let suite = try XCTUnwrap(TLS13RecordLayer.Suite.named("TLS_AES_128_GCM_SHA256"))
        let c = [UInt8](repeating: 0x11, count: 32), s = [UInt8](repeating: 0x22, count: 32)
        let start = suite.recordLimit - 1
        let client = try makeLayer(suite: suite, readSecret: s, writeSecret: c, writeSequence: start, pendingInput: nil)
        let server = try makeLayer(suite: suite, readSecret: c, writeSecret: s, writeSequence: 0, readSequence: start, pendingInput: nil)
        let old = send([1], from: client)
        let renewed = send([2], from: client)
        XCTAssertEqual(receive(old + renewed, by: server).1, [1, 2])
        guard case .failed = receive(old, by: server).0 else { return XCTFail("a replayed record was accepted") }
    }

    func testCloseNotifyEndsTheStreamAndFurtherWritesFail() throws {
        let (server, client) = try pair()
        client.closeNotify()
        let (result, _) = receive(try XCTUnwrap(client.takeOutput()), by: server)
        XCTAssertEqual(result, .closeNotify)
        XCTAssertEqual([UInt8(1)].withUnsafeBytes { client.write($0) }, .closed)
    }

    func testPendingInputGivenAtHandOverIsRead() throws {
        let suite = try XCTUnwrap(TLS13RecordLayer.Suite.named("TLS_AES_256_GCM_SHA384"))
        let c = [UInt8](repeating: 0x33, count: 48), s = [UInt8](repeating: 0x44, count: 48)
        let client = try makeLayer(suite: suite, readSecret: s, writeSecret: c, writeSequence: 0, pendingInput: nil)
        let early = send(Array("hello".utf8), from: client)
        let server = try makeLayer(suite: suite, readSecret: c, writeSecret: s, writeSequence: 5, pendingInput: early)
        var plaintext = ByteBuffer()
        XCTAssertEqual(server.read(into: &plaintext), .data)
        XCTAssertEqual(String(buffer: plaintext), "hello")
    }

    private func hex(_ s: String) -> [UInt8] {
        var out: [UInt8] = []
        var i = s.startIndex
        while i < s.endIndex {
            let j = s.index(i, offsetBy: 2)
            out.append(UInt8(s[i..<j], radix: 16)!)
            i = j
        }
        return out
    }
}

private func + (a: ByteBuffer, b: ByteBuffer) -> ByteBuffer {
    var a = a
    var b = b
    a.writeBuffer(&b)
    return a
}

private func makeLayer(
    suite: TLS13RecordLayer.Suite, readSecret: [UInt8], writeSecret: [UInt8], writeSequence: UInt64, readSequence: UInt64 = 0,
    pendingInput: ByteBuffer?
) throws -> TLS13RecordLayer {
    try readSecret.withUnsafeBytes { r in
        try writeSecret.withUnsafeBytes { w in
            try TLS13RecordLayer(
                suite: suite, readSecret: r, writeSecret: w, writeSequence: writeSequence, readSequence: readSequence,
                pendingInput: pendingInput)
        }
    }
}
