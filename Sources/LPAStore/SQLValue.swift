/// A value bound to a statement parameter. Both backends map it to their own wire type:
/// SQLite stores booleans as 0/1 integers, PostgreSQL as `BOOLEAN`.
enum SQLValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case text(String)
    case bool(Bool)

    static func int(_ value: Int) -> SQLValue { .integer(Int64(value)) }

    static func optionalText(_ value: String?) -> SQLValue { value.map(SQLValue.text) ?? .null }
}
