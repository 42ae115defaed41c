import LPADomain

enum FleetImportTable: StoreTable {
    static let name = "fleet_imports"
    static let columns = ["id", "state", "created_at", "finished_at", "row_count", "error_count"]

    static func values(_ record: FleetImport, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(record.id, "import id")
        try input.nonNegative(record.rowCount, "rowCount")
        try input.nonNegative(record.errorCount, "errorCount")
        return [.text(record.id), .text(record.state.rawValue), .integer(record.createdAt),
                record.finishedAt.map(SQLValue.integer) ?? .null, .int(record.rowCount), .int(record.errorCount)]
    }

    static func decode(_ row: inout RowReader) throws -> FleetImport {
        FleetImport(
            id: try row.readKey(0, "id"),
            state: try row.enumeration(FleetImport.State.self, 1, "state"),
            createdAt: try row.integer(2, "created_at"),
            finishedAt: try row.optionalInteger(3, "finished_at"),
            rowCount: try row.int(4, "row_count"),
            errorCount: try row.int(5, "error_count"))
    }
}

/// The columns a fleet entry shares between the staging rows and the entries themselves.
enum FleetEntryColumns {
    static let shared = ["eid", "imei", "iccid", "model", "tags", "target"]

    static func values(_ entry: FleetEntry, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(entry.eid, "EID")
        try input.optionalText(entry.imei, "IMEI of \(entry.eid)")
        try input.optionalText(entry.iccid, "ICCID of \(entry.eid)")
        try input.key(entry.model, "model of \(entry.eid)")
        for tag in entry.tags { try input.key(tag, "tag of \(entry.eid)") }
        return [
            .text(entry.eid), .optionalText(entry.imei), .optionalText(entry.iccid), .text(entry.model),
            .text(try StoreJSON.encode(entry.tags, operation: input.operation, field: "tags")),
            .optionalText(try entry.target.map { try StoreJSON.encode($0, operation: input.operation, field: "target") }),
        ]
    }
}

/// Staged rows are only written and then copied or deleted in SQL, never read back one by one.
enum FleetImportRowTable {
    static let name = "fleet_import_rows"
    static let columns = ["import_id", "line"] + FleetEntryColumns.shared

    static func insert(importID: String, _ rows: [StagedFleetRow], _ input: StoreInput) throws -> [SQLStatement] {
        let values = try rows.map { row -> [SQLValue] in
            try input.positive(row.line, "line")
            return [.text(importID), .int(row.line)] + (try FleetEntryColumns.values(row.entry, input))
        }
        return SQLStatement.insert(into: name, columns: columns, rows: values)
    }
}

enum FleetEntryTable: StoreTable {
    static let name = "fleet_entries"
    static let columns = FleetEntryColumns.shared + ["import_id", "imported_at"]

    static func values(_ entry: FleetEntry, _ input: StoreInput) throws -> [SQLValue] {
        try FleetEntryColumns.values(entry, input) + [.text(entry.importID), .integer(entry.importedAt)]
    }

    static func decode(_ row: inout RowReader) throws -> FleetEntry {
        FleetEntry(
            eid: try row.readKey(0, "eid"),
            imei: try row.optionalText(1, "imei"),
            iccid: try row.optionalText(2, "iccid"),
            model: try row.text(3, "model"),
            tags: try row.json([String].self, 4, "tags"),
            target: try row.optionalJSON(DataConfigurationRequirement.self, 5, "target"),
            importID: try row.text(6, "import_id"),
            importedAt: try row.integer(7, "imported_at"))
    }
}
