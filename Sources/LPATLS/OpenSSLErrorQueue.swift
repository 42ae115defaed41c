import COpenSSL

/// Reads and clears the calling thread's OpenSSL error queue.
///
/// OpenSSL's error queue is thread-local; every call that may fail is followed by a drain on the
/// same thread, so reasons never leak into an unrelated connection's error.
enum OpenSSLErrorQueue {
    /// Returns the queued reasons, oldest first, and empties the queue.
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            let code = lpa_ERR_get_error()
            if code == 0 { break }
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            let text = buffer.withUnsafeBufferPointer { String(cString: $0.baseAddress!) }
            reasons.append(text)
        }
        return reasons
    }

    /// Empties the queue before an operation whose errors must be attributed precisely.
    static func clear() {
        lpa_ERR_clear_error()
    }
}
