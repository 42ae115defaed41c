/// One schema version: the statements that bring the schema from `version - 1` to `version`.
/// Statements are separate because PostgreSQL's extended protocol runs one statement per query.
public struct Migration: Sendable, Hashable {
    public var version: Int
    public var statements: [String]

    public init(version: Int, statements: [String]) {
        self.version = version
        self.statements = statements
    }
}

/// The store's schema history, per dialect, oldest first. Append new versions; never edit one that
/// has shipped. Both lists must reach the same version with the same tables and columns, because
/// ``SQLStore`` runs the same queries on both.
///
/// Conventions: nested values (identity fields, rule conditions, requirements, bands, tags) are JSON
/// text; everything that is queried, ordered or compared is a real column. PostgreSQL key columns
/// use the "C" collation so that ordering matches SQLite's byte order.
public enum Migrations {
    /// Version reached after all migrations.
    public static var latestVersion: Int { sqlite.last?.version ?? 0 }

    public static let sqlite: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE device_models (
                code TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                fields TEXT NOT NULL,
                match_patterns TEXT NOT NULL,
                heartbeat_interval_seconds INTEGER NOT NULL,
                history_limit INTEGER NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE configuration_rules (
                name TEXT PRIMARY KEY,
                priority INTEGER NOT NULL,
                enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
                match_conditions TEXT NOT NULL,
                requirement TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX configuration_rules_order ON configuration_rules (priority, name)",
            """
            CREATE TABLE count_setting_tables (
                model TEXT PRIMARY KEY,
                bands TEXT NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE devices (
                terminal_id TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                fields TEXT NOT NULL,
                tags TEXT NOT NULL,
                rule_name TEXT,
                requirement TEXT,
                heartbeat_interval_seconds INTEGER NOT NULL,
                history_limit INTEGER NOT NULL,
                first_seen INTEGER NOT NULL,
                last_registered INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX devices_model ON devices (model)",
            """
            CREATE TABLE registration_attempts (
                id INTEGER PRIMARY KEY,
                terminal_id TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                edge_node_id TEXT NOT NULL,
                remote_address TEXT NOT NULL,
                outcome TEXT NOT NULL,
                detail TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX registration_attempts_terminal ON registration_attempts (terminal_id, occurred_at DESC, id DESC)",
            """
            CREATE TABLE heartbeat_windows (
                terminal_id TEXT NOT NULL,
                window_start INTEGER NOT NULL,
                window_seconds INTEGER NOT NULL,
                heartbeat_count INTEGER NOT NULL,
                PRIMARY KEY (terminal_id, window_start)
            ) STRICT, WITHOUT ROWID
            """,
            """
            CREATE TABLE presence (
                terminal_id TEXT PRIMARY KEY,
                state TEXT NOT NULL CHECK (state IN ('online', 'offline')),
                last_seen INTEGER NOT NULL,
                consecutive_misses INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX presence_state ON presence (state)",
            """
            CREATE TABLE presence_changes (
                id INTEGER PRIMARY KEY,
                terminal_id TEXT NOT NULL,
                occurred_at INTEGER NOT NULL,
                from_state TEXT CHECK (from_state IN ('online', 'offline')),
                to_state TEXT NOT NULL CHECK (to_state IN ('online', 'offline')),
                reason TEXT NOT NULL
            ) STRICT
            """,
            "CREATE INDEX presence_changes_terminal ON presence_changes (terminal_id, occurred_at DESC, id DESC)",
        ]),
        Migration(version: 2, statements: [
            """
            CREATE TABLE provisioning_jobs (
                id TEXT PRIMARY KEY,
                terminal_id TEXT NOT NULL,
                eid TEXT NOT NULL,
                smdp_address TEXT NOT NULL,
                profile_type TEXT NOT NULL,
                matching_id TEXT,
                state TEXT NOT NULL,
                attempt INTEGER NOT NULL,
                transaction_id TEXT,
                iccid TEXT,
                previous_iccid TEXT,
                round_trips INTEGER NOT NULL,
                error_code TEXT,
                error_text TEXT,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                finished_at INTEGER,
                active INTEGER NOT NULL CHECK (active IN (0, 1))
            ) STRICT
            """,
            "CREATE UNIQUE INDEX provisioning_jobs_one_active ON provisioning_jobs (terminal_id) WHERE active = 1",
            "CREATE INDEX provisioning_jobs_terminal ON provisioning_jobs (terminal_id, created_at DESC)",
            "CREATE INDEX provisioning_jobs_state ON provisioning_jobs (state)",
            """
            CREATE TABLE euicc_notifications (
                eid TEXT NOT NULL,
                seq_number INTEGER NOT NULL,
                terminal_id TEXT NOT NULL,
                event TEXT NOT NULL,
                notification_address TEXT NOT NULL,
                iccid TEXT,
                payload TEXT NOT NULL,
                job_id TEXT,
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                last_error TEXT,
                acknowledged_at INTEGER,
                removed_from_euicc INTEGER NOT NULL CHECK (removed_from_euicc IN (0, 1)),
                created_at INTEGER NOT NULL,
                PRIMARY KEY (eid, seq_number)
            ) STRICT
            """,
            "CREATE INDEX euicc_notifications_due ON euicc_notifications (acknowledged_at, next_attempt_at)",
        ]),
        Migration(version: 3, statements: [
            """
            CREATE TABLE fleet_imports (
                id TEXT PRIMARY KEY,
                state TEXT NOT NULL CHECK (state IN ('staging', 'applied', 'rejected')),
                created_at INTEGER NOT NULL,
                finished_at INTEGER,
                row_count INTEGER NOT NULL,
                error_count INTEGER NOT NULL
            ) STRICT
            """,
            """
            CREATE TABLE fleet_import_rows (
                import_id TEXT NOT NULL,
                line INTEGER NOT NULL,
                eid TEXT NOT NULL,
                imei TEXT,
                iccid TEXT,
                model TEXT NOT NULL,
                tags TEXT NOT NULL,
                target TEXT,
                PRIMARY KEY (import_id, line)
            ) STRICT, WITHOUT ROWID
            """,
            "CREATE INDEX fleet_import_rows_eid ON fleet_import_rows (import_id, eid, line)",
            """
            CREATE TABLE fleet_entries (
                eid TEXT PRIMARY KEY,
                imei TEXT,
                iccid TEXT,
                model TEXT NOT NULL,
                tags TEXT NOT NULL,
                target TEXT,
                import_id TEXT NOT NULL,
                imported_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX fleet_entries_import ON fleet_entries (import_id)",
            "CREATE INDEX devices_rule ON devices (rule_name)",
        ]),
        Migration(version: 4, statements: [
            """
            CREATE TABLE campaigns (
                id TEXT PRIMARY KEY,
                name TEXT NOT NULL,
                selection TEXT NOT NULL,
                requirement TEXT,
                starts_per_minute INTEGER NOT NULL,
                concurrency_per_smdp INTEGER NOT NULL,
                window_start_minute INTEGER,
                window_end_minute INTEGER,
                canary_share_ppm INTEGER NOT NULL,
                failure_threshold_ppm INTEGER NOT NULL,
                minimum_finished INTEGER NOT NULL,
                max_attempts INTEGER NOT NULL,
                retry_backoff_seconds INTEGER NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('draft', 'running', 'paused', 'canceled', 'completed')),
                pause_reason TEXT,
                canary_passed INTEGER NOT NULL CHECK (canary_passed IN (0, 1)),
                threshold_base_failed INTEGER NOT NULL,
                threshold_base_finished INTEGER NOT NULL,
                created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL,
                started_at INTEGER,
                finished_at INTEGER
            ) STRICT
            """,
            "CREATE INDEX campaigns_state ON campaigns (state)",
            """
            CREATE TABLE campaign_targets (
                campaign_id TEXT NOT NULL,
                terminal_id TEXT NOT NULL,
                phase TEXT NOT NULL CHECK (phase IN ('canary', 'main')),
                state TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'running', 'succeeded', 'failed', 'skipped')),
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                claimed_by TEXT,
                claim_expires_at INTEGER,
                job_id TEXT,
                smdp_address TEXT,
                started_at INTEGER,
                last_error TEXT,
                updated_at INTEGER NOT NULL,
                PRIMARY KEY (campaign_id, terminal_id)
            ) STRICT, WITHOUT ROWID
            """,
            "CREATE INDEX campaign_targets_state ON campaign_targets (campaign_id, state, phase, next_attempt_at)",
            "CREATE INDEX campaign_targets_holder ON campaign_targets (claimed_by, campaign_id)",
        ]),
        // Webhook outbox (self-contained: touches no other table).
        Migration(version: 5, statements: [
            """
            CREATE TABLE webhook_deliveries (
                id TEXT PRIMARY KEY,
                event_id TEXT NOT NULL,
                event_type TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                body TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
                attempts INTEGER NOT NULL,
                next_attempt_at INTEGER NOT NULL,
                last_status INTEGER,
                last_error TEXT,
                created_at INTEGER NOT NULL,
                finished_at INTEGER,
                claim_token TEXT
            ) STRICT
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at, id)",
            "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)",
            "CREATE INDEX webhook_deliveries_claim ON webhook_deliveries (claim_token)",
        ]),
        // Job claims: one core drives a job at a time (owner and claim expiry, compared on every save).
        Migration(version: 6, statements: [
            "ALTER TABLE provisioning_jobs ADD COLUMN owner TEXT",
            "ALTER TABLE provisioning_jobs ADD COLUMN claim_until INTEGER",
        ]),
        // Terminal sessions: the core holding each terminal and the session epoch (self-contained).
        Migration(version: 7, statements: [
            """
            CREATE TABLE terminal_sessions (
                terminal_id TEXT PRIMARY KEY,
                core_id TEXT,
                epoch INTEGER NOT NULL,
                updated_at INTEGER NOT NULL
            ) STRICT
            """,
            "CREATE INDEX terminal_sessions_core ON terminal_sessions (core_id, terminal_id)",
        ]),
    ]

    public static let postgres: [Migration] = [
        Migration(version: 1, statements: [
            """
            CREATE TABLE device_models (
                code TEXT COLLATE "C" PRIMARY KEY,
                name TEXT NOT NULL,
                fields TEXT NOT NULL,
                match_patterns TEXT NOT NULL,
                heartbeat_interval_seconds BIGINT NOT NULL,
                history_limit BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE configuration_rules (
                name TEXT COLLATE "C" PRIMARY KEY,
                priority BIGINT NOT NULL,
                enabled BOOLEAN NOT NULL,
                match_conditions TEXT NOT NULL,
                requirement TEXT NOT NULL
            )
            """,
            "CREATE INDEX configuration_rules_order ON configuration_rules (priority, name)",
            """
            CREATE TABLE count_setting_tables (
                model TEXT COLLATE "C" PRIMARY KEY,
                bands TEXT NOT NULL
            )
            """,
            """
            CREATE TABLE devices (
                terminal_id TEXT COLLATE "C" PRIMARY KEY,
                model TEXT COLLATE "C" NOT NULL,
                fields TEXT NOT NULL,
                tags TEXT NOT NULL,
                rule_name TEXT,
                requirement TEXT,
                heartbeat_interval_seconds BIGINT NOT NULL,
                history_limit BIGINT NOT NULL,
                first_seen BIGINT NOT NULL,
                last_registered BIGINT NOT NULL
            )
            """,
            "CREATE INDEX devices_model ON devices (model)",
            """
            CREATE TABLE registration_attempts (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                terminal_id TEXT COLLATE "C" NOT NULL,
                occurred_at BIGINT NOT NULL,
                edge_node_id TEXT NOT NULL,
                remote_address TEXT NOT NULL,
                outcome TEXT NOT NULL,
                detail TEXT NOT NULL
            )
            """,
            "CREATE INDEX registration_attempts_terminal ON registration_attempts (terminal_id, occurred_at DESC, id DESC)",
            """
            CREATE TABLE heartbeat_windows (
                terminal_id TEXT COLLATE "C" NOT NULL,
                window_start BIGINT NOT NULL,
                window_seconds BIGINT NOT NULL,
                heartbeat_count BIGINT NOT NULL,
                PRIMARY KEY (terminal_id, window_start)
            )
            """,
            """
            CREATE TABLE presence (
                terminal_id TEXT COLLATE "C" PRIMARY KEY,
                state TEXT NOT NULL CHECK (state IN ('online', 'offline')),
                last_seen BIGINT NOT NULL,
                consecutive_misses BIGINT NOT NULL
            )
            """,
            "CREATE INDEX presence_state ON presence (state)",
            """
            CREATE TABLE presence_changes (
                id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                terminal_id TEXT COLLATE "C" NOT NULL,
                occurred_at BIGINT NOT NULL,
                from_state TEXT CHECK (from_state IN ('online', 'offline')),
                to_state TEXT NOT NULL CHECK (to_state IN ('online', 'offline')),
                reason TEXT NOT NULL
            )
            """,
            "CREATE INDEX presence_changes_terminal ON presence_changes (terminal_id, occurred_at DESC, id DESC)",
        ]),
        Migration(version: 2, statements: [
            """
            CREATE TABLE provisioning_jobs (
                id TEXT COLLATE "C" PRIMARY KEY,
                terminal_id TEXT NOT NULL,
                eid TEXT NOT NULL,
                smdp_address TEXT NOT NULL,
                profile_type TEXT NOT NULL,
                matching_id TEXT,
                state TEXT NOT NULL,
                attempt BIGINT NOT NULL,
                transaction_id TEXT,
                iccid TEXT,
                previous_iccid TEXT,
                round_trips BIGINT NOT NULL,
                error_code TEXT,
                error_text TEXT,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                finished_at BIGINT,
                active BOOLEAN NOT NULL
            )
            """,
            "CREATE UNIQUE INDEX provisioning_jobs_one_active ON provisioning_jobs (terminal_id) WHERE active",
            "CREATE INDEX provisioning_jobs_terminal ON provisioning_jobs (terminal_id, created_at DESC)",
            "CREATE INDEX provisioning_jobs_state ON provisioning_jobs (state)",
            """
            CREATE TABLE euicc_notifications (
                eid TEXT NOT NULL,
                seq_number BIGINT NOT NULL,
                terminal_id TEXT NOT NULL,
                event TEXT NOT NULL,
                notification_address TEXT NOT NULL,
                iccid TEXT,
                payload TEXT NOT NULL,
                job_id TEXT,
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                last_error TEXT,
                acknowledged_at BIGINT,
                removed_from_euicc BOOLEAN NOT NULL,
                created_at BIGINT NOT NULL,
                PRIMARY KEY (eid, seq_number)
            )
            """,
            "CREATE INDEX euicc_notifications_due ON euicc_notifications (acknowledged_at, next_attempt_at)",
        ]),
        Migration(version: 3, statements: [
            """
            CREATE TABLE fleet_imports (
                id TEXT COLLATE "C" PRIMARY KEY,
                state TEXT NOT NULL CHECK (state IN ('staging', 'applied', 'rejected')),
                created_at BIGINT NOT NULL,
                finished_at BIGINT,
                row_count BIGINT NOT NULL,
                error_count BIGINT NOT NULL
            )
            """,
            """
            CREATE TABLE fleet_import_rows (
                import_id TEXT COLLATE "C" NOT NULL,
                line BIGINT NOT NULL,
                eid TEXT COLLATE "C" NOT NULL,
                imei TEXT,
                iccid TEXT,
                model TEXT NOT NULL,
                tags TEXT NOT NULL,
                target TEXT,
                PRIMARY KEY (import_id, line)
            )
            """,
            "CREATE INDEX fleet_import_rows_eid ON fleet_import_rows (import_id, eid, line)",
            """
            CREATE TABLE fleet_entries (
                eid TEXT COLLATE "C" PRIMARY KEY,
                imei TEXT,
                iccid TEXT,
                model TEXT NOT NULL,
                tags TEXT NOT NULL,
                target TEXT,
                import_id TEXT COLLATE "C" NOT NULL,
                imported_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX fleet_entries_import ON fleet_entries (import_id)",
            "CREATE INDEX devices_rule ON devices (rule_name)",
            // Jobs are compared with devices by terminal id (device listings); same collation as devices.
            "ALTER TABLE provisioning_jobs ALTER COLUMN terminal_id TYPE TEXT COLLATE \"C\"",
        ]),
        Migration(version: 4, statements: [
            """
            CREATE TABLE campaigns (
                id TEXT COLLATE "C" PRIMARY KEY,
                name TEXT NOT NULL,
                selection TEXT NOT NULL,
                requirement TEXT,
                starts_per_minute BIGINT NOT NULL,
                concurrency_per_smdp BIGINT NOT NULL,
                window_start_minute BIGINT,
                window_end_minute BIGINT,
                canary_share_ppm BIGINT NOT NULL,
                failure_threshold_ppm BIGINT NOT NULL,
                minimum_finished BIGINT NOT NULL,
                max_attempts BIGINT NOT NULL,
                retry_backoff_seconds BIGINT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('draft', 'running', 'paused', 'canceled', 'completed')),
                pause_reason TEXT,
                canary_passed BOOLEAN NOT NULL,
                threshold_base_failed BIGINT NOT NULL,
                threshold_base_finished BIGINT NOT NULL,
                created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL,
                started_at BIGINT,
                finished_at BIGINT
            )
            """,
            "CREATE INDEX campaigns_state ON campaigns (state)",
            """
            CREATE TABLE campaign_targets (
                campaign_id TEXT COLLATE "C" NOT NULL,
                terminal_id TEXT COLLATE "C" NOT NULL,
                phase TEXT NOT NULL CHECK (phase IN ('canary', 'main')),
                state TEXT NOT NULL CHECK (state IN ('pending', 'claimed', 'running', 'succeeded', 'failed', 'skipped')),
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                claimed_by TEXT,
                claim_expires_at BIGINT,
                job_id TEXT,
                smdp_address TEXT,
                started_at BIGINT,
                last_error TEXT,
                updated_at BIGINT NOT NULL,
                PRIMARY KEY (campaign_id, terminal_id)
            )
            """,
            "CREATE INDEX campaign_targets_state ON campaign_targets (campaign_id, state, phase, next_attempt_at)",
            "CREATE INDEX campaign_targets_holder ON campaign_targets (claimed_by, campaign_id)",
        ]),
        // Webhook outbox (self-contained: touches no other table).
        Migration(version: 5, statements: [
            """
            CREATE TABLE webhook_deliveries (
                id TEXT COLLATE "C" PRIMARY KEY,
                event_id TEXT COLLATE "C" NOT NULL,
                event_type TEXT NOT NULL,
                endpoint TEXT COLLATE "C" NOT NULL,
                body TEXT NOT NULL,
                state TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'dead')),
                attempts BIGINT NOT NULL,
                next_attempt_at BIGINT NOT NULL,
                last_status BIGINT,
                last_error TEXT,
                created_at BIGINT NOT NULL,
                finished_at BIGINT,
                claim_token TEXT
            )
            """,
            "CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at, id)",
            "CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_id)",
            "CREATE INDEX webhook_deliveries_claim ON webhook_deliveries (claim_token)",
        ]),
        // Job claims: one core drives a job at a time (owner and claim expiry, compared on every save).
        Migration(version: 6, statements: [
            "ALTER TABLE provisioning_jobs ADD COLUMN owner TEXT",
            "ALTER TABLE provisioning_jobs ADD COLUMN claim_until BIGINT",
        ]),
        Migration(version: 7, statements: [
            """
            CREATE TABLE terminal_sessions (
                terminal_id TEXT COLLATE "C" PRIMARY KEY,
                core_id TEXT COLLATE "C",
                epoch BIGINT NOT NULL,
                updated_at BIGINT NOT NULL
            )
            """,
            "CREATE INDEX terminal_sessions_core ON terminal_sessions (core_id, terminal_id)",
        ]),
    ]

    /// Checks a migration list before it is applied: versions start at 1 and increase by one.
    static func validate(_ migrations: [Migration]) throws {
        for (index, migration) in migrations.enumerated() where migration.version != index + 1 {
            throw StoreError(.migration, operation: "migrate",
                             detail: "migration list is out of order: position \(index + 1) holds version \(migration.version)")
        }
    }

    /// What to apply to a database at `current` (the versions already recorded).
    static func pending(_ migrations: [Migration], applied: [Int]) throws -> [Migration] {
        let latest = migrations.last?.version ?? 0
        if let newest = applied.max(), newest > latest {
            throw StoreError(.migration, operation: "migrate",
                             detail: "database schema version \(newest) is newer than this build knows (\(latest)); upgrade lpa-core")
        }
        let done = Set(applied)
        return migrations.filter { !done.contains($0.version) }
    }
}
