import Foundation
import LPAOperator

/// A JSON request body of SGP.22's JSON binding (§6.5), read field by field; every problem is an
/// `SMDPError` naming the field. Binary fields are base64 of DER. Internal to the HTTP binding; a plain value.
struct SMDPJSONRequest {
    private let fields: [String: Any]

    init(body: [UInt8]) throws(SMDPError) {
        guard !body.isEmpty else { throw .invalidElement("body", "empty request body") }
        let value: Any
        do {
            value = try JSONSerialization.jsonObject(with: Data(body))
        } catch {
            throw .invalidElement("body", "not JSON")
        }
        guard let object = value as? [String: Any] else { throw .invalidElement("body", "not a JSON object") }
        fields = object
    }

    func optionalString(_ key: String) throws(SMDPError) -> String? {
        guard let value = fields[key], !(value is NSNull) else { return nil }
        guard let text = value as? String else { throw .invalidElement(key, "not a string") }
        return text
    }

    func string(_ key: String) throws(SMDPError) -> String {
        guard let text = try optionalString(key) else { throw .missingElement(key) }
        return text
    }

    func bytes(_ key: String) throws(SMDPError) -> [UInt8] {
        guard let data = Data(base64Encoded: try string(key)) else { throw .invalidElement(key, "not base64") }
        return Array(data)
    }

    func bool(_ key: String) throws(SMDPError) -> Bool {
        guard let value = fields[key] else { throw .missingElement(key) }
        guard let flag = value as? Bool else { throw .invalidElement(key, "not a boolean") }
        return flag
    }

    /// A transactionId: 1 to 16 octets as hex.
    func transactionId() throws(SMDPError) -> String {
        let value = try string("transactionId")
        guard (2...32).contains(value.count), value.count % 2 == 0, value.allSatisfy(\.isHexDigit) else {
            throw .invalidElement("transactionId", "not 1 to 16 octets of hex")
        }
        return value
    }

    /// Checks the ES2+ request header (`functionRequesterIdentifier`, `functionCallIdentifier`).
    func checkES2PlusHeader() throws(SMDPError) {
        guard let header = fields["header"] else { throw .missingElement("header") }
        guard let object = header as? [String: Any] else { throw .invalidElement("header", "not a JSON object") }
        for key in ["functionRequesterIdentifier", "functionCallIdentifier"] {
            guard object[key] is String else { throw .missingElement("header.\(key)") }
        }
    }
}

/// Response bodies of the JSON binding: `header.functionExecutionStatus` and the function's fields.
enum SMDPJSONResponse {
    static func success(_ fields: [String: Any] = [:]) -> [UInt8] {
        encode(fields, status: ["status": FunctionExecutionStatus.Status.executedSuccess.rawValue])
    }

    static func failure(_ error: SMDPError) -> [UInt8] {
        var codes: [String: Any] = [
            "subjectCode": error.statusCodeData.subjectCode,
            "reasonCode": error.statusCodeData.reasonCode,
        ]
        codes["subjectIdentifier"] = error.statusCodeData.subjectIdentifier
        codes["message"] = error.statusCodeData.message
        return encode([:], status: ["status": error.status.rawValue, "statusCodeData": codes])
    }

    private static func encode(_ fields: [String: Any], status: [String: Any]) -> [UInt8] {
        var object = fields.mapValues { value -> Any in
            if let bytes = value as? [UInt8] { return Data(bytes).base64EncodedString() }
            return value
        }
        object["header"] = ["functionExecutionStatus": status]
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])) ?? Data("{}".utf8)
        return Array(data)
    }
}
