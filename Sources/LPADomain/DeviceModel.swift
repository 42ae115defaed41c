/// A kind of device in the device-model library (claim 2): which identity fields a terminal of this
/// model must report, how each is validated, how terminals are recognised as this model, and the
/// settings "imported into the terminal" when it registers.
public struct DeviceModel: Codable, Sendable, Hashable {
    /// Model code, as terminals report it in Hello (`model`), e.g. `SIM-METER-1`.
    public var code: String
    /// Human-readable name.
    public var name: String
    /// Identity fields the model defines, in the order they are reported.
    public var fields: [IdentityFieldSpec]
    /// Field patterns that recognise a terminal as this model when it reports no (or an unknown) model
    /// code, e.g. `imei: "^35693803"` for a TAC. All patterns must match.
    public var match: [String: String]
    /// Heartbeat interval given to terminals of this model until the count-setting table decides.
    public var heartbeatIntervalSeconds: Int
    /// Heartbeat history windows kept per terminal until the count-setting table decides.
    public var historyLimit: Int

    public init(code: String, name: String = "", fields: [IdentityFieldSpec], match: [String: String] = [:],
                heartbeatIntervalSeconds: Int = 60, historyLimit: Int = 100) {
        self.code = code
        self.name = name
        self.fields = fields
        self.match = match
        self.heartbeatIntervalSeconds = heartbeatIntervalSeconds
        self.historyLimit = historyLimit
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        code = try c.decode(String.self, forKey: .code)
        name = try c.decodeIfPresent(String.self, forKey: .name) ?? ""
        fields = try c.decodeIfPresent([IdentityFieldSpec].self, forKey: .fields) ?? []
        match = try c.decodeIfPresent([String: String].self, forKey: .match) ?? [:]
        heartbeatIntervalSeconds = try c.decodeIfPresent(Int.self, forKey: .heartbeatIntervalSeconds) ?? 60
        historyLimit = try c.decodeIfPresent(Int.self, forKey: .historyLimit) ?? 100
    }

    /// Names of the fields a terminal must report.
    public var requiredFields: [String] { fields.filter(\.required).map(\.name) }
}

/// One identity field of a device model.
public struct IdentityFieldSpec: Codable, Sendable, Hashable {
    /// `eid`, `imei`, `iccid`, `firmware`, or the key of an extra field.
    public var name: String
    public var required: Bool
    public var validation: FieldValidation

    public init(name: String, required: Bool = true, validation: FieldValidation = .any) {
        self.name = name
        self.required = required
        self.validation = validation
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        required = try c.decodeIfPresent(Bool.self, forKey: .required) ?? true
        validation = try c.decodeIfPresent(FieldValidation.self, forKey: .validation) ?? .any
    }
}
