import Foundation

/// A JSON object of SGP.22's JSON binding, read field by field with errors that name the field.
/// Binary fields are base64 (standard alphabet) of DER. Internal to this module; plain value.
struct RSPJSONObject {
    /// Dotted location of this object in the response, for error messages.
    let path: String
    private let fields: [String: Any]

    private init(fields: [String: Any], path: String) {
        self.fields = fields
        self.path = path
    }

    /// Parses `bytes` as one JSON object.
    ///
    /// - Throws: ``OperatorError/malformedResponse(_:)``.
    init(parsing bytes: [UInt8]) throws {
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(bytes))
        } catch {
            throw OperatorError.malformedResponse("response body is not JSON")
        }
        guard let object = value as? [String: Any] else {
            throw OperatorError.malformedResponse("response body is not a JSON object")
        }
        self.init(fields: object, path: "")
    }

    private func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func string(_ key: String) throws -> String {
        guard let value = try optionalString(key) else {
            throw OperatorError.malformedResponse("missing field '\(name(key))'")
        }
        return value
    }

    func optionalString(_ key: String) throws -> String? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let string = value as? String else {
            throw OperatorError.malformedResponse("field '\(name(key))' is not a string")
        }
        return string
    }

    /// A required base64 field, decoded.
    func bytes(_ key: String) throws -> [UInt8] {
        let text = try string(key)
        guard let data = Data(base64Encoded: text) else {
            throw OperatorError.malformedResponse("field '\(name(key))' is not valid base64")
        }
        return Array(data)
    }

    func object(_ key: String) throws -> RSPJSONObject {
        guard let value = try optionalObject(key) else {
            throw OperatorError.malformedResponse("missing field '\(name(key))'")
        }
        return value
    }

    func optionalObject(_ key: String) throws -> RSPJSONObject? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let object = value as? [String: Any] else {
            throw OperatorError.malformedResponse("field '\(name(key))' is not a JSON object")
        }
        return RSPJSONObject(fields: object, path: name(key))
    }

    /// A required transactionId field: hex digits (SGP.22 TransactionId, 1...16 octets).
    func transactionId(_ key: String = "transactionId") throws -> String {
        let value = try string(key)
        guard Self.isTransactionId(value) else {
            throw OperatorError.malformedResponse("field '\(name(key))' is not a hex transactionId of 1 to 16 octets")
        }
        return value
    }

    static func isTransactionId(_ value: String) -> Bool {
        (2...32).contains(value.count) && value.count % 2 == 0 && value.allSatisfy(\.isHexDigit)
    }

    /// Encodes a request object: strings as given, `[UInt8]` as base64, nested dictionaries,
    /// booleans. Keys sorted, so requests are byte-for-byte reproducible.
    static func encode(_ object: [String: Any]) -> [UInt8] {
        let data = try! JSONSerialization.data(withJSONObject: jsonValue(object), options: [.sortedKeys, .withoutEscapingSlashes])
        return Array(data)
    }

    private static func jsonValue(_ value: Any) -> Any {
        switch value {
        case let bytes as [UInt8]: return Data(bytes).base64EncodedString()
        case let object as [String: Any]: return object.mapValues(jsonValue)
        default: return value
        }
    }
}
