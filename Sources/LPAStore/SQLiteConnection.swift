import CSQLite

/// One libsqlite3 database connection with a cache of prepared statements.
///
/// Not thread-safe and not `Sendable`: ``SQLiteExecutor`` owns it and uses it from one thread at a
/// time. Opening configures WAL journaling (files only), `synchronous=NORMAL`, foreign keys and a
/// busy timeout, so several processes may share one file.
final class SQLiteConnection {
    /// Path meaning "a private in-memory database".
    static let memoryPath = ":memory:"
    /// Statements kept prepared before the cache is emptied.
    static let statementCacheLimit = 256

    private var handle: OpaquePointer?
    private var statements: [String: SQLiteStatement] = [:]
    let path: String

    init(path: String, busyTimeoutMilliseconds: Int32 = 5_000) throws {
        self.path = path
        var db: OpaquePointer?
        let flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE
        let code = sqlite3_open_v2(path, &db, flags, nil)
        guard code == SQLITE_OK, let db else {
            let message = db.map { String(cString: sqlite3_errmsg($0)) } ?? "out of memory"
            sqlite3_close_v2(db)
            throw SQLiteError(code: code, message: message)
        }
        handle = db
        do {
            try check(sqlite3_busy_timeout(db, busyTimeoutMilliseconds))
            try execute("PRAGMA foreign_keys = ON")
            if path != Self.memoryPath {
                try execute("PRAGMA journal_mode = WAL")
                try execute("PRAGMA synchronous = NORMAL")
            }
            // Reading the schema fails here, not at the first query, when the file is not a database.
            try execute("SELECT count(*) FROM sqlite_master")
        } catch {
            close()
            throw error
        }
    }

    deinit {
        close()
    }

    var isOpen: Bool { handle != nil }

    /// True while a transaction is open.
    var isInTransaction: Bool {
        guard let handle else { return false }
        return sqlite3_get_autocommit(handle) == 0
    }

    /// Runs SQL without parameters or results (pragmas, transaction control, DDL); may hold several statements.
    func execute(_ sql: String) throws {
        let db = try open()
        var message: UnsafeMutablePointer<CChar>?
        let code = sqlite3_exec(db, sql, nil, nil, &message)
        defer { sqlite3_free(message) }
        guard code == SQLITE_OK else {
            throw SQLiteError(code: sqlite3_extended_errcode(db), message: message.map { String(cString: $0) } ?? "", sql: sql)
        }
    }

    /// The prepared statement for `sql`, from the cache or newly prepared. Reset it after use.
    /// PostgreSQL-style placeholders `$1`, `$2`, … are accepted and mean SQLite's `?1`, `?2`, ….
    func prepared(_ sql: String) throws -> SQLiteStatement {
        if let statement = statements[sql] { return statement }
        let statement = try SQLiteStatement(connection: try open(), sql: Self.numberedParameters(sql))
        if statements.count >= Self.statementCacheLimit { statements.removeAll() }
        statements[sql] = statement
        return statement
    }

    /// Runs `statement` with `binds`, calling `row` for each result row; returns the number of rows.
    @discardableResult
    func run(_ sql: String, _ binds: [SQLValue], row: (SQLiteRow) throws -> Void = { _ in }) throws -> Int {
        let statement = try prepared(sql)
        defer { statement.reset() }
        try statement.bind(binds)
        var rows = 0
        while try statement.step() {
            rows += 1
            try row(SQLiteRow(statement: statement))
        }
        return rows
    }

    /// Finalises cached statements and closes the database. Safe to call twice.
    func close() {
        statements.removeAll()
        if let handle {
            sqlite3_close_v2(handle)
            self.handle = nil
        }
    }

    /// Rewrites `$N` placeholders to `?N`; a `$` not followed by a digit is left alone.
    static func numberedParameters(_ sql: String) -> String {
        guard sql.contains("$") else { return sql }
        var result = ""
        result.reserveCapacity(sql.utf8.count)
        var previous: Character?
        for character in sql {
            if previous == "$" {
                result.append(character.isASCII && character.isNumber ? "?" : "$")
            }
            if character != "$" { result.append(character) }
            previous = character
        }
        if previous == "$" { result.append("$") }
        return result
    }

    private func open() throws -> OpaquePointer {
        guard let handle else { throw SQLiteError(code: SQLITE_MISUSE, message: "the connection is closed") }
        return handle
    }

    private func check(_ code: Int32) throws {
        guard code == SQLITE_OK else {
            throw SQLiteError(code: code, message: handle.map { String(cString: sqlite3_errmsg($0)) } ?? "")
        }
    }
}
