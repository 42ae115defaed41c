import Foundation
import Yams

/// A configuration problem, naming the file and the key path.
public struct ConfigurationError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var detail: String

    public init(file: String, detail: String) {
        self.file = file
        self.detail = detail
    }

    public var description: String { file.isEmpty ? detail : "\(file): \(detail)" }
}

/// A configuration value read from YAML: every key optional (defaults fill in), unknown keys
/// refused, ranges checked by ``validate()``.
public protocol ConfigurationFile: Codable, Sendable {
    init()
    /// Checks ranges that decoding alone cannot; throws ``ConfigurationError`` naming the key.
    func validate() throws
}

extension ConfigurationFile {
    /// Reads a YAML file; keys left out keep their defaults. Errors name the file and the key.
    public static func load(yamlFile path: String) throws -> Self {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw ConfigurationError(file: path, detail: "cannot read file: \(error.localizedDescription)")
        }
        return try parse(yaml: text, file: path)
    }

    public static func parse(yaml: String, file: String = "<inline>") throws -> Self {
        do {
            if yaml.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { return Self() }
            let config = try YAMLDecoder().decode(Self.self, from: yaml)
            try config.validate()
            return config
        } catch let error as ConfigurationError {
            throw ConfigurationError(file: file, detail: error.detail)
        } catch let error as DecodingError {
            throw ConfigurationError(file: file, detail: ConfigurationDecoding.describe(error))
        } catch {
            throw ConfigurationError(file: file, detail: "\(error)")
        }
    }

    /// The configuration as YAML (the file format) or JSON.
    public func rendered(json: Bool) throws -> String {
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            return String(decoding: try encoder.encode(self), as: UTF8.self)
        }
        return try YAMLEncoder().encode(self)
    }
}

/// Decoding helpers shared by configuration types: keys a type does not know are errors, so a
/// misspelt setting is reported instead of silently ignored.
public enum ConfigurationDecoding {
    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A keyed container that first refuses keys outside `K`.
    public static func container<K: CodingKey & CaseIterable>(_ decoder: Decoder, _ keys: K.Type) throws -> KeyedDecodingContainer<K> {
        let all = try decoder.container(keyedBy: AnyKey.self)
        let known = Set(K.allCases.map(\.stringValue))
        if let unknown = all.allKeys.first(where: { !known.contains($0.stringValue) }) {
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath + [unknown],
                debugDescription: "unknown key; expected one of \(known.sorted().joined(separator: ", "))"))
        }
        return try decoder.container(keyedBy: K.self)
    }

    /// `path.to.key: what is wrong`.
    public static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [CodingKey]) -> String {
            keys.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
        }
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c):
            return "\(path(c.codingPath)): \(c.debugDescription)"
        case .keyNotFound(let key, let c):
            return "\(path(c.codingPath + [key])): missing"
        @unknown default:
            return "\(error)"
        }
    }
}
