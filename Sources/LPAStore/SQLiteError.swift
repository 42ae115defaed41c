import CSQLite

/// A failed libsqlite3 call: the result code, SQLite's message and the statement, if any.
struct SQLiteError: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var sql: String?

    init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (extended codes carry it in the low byte).
    var primaryCode: Int32 { code & 0xFF }

    var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    var description: String {
        var text = "sqlite error \(code) (\(String(cString: sqlite3_errstr(code)))): \(message)"
        if let sql {
            let line = sql.split(whereSeparator: \.isWhitespace).joined(separator: " ")
            text += " in: " + (line.count > 160 ? String(line.prefix(160)) + "…" : line)
        }
        if isBusy { text += "; another process holds the database lock longer than the busy timeout" }
        return text
    }
}
