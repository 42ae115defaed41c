import Foundation
import Hummingbird
import LPADomain
import LPAIdentity
import LPAStore
import Logging

/// What a fleet import answers: the import as stored, and the refused rows (the first
/// ``FleetImporter/maximumReportedErrors``; `errorCount` in the import counts them all).
public struct FleetImportReport: Codable, Sendable, Equatable {
    public struct RowError: Codable, Sendable, Equatable {
        public var line: Int
        public var field: String?
        public var code: String
        public var message: String
    }

    public var fleetImport: FleetImport
    public var errors: [RowError]
    public var errorsTruncated: Bool

    enum CodingKeys: String, CodingKey { case fleetImport = "import", errors, errorsTruncated }
}

/// Runs `POST /v1/fleet/imports`: reads the CSV body as a stream, validates each row, stages the
/// valid ones in the store in batches, and at the end applies the whole import in one transaction
/// when no row was refused, or rejects it whole. Memory stays bounded by one batch and the error
/// report, whatever the file's size.
///
/// Columns (header row, any order; `eid` and `model` required): `eid`, `imei`, `iccid`, `model`,
/// `tags` (separated by `;`), `smdp_address`, `profile_type`, `matching_id`. A target profile
/// needs both `smdp_address` and `profile_type`; `matching_id` is optional.
struct FleetImporter: Sendable {
    static let columns = ["eid", "imei", "iccid", "model", "tags", "smdp_address", "profile_type", "matching_id"]
    static let batchSize = 1000
    static let maximumRows = 1_000_000
    static let maximumReportedErrors = 1000
    static let maximumTags = 32

    let store: any Store
    let clock: @Sendable () -> Int64
    let logger: Logger

    func run(_ request: Request) async throws -> FleetImportReport {
        let contentType = (request.headers[.contentType] ?? "").lowercased()
        guard contentType.hasPrefix("text/csv") else {
            throw AdminError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the fleet list as text/csv", field: "Content-Type")
        }
        _ = try AdminQuery(request, allowed: [])
        let models = Set(try await store.deviceModels().map(\.code))
        let id = "imp-" + UUID().uuidString.lowercased()
        try await store.beginFleetImport(FleetImport(id: id, state: .staging, createdAt: clock()))
        var run = Run(importID: id, models: models, store: store)
        do {
            var reader = CSVLineReader()
            for try await buffer in request.body {
                for (number, line) in reader.feed(buffer) { try await run.take(number, line) }
            }
            if let (number, line) = reader.finish() { try await run.take(number, line) }
            guard run.header != nil else { throw AdminError.invalid("the file is empty: expected a header row", field: "header") }
            try await run.flush()
            if run.errorCount == 0 {
                for duplicate in try await store.fleetImportDuplicates(importID: id, limit: Self.maximumReportedErrors) {
                    run.refuse(duplicate.line, "eid", "fleet.duplicate_eid", "EID \(duplicate.eid) is also on line \(duplicate.firstLine)")
                }
            }
            let apply = run.errorCount == 0
            let finished = try await store.finishFleetImport(id: id, apply: apply, rowCount: run.rowCount, errorCount: run.errorCount, at: clock())
            logger.notice(apply ? "fleet import applied" : "fleet import rejected", metadata: [
                "import": "\(id)", "rows": "\(run.rowCount)", "errors": "\(run.errorCount)",
            ])
            return FleetImportReport(fleetImport: finished, errors: run.errors, errorsTruncated: run.errorCount > run.errors.count)
        } catch {
            _ = try? await store.finishFleetImport(id: id, apply: false, rowCount: run.rowCount, errorCount: run.errorCount, at: clock())
            logger.notice("fleet import abandoned", metadata: ["import": "\(id)", "error": "\(error)"])
            throw error
        }
    }

    /// One import in progress.
    struct Run {
        let importID: String
        let models: Set<String>
        let store: any Store
        /// Column index of each known column.
        var header: [String: Int]?
        var width = 0
        var batch: [StagedFleetRow] = []
        var rowCount = 0
        var errorCount = 0
        var errors: [FleetImportReport.RowError] = []

        init(importID: String, models: Set<String>, store: any Store) {
            self.importID = importID
            self.models = models
            self.store = store
        }

        mutating func refuse(_ line: Int, _ field: String?, _ code: String, _ message: String) {
            errorCount += 1
            if errors.count < FleetImporter.maximumReportedErrors {
                errors.append(.init(line: line, field: field, code: code, message: message))
            }
        }

        mutating func take(_ number: Int, _ line: CSVLineReader.Line) async throws {
            guard let header else {
                try readHeader(line)
                return
            }
            if case .fields(let fields) = line, fields.allSatisfy(\.isEmpty) { return } // blank line
            rowCount += 1
            guard rowCount <= FleetImporter.maximumRows else {
                throw AdminError(.contentTooLarge, "fleet.too_many_rows", "at most \(FleetImporter.maximumRows) rows per import; split the file")
            }
            switch line {
            case .malformed(let reason):
                refuse(number, nil, "csv.malformed", reason)
            case .fields(let fields):
                guard fields.count == width else {
                    refuse(number, nil, "csv.field_count", "\(fields.count) fields; the header has \(width)")
                    return
                }
                if let row = validate(number, fields, header) {
                    // Once a row is refused the import cannot apply; keep validating, stop staging.
                    guard errorCount == 0 else { return }
                    batch.append(row)
                    if batch.count >= FleetImporter.batchSize { try await flush() }
                }
            }
        }

        mutating func flush() async throws {
            guard !batch.isEmpty else { return }
            if errorCount == 0 { try await store.stageFleetRows(importID: importID, batch) }
            batch.removeAll(keepingCapacity: true)
        }

        mutating func readHeader(_ line: CSVLineReader.Line) throws {
            guard case .fields(let names) = line else {
                throw AdminError.invalid("the header row is not valid CSV", field: "header")
            }
            var map: [String: Int] = [:]
            for (i, raw) in names.enumerated() {
                let name = raw.trimmingCharacters(in: .whitespaces).lowercased()
                guard FleetImporter.columns.contains(name) else {
                    throw AdminError.invalid("unknown column '\(raw)'; columns are \(FleetImporter.columns.joined(separator: ", "))", field: "header")
                }
                guard map[name] == nil else { throw AdminError.invalid("column '\(name)' appears twice", field: "header") }
                map[name] = i
            }
            for required in ["eid", "model"] where map[required] == nil {
                throw AdminError.invalid("the header needs a '\(required)' column", field: "header")
            }
            header = map
            width = names.count
        }

        /// The row as a fleet entry, or nil after refusing each bad field.
        mutating func validate(_ line: Int, _ fields: [String], _ header: [String: Int]) -> StagedFleetRow? {
            func value(_ column: String) -> String? {
                guard let index = header[column] else { return nil }
                let text = fields[index].trimmingCharacters(in: .whitespaces)
                return text.isEmpty ? nil : text
            }
            let before = errorCount
            let eid = value("eid")
            if let eid {
                if let problem = EID.validate(eid) { refuse(line, "eid", problem.code, problem.description) }
            } else {
                refuse(line, "eid", "fleet.missing_value", "EID is required")
            }
            let imei = value("imei")
            if let imei, let problem = IMEI.validate(imei) { refuse(line, "imei", problem.code, problem.description) }
            let iccid = value("iccid")
            if let iccid, let problem = ICCID.validate(iccid) { refuse(line, "iccid", problem.code, problem.description) }
            let model = value("model")
            if let model {
                if !models.contains(model) { refuse(line, "model", "fleet.unknown_model", "device model '\(model)' is not in the library") }
            } else {
                refuse(line, "model", "fleet.missing_value", "model is required")
            }
            let tags = (value("tags") ?? "").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            if tags.count > FleetImporter.maximumTags {
                refuse(line, "tags", "fleet.too_many_tags", "\(tags.count) tags; at most \(FleetImporter.maximumTags)")
            }
            for tag in tags where !Self.isValidTag(tag) {
                refuse(line, "tags", "fleet.bad_tag", "tag '\(tag)' must be 1–64 letters, digits or . _ : -")
            }
            let smdp = value("smdp_address"), profileType = value("profile_type"), matchingID = value("matching_id")
            var target: DataConfigurationRequirement?
            switch (smdp, profileType) {
            case (let smdp?, let profileType?):
                if !Self.isValidSMDPAddress(smdp) {
                    refuse(line, "smdp_address", "fleet.bad_smdp_address", "'\(smdp)' is not a host name with an optional :port")
                }
                if profileType.utf8.count > 128 { refuse(line, "profile_type", "fleet.bad_profile_type", "at most 128 bytes") }
                if let matchingID, matchingID.utf8.count > 255 { refuse(line, "matching_id", "fleet.bad_matching_id", "at most 255 bytes") }
                target = DataConfigurationRequirement(smdpAddress: smdp, profileType: profileType, matchingID: matchingID)
            case (nil, nil):
                if matchingID != nil { refuse(line, "matching_id", "fleet.incomplete_target", "a matching ID needs smdp_address and profile_type") }
            case (nil, _):
                refuse(line, "smdp_address", "fleet.incomplete_target", "a target profile needs smdp_address as well as profile_type")
            case (_, nil):
                refuse(line, "profile_type", "fleet.incomplete_target", "a target profile needs profile_type as well as smdp_address")
            }
            guard errorCount == before, let eid, let model else { return nil }
            return StagedFleetRow(line: line, entry: FleetEntry(eid: eid, imei: imei, iccid: iccid, model: model, tags: tags,
                                                                target: target, importID: importID, importedAt: 0))
        }

        static func isValidTag(_ tag: String) -> Bool {
            (1...64).contains(tag.utf8.count) && tag.utf8.allSatisfy { byte in
                (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x5A) || (byte >= 0x61 && byte <= 0x7A)
                    || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "_") || byte == UInt8(ascii: ":") || byte == UInt8(ascii: "-")
            }
        }

        static func isValidSMDPAddress(_ address: String) -> Bool {
            var host = Substring(address)
            if let colon = address.lastIndex(of: ":") {
                guard let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port) else { return false }
                host = address[..<colon]
            }
            guard (1...253).contains(host.utf8.count) else { return false }
            return host.split(separator: ".", omittingEmptySubsequences: false).allSatisfy { label in
                (1...63).contains(label.utf8.count) && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A) || $0 == UInt8(ascii: "-") }
            }
        }
    }
}
