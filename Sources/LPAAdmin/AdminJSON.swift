import Foundation
import Hummingbird
import NIOCore

/// JSON in and out: sorted keys (stable output), readable decoding errors with the JSON path.
enum AdminJSON {
    static func buffer(_ value: some Encodable) -> ByteBuffer {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        // Encoding our own Codable values cannot fail short of a bug.
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return ByteBuffer(bytes: data)
    }

    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: buffer(value)))
    }

    /// Largest JSON body accepted.
    static let maximumBodyBytes = 1 << 20

    static func decode<T: Decodable>(_ type: T.Type, from request: Request) async throws -> T {
        let contentType = request.headers[.contentType] ?? ""
        guard contentType.lowercased().hasPrefix("application/json") else {
            throw AdminError(.unsupportedMediaType, "UNSUPPORTED_MEDIA_TYPE", "send the body as application/json", field: "Content-Type")
        }
        let body = try await request.body.collect(upTo: maximumBodyBytes)
        do {
            return try JSONDecoder().decode(type, from: Data(body.readableBytesView))
        } catch let error as DecodingError {
            throw AdminError(.badRequest, "INVALID_JSON", describe(error), field: path(of: error))
        }
    }

    static func path(of error: DecodingError) -> String? {
        let keys: [any CodingKey]
        switch error {
        case .typeMismatch(_, let c), .valueNotFound(_, let c), .dataCorrupted(let c): keys = c.codingPath
        case .keyNotFound(let key, let c): keys = c.codingPath + [key]
        @unknown default: return nil
        }
        guard !keys.isEmpty else { return nil }
        return keys.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            .trimmingCharacters(in: CharacterSet(charactersIn: ".")).replacingOccurrences(of: ".[", with: "[")
    }

    static func describe(_ error: DecodingError) -> String {
        switch error {
        case .keyNotFound: return "missing"
        case .typeMismatch(let type, _): return "expected \(type)"
        case .valueNotFound(let type, _): return "expected \(type), found null"
        case .dataCorrupted(let c):
            if let underlying = c.underlyingError as NSError? { return "not valid JSON: \(underlying.localizedDescription)" }
            return c.debugDescription
        @unknown default: return "\(error)"
        }
    }
}
