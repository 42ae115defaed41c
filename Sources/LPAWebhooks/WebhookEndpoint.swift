import Foundation
import LPACore
import LPADomain

/// One receiver of webhook events: where it is, the key its deliveries are signed with, and which events it
/// wants. A plain value; its description never shows the secret.
public struct WebhookEndpoint: Sendable, CustomStringConvertible {
    /// Names the endpoint in logs and in the outbox.
    public var name: String
    /// `https://…`, or `http://127.0.0.1…` for local receivers.
    public var url: String
    /// The HMAC-SHA256 key.
    public var secret: [UInt8]
    /// Event names, families (`job.*`) or `*`.
    public var events: [String]
    /// A disabled endpoint gets no new events; its pending deliveries wait.
    public var enabled: Bool

    /// - Throws: ``WebhookError/invalidEndpoint(name:_:)`` for a URL that is neither `https://` nor
    ///   `http://127.0.0.1`, a secret shorter than 16 bytes, or a filter that selects no known event.
    public init(name: String, url: String, secret: [UInt8], events: [String] = ["*"], enabled: Bool = true) throws {
        if let problem = CoreConfiguration.Webhooks.urlProblem(url) { throw WebhookError.invalidEndpoint(name: name, problem) }
        let minimum = CoreConfiguration.Webhooks.minimumSecretLength
        guard secret.count >= minimum else {
            throw WebhookError.invalidEndpoint(name: name, "the secret must be at least \(minimum) bytes")
        }
        for filter in events where !WebhookEventType.isValidFilter(filter) {
            throw WebhookError.invalidEndpoint(name: name, "'\(filter)' selects no event")
        }
        self.name = name
        self.url = url
        self.secret = secret
        self.events = events
        self.enabled = enabled
    }

    /// The endpoint a configuration entry describes; reads `secretFile` when the entry names one.
    public init(_ entry: CoreConfiguration.Webhooks.Endpoint) throws {
        let secret: String
        if let inline = entry.secret {
            secret = inline
        } else if let file = entry.secretFile {
            do {
                secret = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
            } catch {
                throw WebhookError.invalidEndpoint(name: entry.name, "cannot read secretFile '\(file)': \(error.localizedDescription)")
            }
        } else {
            throw WebhookError.invalidEndpoint(name: entry.name, "give secret or secretFile")
        }
        try self.init(name: entry.name, url: entry.url, secret: Array(secret.utf8), events: entry.events, enabled: entry.enabled)
    }

    /// Whether this endpoint wants events of `type` (ignores ``enabled``).
    public func wants(_ type: WebhookEventType) -> Bool {
        events.contains { type.matches(filter: $0) }
    }

    public var description: String {
        "WebhookEndpoint(name: \(name), url: \(url), secret: <redacted>, events: \(events), enabled: \(enabled))"
    }
}
