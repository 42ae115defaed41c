import Foundation
import LPADomain
import TerminalProtocol

/// The device-model library (claim 2): recognises which model a terminal is and imports its
/// identity into a record with the model's fields. A plain value; the core holds the current one.
public struct DeviceModelLibrary: Sendable {
    public private(set) var models: [String: DeviceModel]
    private let ordered: [DeviceModel]

    public init(_ models: [DeviceModel]) {
        self.ordered = models.sorted { $0.code < $1.code }
        self.models = Dictionary(models.map { ($0.code, $0) }, uniquingKeysWith: { _, last in last })
    }

    /// The model for a terminal: the model code it reports when known, else the first model (by
    /// code) whose field patterns all match its identity.
    public func match(modelCode: String, fields: [String: String]) -> Result<DeviceModel, RegistrationRefusal> {
        if !modelCode.isEmpty, let model = models[modelCode] {
            return .success(model)
        }
        for model in ordered where !model.match.isEmpty {
            let all = model.match.allSatisfy { field, pattern in
                guard let value = fields[field], let re = try? NSRegularExpression(pattern: pattern) else { return false }
                return re.firstMatch(in: value, range: NSRange(value.startIndex..., in: value)) != nil
            }
            if all { return .success(model) }
        }
        let reported = modelCode.isEmpty ? "no model code" : "model '\(modelCode)'"
        return .failure(RegistrationRefusal(.unknownModel, "\(reported) is not in the device-model library and no model's field patterns match"))
    }

    /// Validates the terminal's identity against `model` and returns the imported fields.
    public static func importIdentity(_ fields: [String: String], into model: DeviceModel) -> Result<[String: String], RegistrationRefusal> {
        var imported: [String: String] = [:]
        for spec in model.fields {
            let value = fields[spec.name] ?? ""
            if value.isEmpty {
                if spec.required {
                    return .failure(RegistrationRefusal(.missingField, "\(spec.name) is required by device model \(model.code)"))
                }
                continue
            }
            if let problem = spec.validation.problem(with: value) {
                return .failure(RegistrationRefusal(.invalidField, "\(spec.name) '\(value)': \(problem) (device model \(model.code))"))
            }
            imported[spec.name] = value
        }
        return .success(imported)
    }
}

extension Identity {
    /// All reported identity fields by name (empty ones left out).
    public var fieldMap: [String: String] {
        var map: [String: String] = [:]
        for field in extra where !field.value.isEmpty { map[field.key] = field.value }
        for (k, v) in [("eid", eid), ("imei", imei), ("iccid", iccid), ("model", model), ("firmware", firmware)] where !v.isEmpty {
            map[k] = v
        }
        return map
    }
}
