import LPADomain

/// How one domain type is laid out in its table: columns in `SELECT` order, the values written
/// for a record (after checking it), and the record read back from a row.
protocol StoreTable {
    associatedtype Record: Sendable
    static var name: String { get }
    static var columns: [String] { get }
    static func values(_ record: Record, _ input: StoreInput) throws -> [SQLValue]
    static func decode(_ row: inout RowReader) throws -> Record
}

extension StoreTable {
    static var selectList: String { columns.joined(separator: ", ") }

    /// `ON CONFLICT (keys) DO UPDATE SET …` replacing every non-key column.
    static func replaceOnConflict(_ keys: [String]) -> String {
        let updates = columns.filter { !keys.contains($0) }.map { "\($0) = excluded.\($0)" }
        return "ON CONFLICT (\(keys.joined(separator: ", "))) DO UPDATE SET \(updates.joined(separator: ", "))"
    }

    /// Multi-row inserts of `records`, each checked first.
    static func insert(_ records: [Record], _ input: StoreInput, suffix: String = "") throws -> [SQLStatement] {
        let rows = try records.map { try values($0, input) }
        return SQLStatement.insert(into: name, columns: columns, rows: rows, suffix: suffix)
    }

    /// `SELECT columns FROM table tail`, decoded with ``decode(_:)``.
    static func select(_ tail: String, _ binds: [SQLValue] = []) -> SQLQuery<Record> {
        SQLQuery(table: name, "SELECT \(selectList) FROM \(name) \(tail)", binds) { try decode(&$0) }
    }
}

enum DeviceModelTable: StoreTable {
    static let name = "device_models"
    static let columns = ["code", "name", "fields", "match_patterns", "heartbeat_interval_seconds", "history_limit"]

    static func values(_ model: DeviceModel, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(model.code, "model code")
        try input.text(model.name, "model name")
        try input.positive(model.heartbeatIntervalSeconds, "heartbeatIntervalSeconds of model \(model.code)")
        try input.positive(model.historyLimit, "historyLimit of model \(model.code)")
        return [
            .text(model.code),
            .text(model.name),
            .text(try StoreJSON.encode(model.fields, operation: input.operation, field: "fields")),
            .text(try StoreJSON.encode(model.match, operation: input.operation, field: "match")),
            .int(model.heartbeatIntervalSeconds),
            .int(model.historyLimit),
        ]
    }

    static func decode(_ row: inout RowReader) throws -> DeviceModel {
        DeviceModel(
            code: try row.readKey(0, "code"),
            name: try row.text(1, "name"),
            fields: try row.json([IdentityFieldSpec].self, 2, "fields"),
            match: try row.json([String: String].self, 3, "match_patterns"),
            heartbeatIntervalSeconds: try row.int(4, "heartbeat_interval_seconds"),
            historyLimit: try row.int(5, "history_limit"))
    }
}

enum ConfigurationRuleTable: StoreTable {
    static let name = "configuration_rules"
    static let columns = ["name", "priority", "enabled", "match_conditions", "requirement"]

    static func values(_ rule: ConfigurationRule, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(rule.name, "rule name")
        return [
            .text(rule.name),
            .int(rule.priority),
            .bool(rule.enabled),
            .text(try StoreJSON.encode(rule.match, operation: input.operation, field: "match of rule \(rule.name)")),
            .text(try StoreJSON.encode(rule.requirement, operation: input.operation, field: "requirement of rule \(rule.name)")),
        ]
    }

    static func decode(_ row: inout RowReader) throws -> ConfigurationRule {
        ConfigurationRule(
            name: try row.readKey(0, "name"),
            priority: try row.int(1, "priority"),
            enabled: try row.bool(2, "enabled"),
            match: try row.json(RuleMatch.self, 3, "match_conditions"),
            requirement: try row.json(DataConfigurationRequirement.self, 4, "requirement"))
    }
}

enum CountSettingTableTable: StoreTable {
    static let name = "count_setting_tables"
    static let columns = ["model", "bands"]

    static func values(_ table: CountSettingTable, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(table.model, "count-setting table model")
        if let problem = table.problem() {
            throw input.invalid("count-setting table of model \(table.model): \(problem)")
        }
        return [.text(table.model), .text(try StoreJSON.encode(table.bands, operation: input.operation, field: "bands"))]
    }

    static func decode(_ row: inout RowReader) throws -> CountSettingTable {
        CountSettingTable(model: try row.readKey(0, "model"), bands: try row.json([CountBand].self, 1, "bands"))
    }
}

enum DeviceTable: StoreTable {
    static let name = "devices"
    static let columns = ["terminal_id", "model", "fields", "tags", "rule_name", "requirement",
                          "heartbeat_interval_seconds", "history_limit", "first_seen", "last_registered"]

    static func values(_ device: DeviceRecord, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(device.terminalID, "terminal id")
        try input.key(device.model, "model of terminal \(device.terminalID)")
        try input.optionalText(device.ruleName, "rule name of terminal \(device.terminalID)")
        try input.positive(device.heartbeatIntervalSeconds, "heartbeatIntervalSeconds of terminal \(device.terminalID)")
        try input.positive(device.historyLimit, "historyLimit of terminal \(device.terminalID)")
        return [
            .text(device.terminalID),
            .text(device.model),
            .text(try StoreJSON.encode(device.fields, operation: input.operation, field: "fields")),
            .text(try StoreJSON.encode(device.tags, operation: input.operation, field: "tags")),
            .optionalText(device.ruleName),
            .optionalText(try device.requirement.map { try StoreJSON.encode($0, operation: input.operation, field: "requirement") }),
            .int(device.heartbeatIntervalSeconds),
            .int(device.historyLimit),
            .integer(device.firstSeen),
            .integer(device.lastRegistered),
        ]
    }

    static func decode(_ row: inout RowReader) throws -> DeviceRecord {
        DeviceRecord(
            terminalID: try row.readKey(0, "terminal_id"),
            model: try row.text(1, "model"),
            fields: try row.json([String: String].self, 2, "fields"),
            tags: try row.json([String].self, 3, "tags"),
            ruleName: try row.optionalText(4, "rule_name"),
            requirement: try row.optionalJSON(DataConfigurationRequirement.self, 5, "requirement"),
            heartbeatIntervalSeconds: try row.int(6, "heartbeat_interval_seconds"),
            historyLimit: try row.int(7, "history_limit"),
            firstSeen: try row.integer(8, "first_seen"),
            lastRegistered: try row.integer(9, "last_registered"))
    }
}

enum RegistrationAttemptTable: StoreTable {
    static let name = "registration_attempts"
    static let columns = ["terminal_id", "occurred_at", "edge_node_id", "remote_address", "outcome", "detail"]

    static func values(_ attempt: RegistrationAttempt, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(attempt.terminalID, "terminal id")
        try input.text(attempt.edgeNodeID, "edgeNodeID")
        try input.text(attempt.remoteAddress, "remoteAddress")
        try input.text(attempt.outcome, "outcome")
        try input.text(attempt.detail, "detail")
        return [.text(attempt.terminalID), .integer(attempt.at), .text(attempt.edgeNodeID),
                .text(attempt.remoteAddress), .text(attempt.outcome), .text(attempt.detail)]
    }

    static func decode(_ row: inout RowReader) throws -> RegistrationAttempt {
        let terminalID = try row.readKey(0, "terminal_id")
        let at = try row.integer(1, "occurred_at")
        row.setKey("\(terminalID) at \(at)")
        return RegistrationAttempt(
            terminalID: terminalID, at: at,
            edgeNodeID: try row.text(2, "edge_node_id"),
            remoteAddress: try row.text(3, "remote_address"),
            outcome: try row.text(4, "outcome"),
            detail: try row.text(5, "detail"))
    }
}

enum HeartbeatWindowTable: StoreTable {
    static let name = "heartbeat_windows"
    static let columns = ["terminal_id", "window_start", "window_seconds", "heartbeat_count"]

    static func values(_ window: HeartbeatWindow, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(window.terminalID, "terminal id")
        try input.positive(window.windowSeconds, "windowSeconds of terminal \(window.terminalID)")
        try input.nonNegative(window.count, "count of terminal \(window.terminalID)")
        return [.text(window.terminalID), .integer(window.windowStart), .int(window.windowSeconds), .int(window.count)]
    }

    static func decode(_ row: inout RowReader) throws -> HeartbeatWindow {
        let terminalID = try row.readKey(0, "terminal_id")
        let start = try row.integer(1, "window_start")
        row.setKey("\(terminalID) at \(start)")
        return HeartbeatWindow(terminalID: terminalID, windowStart: start,
                               windowSeconds: try row.int(2, "window_seconds"), count: try row.int(3, "heartbeat_count"))
    }
}

enum PresenceTable: StoreTable {
    static let name = "presence"
    static let columns = ["terminal_id", "state", "last_seen", "consecutive_misses"]

    static func values(_ record: PresenceRecord, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(record.terminalID, "terminal id")
        try input.nonNegative(record.consecutiveMisses, "consecutiveMisses of terminal \(record.terminalID)")
        return [.text(record.terminalID), .text(record.state.rawValue), .integer(record.lastSeen), .int(record.consecutiveMisses)]
    }

    static func decode(_ row: inout RowReader) throws -> PresenceRecord {
        PresenceRecord(
            terminalID: try row.readKey(0, "terminal_id"),
            state: try row.enumeration(PresenceRecord.State.self, 1, "state"),
            lastSeen: try row.integer(2, "last_seen"),
            consecutiveMisses: try row.int(3, "consecutive_misses"))
    }
}

enum PresenceChangeTable: StoreTable {
    static let name = "presence_changes"
    static let columns = ["terminal_id", "occurred_at", "from_state", "to_state", "reason"]

    static func values(_ change: PresenceChange, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(change.terminalID, "terminal id of presence change")
        try input.text(change.reason, "reason")
        return [.text(change.terminalID), .integer(change.at), .optionalText(change.from?.rawValue),
                .text(change.to.rawValue), .text(change.reason)]
    }

    static func decode(_ row: inout RowReader) throws -> PresenceChange {
        let terminalID = try row.readKey(0, "terminal_id")
        let at = try row.integer(1, "occurred_at")
        row.setKey("\(terminalID) at \(at)")
        return PresenceChange(
            terminalID: terminalID, at: at,
            from: try row.optionalEnumeration(PresenceRecord.State.self, 2, "from_state"),
            to: try row.enumeration(PresenceRecord.State.self, 3, "to_state"),
            reason: try row.text(4, "reason"))
    }
}

enum ProvisioningJobTable: StoreTable {
    static let name = "provisioning_jobs"
    static let columns = ["id", "terminal_id", "eid", "smdp_address", "profile_type", "matching_id", "state", "attempt",
                          "transaction_id", "iccid", "previous_iccid", "round_trips", "error_code", "error_text",
                          "created_at", "updated_at", "finished_at", "active", "owner", "claim_until"]

    static func values(_ job: ProvisioningJob, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(job.id, "job id")
        try input.key(job.terminalID, "terminal id of job \(job.id)")
        try input.key(job.smdpAddress, "SM-DP+ address of job \(job.id)")
        try input.text(job.eid, "EID of job \(job.id)")
        try input.text(job.profileType, "profile type of job \(job.id)")
        for (value, field) in [(job.matchingID, "matching id"), (job.transactionID, "transaction id"), (job.iccid, "ICCID"),
                               (job.previousICCID, "previous ICCID"), (job.errorCode, "error code"), (job.errorText, "error text")] {
            try input.optionalText(value, "\(field) of job \(job.id)")
        }
        try input.nonNegative(job.attempt, "attempt of job \(job.id)")
        try input.nonNegative(job.roundTrips, "round trips of job \(job.id)")
        try input.optionalText(job.owner, "owner of job \(job.id)")
        return [
            .text(job.id), .text(job.terminalID), .text(job.eid), .text(job.smdpAddress), .text(job.profileType),
            .optionalText(job.matchingID), .text(job.state.rawValue), .int(job.attempt), .optionalText(job.transactionID),
            .optionalText(job.iccid), .optionalText(job.previousICCID), .int(job.roundTrips), .optionalText(job.errorCode),
            .optionalText(job.errorText), .integer(job.createdAt), .integer(job.updatedAt),
            job.finishedAt.map(SQLValue.integer) ?? .null, .bool(job.state.isActive),
            .optionalText(job.owner), job.claimUntil.map(SQLValue.integer) ?? .null,
        ]
    }

    static func decode(_ row: inout RowReader) throws -> ProvisioningJob {
        ProvisioningJob(
            id: try row.readKey(0, "id"), terminalID: try row.text(1, "terminal_id"), eid: try row.text(2, "eid"),
            smdpAddress: try row.text(3, "smdp_address"), profileType: try row.text(4, "profile_type"),
            matchingID: try row.optionalText(5, "matching_id"),
            state: try row.enumeration(ProvisioningJob.State.self, 6, "state"), attempt: try row.int(7, "attempt"),
            transactionID: try row.optionalText(8, "transaction_id"), iccid: try row.optionalText(9, "iccid"),
            previousICCID: try row.optionalText(10, "previous_iccid"), roundTrips: try row.int(11, "round_trips"),
            errorCode: try row.optionalText(12, "error_code"), errorText: try row.optionalText(13, "error_text"),
            createdAt: try row.integer(14, "created_at"), updatedAt: try row.integer(15, "updated_at"),
            finishedAt: try row.optionalInteger(16, "finished_at"),
            owner: try row.optionalText(18, "owner"), claimUntil: try row.optionalInteger(19, "claim_until"))
    }
}

enum NotificationTable: StoreTable {
    static let name = "euicc_notifications"
    static let columns = ["eid", "seq_number", "terminal_id", "event", "notification_address", "iccid", "payload", "job_id",
                          "attempts", "next_attempt_at", "last_error", "acknowledged_at", "removed_from_euicc", "created_at"]

    static func values(_ record: NotificationRecord, _ input: StoreInput) throws -> [SQLValue] {
        try input.key(record.eid, "EID of notification")
        try input.nonNegative(record.seqNumber, "seqNumber of notification")
        try input.key(record.terminalID, "terminal id of notification")
        try input.key(record.notificationAddress, "notification address")
        try input.text(record.payload, "notification payload")
        try input.optionalText(record.lastError, "notification error")
        return [
            .text(record.eid), .int(record.seqNumber), .text(record.terminalID), .text(record.event),
            .text(record.notificationAddress), .optionalText(record.iccid), .text(record.payload), .optionalText(record.jobID),
            .int(record.attempts), .integer(record.nextAttemptAt), .optionalText(record.lastError),
            record.acknowledgedAt.map(SQLValue.integer) ?? .null, .bool(record.removedFromEUICC), .integer(record.createdAt),
        ]
    }

    static func decode(_ row: inout RowReader) throws -> NotificationRecord {
        NotificationRecord(
            eid: try row.readKey(0, "eid"), seqNumber: try row.int(1, "seq_number"), terminalID: try row.text(2, "terminal_id"),
            event: try row.text(3, "event"), notificationAddress: try row.text(4, "notification_address"),
            iccid: try row.optionalText(5, "iccid"), payload: try row.text(6, "payload"), jobID: try row.optionalText(7, "job_id"),
            attempts: try row.int(8, "attempts"), nextAttemptAt: try row.integer(9, "next_attempt_at"),
            lastError: try row.optionalText(10, "last_error"), acknowledgedAt: try row.optionalInteger(11, "acknowledged_at"),
            removedFromEUICC: try row.bool(12, "removed_from_euicc"), createdAt: try row.integer(13, "created_at"))
    }
}
