import Foundation
import LPADomain

/// Something that happened in the core, as endpoints receive it: `type`, a unique `id`, when it happened and a
/// JSON object of data. A plain value; the body is fixed when the event is made, so every delivery and every
/// retry sends the same bytes.
public struct WebhookEvent: Sendable, Hashable {
    /// Unique per event; receivers use it (or `X-ServerLPA-Delivery`) to drop duplicates.
    public var id: String
    public var type: WebhookEventType
    /// Seconds since 1970.
    public var occurredAt: Int64
    /// The event's data: a JSON object, keys sorted.
    public var payload: String

    /// An event whose data is `payload` encoded as JSON (it must encode to an object).
    ///
    /// - Throws: ``WebhookError/invalidEvent(_:)`` when `payload` cannot be encoded or is not an object.
    public init(id: String = UUID().uuidString.lowercased(), type: WebhookEventType, occurredAt: Int64,
                payload: some Encodable & Sendable) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data: Data
        do {
            data = try encoder.encode(payload)
        } catch {
            throw WebhookError.invalidEvent("the data of \(type) cannot be encoded as JSON: \(error)")
        }
        guard data.first == UInt8(ascii: "{") else { throw WebhookError.invalidEvent("the data of \(type) must be a JSON object") }
        self.id = id
        self.type = type
        self.occurredAt = occurredAt
        self.payload = String(decoding: data, as: UTF8.self)
    }

    /// The JSON body POSTed to endpoints: `{"data":{…},"id":"…","occurredAt":…,"type":"…"}`.
    public var body: String {
        "{\"data\":\(payload),\"id\":\(Self.quoted(id)),\"occurredAt\":\(occurredAt),\"type\":\(Self.quoted(type.rawValue))}"
    }

    private static func quoted(_ text: String) -> String {
        // Encoding a String cannot fail.
        String(decoding: (try? JSONEncoder().encode(text)) ?? Data("\"\"".utf8), as: UTF8.self)
    }
}

/// Why the webhook module refused something. The description says what and where; it never contains a secret.
public enum WebhookError: Error, Sendable, Equatable, CustomStringConvertible {
    /// An event that cannot be sent (its data is not a JSON object).
    case invalidEvent(String)
    /// An endpoint that cannot be used (bad URL, missing or short secret, unknown event name).
    case invalidEndpoint(name: String, String)
    /// An attempt got no answer in time.
    case timeout(seconds: Int64)
    /// An attempt could not reach the endpoint or read its answer.
    case transport(String)

    public var description: String {
        switch self {
        case .invalidEvent(let detail): return "WEBHOOK_INVALID_EVENT: \(detail)"
        case .invalidEndpoint(let name, let detail): return "WEBHOOK_INVALID_ENDPOINT: endpoint '\(name)': \(detail)"
        case .timeout(let seconds): return "WEBHOOK_TIMEOUT: no answer within \(seconds) s"
        case .transport(let detail): return "WEBHOOK_TRANSPORT: \(detail)"
        }
    }
}
