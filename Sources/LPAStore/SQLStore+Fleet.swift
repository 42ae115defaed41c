import LPADomain

// Device listings, count-setting deletion and fleet imports: the admin API's needs, written once
// for both backends like the rest of ``SQLStore``.
extension SQLStore {
    public func deleteCountSettingTable(model: String) async throws -> Bool {
        let input = StoreInput(operation: "deleteCountSettingTable")
        try input.key(model, "model code")
        let removed = try await write(input, [SQLStatement("DELETE FROM count_setting_tables WHERE model = $1 RETURNING model", [.text(model)])])
        return removed[0] > 0
    }

    /// Largest page ``devices(_:)`` returns.
    public static let maximumPageSize = 1000

    public func devices(_ query: DeviceQuery) async throws -> DevicePage {
        let input = StoreInput(operation: "devices")
        guard (1...Self.maximumPageSize).contains(query.limit) else {
            throw input.invalid("limit must be within 1...\(Self.maximumPageSize), is \(query.limit)")
        }
        var conditions: [String] = []
        var binds: [SQLValue] = []
        func bind(_ value: SQLValue) -> String {
            binds.append(value)
            return "$\(binds.count)"
        }
        if let after = query.after {
            try input.key(after, "cursor")
            conditions.append("terminal_id > \(bind(.text(after)))")
        }
        if let model = query.model {
            try input.key(model, "model")
            conditions.append("model = \(bind(.text(model)))")
        }
        if let rule = query.rule {
            try input.key(rule, "rule")
            conditions.append("rule_name = \(bind(.text(rule)))")
        }
        if let presence = query.presence {
            let online = "EXISTS (SELECT 1 FROM presence p WHERE p.terminal_id = devices.terminal_id AND p.state = \(bind(.text(PresenceRecord.State.online.rawValue))))"
            conditions.append(presence == .online ? online : "NOT \(online)")
        }
        if let tag = query.tag {
            try input.key(tag, "tag")
            // Tags are a JSON array: look for the encoded string, then check exactly below (LIKE
            // ignores ASCII case in SQLite).
            let encoded = try StoreJSON.encode(tag, operation: input.operation, field: "tag")
            let escaped = encoded.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
                .replacingOccurrences(of: "_", with: "\\_")
            conditions.append("tags LIKE \(bind(.text("%" + escaped + "%"))) ESCAPE '\\'")
        }
        if let state = query.jobState {
            conditions.append("""
                (SELECT j.state FROM provisioning_jobs j WHERE j.terminal_id = devices.terminal_id \
                ORDER BY j.created_at DESC, j.id DESC LIMIT 1) = \(bind(.text(state.rawValue)))
                """)
        }
        let whereClause = conditions.isEmpty ? "" : "WHERE " + conditions.joined(separator: " AND ")
        let limit = bind(.int(query.limit))
        let sql = """
            SELECT \(DeviceTable.selectList),
                (SELECT p.state FROM presence p WHERE p.terminal_id = devices.terminal_id),
                (SELECT p.last_seen FROM presence p WHERE p.terminal_id = devices.terminal_id),
                (SELECT j.state FROM provisioning_jobs j WHERE j.terminal_id = devices.terminal_id ORDER BY j.created_at DESC, j.id DESC LIMIT 1)
            FROM devices \(whereClause) ORDER BY terminal_id LIMIT \(limit)
            """
        let columns = DeviceTable.columns.count
        let rows = try await executor.read(input.operation, SQLQuery(table: DeviceTable.name, sql, binds) { row in
            DeviceSummary(
                device: try DeviceTable.decode(&row),
                presence: try row.optionalEnumeration(PresenceRecord.State.self, columns, "presence state"),
                lastSeen: try row.optionalInteger(columns + 1, "last_seen"),
                latestJobState: try row.optionalEnumeration(ProvisioningJob.State.self, columns + 2, "job state"))
        })
        let next = rows.count == query.limit ? rows.last?.device.terminalID : nil
        let matching = query.tag.map { tag in rows.filter { $0.device.tags.contains(tag) } } ?? rows
        return DevicePage(devices: matching, next: next)
    }

    // MARK: Fleet imports

    public func beginFleetImport(_ fleetImport: FleetImport) async throws {
        let input = StoreInput(operation: "beginFleetImport")
        guard fleetImport.state == .staging else { throw input.invalid("a new import must be in state staging") }
        let inserted = try await write(input, FleetImportTable.insert([fleetImport], input, suffix: "ON CONFLICT DO NOTHING RETURNING id"))
        if inserted[0] == 0 { throw input.invalid("import id '\(fleetImport.id)' is already used") }
    }

    public func stageFleetRows(importID: String, _ rows: [StagedFleetRow]) async throws {
        let input = StoreInput(operation: "stageFleetRows")
        try input.key(importID, "import id")
        guard let current = try await fleetImport(id: importID), current.state == .staging else {
            throw input.invalid("import '\(importID)' is unknown or no longer staging")
        }
        try await write(input, FleetImportRowTable.insert(importID: importID, rows, input))
    }

    public func fleetImportDuplicates(importID: String, limit: Int) async throws -> [FleetImportDuplicate] {
        let input = StoreInput(operation: "fleetImportDuplicates")
        try input.key(importID, "import id")
        try input.nonNegative(limit, "limit")
        return try await executor.read(input.operation, SQLQuery(table: FleetImportRowTable.name, """
            SELECT r.eid, f.first_line, r.line FROM fleet_import_rows r
            JOIN (SELECT eid, min(line) AS first_line FROM fleet_import_rows WHERE import_id = $1 GROUP BY eid HAVING count(*) > 1) f
              ON f.eid = r.eid
            WHERE r.import_id = $1 AND r.line > f.first_line ORDER BY r.line LIMIT $2
            """, [.text(importID), .int(limit)]) { row in
            FleetImportDuplicate(eid: try row.text(0, "eid"), firstLine: try row.int(1, "first_line"), line: try row.int(2, "line"))
        })
    }

    @discardableResult
    public func finishFleetImport(id: String, apply: Bool, rowCount: Int, errorCount: Int, at: Int64) async throws -> FleetImport {
        let input = StoreInput(operation: "finishFleetImport")
        try input.key(id, "import id")
        try input.nonNegative(rowCount, "rowCount")
        try input.nonNegative(errorCount, "errorCount")
        let state: FleetImport.State = apply ? .applied : .rejected
        var statements = [SQLStatement(
            "UPDATE fleet_imports SET state = $2, finished_at = $3, row_count = $4, error_count = $5 WHERE id = $1 AND state = 'staging' RETURNING id",
            [.text(id), .text(state.rawValue), .integer(at), .int(rowCount), .int(errorCount)])]
        if apply {
            let shared = FleetEntryColumns.shared
            let updates = (shared.dropFirst() + ["import_id", "imported_at"]).map { "\($0) = excluded.\($0)" }.joined(separator: ", ")
            // Copies only when the update above moved this import to applied in this transaction.
            statements.append(SQLStatement("""
                INSERT INTO fleet_entries (\(FleetEntryTable.columns.joined(separator: ", ")))
                SELECT \(shared.map { "r.\($0)" }.joined(separator: ", ")), r.import_id, $2 FROM fleet_import_rows r
                WHERE r.import_id = $1 AND EXISTS (SELECT 1 FROM fleet_imports i WHERE i.id = $1 AND i.state = 'applied' AND i.finished_at = $2)
                ORDER BY r.eid
                ON CONFLICT (eid) DO UPDATE SET \(updates)
                """, [.text(id), .integer(at)]))
        }
        statements.append(SQLStatement("DELETE FROM fleet_import_rows WHERE import_id = $1", [.text(id)]))
        let counts = try await write(input, statements)
        if counts[0] == 0 { throw input.invalid("import '\(id)' is unknown or already finished") }
        guard let finished = try await fleetImport(id: id) else { throw input.invalid("import '\(id)' vanished") }
        return finished
    }

    public func fleetImport(id: String) async throws -> FleetImport? {
        let input = StoreInput(operation: "fleetImport")
        try input.key(id, "import id")
        return try await executor.read(input.operation, FleetImportTable.select("WHERE id = $1", [.text(id)])).first
    }

    public func fleetEntry(eid: String) async throws -> FleetEntry? {
        let input = StoreInput(operation: "fleetEntry")
        try input.key(eid, "EID")
        return try await executor.read(input.operation, FleetEntryTable.select("WHERE eid = $1", [.text(eid)])).first
    }

    public func fleetEntries(after: String?, limit: Int) async throws -> [FleetEntry] {
        let input = StoreInput(operation: "fleetEntries")
        try input.nonNegative(limit, "limit")
        if let after {
            try input.key(after, "cursor")
            return try await executor.read(input.operation, FleetEntryTable.select("WHERE eid > $1 ORDER BY eid LIMIT $2", [.text(after), .int(limit)]))
        }
        return try await executor.read(input.operation, FleetEntryTable.select("ORDER BY eid LIMIT $1", [.int(limit)]))
    }
}
