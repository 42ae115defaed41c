import NIOCore

/// Splits a byte stream into CSV records without holding more than one line: feed it buffers as
/// they arrive and it returns the complete lines, each split into fields (RFC 4180 quoting, within
/// one line; `\r\n` or `\n` endings; a UTF-8 byte-order mark before the first line is skipped).
/// A plain value, used by one task.
struct CSVLineReader {
    /// Longest line accepted, in bytes.
    static let maximumLineBytes = 16 * 1024

    enum Line: Equatable {
        case fields([String])
        /// The line is not valid CSV (`reason` says why); reading goes on with the next line.
        case malformed(String)
    }

    private var pending: [UInt8] = []
    private var overlong = false
    private var atStart = true
    /// Lines returned so far (the next line's number is `lineNumber + 1`).
    private(set) var lineNumber = 0

    /// Complete lines in `buffer` (with what was pending), numbered from 1.
    mutating func feed(_ buffer: ByteBuffer) -> [(number: Int, line: Line)] {
        var out: [(number: Int, line: Line)] = []
        buffer.withUnsafeReadableBytes { bytes in
            for byte in bytes {
                if byte == UInt8(ascii: "\n") {
                    out.append(finishLine())
                } else if overlong {
                    continue
                } else if pending.count >= Self.maximumLineBytes {
                    overlong = true
                } else {
                    pending.append(byte)
                }
            }
        }
        return out
    }

    /// The last line when the stream does not end with a newline.
    mutating func finish() -> (number: Int, line: Line)? {
        guard !pending.isEmpty || overlong else { return nil }
        return finishLine()
    }

    private mutating func finishLine() -> (Int, Line) {
        lineNumber += 1
        defer {
            pending.removeAll(keepingCapacity: true)
            overlong = false
            atStart = false
        }
        if overlong { return (lineNumber, .malformed("line is longer than \(Self.maximumLineBytes) bytes")) }
        var bytes = pending[...]
        if atStart, bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes = bytes.dropFirst(3) }
        if bytes.last == UInt8(ascii: "\r") { bytes = bytes.dropLast() }
        return (lineNumber, Self.split(bytes))
    }

    static func split(_ bytes: ArraySlice<UInt8>) -> Line {
        var fields: [String] = []
        var field: [UInt8] = []
        var quoted = false
        var afterQuote = false
        var index = bytes.startIndex
        let quote = UInt8(ascii: "\""), comma = UInt8(ascii: ",")
        while index < bytes.endIndex {
            let byte = bytes[index]
            if quoted {
                if byte == quote {
                    if index + 1 < bytes.endIndex, bytes[index + 1] == quote {
                        field.append(quote)
                        index += 1
                    } else {
                        quoted = false
                        afterQuote = true
                    }
                } else {
                    field.append(byte)
                }
            } else if byte == comma {
                guard let text = String(validating: field, as: UTF8.self) else { return .malformed("field \(fields.count + 1) is not UTF-8") }
                fields.append(text)
                field.removeAll(keepingCapacity: true)
                afterQuote = false
            } else if afterQuote {
                return .malformed("field \(fields.count + 1) has text after its closing quote")
            } else if byte == quote {
                guard field.isEmpty else { return .malformed("field \(fields.count + 1) has a quote inside an unquoted value") }
                quoted = true
            } else {
                field.append(byte)
            }
            index += 1
        }
        if quoted { return .malformed("field \(fields.count + 1) has an unterminated quote (quoted fields cannot span lines)") }
        guard let text = String(validating: field, as: UTF8.self) else { return .malformed("field \(fields.count + 1) is not UTF-8") }
        fields.append(text)
        return .fields(fields)
    }
}
