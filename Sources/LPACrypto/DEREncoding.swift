import COpenSSL

/// Runs one of OpenSSL's `i2d_*` encoders the two-call way: first for the length, then into a Swift buffer.
///
/// `encode` receives the output-pointer argument (`nil` for the sizing call) and returns the encoder's result.
func encodeDER(
    _ what: @autoclosure () -> String,
    _ encode: (UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>?) -> Int32
) throws(CryptoError) -> [UInt8] {
    let length = encode(nil)
    guard length > 0 else {
        throw .openSSL(.encodingFailed, "encoding \(what()) as DER")
    }
    var output = [UInt8](repeating: 0, count: Int(length))
    let written = output.withUnsafeMutableBufferPointer { buffer -> Int32 in
        var cursor: UnsafeMutablePointer<UInt8>? = buffer.baseAddress
        return encode(&cursor)
    }
    guard written == length else {
        throw .openSSL(.encodingFailed, "encoding \(what()) as DER")
    }
    return output
}

/// Runs one of OpenSSL's `d2i_*` decoders over `bytes` and insists that it consumes all of them.
///
/// Returns the decoded object (owned by the caller) or throws `invalidInput` naming `what`, including when bytes
/// are left over after the first object.
func decodeDER(
    _ bytes: [UInt8],
    _ what: @autoclosure () -> String,
    free: (OpaquePointer) -> Void,
    _ decode: (UnsafeMutablePointer<UnsafePointer<UInt8>?>, Int) -> OpaquePointer?
) throws(CryptoError) -> OpaquePointer {
    guard !bytes.isEmpty else {
        throw CryptoError(code: .invalidInput, context: "decoding \(what()): input is empty")
    }
    OpenSSLErrorQueue.clear()
    let (object, consumed): (OpaquePointer?, Int) = bytes.withUnsafeBufferPointer { buffer in
        var cursor: UnsafePointer<UInt8>? = buffer.baseAddress
        let object = decode(&cursor, buffer.count)
        let consumed = cursor.map { $0 - buffer.baseAddress! } ?? 0
        return (object, consumed)
    }
    guard let object else {
        throw .openSSL(.invalidInput, "decoding \(what()) from \(bytes.count) bytes of DER")
    }
    guard consumed == bytes.count else {
        free(object)
        throw CryptoError(
            code: .invalidInput,
            context: "decoding \(what()): \(bytes.count - consumed) unexpected bytes after the DER object"
        )
    }
    return object
}
