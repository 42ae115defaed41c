/// Checks a store call's arguments before anything is written, so bad input is
/// ``StoreError/Kind/invalidInput`` on both backends instead of a backend-specific failure.
struct StoreInput {
    /// Longest key (terminal id, model code, rule name) in UTF-8 bytes; keeps index entries small.
    static let maximumKeyBytes = 512

    let operation: String

    /// A key column: not empty, at most ``maximumKeyBytes``, no NUL.
    func key(_ value: String, _ field: String) throws {
        if value.isEmpty { throw invalid("\(field) must not be empty") }
        if value.utf8.count > Self.maximumKeyBytes {
            throw invalid("\(field) is \(value.utf8.count) bytes; at most \(Self.maximumKeyBytes) are allowed")
        }
        try text(value, field)
    }

    /// Free text: anything but NUL, which PostgreSQL cannot store in `TEXT`.
    func text(_ value: String, _ field: String) throws {
        if value.utf8.contains(0) { throw invalid("\(field) contains a NUL character") }
    }

    func optionalText(_ value: String?, _ field: String) throws {
        if let value { try text(value, field) }
    }

    func positive(_ value: Int, _ field: String) throws {
        if value <= 0 { throw invalid("\(field) must be positive, is \(value)") }
    }

    func nonNegative(_ value: Int, _ field: String) throws {
        if value < 0 { throw invalid("\(field) must not be negative, is \(value)") }
    }

    func invalid(_ detail: String) -> StoreError {
        StoreError(.invalidInput, operation: operation, detail: detail)
    }
}
