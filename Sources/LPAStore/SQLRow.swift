/// Typed access to the columns of the current result row; implemented by each backend.
/// Methods throw ``SQLColumnError`` when a value is NULL where one is required or has another type.
protocol SQLRow {
    func integer(_ column: Int) throws -> Int64
    func text(_ column: Int) throws -> String
    func bool(_ column: Int) throws -> Bool
    func isNull(_ column: Int) throws -> Bool
}

/// Why a column could not be read as the requested type.
struct SQLColumnError: Error, CustomStringConvertible {
    var column: Int
    var problem: String

    var description: String { "column \(column): \(problem)" }
}
