import CSQLite

/// A prepared libsqlite3 statement with typed binds and column reads. Owned by one
/// ``SQLiteConnection`` and used only on the thread that serialises it; not `Sendable`.
final class SQLiteStatement {
    private let handle: OpaquePointer
    private let connection: OpaquePointer
    let sql: String

    init(connection: OpaquePointer, sql: String) throws {
        var statement: OpaquePointer?
        let code = sqlite3_prepare_v3(connection, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard code == SQLITE_OK, let statement else {
            sqlite3_finalize(statement)
            throw SQLiteError(code: code, message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
        self.handle = statement
        self.connection = connection
        self.sql = sql
    }

    deinit {
        sqlite3_finalize(handle)
    }

    var parameterCount: Int { Int(sqlite3_bind_parameter_count(handle)) }

    // MARK: Binds (1-based, as in SQLite)

    func bind(_ values: [SQLValue]) throws {
        guard values.count == parameterCount else {
            throw SQLiteError(code: SQLITE_RANGE, message: "statement has \(parameterCount) parameters, \(values.count) values given", sql: sql)
        }
        for (offset, value) in values.enumerated() {
            try bind(value, at: Int32(offset + 1))
        }
    }

    func bind(_ value: SQLValue, at index: Int32) throws {
        switch value {
        case .null: try bindNull(at: index)
        case .integer(let v): try bind(v, at: index)
        case .text(let v): try bind(v, at: index)
        case .bool(let v): try bind(Int64(v ? 1 : 0), at: index)
        }
    }

    func bind(_ value: Int64, at index: Int32) throws {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    func bind(_ value: String, at index: Int32) throws {
        let utf8 = Array(value.utf8)
        let code = utf8.withUnsafeBufferPointer { buffer -> Int32 in
            // An empty buffer may have no base address; SQLite would bind NULL for a null pointer.
            guard let base = buffer.baseAddress, !buffer.isEmpty else {
                return sqlite3_bind_text(handle, index, "", 0, lpa_sqlite_transient())
            }
            return base.withMemoryRebound(to: CChar.self, capacity: buffer.count) {
                sqlite3_bind_text(handle, index, $0, Int32(buffer.count), lpa_sqlite_transient())
            }
        }
        try check(code)
    }

    func bindNull(at index: Int32) throws {
        try check(sqlite3_bind_null(handle, index))
    }

    // MARK: Stepping

    /// Advances to the next row; false when the statement is done.
    func step() throws -> Bool {
        let code = sqlite3_step(handle)
        switch code {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw SQLiteError(code: sqlite3_extended_errcode(connection), message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
    }

    /// Makes the statement ready for the next use and drops its binds.
    func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Columns (0-based, as in SQLite)

    var columnCount: Int { Int(sqlite3_column_count(handle)) }

    func columnType(_ column: Int) -> Int32 {
        sqlite3_column_type(handle, Int32(column))
    }

    func int64(_ column: Int) -> Int64 {
        sqlite3_column_int64(handle, Int32(column))
    }

    func string(_ column: Int) -> String {
        guard let bytes = sqlite3_column_text(handle, Int32(column)) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, Int32(column)))
        return String(decoding: UnsafeBufferPointer(start: bytes, count: count), as: UTF8.self)
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else {
            throw SQLiteError(code: code, message: String(cString: sqlite3_errmsg(connection)), sql: sql)
        }
    }
}

/// The current row of a ``SQLiteStatement``, read strictly: a NULL or a value of another storage
/// class than the one asked for is an error, not a silent conversion.
struct SQLiteRow: SQLRow {
    let statement: SQLiteStatement

    func integer(_ column: Int) throws -> Int64 {
        try expect(column, SQLITE_INTEGER, "an integer")
        return statement.int64(column)
    }

    func text(_ column: Int) throws -> String {
        try expect(column, SQLITE_TEXT, "text")
        return statement.string(column)
    }

    func bool(_ column: Int) throws -> Bool {
        let value = try integer(column)
        guard value == 0 || value == 1 else { throw SQLColumnError(column: column, problem: "expected 0 or 1, found \(value)") }
        return value == 1
    }

    func isNull(_ column: Int) throws -> Bool {
        try checkRange(column)
        return statement.columnType(column) == SQLITE_NULL
    }

    private func expect(_ column: Int, _ type: Int32, _ name: String) throws {
        try checkRange(column)
        let actual = statement.columnType(column)
        guard actual == type else {
            throw SQLColumnError(column: column, problem: "expected \(name), found \(Self.name(of: actual))")
        }
    }

    private func checkRange(_ column: Int) throws {
        guard column >= 0 && column < statement.columnCount else {
            throw SQLColumnError(column: column, problem: "no such column (row has \(statement.columnCount))")
        }
    }

    private static func name(of type: Int32) -> String {
        switch type {
        case SQLITE_INTEGER: return "an integer"
        case SQLITE_FLOAT: return "a real"
        case SQLITE_TEXT: return "text"
        case SQLITE_BLOB: return "a blob"
        case SQLITE_NULL: return "NULL"
        default: return "type \(type)"
        }
    }
}
