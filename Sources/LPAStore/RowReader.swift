import Foundation

/// Reads one row of a store table into domain values. Any value that cannot be read (NULL where one
/// is required, wrong type, JSON that does not decode, unknown enum value) becomes
/// ``StoreError/Kind/corrupt`` naming the operation, table, row key and column, so one bad row
/// never crashes the core.
struct RowReader {
    let row: any SQLRow
    let operation: String
    let table: String
    /// The row's key, once read; named in errors.
    private(set) var key: String = "?"

    init(row: any SQLRow, operation: String, table: String) {
        self.row = row
        self.operation = operation
        self.table = table
    }

    /// Reads the key column (text) and remembers it for error messages.
    mutating func readKey(_ column: Int, _ name: String) throws -> String {
        let value = try text(column, name)
        key = value
        return value
    }

    /// Names the row by a key made of several columns, for error messages.
    mutating func setKey(_ value: String) { key = value }

    func integer(_ column: Int, _ name: String) throws -> Int64 {
        try read(name) { try row.integer(column) }
    }

    func int(_ column: Int, _ name: String) throws -> Int {
        let value = try integer(column, name)
        guard let int = Int(exactly: value) else { throw corrupt(name, "\(value) does not fit Int") }
        return int
    }

    func text(_ column: Int, _ name: String) throws -> String {
        try read(name) { try row.text(column) }
    }

    func optionalText(_ column: Int, _ name: String) throws -> String? {
        try read(name) { try row.isNull(column) ? nil : try row.text(column) }
    }

    func bool(_ column: Int, _ name: String) throws -> Bool {
        try read(name) { try row.bool(column) }
    }

    func json<T: Decodable>(_ type: T.Type, _ column: Int, _ name: String) throws -> T {
        let text = try text(column, name)
        return try decodeJSON(type, text, name)
    }

    func optionalJSON<T: Decodable>(_ type: T.Type, _ column: Int, _ name: String) throws -> T? {
        guard let text = try optionalText(column, name) else { return nil }
        return try decodeJSON(type, text, name)
    }

    func enumeration<T: RawRepresentable>(_ type: T.Type, _ column: Int, _ name: String) throws -> T where T.RawValue == String {
        let raw = try text(column, name)
        guard let value = T(rawValue: raw) else { throw corrupt(name, "unknown value '\(raw)'") }
        return value
    }

    func optionalEnumeration<T: RawRepresentable>(_ type: T.Type, _ column: Int, _ name: String) throws -> T? where T.RawValue == String {
        guard let raw = try optionalText(column, name) else { return nil }
        guard let value = T(rawValue: raw) else { throw corrupt(name, "unknown value '\(raw)'") }
        return value
    }

    func corrupt(_ column: String, _ problem: String) -> StoreError {
        StoreError(.corrupt, operation: operation, detail: "table \(table), row '\(key)', column \(column): \(problem)")
    }

    private func read<T>(_ name: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch let error as SQLColumnError {
            throw corrupt(name, error.problem)
        }
    }

    private func decodeJSON<T: Decodable>(_ type: T.Type, _ text: String, _ name: String) throws -> T {
        do {
            return try StoreJSON.decode(type, from: text)
        } catch {
            throw corrupt(name, "undecodable JSON (\(StoreJSON.describe(error)))")
        }
    }
}

/// JSON text columns: deterministic output (sorted keys), readable decoding errors.
enum StoreJSON {
    static func encode<T: Encodable>(_ value: T, operation: String, field: String) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        do {
            return String(decoding: try encoder.encode(value), as: UTF8.self)
        } catch {
            throw StoreError(.invalidInput, operation: operation, detail: "\(field) cannot be encoded: \(describe(error))")
        }
    }

    static func decode<T: Decodable>(_ type: T.Type, from text: String) throws -> T {
        try JSONDecoder().decode(type, from: Data(text.utf8))
    }

    static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context),
             DecodingError.keyNotFound(_, let context),
             DecodingError.typeMismatch(_, let context),
             DecodingError.valueNotFound(_, let context):
            let path = context.codingPath.map(\.stringValue).joined(separator: ".")
            return path.isEmpty ? context.debugDescription : "\(path): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }
}

extension RowReader {
    func optionalInteger(_ column: Int, _ name: String) throws -> Int64? {
        try read(name) { try row.isNull(column) ? nil : try row.integer(column) }
    }
}
