/// One SQL statement with its parameters. SQL is written once for both dialects with PostgreSQL's
/// numbered placeholders (`$1`, `$2`, …); the SQLite executor rewrites them to `?1`, `?2`, ….
struct SQLStatement: Sendable {
    var sql: String
    var binds: [SQLValue]

    init(_ sql: String, _ binds: [SQLValue] = []) {
        self.sql = sql
        self.binds = binds
    }
}

/// A statement whose rows are decoded into values. `table` names the rows in corrupt-row errors.
struct SQLQuery<Row: Sendable>: Sendable {
    var table: String
    var statement: SQLStatement
    var decode: @Sendable (inout RowReader) throws -> Row

    init(table: String, _ sql: String, _ binds: [SQLValue] = [], decode: @escaping @Sendable (inout RowReader) throws -> Row) {
        self.table = table
        self.statement = SQLStatement(sql, binds)
        self.decode = decode
    }

    /// Decodes one row read by a backend.
    func decodeRow(_ row: any SQLRow, operation: String) throws -> Row {
        var reader = RowReader(row: row, operation: operation, table: table)
        return try decode(&reader)
    }
}

extension SQLStatement {
    /// Largest number of rows one multi-row `INSERT` carries.
    static let maximumRowsPerInsert = 128

    /// Multi-row `INSERT INTO table (columns) VALUES (…), (…) suffix` statements for `rows`.
    ///
    /// Rows are split into chunks whose sizes are powers of two (128, 64, …, 1), so a cached
    /// prepared statement exists for at most eight shapes per table.
    static func insert(into table: String, columns: [String], rows: [[SQLValue]], suffix: String = "") -> [SQLStatement] {
        var statements: [SQLStatement] = []
        var start = 0
        while start < rows.count {
            var size = maximumRowsPerInsert
            while size > rows.count - start { size /= 2 }
            let chunk = rows[start..<(start + size)]
            var sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
            var binds: [SQLValue] = []
            binds.reserveCapacity(size * columns.count)
            for (rowIndex, row) in chunk.enumerated() {
                precondition(row.count == columns.count, "row has \(row.count) values for \(columns.count) columns")
                if rowIndex > 0 { sql += ", " }
                sql += "("
                for column in 0..<columns.count {
                    if column > 0 { sql += ", " }
                    sql += "$\(rowIndex * columns.count + column + 1)"
                }
                sql += ")"
                binds.append(contentsOf: row)
            }
            if !suffix.isEmpty { sql += " " + suffix }
            statements.append(SQLStatement(sql, binds))
            start += size
        }
        return statements
    }
}
