import Foundation
import LPAConfig
import LPADomain
import LPAStore
import Logging

extension CoreConfiguration {
    /// Webhooks: job (and, later, campaign) events POSTed as signed JSON to the operator's endpoints, from a
    /// durable outbox in the store, retried with exponential backoff. Sent only when the configuration file has
    /// a `webhooks` section with endpoints.
    public struct Webhooks: Codable, Sendable, Equatable {
        public var endpoints: [Endpoint] = []
        /// CA bundle that anchors `https://` endpoints' certificates; required when one is configured.
        public var trustedRoots: String = ""
        public var retry = Retry()
        /// Deadline of one attempt: connect, send, whole answer.
        public var timeoutSeconds: Int = 10
        /// How often the outbox is looked at for retries that came due (new events go out at once).
        public var pollSeconds: Int = 1

        /// One receiver. `--print-config` shows `secret` as `<redacted>`.
        public struct Endpoint: Codable, Sendable, Equatable {
            /// Names the endpoint in logs and in the outbox; the URL when not given. Renaming an endpoint
            /// orphans its pending deliveries (they are given up as dead).
            public var name: String
            /// `https://…`, or `http://127.0.0.1[:port]/…` for local receivers and tests.
            public var url: String
            /// The HMAC-SHA256 key; give it here or in ``secretFile``.
            public var secret: String?
            /// A file holding the key (surrounding whitespace ignored).
            public var secretFile: String?
            /// Event names (`job.confirmed`), families (`job.*`) or `*`.
            public var events: [String]
            /// A disabled endpoint gets no new events; what it has pending waits.
            public var enabled: Bool

            public init(name: String? = nil, url: String, secret: String? = nil, secretFile: String? = nil,
                        events: [String] = ["*"], enabled: Bool = true) {
                self.name = name ?? url
                self.url = url
                self.secret = secret
                self.secretFile = secretFile
                self.events = events
                self.enabled = enabled
            }

            enum CodingKeys: String, CodingKey, CaseIterable { case name, url, secret, secretFile, events, enabled }

            public init(from decoder: Decoder) throws {
                let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
                url = try c.decode(String.self, forKey: .url)
                name = try c.decodeIfPresent(String.self, forKey: .name) ?? url
                secret = try c.decodeIfPresent(String.self, forKey: .secret)
                secretFile = try c.decodeIfPresent(String.self, forKey: .secretFile)
                events = try c.decodeIfPresent([String].self, forKey: .events) ?? ["*"]
                enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? true
            }

            public func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(name, forKey: .name)
                try c.encode(url, forKey: .url)
                try c.encodeIfPresent(secret.map { _ in "<redacted>" }, forKey: .secret)
                try c.encodeIfPresent(secretFile, forKey: .secretFile)
                try c.encode(events, forKey: .events)
                try c.encode(enabled, forKey: .enabled)
            }
        }

        /// Backoff: attempt n waits `min(maximumDelaySeconds, baseDelaySeconds × 2^(n−1))` after failing.
        public struct Retry: Codable, Sendable, Equatable {
            public var baseDelaySeconds: Int = 5
            public var maximumDelaySeconds: Int = 3600
            /// Attempts before a delivery is given up as dead.
            public var maximumAttempts: Int = 12

            enum CodingKeys: String, CodingKey, CaseIterable { case baseDelaySeconds, maximumDelaySeconds, maximumAttempts }

            public init(baseDelaySeconds: Int = 5, maximumDelaySeconds: Int = 3600, maximumAttempts: Int = 12) {
                self.baseDelaySeconds = baseDelaySeconds
                self.maximumDelaySeconds = maximumDelaySeconds
                self.maximumAttempts = maximumAttempts
            }

            public init(from decoder: Decoder) throws {
                let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
                let d = Self()
                baseDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .baseDelaySeconds) ?? d.baseDelaySeconds
                maximumDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .maximumDelaySeconds) ?? d.maximumDelaySeconds
                maximumAttempts = try c.decodeIfPresent(Int.self, forKey: .maximumAttempts) ?? d.maximumAttempts
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case endpoints, trustedRoots, retry, timeoutSeconds, pollSeconds }

        public init(endpoints: [Endpoint] = [], trustedRoots: String = "", retry: Retry = Retry(), timeoutSeconds: Int = 10, pollSeconds: Int = 1) {
            self.endpoints = endpoints
            self.trustedRoots = trustedRoots
            self.retry = retry
            self.timeoutSeconds = timeoutSeconds
            self.pollSeconds = pollSeconds
        }

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            endpoints = try c.decodeIfPresent([Endpoint].self, forKey: .endpoints) ?? d.endpoints
            trustedRoots = try c.decodeIfPresent(String.self, forKey: .trustedRoots) ?? d.trustedRoots
            retry = try c.decodeIfPresent(Retry.self, forKey: .retry) ?? d.retry
            timeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .timeoutSeconds) ?? d.timeoutSeconds
            pollSeconds = try c.decodeIfPresent(Int.self, forKey: .pollSeconds) ?? d.pollSeconds
        }

        func validate() throws {
            func fail(_ s: String) -> ConfigurationError { ConfigurationError(file: "", detail: s) }
            guard retry.baseDelaySeconds > 0 else { throw fail("webhooks.retry.baseDelaySeconds: must be positive") }
            guard retry.maximumDelaySeconds >= retry.baseDelaySeconds else {
                throw fail("webhooks.retry.maximumDelaySeconds: must be at least baseDelaySeconds (\(retry.baseDelaySeconds))")
            }
            guard retry.maximumAttempts > 0 else { throw fail("webhooks.retry.maximumAttempts: must be positive") }
            guard timeoutSeconds > 0, pollSeconds > 0 else { throw fail("webhooks.timeoutSeconds and pollSeconds: must be positive") }
            var names = Set<String>()
            for (i, endpoint) in endpoints.enumerated() {
                let at = "webhooks.endpoints[\(i)]"
                guard !endpoint.name.isEmpty else { throw fail("\(at).name: must not be empty") }
                guard names.insert(endpoint.name).inserted else { throw fail("\(at).name: '\(endpoint.name)' is used twice") }
                if let problem = Self.urlProblem(endpoint.url) { throw fail("\(at).url: \(problem)") }
                if endpoint.url.lowercased().hasPrefix("https://"), trustedRoots.isEmpty {
                    throw fail("webhooks.trustedRoots: required for the https:// endpoint '\(endpoint.name)' (a CA bundle file)")
                }
                switch (endpoint.secret, endpoint.secretFile) {
                case (nil, nil), (.some, .some): throw fail("\(at): give exactly one of secret and secretFile")
                case (.some(let secret), nil):
                    guard secret.utf8.count >= Self.minimumSecretLength else {
                        throw fail("\(at).secret: at least \(Self.minimumSecretLength) characters")
                    }
                case (nil, .some(let file)):
                    guard !file.isEmpty else { throw fail("\(at).secretFile: must not be empty") }
                }
                guard !endpoint.events.isEmpty else { throw fail("\(at).events: name at least one event, a family (job.*) or *") }
                for event in endpoint.events where !WebhookEventType.isValidFilter(event) {
                    throw fail("\(at).events: '\(event)' is no event; known: \(WebhookEventType.all.map(\.rawValue).joined(separator: ", "))")
                }
            }
        }

        /// Shortest secret accepted: a guessable key would let anyone forge events.
        public static let minimumSecretLength = 16

        /// Why `url` cannot receive webhooks, or nil: `https://host…`, or `http://127.0.0.1…` only.
        public static func urlProblem(_ url: String) -> String? {
            guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(),
                  let host = components.host, !host.isEmpty else { return "'\(url)' is not an absolute URL" }
            switch scheme {
            case "https": return nil
            case "http" where host == "127.0.0.1": return nil
            case "http": return "plain http:// is allowed only to 127.0.0.1 (local receivers); use https://"
            default: return "'\(scheme)' is not http or https"
            }
        }
    }
}

/// What the core hands to the webhook service it starts (see ``CoreServer/init(configuration:logger:clock:admin:webhooks:)``).
public struct CoreWebhookContext: Sendable {
    public var settings: CoreConfiguration.Webhooks
    public var store: any Store
    public var logger: Logger
    public var clock: @Sendable () -> Int64

    public init(settings: CoreConfiguration.Webhooks, store: any Store, logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.settings = settings
        self.store = store
        self.logger = logger
        self.clock = clock
    }
}

/// A running webhook service: hears job events, and is stopped by the core before it closes its store.
public protocol CoreWebhookService: JobEventSink {
    func stop() async
}

/// Starts the webhook service for a core (the LPAWebhooks module provides one).
public typealias CoreWebhookStarter = @Sendable (CoreWebhookContext) async throws -> any CoreWebhookService
