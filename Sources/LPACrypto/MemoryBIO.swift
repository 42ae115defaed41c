import COpenSSL

/// An OpenSSL memory BIO owned by Swift: the source or sink of PEM text for one call.
///
/// Not shared between threads; lives for the duration of one operation.
final class MemoryBIO {
    let pointer: OpaquePointer

    /// An empty BIO to write into.
    init(context: @autoclosure () -> String) throws(CryptoError) {
        guard let bio = BIO_new(BIO_s_mem()) else {
            throw .openSSL(.internalFailure, "allocating a memory buffer while \(context())")
        }
        pointer = bio
    }

    /// A BIO holding a copy of `bytes`, to read from.
    convenience init(copying bytes: some Collection<UInt8>, context: @autoclosure () -> String) throws(CryptoError) {
        try self.init(context: context())
        let array = Array(bytes)
        guard !array.isEmpty else { return }
        let written = array.withUnsafeBytes { BIO_write(pointer, $0.baseAddress, Int32(clamping: $0.count)) }
        guard written == array.count else {
            throw .openSSL(.internalFailure, "buffering \(array.count) bytes while \(context())")
        }
    }

    deinit {
        BIO_free(pointer)
    }

    /// Everything written to the BIO and not yet read.
    func contents() -> [UInt8] {
        var start: UnsafeMutablePointer<CChar>? = nil
        let length = lpac_BIO_get_mem_data(pointer, &start)
        guard length > 0, let start else { return [] }
        return start.withMemoryRebound(to: UInt8.self, capacity: length) {
            Array(UnsafeBufferPointer(start: $0, count: length))
        }
    }

    /// The BIO's contents as text (PEM is ASCII).
    func string() -> String {
        String(decoding: contents(), as: UTF8.self)
    }
}
