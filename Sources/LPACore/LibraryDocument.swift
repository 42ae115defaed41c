import Foundation
import LPADomain
import Yams

/// The libraries as written in a YAML file: device models, configuration rules and count-setting
/// tables. Loaded at start and by `lpa-core import FILE`; every entry is validated and errors name
/// the file, the entry and the field.
public struct LibraryDocument: Codable, Sendable, Equatable {
    public var deviceModels: [DeviceModel]
    public var configurationRules: [ConfigurationRule]
    public var countSettings: [CountSettingTable]

    public init(deviceModels: [DeviceModel] = [], configurationRules: [ConfigurationRule] = [], countSettings: [CountSettingTable] = []) {
        self.deviceModels = deviceModels
        self.configurationRules = configurationRules
        self.countSettings = countSettings
    }

    enum CodingKeys: String, CodingKey {
        case deviceModels, configurationRules, countSettings
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        deviceModels = try c.decodeIfPresent([DeviceModel].self, forKey: .deviceModels) ?? []
        configurationRules = try c.decodeIfPresent([ConfigurationRule].self, forKey: .configurationRules) ?? []
        countSettings = try c.decodeIfPresent([CountSettingTable].self, forKey: .countSettings) ?? []
    }

    /// Reads and validates a YAML file.
    public static func load(file path: String) throws -> LibraryDocument {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw LibraryError(file: path, location: "", detail: "cannot read file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String = "<inline>") throws -> LibraryDocument {
        let document: LibraryDocument
        do {
            document = try YAMLDecoder().decode(LibraryDocument.self, from: yaml)
        } catch let error as DecodingError {
            throw LibraryError(file: file, decoding: error)
        } catch {
            throw LibraryError(file: file, location: "", detail: "\(error)")
        }
        try document.validate(file: file)
        return document
    }

    /// Checks every entry; the first problem is thrown with its location.
    public func validate(file: String) throws {
        var codes = Set<String>()
        for (i, model) in deviceModels.enumerated() {
            let at = "deviceModels[\(i)] (\(model.code))"
            if model.code.isEmpty { throw LibraryError(file: file, location: "deviceModels[\(i)].code", detail: "must not be empty") }
            if !codes.insert(model.code).inserted { throw LibraryError(file: file, location: "\(at).code", detail: "duplicate model code") }
            if model.heartbeatIntervalSeconds <= 0 { throw LibraryError(file: file, location: "\(at).heartbeatIntervalSeconds", detail: "must be positive") }
            if model.historyLimit <= 0 { throw LibraryError(file: file, location: "\(at).historyLimit", detail: "must be positive") }
            var names = Set<String>()
            for (j, f) in model.fields.enumerated() {
                if f.name.isEmpty { throw LibraryError(file: file, location: "\(at).fields[\(j)].name", detail: "must not be empty") }
                if !names.insert(f.name).inserted { throw LibraryError(file: file, location: "\(at).fields[\(j)].name", detail: "duplicate field '\(f.name)'") }
            }
            for (field, pattern) in model.match where (try? NSRegularExpression(pattern: pattern)) == nil {
                throw LibraryError(file: file, location: "\(at).match.\(field)", detail: "'\(pattern)' is not a valid regular expression")
            }
        }
        var ruleNames = Set<String>()
        for (i, rule) in configurationRules.enumerated() {
            let at = "configurationRules[\(i)] (\(rule.name))"
            if let problem = ConfigurationLibrary.problem(with: rule) { throw LibraryError(file: file, location: at, detail: problem) }
            if !ruleNames.insert(rule.name).inserted { throw LibraryError(file: file, location: "\(at).name", detail: "duplicate rule name") }
            for model in rule.match.models where !codes.contains(model) && !deviceModels.isEmpty {
                throw LibraryError(file: file, location: "\(at).match.models", detail: "unknown device model '\(model)'")
            }
        }
        for (i, table) in countSettings.enumerated() {
            let at = "countSettings[\(i)] (\(table.model))"
            if !deviceModels.isEmpty, !codes.contains(table.model) {
                throw LibraryError(file: file, location: "\(at).model", detail: "unknown device model '\(table.model)'")
            }
            if let problem = table.problem() { throw LibraryError(file: file, location: "\(at).bands", detail: problem) }
        }
    }
}

/// A library file problem: file, where in it, and what is wrong.
public struct LibraryError: Error, Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var location: String
    public var detail: String

    public init(file: String, location: String, detail: String) {
        self.file = file
        self.location = location
        self.detail = detail
    }

    init(file: String, decoding error: DecodingError) {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined().trimmingCharacters(in: CharacterSet(charactersIn: "."))
                .replacingOccurrences(of: ".[", with: "[")
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            self.init(file: file, location: path(c.codingPath), detail: c.debugDescription)
        case .keyNotFound(let key, let c):
            self.init(file: file, location: path(c.codingPath + [key]), detail: "missing")
        @unknown default:
            self.init(file: file, location: "", detail: "\(error)")
        }
    }

    public var description: String {
        location.isEmpty ? "\(file): \(detail)" : "\(file): \(location): \(detail)"
    }
}
