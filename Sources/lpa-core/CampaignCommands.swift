import ArgumentParser
import Foundation
import LPAAdminClient
import NIOHTTP1

extension Admin {
    /// `lpa-core admin campaigns …`: batch downloads over a selected part of the fleet.
    struct Campaigns: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "campaigns", abstract: "Campaigns: batch profile downloads with rate limits, canary and automatic pause.",
            discussion: """
                Examples:
                  lpa-core admin campaigns create --name "Pilot wave" --tag pilot --canary-share 0.05 --starts-per-minute 30
                  lpa-core admin campaigns create --name Meters --rule meters --window 22:00-05:00 --smdp smdp.example --profile-type meter-data
                  lpa-core admin campaigns list --state running
                  lpa-core admin campaigns show pilot-wave --target-state failed
                  lpa-core admin campaigns pause pilot-wave
                """,
            subcommands: [List.self, Show.self, Create.self, Start.self, Pause.self, Resume.self, Cancel.self])

        static let columns = ["id", "name", "state", "pauseReason", "total", "succeeded", "failed", "running", "pending", "skipped"]

        /// One table row of a campaign summary (settings plus progress).
        static func row(_ campaign: [String: Any]) -> [String] {
            let progress = campaign["progress"] as? [String: Any] ?? [:]
            return columns.map { key in Table.cell(["id", "name", "state", "pauseReason"].contains(key) ? campaign[key] : progress[key]) }
        }

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Campaigns, newest first, with progress.")
            @OptionGroup var connection: Connection
            @Option(help: "draft, running, paused, canceled or completed.") var state: String?

            func run() async throws {
                let response = try await connection.call(.GET, "/v1/campaigns" + (state.map { "?state=\(escape($0))" } ?? ""))
                connection.output(response) { object in
                    let items = ((object as? [String: Any])?["campaigns"] as? [[String: Any]]) ?? []
                    return [Campaigns.columns] + items.map(Campaigns.row)
                }
            }
        }

        struct Show: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "One campaign: settings, progress and per-device outcomes (--cursor continues).")
            @OptionGroup var connection: Connection
            @Argument var id: String
            @Option(help: "Only targets in this state (pending, claimed, running, succeeded, failed, skipped).") var targetState: String?
            @Option var cursor: String?
            @Option var limit: Int?

            func run() async throws {
                var query: [(String, String)] = []
                for (name, value) in [("state", targetState), ("cursor", cursor), ("limit", limit.map(String.init))] {
                    if let value { query.append((name, value)) }
                }
                let path = "/v1/campaigns/\(escape(id))" + (query.isEmpty ? "" : "?" + query.map { "\($0.0)=\(escape($0.1))" }.joined(separator: "&"))
                let response = try await connection.call(.GET, path)
                connection.output(response) { object in
                    let o = object as? [String: Any] ?? [:]
                    let campaign = o["campaign"] as? [String: Any] ?? [:]
                    var rows = [Campaigns.columns, Campaigns.row(campaign), []]
                    let targetColumns = ["terminalID", "phase", "state", "attempts", "claimedBy", "jobID", "lastError"]
                    rows.append(targetColumns)
                    for target in o["targets"] as? [[String: Any]] ?? [] { rows.append(targetColumns.map { Table.cell(target[$0]) }) }
                    if let next = o["next"] as? String { rows.append(["next: --cursor \(next)"]) }
                    return rows
                }
            }
        }

        struct Create: AsyncParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a campaign and start it (or keep it as a draft with --draft).",
                discussion: "Every selection option given must match (tags, rule, import, terminals narrow each other).")
            @OptionGroup var connection: Connection
            @Option(help: "Campaign id (generated when absent).") var id: String?
            @Option var name: String
            @Option(name: .customLong("tag"), help: "Devices with this tag (repeat for several; all must match).") var tags: [String] = []
            @Option(help: "Devices chosen by this configuration rule.") var rule: String?
            @Option(name: .customLong("import"), help: "Devices of this fleet import.") var importID: String?
            @Option(name: .customLong("terminal"), help: "This terminal (repeat for several).") var terminals: [String] = []
            @Option(help: "Requirement override: SM-DP+ address (with --profile-type).") var smdp: String?
            @Option var profileType: String?
            @Option(name: .customLong("matching-id")) var matchingID: String?
            @Option var startsPerMinute: Int?
            @Option(name: .customLong("concurrency-per-smdp")) var concurrencyPerSMDP: Int?
            @Option(help: "Daily window in UTC, HH:MM-HH:MM (may wrap past midnight).") var window: String?
            @Option(help: "Share of targets (0–1) that must all succeed before the rest starts.") var canaryShare: Double?
            @Option(help: "Failed/finished ratio (0–1) that pauses the campaign.") var failureThreshold: Double?
            @Option(help: "Finished targets before the threshold applies.") var minimumFinished: Int?
            @Option var maxAttempts: Int?
            @Option(help: "Seconds before the first retry; doubles after each further failure.") var retryBackoff: Int?
            @Flag(help: "Store as a draft; start later with `campaigns start`.") var draft = false

            func run() async throws {
                var body: [String: Any] = ["name": name, "start": !draft]
                var selection: [String: Any] = [:]
                if !tags.isEmpty { selection["tags"] = tags }
                if let rule { selection["ruleName"] = rule }
                if let importID { selection["importID"] = importID }
                if !terminals.isEmpty { selection["terminalIDs"] = terminals }
                body["selection"] = selection
                if let id { body["id"] = id }
                if smdp != nil || profileType != nil {
                    guard let smdp, let profileType else { throw fail("--smdp and --profile-type go together", code: 2) }
                    var requirement: [String: Any] = ["smdpAddress": smdp, "profileType": profileType]
                    if let matchingID { requirement["matchingID"] = matchingID }
                    body["requirement"] = requirement
                }
                if let window {
                    guard let parsed = Self.parseWindow(window) else { throw fail("--window must be HH:MM-HH:MM, is '\(window)'", code: 2) }
                    body["window"] = ["startMinute": parsed.0, "endMinute": parsed.1]
                }
                for (key, value) in [("startsPerMinute", startsPerMinute), ("concurrencyPerSMDP", concurrencyPerSMDP),
                                     ("minimumFinished", minimumFinished), ("maxAttempts", maxAttempts), ("retryBackoffSeconds", retryBackoff)] {
                    if let value { body[key] = value }
                }
                if let canaryShare { body["canaryShare"] = canaryShare }
                if let failureThreshold { body["failureThreshold"] = failureThreshold }
                let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
                let response = try await connection.call(.POST, "/v1/campaigns", contentType: "application/json", body: Array(data))
                connection.output(response) { object in [Campaigns.columns, Campaigns.row(object as? [String: Any] ?? [:])] }
            }

            /// Minutes after midnight of each end of `HH:MM-HH:MM`.
            static func parseWindow(_ text: String) -> (Int, Int)? {
                let ends = text.split(separator: "-")
                guard ends.count == 2 else { return nil }
                func minutes(_ part: Substring) -> Int? {
                    let hm = part.split(separator: ":")
                    guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0..<24).contains(h), (0..<60).contains(m) else { return nil }
                    return h * 60 + m
                }
                guard let start = minutes(ends[0]), let end = minutes(ends[1]) else { return nil }
                return (start, end)
            }
        }

        /// start / pause / resume / cancel: one POST each, printing the campaign after the change.
        static func control(_ action: String, _ id: String, _ connection: Connection) async throws {
            let response = try await connection.call(.POST, "/v1/campaigns/\(escape(id))/\(action)")
            connection.output(response) { object in [Campaigns.columns, Campaigns.row(object as? [String: Any] ?? [:])] }
        }

        struct Start: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Start a draft.")
            @OptionGroup var connection: Connection
            @Argument var id: String
            func run() async throws { try await Campaigns.control("start", id, connection) }
        }

        struct Pause: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Pause: no new downloads; running ones finish.")
            @OptionGroup var connection: Connection
            @Argument var id: String
            func run() async throws { try await Campaigns.control("pause", id, connection) }
        }

        struct Resume: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Resume a paused campaign (also after a canary failure).")
            @OptionGroup var connection: Connection
            @Argument var id: String
            func run() async throws { try await Campaigns.control("resume", id, connection) }
        }

        struct Cancel: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Cancel: targets not started are skipped.")
            @OptionGroup var connection: Connection
            @Argument var id: String
            func run() async throws { try await Campaigns.control("cancel", id, connection) }
        }
    }
}
