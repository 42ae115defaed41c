import ArgumentParser
import Foundation
import LPAAdminClient
import LPACore
import LPATLS
import NIOCore
import NIOHTTP1
import Yams

/// `lpa-core admin …`: the admin API from the command line.
struct Admin: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Query and change a running lpa-core through its admin API.",
        discussion: """
            The token comes from --token or LPA_ADMIN_TOKEN; the address from --url (default http://127.0.0.1:8080).
            An https:// URL verifies the server against --ca (a PEM file with the CA that issued the
            admin certificate, e.g. the fleet-ca.pem of `lpa-sim pki init`); --client-cert and
            --client-key present a client certificate when the admin listener asks for one.

            Examples:
              lpa-core admin models list
              lpa-core admin models put models.yaml          # every deviceModels entry of a library file
              lpa-core admin rules put libraries.yaml        # every configurationRules entry
              lpa-core admin count-settings list --json
              lpa-core admin devices list --model SIM-METER-1 --presence offline --limit 50
              lpa-core admin devices show T-000001
              lpa-core admin jobs active
              lpa-core admin jobs show JOB_ID
              lpa-core admin import fleet.csv
              lpa-core admin campaigns create --name "Pilot wave" --tag pilot --canary-share 0.05
              lpa-core admin campaigns list
              lpa-core admin devices list --url https://core.example:8443 --ca pki/fleet-ca.pem
              lpa-core admin health                           # readiness, for container health checks

            Exit codes: 0 success, 1 the API refused (its error is printed), 2 bad arguments or unreachable API.
            """,
        subcommands: [Models.self, Rules.self, CountSettings.self, Devices.self, Jobs.self, ImportFleet.self, Campaigns.self, Health.self])

    struct Connection: ParsableArguments {
        @Option(help: "Admin API base URL: https://host:port, or http://127.0.0.1:port on this machine.")
        var url: String = "http://127.0.0.1:8080"

        @Option(help: "PEM file with the CA(s) the admin server's certificate chains to (needed with https).")
        var ca: String?

        @Option(help: "PEM file: client certificate to present over https.")
        var clientCert: String?

        @Option(help: "PEM file: the client certificate's private key.")
        var clientKey: String?

        @Option(help: "Bearer token (default: $LPA_ADMIN_TOKEN).")
        var token: String?

        @Flag(help: "Print the API's JSON instead of a table.")
        var json = false

        func client() throws -> AdminHTTPClient {
            let secure = url.hasPrefix("https://")
            guard secure || url.hasPrefix("http://") else { throw fail("--url must start with https:// or http://", code: 2) }
            if (clientCert == nil) != (clientKey == nil) { throw fail("--client-cert and --client-key go together", code: 2) }
            if !secure, ca != nil || clientCert != nil { throw fail("--ca, --client-cert and --client-key need an https:// --url", code: 2) }
            if secure, ca == nil { throw fail("--ca: name the PEM file of the CA that issued the admin certificate (e.g. pki/fleet-ca.pem)", code: 2) }
            let rest = url.dropFirst(secure ? "https://".count : "http://".count).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
            let host: String, port: Int
            if let colon = rest.lastIndex(of: ":") {
                guard let p = Int(rest[rest.index(after: colon)...]) else { throw fail("--url: bad port in '\(url)'", code: 2) }
                host = String(rest[..<colon])
                port = p
            } else {
                host = rest
                port = secure ? 443 : 80
            }
            var tls: TLSContext?
            if secure {
                do {
                    tls = try AdminHTTPClient.tlsContext(trustRoots: ca, certificate: clientCert, privateKey: clientKey)
                } catch {
                    throw fail("cannot load the TLS material (--ca, --client-cert, --client-key): \(error)", code: 2)
                }
            }
            return AdminHTTPClient(host: host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port: port,
                                   token: token ?? ProcessInfo.processInfo.environment["LPA_ADMIN_TOKEN"], tls: tls)
        }

        /// Calls the API; prints its error and exits 1 when it refuses.
        func call(_ method: HTTPMethod, _ path: String, contentType: String? = nil, body: [UInt8]? = nil) async throws -> AdminHTTPClient.Response {
            let response: AdminHTTPClient.Response
            do {
                response = try await client().send(method, path, contentType: contentType, body: body)
            } catch let exit as ExitCode {
                throw exit
            } catch {
                throw fail("cannot reach \(url): \(error)", code: 2)
            }
            try Self.check(response)
            return response
        }

        static func check(_ response: AdminHTTPClient.Response) throws {
            guard response.status >= 400 else { return }
            if let object = try? JSONSerialization.jsonObject(with: Data(response.body)) as? [String: Any],
               let error = object["error"] as? [String: Any] {
                let field = (error["field"] as? String).map { " [\($0)]" } ?? ""
                throw fail("HTTP \(response.status) \(error["code"] ?? ""): \(error["message"] ?? "")\(field)", code: 1)
            }
            throw fail("HTTP \(response.status): \(response.text)", code: 1)
        }

        /// The JSON as-is, or the table.
        func output(_ response: AdminHTTPClient.Response, table: (Any) -> [[String]]) {
            if json {
                print(response.text)
                return
            }
            let object = (try? JSONSerialization.jsonObject(with: Data(response.body))) ?? [:]
            print(Table.render(table(object)))
        }
    }

    // MARK: Libraries

    /// list / show / put FILE / delete for one library collection.
    struct LibraryCommands {
        var path: String
        var key: String
        var documentKey: String
        var columns: [String]
    }

    struct Models: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "models", abstract: "Device models.",
                                                        subcommands: [List.self, Put.self, Delete.self])
        static let library = LibraryCommands(path: "/v1/device-models", key: "code", documentKey: "deviceModels",
                                             columns: ["code", "name", "heartbeatIntervalSeconds", "historyLimit"])
        struct List: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            func run() async throws { try await Admin.listLibrary(Models.library, connection) }
        }
        struct Put: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add or replace every deviceModels entry of a YAML file.")
            @OptionGroup var connection: Connection
            @Argument(help: "YAML file (library format).") var file: String
            func run() async throws { try await Admin.putLibrary(Models.library, file: file, connection) }
        }
        struct Delete: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            @Argument var code: String
            func run() async throws { _ = try await connection.call(.DELETE, "\(Models.library.path)/\(escape(code))") }
        }
    }

    struct Rules: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "rules", abstract: "Configuration rules.",
                                                        subcommands: [List.self, Put.self, Delete.self])
        static let library = LibraryCommands(path: "/v1/configuration-rules", key: "name", documentKey: "configurationRules",
                                             columns: ["name", "priority", "enabled"])
        struct List: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            func run() async throws { try await Admin.listLibrary(Rules.library, connection) }
        }
        struct Put: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add or replace every configurationRules entry of a YAML file.")
            @OptionGroup var connection: Connection
            @Argument(help: "YAML file (library format).") var file: String
            func run() async throws { try await Admin.putLibrary(Rules.library, file: file, connection) }
        }
        struct Delete: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            @Argument var name: String
            func run() async throws { _ = try await connection.call(.DELETE, "\(Rules.library.path)/\(escape(name))") }
        }
    }

    struct CountSettings: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "count-settings", abstract: "Count-setting tables.",
                                                        subcommands: [List.self, Put.self, Delete.self])
        static let library = LibraryCommands(path: "/v1/count-settings", key: "model", documentKey: "countSettings",
                                             columns: ["model", "bands"])
        struct List: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            func run() async throws { try await Admin.listLibrary(CountSettings.library, connection) }
        }
        struct Put: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Add or replace every countSettings entry of a YAML file.")
            @OptionGroup var connection: Connection
            @Argument(help: "YAML file (library format).") var file: String
            func run() async throws { try await Admin.putLibrary(CountSettings.library, file: file, connection) }
        }
        struct Delete: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            @Argument var model: String
            func run() async throws { _ = try await connection.call(.DELETE, "\(CountSettings.library.path)/\(escape(model))") }
        }
    }

    static func listLibrary(_ library: LibraryCommands, _ connection: Connection) async throws {
        let response = try await connection.call(.GET, library.path)
        connection.output(response) { object in
            let items = ((object as? [String: Any])?[library.documentKey] as? [[String: Any]]) ?? []
            return [library.columns] + items.map { item in library.columns.map { Table.cell(item[$0]) } }
        }
    }

    /// Sends each entry of the file's section as its own PUT, in file order.
    static func putLibrary(_ library: LibraryCommands, file: String, _ connection: Connection) async throws {
        let document: LibraryDocument
        do {
            document = try LibraryDocument.load(file: file)
        } catch {
            throw fail("\(error)", code: 2)
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var sent = 0
        func put(_ key: String, _ value: some Encodable) async throws {
            _ = try await connection.call(.PUT, "\(library.path)/\(escape(key))", contentType: "application/json", body: Array(try encoder.encode(value)))
            sent += 1
        }
        switch library.documentKey {
        case "deviceModels": for m in document.deviceModels { try await put(m.code, m) }
        case "configurationRules": for r in document.configurationRules { try await put(r.name, r) }
        default: for t in document.countSettings { try await put(t.model, t) }
        }
        if connection.json { print("{\"put\":\(sent)}") } else { print("stored \(sent) \(library.documentKey) entries from \(file)") }
    }

    // MARK: Devices and jobs

    struct Devices: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "devices", abstract: "Registered devices.", subcommands: [List.self, Show.self])

        struct List: AsyncParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List devices, one page at a time (--cursor continues).")
            @OptionGroup var connection: Connection
            @Option var model: String?
            @Option(help: "online or offline.") var presence: String?
            @Option var tag: String?
            @Option var rule: String?
            @Option(help: "State of the newest job (queued, failed, confirmed, …).") var jobState: String?
            @Option var cursor: String?
            @Option var limit: Int?

            func run() async throws {
                var query: [(String, String)] = []
                for (name, value) in [("model", model), ("presence", presence), ("tag", tag), ("rule", rule), ("jobState", jobState),
                                      ("cursor", cursor), ("limit", limit.map(String.init))] {
                    if let value { query.append((name, value)) }
                }
                let path = "/v1/devices" + (query.isEmpty ? "" : "?" + query.map { "\($0.0)=\(escape($0.1))" }.joined(separator: "&"))
                let response = try await connection.call(.GET, path)
                let columns = ["terminalID", "model", "presence", "lastSeen", "ruleName", "latestJobState", "tags"]
                connection.output(response) { object in
                    let items = ((object as? [String: Any])?["devices"] as? [[String: Any]]) ?? []
                    var rows = [columns] + items.map { item in columns.map { Table.cell(item[$0]) } }
                    if let next = (object as? [String: Any])?["next"] as? String { rows.append(["next: --cursor \(next)"]) }
                    return rows
                }
            }
        }

        struct Show: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            @Argument var terminalID: String

            func run() async throws {
                let response = try await connection.call(.GET, "/v1/devices/\(escape(terminalID))")
                connection.output(response) { object in
                    let o = object as? [String: Any] ?? [:]
                    let device = o["device"] as? [String: Any] ?? [:]
                    let presence = o["presence"] as? [String: Any] ?? [:]
                    var rows: [[String]] = [["field", "value"]]
                    for key in ["terminalID", "model", "ruleName", "tags", "heartbeatIntervalSeconds", "historyLimit", "firstSeen", "lastRegistered"] {
                        rows.append([key, Table.cell(device[key])])
                    }
                    rows.append(["presence", Table.cell(presence["state"])])
                    rows.append(["lastSeen", Table.cell(presence["lastSeen"])])
                    for (key, label) in [("heartbeats", "heartbeat windows"), ("registrationAttempts", "registration attempts"),
                                         ("jobs", "jobs"), ("notifications", "eUICC notifications")] {
                        rows.append([label, "\((o[key] as? [Any])?.count ?? 0)"])
                    }
                    for job in (o["jobs"] as? [[String: Any]] ?? []).prefix(5) {
                        rows.append(["job \(Table.cell(job["id"]))", "\(Table.cell(job["state"])) \(Table.cell(job["errorCode"]))"])
                    }
                    return rows
                }
            }
        }
    }

    /// `GET /health/ready`: exit 0 when the core is ready, 1 when it answers unready, 2 when unreachable.
    struct Health: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "health", abstract: "Whether the core is ready (store reachable); no token needed.")
        @OptionGroup var connection: Connection
        func run() async throws {
            let response: AdminHTTPClient.Response
            do {
                response = try await connection.client().send(.GET, "/health/ready")
            } catch let exit as ExitCode {
                throw exit
            } catch {
                throw fail("cannot reach \(connection.url): \(error)", code: 2)
            }
            print(response.text)
            if response.status != 200 { throw ExitCode(1) }
        }
    }

    struct Jobs: AsyncParsableCommand {
        static let configuration = CommandConfiguration(commandName: "jobs", abstract: "Provisioning jobs.", subcommands: [Show.self, Active.self, Counts.self])
        static let columns = ["id", "terminalID", "state", "attempt", "smdpAddress", "profileType", "roundTrips", "errorCode"]

        struct Show: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            @Argument var id: String
            func run() async throws {
                let response = try await connection.call(.GET, "/v1/jobs/\(escape(id))")
                connection.output(response) { object in
                    let job = object as? [String: Any] ?? [:]
                    return [["field", "value"]] + job.keys.sorted().map { [$0, Table.cell(job[$0])] }
                }
            }
        }

        struct Active: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            func run() async throws {
                let response = try await connection.call(.GET, "/v1/jobs/active")
                connection.output(response) { object in
                    let jobs = ((object as? [String: Any])?["jobs"] as? [[String: Any]]) ?? []
                    return [Jobs.columns] + jobs.map { job in Jobs.columns.map { Table.cell(job[$0]) } }
                }
            }
        }

        struct Counts: AsyncParsableCommand {
            @OptionGroup var connection: Connection
            func run() async throws {
                let response = try await connection.call(.GET, "/v1/jobs/counts")
                connection.output(response) { object in
                    let counts = ((object as? [String: Any])?["counts"] as? [String: Any]) ?? [:]
                    return [["state", "jobs"]] + counts.keys.sorted().map { [$0, Table.cell(counts[$0])] }
                }
            }
        }
    }

    // MARK: Fleet import

    struct ImportFleet: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "import",
            abstract: "Import a fleet list (CSV), streamed; all rows apply or none.",
            discussion: "Columns: eid, model (required), imei, iccid, tags (a;b), smdp_address, profile_type, matching_id.")
        @OptionGroup var connection: Connection
        @Argument(help: "CSV file.") var file: String

        func run() async throws {
            let chunks: FileChunks
            do { chunks = try FileChunks(path: file) } catch { throw fail("\(error)", code: 2) }
            let response: AdminHTTPClient.Response
            do {
                response = try await connection.client().stream(.POST, "/v1/fleet/imports", contentType: "text/csv", body: chunks)
            } catch let exit as ExitCode {
                throw exit
            } catch {
                throw fail("cannot reach \(connection.url): \(error)", code: 2)
            }
            guard response.status == 201 || response.status == 422 else { try Connection.check(response); return }
            connection.output(response) { object in
                let o = object as? [String: Any] ?? [:]
                let record = o["import"] as? [String: Any] ?? [:]
                var rows = [["import", "state", "rows", "errors"],
                            [Table.cell(record["id"]), Table.cell(record["state"]), Table.cell(record["rowCount"]), Table.cell(record["errorCount"])]]
                let errors = o["errors"] as? [[String: Any]] ?? []
                if !errors.isEmpty {
                    rows.append([])
                    rows.append(["line", "field", "code", "message"])
                    rows += errors.map { [Table.cell($0["line"]), Table.cell($0["field"]), Table.cell($0["code"]), Table.cell($0["message"])] }
                }
                return rows
            }
            if response.status == 422 { throw ExitCode(1) }
        }
    }
}

/// Percent-encodes a path segment or query value.
func escape(_ text: String) -> String {
    text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? text
}

/// Plain-text tables: columns padded to their widest cell.
enum Table {
    static func cell(_ value: Any?) -> String {
        switch value {
        case nil, is NSNull: return "-"
        case let s as String: return s
        case let a as [Any]: return a.map { cell($0) }.joined(separator: ",")
        case let n as NSNumber: return n.stringValue
        case let d as [String: Any]: return d.keys.sorted().map { "\($0)=\(cell(d[$0]))" }.joined(separator: " ")
        default: return "\(value!)"
        }
    }

    static func render(_ rows: [[String]]) -> String {
        let width = rows.map(\.count).max() ?? 0
        var widths = [Int](repeating: 0, count: width)
        for row in rows where row.count > 1 { for (i, c) in row.enumerated() { widths[i] = max(widths[i], c.count) } }
        return rows.map { row in
            row.count <= 1 ? (row.first ?? "") : row.enumerated().map { i, c in i == row.count - 1 ? c : c.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
                .joined(separator: "  ")
        }.joined(separator: "\n")
    }
}
