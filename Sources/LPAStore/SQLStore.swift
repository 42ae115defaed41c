import LPADomain

/// The ``Store`` logic shared by ``SQLiteStore`` and ``PostgresStore``: input checks, SQL and row
/// mapping are written once here; the subclasses only say how to reach their database (an
/// ``SQLExecutor``). That is what keeps the two backends' semantics identical.
///
/// Every method is one transaction (writes) or one statement (reads). Thread-safe; callable from
/// any task or event loop, since no method blocks the calling thread.
public class SQLStore: Store, @unchecked Sendable {
    let executor: any SQLExecutor
    let migrations: [Migration]

    init(executor: any SQLExecutor, migrations: [Migration]) {
        self.executor = executor
        self.migrations = migrations
    }

    public func migrate() async throws {
        try await executor.migrate(migrations)
    }

    public func schemaVersion() async throws -> Int {
        try await executor.schemaVersion()
    }

    public func close() async throws {
        try await executor.close()
    }

    // MARK: Device-model library

    public func upsertDeviceModel(_ model: DeviceModel) async throws {
        let input = StoreInput(operation: "upsertDeviceModel")
        try await write(input, DeviceModelTable.insert([model], input, suffix: DeviceModelTable.replaceOnConflict(["code"])))
    }

    public func deleteDeviceModel(code: String) async throws -> Bool {
        let input = StoreInput(operation: "deleteDeviceModel")
        try input.key(code, "model code")
        let removed = try await write(input, [SQLStatement("DELETE FROM device_models WHERE code = $1 RETURNING code", [.text(code)])])
        return removed[0] > 0
    }

    public func deviceModels() async throws -> [DeviceModel] {
        try await executor.read("deviceModels", DeviceModelTable.select("ORDER BY code"))
    }

    // MARK: Configuration library

    public func replaceConfigurationRules(_ rules: [ConfigurationRule]) async throws {
        let input = StoreInput(operation: "replaceConfigurationRules")
        var names = Set<String>()
        for rule in rules where !names.insert(rule.name).inserted {
            throw input.invalid("rule name '\(rule.name)' is used twice")
        }
        let inserts = try ConfigurationRuleTable.insert(rules.sorted { $0.name < $1.name }, input)
        try await write(input, exclusive: [ConfigurationRuleTable.name], [SQLStatement("DELETE FROM configuration_rules")] + inserts)
    }

    public func configurationRules() async throws -> [ConfigurationRule] {
        try await executor.read("configurationRules", ConfigurationRuleTable.select("ORDER BY priority, name"))
    }

    // MARK: Count-setting tables

    public func upsertCountSettingTable(_ table: CountSettingTable) async throws {
        let input = StoreInput(operation: "upsertCountSettingTable")
        try await write(input, CountSettingTableTable.insert([table], input, suffix: CountSettingTableTable.replaceOnConflict(["model"])))
    }

    public func countSettingTables() async throws -> [CountSettingTable] {
        try await executor.read("countSettingTables", CountSettingTableTable.select("ORDER BY model"))
    }

    // MARK: Devices

    public func upsertDevice(_ device: DeviceRecord) async throws {
        let input = StoreInput(operation: "upsertDevice")
        try await write(input, DeviceTable.insert([device], input, suffix: DeviceTable.replaceOnConflict(["terminal_id"])))
    }

    public func device(terminalID: String) async throws -> DeviceRecord? {
        let input = StoreInput(operation: "device")
        try input.key(terminalID, "terminal id")
        return try await executor.read(input.operation, DeviceTable.select("WHERE terminal_id = $1", [.text(terminalID)])).first
    }

    public func deviceCount() async throws -> Int {
        let counts = try await executor.read("deviceCount", SQLQuery(table: DeviceTable.name, "SELECT count(*) FROM devices") {
            try $0.int(0, "count")
        })
        return counts.first ?? 0
    }

    /// Throws ``StoreError/Kind/invalidInput`` when no device `terminalID` is stored.
    public func updateDeviceSettings(terminalID: String, heartbeatIntervalSeconds: Int, historyLimit: Int) async throws {
        let input = StoreInput(operation: "updateDeviceSettings")
        try input.key(terminalID, "terminal id")
        try input.positive(heartbeatIntervalSeconds, "heartbeatIntervalSeconds")
        try input.positive(historyLimit, "historyLimit")
        let updated = try await write(input, [SQLStatement(
            "UPDATE devices SET heartbeat_interval_seconds = $2, history_limit = $3 WHERE terminal_id = $1 RETURNING terminal_id",
            [.text(terminalID), .int(heartbeatIntervalSeconds), .int(historyLimit)])])
        if updated[0] == 0 { throw input.invalid("no device with terminal id '\(terminalID)' is stored") }
    }

    public func recordRegistrationAttempt(_ attempt: RegistrationAttempt) async throws {
        let input = StoreInput(operation: "recordRegistrationAttempt")
        try await write(input, RegistrationAttemptTable.insert([attempt], input))
    }

    public func registrationAttempts(terminalID: String, limit: Int) async throws -> [RegistrationAttempt] {
        try await newestFirst(RegistrationAttemptTable.self, "registrationAttempts", terminalID: terminalID, limit: limit,
                              order: "occurred_at DESC, id DESC")
    }

    // MARK: Heartbeat history (claim 3)

    public func appendHeartbeatWindows(_ windows: [HeartbeatWindow]) async throws {
        let input = StoreInput(operation: "appendHeartbeatWindows")
        // One row per (terminal, start), the last given winning, in key order so concurrent
        // batches lock rows in the same order.
        var latest: [WindowKey: HeartbeatWindow] = [:]
        for window in windows { latest[WindowKey(terminalID: window.terminalID, windowStart: window.windowStart)] = window }
        let rows = latest.sorted { $0.key < $1.key }.map(\.value)
        try await write(input, HeartbeatWindowTable.insert(rows, input, suffix: HeartbeatWindowTable.replaceOnConflict(["terminal_id", "window_start"])))
    }

    public func trimHeartbeatHistory(terminalID: String, keep: Int) async throws -> Int {
        let input = StoreInput(operation: "trimHeartbeatHistory")
        try input.key(terminalID, "terminal id")
        try input.nonNegative(keep, "keep")
        let removed = try await write(input, [SQLStatement("""
            DELETE FROM heartbeat_windows WHERE terminal_id = $1 AND window_start NOT IN (
                SELECT window_start FROM heartbeat_windows WHERE terminal_id = $1 ORDER BY window_start DESC LIMIT $2
            ) RETURNING window_start
            """, [.text(terminalID), .int(keep)])])
        return removed[0]
    }

    public func heartbeatHistory(terminalID: String, limit: Int) async throws -> [HeartbeatWindow] {
        try await newestFirst(HeartbeatWindowTable.self, "heartbeatHistory", terminalID: terminalID, limit: limit, order: "window_start DESC")
    }

    // MARK: Online dictionary (claim 5)

    public func savePresence(_ record: PresenceRecord, change: PresenceChange?) async throws {
        let input = StoreInput(operation: "savePresence")
        if let change, change.terminalID != record.terminalID {
            throw input.invalid("change for terminal '\(change.terminalID)' saved with the record of '\(record.terminalID)'")
        }
        try await savePresence([record], changes: change.map { [$0] } ?? [], input)
    }

    public func savePresence(_ records: [PresenceRecord], changes: [PresenceChange]) async throws {
        try await savePresence(records, changes: changes, StoreInput(operation: "savePresence"))
    }

    public func savePresenceMisses(_ records: [PresenceRecord], changes: [PresenceChange]) async throws -> Set<String> {
        let input = StoreInput(operation: "savePresenceMisses")
        let sorted = records.sorted { $0.terminalID < $1.terminalID }
        var byTerminal: [String: PresenceChange] = [:]
        for change in changes { byTerminal[change.terminalID] = change }
        var statements: [SQLStatement] = []
        var updates: [Int] = []
        for record in sorted {
            _ = try PresenceTable.values(record, input)
            updates.append(statements.count)
            statements.append(SQLStatement("""
                UPDATE presence SET state = $2, consecutive_misses = $3
                WHERE terminal_id = $1 AND state = 'online' AND last_seen <= $4 RETURNING terminal_id
                """, [.text(record.terminalID), .text(record.state.rawValue), .int(record.consecutiveMisses), .integer(record.lastSeen)]))
            guard let change = byTerminal[record.terminalID], record.state == .offline else { continue }
            let values = try PresenceChangeTable.values(change, input)
            // Recorded only when this transaction made the row offline: the row is offline as written here and no
            // offline change was recorded since the terminal was last heard.
            statements.append(SQLStatement("""
                INSERT INTO presence_changes (\(PresenceChangeTable.columns.joined(separator: ", ")))
                SELECT $1, $2, $3, $4, $5 WHERE EXISTS (
                    SELECT 1 FROM presence WHERE terminal_id = $1 AND state = 'offline' AND consecutive_misses = $6 AND last_seen <= $7
                ) AND NOT EXISTS (
                    SELECT 1 FROM presence_changes WHERE terminal_id = $1 AND to_state = 'offline' AND occurred_at >= $7
                )
                """, values + [.int(record.consecutiveMisses), .integer(record.lastSeen)]))
        }
        let counts = try await write(input, statements)
        return Set(zip(sorted, updates).filter { counts[$0.1] > 0 }.map(\.0.terminalID))
    }

    public func presence(terminalID: String) async throws -> PresenceRecord? {
        let input = StoreInput(operation: "presence")
        try input.key(terminalID, "terminal id")
        return try await executor.read(input.operation, PresenceTable.select("WHERE terminal_id = $1", [.text(terminalID)])).first
    }

    public func allPresence() async throws -> [PresenceRecord] {
        try await executor.read("allPresence", PresenceTable.select("ORDER BY terminal_id"))
    }

    public func presenceChanges(terminalID: String, limit: Int) async throws -> [PresenceChange] {
        try await newestFirst(PresenceChangeTable.self, "presenceChanges", terminalID: terminalID, limit: limit,
                              order: "occurred_at DESC, id DESC")
    }

    // MARK: Provisioning jobs

    public func createJob(_ job: ProvisioningJob) async throws -> Bool {
        let input = StoreInput(operation: "createJob")
        let inserted = try await write(input, ProvisioningJobTable.insert([job], input, suffix: "ON CONFLICT DO NOTHING RETURNING id"))
        return inserted[0] > 0
    }

    public func saveJob(_ job: ProvisioningJob, from expected: ProvisioningJob.State) async throws {
        let input = StoreInput(operation: "saveJob")
        guard expected == job.state || expected.canMove(to: job.state) else {
            throw input.invalid("job '\(job.id)' cannot move from \(expected.rawValue) to \(job.state.rawValue)")
        }
        // The claim columns (the table's last two) belong to claimJob/renewJobClaim/releaseJobClaim; a finished
        // job holds no claim.
        let claimColumns = ["owner", "claim_until"]
        precondition(Array(ProvisioningJobTable.columns.suffix(2)) == claimColumns)
        let values = Array(try ProvisioningJobTable.values(job, input).dropLast(2))
        var assignments = ProvisioningJobTable.columns.prefix(values.count).enumerated().dropFirst()
            .map { "\($0.element) = $\($0.offset + 1)" }
        if !job.state.isActive { assignments.append("claim_until = NULL") }
        let updated = try await write(input, [SQLStatement(
            """
            UPDATE provisioning_jobs SET \(assignments.joined(separator: ", "))
            WHERE id = $1 AND state = $\(values.count + 1) AND COALESCE(owner, '') = $\(values.count + 2) RETURNING id
            """,
            values + [.text(expected.rawValue), .text(job.owner ?? "")])])
        if updated[0] == 0 {
            throw StoreError(.conflict, operation: input.operation, detail: """
                job '\(job.id)' is unknown or no longer in \(expected.rawValue) held by \(job.owner ?? "no core") \
                (another core changed it first); not moved to \(job.state.rawValue)
                """)
        }
    }

    public func claimJob(id: String, coreID: String, now: Int64, until: Int64) async throws -> ProvisioningJob? {
        let input = StoreInput(operation: "claimJob")
        try input.key(id, "job id")
        try input.key(coreID, "core id")
        let claimed = try await write(input, [SQLStatement("""
            UPDATE provisioning_jobs SET owner = $2, claim_until = $4
            WHERE id = $1 AND active = $5 AND (owner IS NULL OR owner = $2 OR COALESCE(claim_until, 0) < $3) RETURNING id
            """, [.text(id), .text(coreID), .integer(now), .integer(until), .bool(true)])])
        guard claimed[0] > 0 else { return nil }
        return try await job(id: id)
    }

    public func renewJobClaim(id: String, coreID: String, until: Int64) async throws -> Bool {
        let input = StoreInput(operation: "renewJobClaim")
        try input.key(id, "job id")
        try input.key(coreID, "core id")
        let renewed = try await write(input, [SQLStatement(
            "UPDATE provisioning_jobs SET claim_until = $3 WHERE id = $1 AND owner = $2 AND active = $4 RETURNING id",
            [.text(id), .text(coreID), .integer(until), .bool(true)])])
        return renewed[0] > 0
    }

    public func releaseJobClaim(id: String, coreID: String) async throws {
        let input = StoreInput(operation: "releaseJobClaim")
        try input.key(id, "job id")
        try input.key(coreID, "core id")
        try await write(input, [SQLStatement(
            "UPDATE provisioning_jobs SET claim_until = NULL WHERE id = $1 AND owner = $2 RETURNING id", [.text(id), .text(coreID)])])
    }

    public func job(id: String) async throws -> ProvisioningJob? {
        let input = StoreInput(operation: "job")
        try input.key(id, "job id")
        return try await executor.read(input.operation, ProvisioningJobTable.select("WHERE id = $1", [.text(id)])).first
    }

    public func jobs(terminalID: String, limit: Int) async throws -> [ProvisioningJob] {
        try await newestFirst(ProvisioningJobTable.self, "jobs", terminalID: terminalID, limit: limit, order: "created_at DESC, id DESC")
    }

    public func activeJobs() async throws -> [ProvisioningJob] {
        try await executor.read("activeJobs", ProvisioningJobTable.select("WHERE active = $1 ORDER BY created_at, id", [.bool(true)]))
    }

    public func finishedJobs(states: [ProvisioningJob.State], finishedSince: Int64, limit: Int) async throws -> [ProvisioningJob] {
        guard !states.isEmpty, limit > 0 else { return [] }
        let placeholders = states.indices.map { "$\($0 + 3)" }.joined(separator: ", ")
        return try await executor.read("finishedJobs", ProvisioningJobTable.select(
            "WHERE finished_at >= $1 AND state IN (\(placeholders)) ORDER BY finished_at DESC, id DESC LIMIT $2",
            [.integer(finishedSince), .int(limit)] + states.map { .text($0.rawValue) }))
    }

    public func jobCounts() async throws -> [ProvisioningJob.State: Int] {
        let rows = try await executor.read("jobCounts", SQLQuery(table: ProvisioningJobTable.name,
            "SELECT state, count(*) FROM provisioning_jobs GROUP BY state") {
            (try $0.enumeration(ProvisioningJob.State.self, 0, "state"), try $0.int(1, "count"))
        })
        return Dictionary(rows, uniquingKeysWith: +)
    }

    // MARK: eUICC notifications

    public func addNotifications(_ records: [NotificationRecord]) async throws {
        let input = StoreInput(operation: "addNotifications")
        let sorted = records.sorted { ($0.eid, $0.seqNumber) < ($1.eid, $1.seqNumber) }
        try await write(input, NotificationTable.insert(sorted, input, suffix: "ON CONFLICT (eid, seq_number) DO NOTHING"))
    }

    public func saveNotification(_ record: NotificationRecord) async throws {
        let input = StoreInput(operation: "saveNotification")
        try await write(input, NotificationTable.insert([record], input, suffix: NotificationTable.replaceOnConflict(["eid", "seq_number"])))
    }

    public func dueNotifications(now: Int64, limit: Int) async throws -> [NotificationRecord] {
        let input = StoreInput(operation: "dueNotifications")
        try input.nonNegative(limit, "limit")
        return try await executor.read(input.operation, NotificationTable.select(
            "WHERE acknowledged_at IS NULL AND next_attempt_at <= $1 ORDER BY next_attempt_at, eid, seq_number LIMIT $2",
            [.integer(now), .int(limit)]))
    }

    public func notificationsToRemove(eid: String) async throws -> [NotificationRecord] {
        let input = StoreInput(operation: "notificationsToRemove")
        try input.key(eid, "EID")
        return try await executor.read(input.operation, NotificationTable.select(
            "WHERE eid = $1 AND acknowledged_at IS NOT NULL AND removed_from_euicc = $2 ORDER BY seq_number", [.text(eid), .bool(false)]))
    }

    public func notifications(eid: String) async throws -> [NotificationRecord] {
        let input = StoreInput(operation: "notifications")
        try input.key(eid, "EID")
        return try await executor.read(input.operation, NotificationTable.select("WHERE eid = $1 ORDER BY seq_number", [.text(eid)]))
    }

    // MARK: Internals

    private func savePresence(_ records: [PresenceRecord], changes: [PresenceChange], _ input: StoreInput) async throws {
        var latest: [String: PresenceRecord] = [:]
        for record in records { latest[record.terminalID] = record }
        let rows = latest.sorted { $0.key < $1.key }.map(\.value)
        let upserts = try PresenceTable.insert(rows, input, suffix: PresenceTable.replaceOnConflict(["terminal_id"]))
        let inserts = try PresenceChangeTable.insert(changes, input)
        try await write(input, upserts + inserts)
    }

    /// Up to `limit` rows of one terminal from a history table, in `order` (newest first).
    // MARK: Retention

    public func trimHistory(_ policy: RetentionPolicy, now: Int64) async throws -> RetentionTrim {
        let input = StoreInput(operation: "trimHistory")
        for (value, name) in [(policy.registrationAttemptsPerTerminal, "registrationAttemptsPerTerminal"),
                              (policy.presenceChangesPerTerminal, "presenceChangesPerTerminal")] {
            try input.nonNegative(value, name)
        }
        /// Rows of a per-terminal history table beyond the newest `keep` of their terminal, or older than `maxAge`.
        func perTerminal(_ table: String, keep: Int, maxAge: Int64) -> [SQLStatement] {
            var statements: [SQLStatement] = []
            if maxAge > 0 {
                statements.append(SQLStatement("DELETE FROM \(table) WHERE occurred_at < $1 RETURNING id", [.integer(now - maxAge)]))
            }
            if keep > 0 {
                statements.append(SQLStatement("""
                    DELETE FROM \(table) WHERE id IN (
                        SELECT id FROM (
                            SELECT id, row_number() OVER (PARTITION BY terminal_id ORDER BY occurred_at DESC, id DESC) AS position
                            FROM \(table)
                        ) ranked WHERE position > $1
                    ) RETURNING id
                    """, [.int(keep)]))
            }
            return statements
        }
        var trim = RetentionTrim()
        let attempts = perTerminal("registration_attempts", keep: policy.registrationAttemptsPerTerminal, maxAge: policy.registrationAttemptMaxAgeSeconds)
        trim.registrationAttempts = try await write(input, attempts).reduce(0, +)
        let changes = perTerminal("presence_changes", keep: policy.presenceChangesPerTerminal, maxAge: policy.presenceChangeMaxAgeSeconds)
        trim.presenceChanges = try await write(input, changes).reduce(0, +)
        if policy.finishedJobMaxAgeSeconds > 0 {
            let finished = ProvisioningJob.State.allCases.filter { !$0.isActive }.map { SQLValue.text($0.rawValue) }
            let placeholders = finished.indices.map { "$\($0 + 2)" }.joined(separator: ", ")
            trim.jobs = try await write(input, [SQLStatement(
                "DELETE FROM provisioning_jobs WHERE updated_at < $1 AND state IN (\(placeholders)) RETURNING id",
                [.integer(now - policy.finishedJobMaxAgeSeconds)] + finished)]).reduce(0, +)
        }
        if policy.finishedWebhookDeliveryMaxAgeSeconds > 0 {
            trim.webhookDeliveries = try await write(input, [SQLStatement(
                "DELETE FROM webhook_deliveries WHERE state IN ('delivered', 'dead') AND finished_at < $1 RETURNING id",
                [.integer(now - policy.finishedWebhookDeliveryMaxAgeSeconds)])]).reduce(0, +)
        }
        return trim
    }

    public func abandonFleetImports(createdBefore: Int64, at: Int64) async throws -> [String] {
        let input = StoreInput(operation: "abandonFleetImports")
        let ids: [String] = try await executor.read(input.operation, SQLQuery(table: "fleet_imports",
            "SELECT id FROM fleet_imports WHERE state = 'staging' AND created_at < $1 ORDER BY id", [.integer(createdBefore)]) { row in
                try row.text(0, "id")
            })
        for id in ids {
            _ = try await write(input, [
                SQLStatement("UPDATE fleet_imports SET state = 'rejected', finished_at = $2 WHERE id = $1 AND state = 'staging' RETURNING id",
                             [.text(id), .integer(at)]),
                SQLStatement("DELETE FROM fleet_import_rows WHERE import_id = $1 AND NOT EXISTS (SELECT 1 FROM fleet_imports WHERE id = $1 AND state = 'staging')",
                             [.text(id)]),
            ])
        }
        return ids
    }

    private func newestFirst<Table: StoreTable>(_ table: Table.Type, _ operation: String, terminalID: String, limit: Int,
                                                order: String) async throws -> [Table.Record] {
        let input = StoreInput(operation: operation)
        try input.key(terminalID, "terminal id")
        try input.nonNegative(limit, "limit")
        return try await executor.read(operation, Table.select("WHERE terminal_id = $1 ORDER BY \(order) LIMIT $2", [.text(terminalID), .int(limit)]))
    }

    @discardableResult
    func write(_ input: StoreInput, exclusive: [String] = [], _ statements: [SQLStatement]) async throws -> [Int] {
        guard !statements.isEmpty else { return [] }
        return try await executor.write(input.operation, exclusive: exclusive, statements)
    }
}

/// Heartbeat windows are keyed by terminal and window start.
private struct WindowKey: Hashable, Comparable {
    var terminalID: String
    var windowStart: Int64

    static func < (a: WindowKey, b: WindowKey) -> Bool {
        (a.terminalID, a.windowStart) < (b.terminalID, b.windowStart)
    }
}
