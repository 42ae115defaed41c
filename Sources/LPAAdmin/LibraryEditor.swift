import Foundation
import LPACore
import LPADomain
import LPAStore

/// Library changes through the admin API: each is validated like a library file entry, written
/// to the store, and made current on this core. Serialised, because a rule change rewrites the
/// whole rule set.
actor LibraryEditor {
    private let store: any Store
    private let engine: CoreEngine

    init(store: any Store, engine: CoreEngine) {
        self.store = store
        self.engine = engine
    }

    func putModel(_ model: DeviceModel, code: String) async throws -> DeviceModel {
        guard model.code == code else { throw AdminError.invalid("'\(model.code)' differs from the path's '\(code)'", field: "code") }
        try validate(LibraryDocument(deviceModels: [model]), entry: "deviceModels[0] (\(code))")
        try await store.upsertDeviceModel(model)
        try await engine.reloadLibrariesFromStore()
        return model
    }

    func deleteModel(code: String) async throws {
        if let rule = try await store.configurationRules().first(where: { $0.match.models.contains(code) }) {
            throw AdminError(.conflict, "IN_USE", "configuration rule '\(rule.name)' names model '\(code)'; change or delete it first", field: "code")
        }
        if try await store.countSettingTables().contains(where: { $0.model == code }) {
            throw AdminError(.conflict, "IN_USE", "model '\(code)' has a count-setting table; delete it first", field: "code")
        }
        guard try await store.deleteDeviceModel(code: code) else { throw AdminError.notFound("no device model '\(code)'", field: "code") }
        try await engine.reloadLibrariesFromStore()
    }

    func putRule(_ rule: ConfigurationRule, name: String) async throws -> ConfigurationRule {
        guard rule.name == name else { throw AdminError.invalid("'\(rule.name)' differs from the path's '\(name)'", field: "name") }
        let models = Set(try await store.deviceModels().map(\.code))
        if let problem = ConfigurationLibrary.problem(with: rule) {
            throw AdminError(.badRequest, "LIBRARY_INVALID", problem, field: Self.field(of: problem))
        }
        for (i, model) in rule.match.models.enumerated() where !models.contains(model) {
            throw AdminError(.badRequest, "LIBRARY_INVALID", "unknown device model '\(model)'", field: "match.models[\(i)]")
        }
        var rules = try await store.configurationRules().filter { $0.name != name }
        rules.append(rule)
        try await store.replaceConfigurationRules(rules)
        try await engine.reloadLibrariesFromStore()
        return rule
    }

    func deleteRule(name: String) async throws {
        let rules = try await store.configurationRules()
        guard rules.contains(where: { $0.name == name }) else { throw AdminError.notFound("no configuration rule '\(name)'", field: "name") }
        try await store.replaceConfigurationRules(rules.filter { $0.name != name })
        try await engine.reloadLibrariesFromStore()
    }

    func putCountSettings(_ table: CountSettingTable, model: String) async throws -> CountSettingTable {
        guard table.model == model else { throw AdminError.invalid("'\(table.model)' differs from the path's '\(model)'", field: "model") }
        guard try await store.deviceModels().contains(where: { $0.code == model }) else {
            throw AdminError(.badRequest, "LIBRARY_INVALID", "unknown device model '\(model)'", field: "model")
        }
        if let problem = table.problem() { throw AdminError(.badRequest, "LIBRARY_INVALID", problem, field: "bands") }
        try await store.upsertCountSettingTable(table)
        try await engine.reloadLibrariesFromStore()
        return table
    }

    func deleteCountSettings(model: String) async throws {
        guard try await store.deleteCountSettingTable(model: model) else {
            throw AdminError.notFound("no count-setting table for model '\(model)'", field: "model")
        }
        try await engine.reloadLibrariesFromStore()
    }

    /// Library-file validation, with the location turned into a field of the request body.
    private func validate(_ document: LibraryDocument, entry: String) throws {
        do {
            try document.validate(file: "request body")
        } catch let error as LibraryError {
            var field = error.location
            if field.hasPrefix(entry) { field = String(field.dropFirst(entry.count)).trimmingCharacters(in: CharacterSet(charactersIn: ".")) }
            throw AdminError(.badRequest, "LIBRARY_INVALID", error.detail, field: field.isEmpty ? nil : field)
        }
    }

    /// `match.imeiRanges[0] '…' is …` → `match.imeiRanges[0]`; the first word of a rule problem.
    private static func field(of problem: String) -> String? {
        let first = problem.split(separator: " ").first.map(String.init) ?? ""
        return first.contains(".") || ["name"].contains(first) ? first : nil
    }
}
