/// A device known before it connects: one row of a fleet import. Keyed by EID. When a terminal
/// with this EID registers, the entry's tags join the device's tags for the configuration rules,
/// and its target profile, when given, becomes the device's data-configuration requirement.
public struct FleetEntry: Codable, Sendable, Hashable {
    public var eid: String
    public var imei: String?
    public var iccid: String?
    /// Device model code the fleet list names.
    public var model: String
    public var tags: [String]
    /// The profile this device should receive (SM-DP+ address, profile type, optional matching ID).
    public var target: DataConfigurationRequirement?
    /// The import that last wrote this entry.
    public var importID: String
    public var importedAt: Int64

    public init(eid: String, imei: String? = nil, iccid: String? = nil, model: String, tags: [String] = [],
                target: DataConfigurationRequirement? = nil, importID: String, importedAt: Int64) {
        self.eid = eid
        self.imei = imei
        self.iccid = iccid
        self.model = model
        self.tags = tags
        self.target = target
        self.importID = importID
        self.importedAt = importedAt
    }
}

/// One fleet import: rows are staged first and applied together, or the whole import is rejected.
public struct FleetImport: Codable, Sendable, Hashable {
    public enum State: String, Codable, Sendable, CaseIterable {
        /// Rows are being staged; nothing is visible as fleet entries yet.
        case staging
        /// Every staged row became a fleet entry in one transaction.
        case applied
        /// The import was refused; its staged rows were discarded.
        case rejected
    }

    public var id: String
    public var state: State
    public var createdAt: Int64
    public var finishedAt: Int64?
    /// Rows read from the file (header excluded).
    public var rowCount: Int
    /// Rows that were refused.
    public var errorCount: Int

    public init(id: String, state: State, createdAt: Int64, finishedAt: Int64? = nil, rowCount: Int = 0, errorCount: Int = 0) {
        self.id = id
        self.state = state
        self.createdAt = createdAt
        self.finishedAt = finishedAt
        self.rowCount = rowCount
        self.errorCount = errorCount
    }
}

/// Two rows of one import naming the same EID.
public struct FleetImportDuplicate: Sendable, Hashable {
    public var eid: String
    /// Line of the first row with this EID, and of a later one.
    public var firstLine: Int
    public var line: Int

    public init(eid: String, firstLine: Int, line: Int) {
        self.eid = eid
        self.firstLine = firstLine
        self.line = line
    }
}
