import COpenSSL
import NIOCore
@testable import LPATLS
import XCTest

/// Ciphertext handed to OpenSSL's input BIO is taken whole or the connection fails: a refused
/// write is never skipped over (the record stream would silently lose bytes).
final class TLSConnectionInputTests: XCTestCase {
    func testAllCiphertextIsBufferedOrTheWriteFails() throws {
        let writable = try XCTUnwrap(BIO_new(BIO_s_mem()))
        defer { BIO_free(writable) }
        let large = ByteBuffer(bytes: [UInt8](repeating: 0x17, count: 100_000))
        XCTAssertTrue(TLSConnection.write(large, to: writable))
        XCTAssertEqual(lpa_BIO_pending(writable), 100_000)
        XCTAssertTrue(TLSConnection.write(ByteBuffer(), to: writable), "nothing to write is not a failure")

        // A read-only memory BIO refuses every write.
        let storage = UnsafeMutableRawPointer.allocate(byteCount: 4, alignment: 1)
        defer { storage.deallocate() }
        storage.initializeMemory(as: UInt8.self, repeating: 0, count: 4)
        let readOnly = try XCTUnwrap(BIO_new_mem_buf(storage, 4))
        defer { BIO_free(readOnly) }
        XCTAssertFalse(TLSConnection.write(ByteBuffer(bytes: [0x16, 0x03, 0x01, 0x00, 0x05]), to: readOnly))
        ERR_clear_error()
    }
}
