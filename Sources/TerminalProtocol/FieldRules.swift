/// The range checks shared by every message's `validate(limits:)`. Field names are proto paths;
/// element names (`apdu_batch.apdus[3]`) are only built when a check fails.
enum FieldRules {
    static func string(
        _ value: String,
        limit: Int,
        field: @autoclosure () -> String
    ) throws(TerminalProtocolError) {
        let length = value.utf8.count
        guard length <= limit else {
            throw .invalidField(name: field(), reason: "\(length) bytes long; the limit is \(limit)")
        }
        guard !value.utf8.contains(0) else {
            throw .invalidField(name: field(), reason: "contains a NUL character")
        }
    }

    /// ``string(_:limit:field:)`` for text that names a device (identity fields, the agent string):
    /// no control characters either (C0, DEL, C1, line and paragraph separators), so that nothing a
    /// terminal claims can forge a line in a log or a report.
    static func identityText(
        _ value: String,
        limit: Int,
        field: @autoclosure () -> String
    ) throws(TerminalProtocolError) {
        try string(value, limit: limit, field: field())
        if let bad = value.unicodeScalars.first(where: isControl) {
            throw .invalidField(name: field(), reason: "contains the control character U+\(String(bad.value, radix: 16, uppercase: true).leftPadded(to: 4))")
        }
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return false
        }
    }

    static func strings(
        _ values: [String],
        countLimit: Int,
        lengthLimit: Int,
        field: @autoclosure () -> String
    ) throws(TerminalProtocolError) {
        let list = field()
        try each(values, countLimit: countLimit, field: list) { (value, index) throws(TerminalProtocolError) in
            try string(value, limit: lengthLimit, field: "\(list)[\(index)]")
        }
    }

    static func count(_ count: Int, limit: Int, field: @autoclosure () -> String) throws(TerminalProtocolError) {
        guard count <= limit else {
            throw .invalidField(name: field(), reason: "\(count) entries; the limit is \(limit)")
        }
    }

    static func bytes(_ value: [UInt8], limit: Int, field: @autoclosure () -> String) throws(TerminalProtocolError) {
        guard value.count <= limit else {
            throw .invalidField(name: field(), reason: "\(value.count) bytes long; the limit is \(limit)")
        }
    }

    static func byteStrings(
        _ values: [[UInt8]],
        countLimit: Int,
        lengthLimit: Int,
        field: @autoclosure () -> String
    ) throws(TerminalProtocolError) {
        let list = field()
        try each(values, countLimit: countLimit, field: list) { (value, index) throws(TerminalProtocolError) in
            try bytes(value, limit: lengthLimit, field: "\(list)[\(index)]")
        }
    }

    /// Checks the count of `values`, then each value with its index.
    private static func each<Element>(
        _ values: [Element],
        countLimit: Int,
        field: String,
        _ check: (Element, Int) throws(TerminalProtocolError) -> Void
    ) throws(TerminalProtocolError) {
        try count(values.count, limit: countLimit, field: field)
        for (index, value) in values.enumerated() {
            try check(value, index)
        }
    }

    static func channel<Value: BinaryInteger>(_ value: Value, field: @autoclosure () -> String) throws(TerminalProtocolError) {
        guard value <= TerminalProtocolLimits.maximumLogicalChannel else {
            throw .invalidField(
                name: field(),
                reason: "logical channel \(value) is above \(TerminalProtocolLimits.maximumLogicalChannel)"
            )
        }
    }

    static func statusWord(_ value: UInt32, field: @autoclosure () -> String) throws(TerminalProtocolError) {
        guard value <= TerminalProtocolLimits.maximumStatusWord else {
            throw .invalidField(name: field(), reason: "status word \(value) is above 0xFFFF")
        }
    }
}

private extension String {
    func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
