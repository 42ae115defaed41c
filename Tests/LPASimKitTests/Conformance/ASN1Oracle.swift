import Foundation
import XCTest

/// The independent codec of the conformance tests: `asn1_oracle.py` (asn1tools compiling `proto/sgp22/*.asn`),
/// run once per batch as a subprocess speaking JSON on stdin/stdout.
///
/// The Python interpreter is `LPA_ASN1_PYTHON` when set (`.ci/run` points it at the venv it makes), else the
/// venv at `.build/asn1venv` of this checkout. When neither exists the tests fail under `CI=true` and are
/// skipped elsewhere, saying how to make the venv.
struct ASN1Oracle {
    /// One request: decode `der` as `type` and/or encode `value` (JSON form, see asn1_oracle.py) as `type`.
    struct Request {
        var type: String
        var der: [UInt8]?
        var value: Any?
    }

    /// asn1tools' answer to one request.
    struct Answer {
        var decoded: Any?
        var reencoded: [UInt8]?
        var encoded: [UInt8]?
        var error: String?
    }

    static let packageRoot = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("asn1_oracle.py")

    let python: URL

    /// The oracle, or a skip (a failure under CI) when no asn1tools venv is found.
    static func locate() throws -> ASN1Oracle {
        let environment = ProcessInfo.processInfo.environment
        let candidate = environment["LPA_ASN1_PYTHON"].map { URL(fileURLWithPath: $0) }
            ?? packageRoot.appendingPathComponent(".build/asn1venv/bin/python")
        guard FileManager.default.isExecutableFile(atPath: candidate.path) else {
            let message = "no asn1tools interpreter at \(candidate.path): make it with "
                + "`python3 -m venv .build/asn1venv && .build/asn1venv/bin/pip install asn1tools` (as .ci/run does) "
                + "or set LPA_ASN1_PYTHON"
            if environment["CI"] == "true" {
                XCTFail(message)
                throw XCTSkip("failed: \(message)")
            }
            throw XCTSkip(message)
        }
        return ASN1Oracle(python: candidate)
    }

    /// Runs every request in one asn1tools process; returns the answers in order and the number of types
    /// the compiled modules define.
    func run(_ requests: [Request]) throws -> (answers: [Answer], compiledTypes: Int) {
        let cases: [[String: Any]] = requests.map { request in
            var item: [String: Any] = ["type": request.type]
            if let der = request.der { item["der"] = ASN1Value.hexString(der) }
            if let value = request.value { item["value"] = value }
            return item
        }
        let input = try JSONSerialization.data(withJSONObject: ["cases": cases])
        let inputFile = FileManager.default.temporaryDirectory.appendingPathComponent("asn1-oracle-\(UUID().uuidString).json")
        try input.write(to: inputFile)
        defer { try? FileManager.default.removeItem(at: inputFile) }

        let process = Process()
        process.executableURL = python
        process.arguments = [Self.script.path]
        var environment = ProcessInfo.processInfo.environment
        environment["LPA_ASN1_DIR"] = Self.packageRoot.appendingPathComponent("proto/sgp22").path
        process.environment = environment
        process.standardInput = try FileHandle(forReadingFrom: inputFile)
        let output = Pipe(), errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw OracleFailure(text: "asn1_oracle.py exited \(process.terminationStatus): \(errorText)")
        }
        guard let object = try JSONSerialization.jsonObject(with: data) as? [String: Any],
              let results = object["results"] as? [[String: Any]], results.count == requests.count
        else { throw OracleFailure(text: "asn1_oracle.py answered something else: \(String(decoding: data.prefix(300), as: UTF8.self))") }
        let answers = results.map { result in
            Answer(
                decoded: result["decoded"],
                reencoded: (result["reencoded"] as? String).flatMap(ASN1Value.bytes),
                encoded: (result["encoded"] as? String).flatMap(ASN1Value.bytes),
                error: result["error"] as? String)
        }
        return (answers, object["types"] as? Int ?? 0)
    }

    struct OracleFailure: Error, CustomStringConvertible {
        var text: String
        var description: String { text }
    }
}

/// Builders of the JSON value form asn1_oracle.py understands, written from the ASN.1 text and never from
/// the project's encoders.
enum ASN1Value {
    static func hexString(_ bytes: [UInt8]) -> String {
        bytes.map { String(format: "%02X", $0) }.joined()
    }

    static func bytes(_ text: String) -> [UInt8]? {
        guard text.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        var index = text.startIndex
        while index < text.endIndex {
            let next = text.index(index, offsetBy: 2)
            guard let byte = UInt8(text[index..<next], radix: 16) else { return nil }
            out.append(byte)
            index = next
        }
        return out
    }

    /// An OCTET STRING (or an open type's whole encoding).
    static func octets(_ bytes: [UInt8]) -> [String: Any] { ["$hex": hexString(bytes)] }

    /// An OCTET STRING given as hex text.
    static func octets(hex: String) -> [String: Any] { ["$hex": hex.uppercased()] }

    /// A BIT STRING of `count` bits, `bytes` holding them from the most significant bit.
    static func bits(_ bytes: [UInt8], count: Int) -> [String: Any] { ["$bits": hexString(bytes), "n": count] }

    /// A CHOICE alternative.
    static func choice(_ name: String, _ value: Any) -> [String: Any] { ["$choice": name, "value": value] }

    /// NULL.
    static let null = NSNull()

    /// Canonical JSON text of a value, for comparing two values.
    static func canonical(_ value: Any) -> String {
        guard let data = try? JSONSerialization.data(withJSONObject: ["v": value], options: [.sortedKeys]) else {
            return "\(value)"
        }
        return String(decoding: data, as: UTF8.self)
    }
}
