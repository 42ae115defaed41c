import COpenSSL

/// Reads OpenSSL's per-thread error queue.
///
/// OpenSSL records failures on a queue local to the calling thread. `drain()` must be called on the thread that
/// made the failing call, right after it; `clear()` discards entries an expected failure left behind (for
/// example the "no start line" that ends a PEM loop).
enum OpenSSLErrorQueue {
    /// At most this many entries are kept; a hostile input cannot grow an error without bound.
    static let maximumReasons = 16

    /// Removes every entry from the queue and returns them as "library: reason (detail)", oldest first.
    static func drain() -> [String] {
        var reasons: [String] = []
        while true {
            var data: UnsafePointer<CChar>? = nil
            var flags: Int32 = 0
            let code = ERR_get_error_all(nil, nil, nil, &data, &flags)
            if code == 0 { break }
            guard reasons.count < maximumReasons else { continue }
            reasons.append(describe(code, data: (flags & ERR_TXT_STRING) != 0 ? data : nil))
        }
        return reasons
    }

    /// Discards every entry on the queue.
    static func clear() {
        ERR_clear_error()
    }

    private static func describe(_ code: UInt, data: UnsafePointer<CChar>?) -> String {
        var text: String
        if let reason = ERR_reason_error_string(code) {
            text = String(cString: reason)
            if let library = ERR_lib_error_string(code) {
                text = String(cString: library) + ": " + text
            }
        } else {
            var buffer = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &buffer, buffer.count)
            text = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        if let data, data.pointee != 0 {
            text += " (" + String(cString: data) + ")"
        }
        return text
    }
}
