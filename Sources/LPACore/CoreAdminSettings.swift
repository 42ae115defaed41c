import LPAConfig
import LPAStore
import Logging
import NIOCore

/// What a bearer token may do on the admin API. Each role includes the ones below it:
/// `read` < `operate` < `admin`.
public enum AdminRole: String, Codable, Sendable, CaseIterable, Comparable {
    /// Queries: devices, jobs, libraries, fleet entries.
    case read
    /// Fleet work: imports (and, later, campaigns).
    case operate
    /// Library changes: device models, configuration rules, count settings.
    case admin

    private var rank: Int { Self.allCases.firstIndex(of: self)! }

    public static func < (a: AdminRole, b: AdminRole) -> Bool { a.rank < b.rank }
}

extension CoreConfiguration {
    /// The admin HTTP API (and `/metrics`) of this core. Served only when the configuration file
    /// has an `admin` section.
    public struct Admin: Codable, Sendable, Equatable {
        public var host: String = "127.0.0.1"
        /// Port 0 picks a free port.
        public var port: Int = 8080
        public var tokens: [Token] = []

        /// One bearer token. `--print-config` shows `token` as `<redacted>`.
        public struct Token: Codable, Sendable, Equatable {
            /// Who holds it, for logs.
            public var name: String
            public var role: AdminRole
            public var token: String

            public init(name: String, role: AdminRole, token: String) {
                self.name = name
                self.role = role
                self.token = token
            }

            enum CodingKeys: String, CodingKey, CaseIterable { case name, role, token }

            public init(from decoder: Decoder) throws {
                let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
                name = try c.decode(String.self, forKey: .name)
                role = try c.decode(AdminRole.self, forKey: .role)
                token = try c.decode(String.self, forKey: .token)
            }

            public func encode(to encoder: Encoder) throws {
                var c = encoder.container(keyedBy: CodingKeys.self)
                try c.encode(name, forKey: .name)
                try c.encode(role, forKey: .role)
                try c.encode("<redacted>", forKey: .token)
            }
        }

        enum CodingKeys: String, CodingKey, CaseIterable { case host, port, tokens }

        public init(host: String = "127.0.0.1", port: Int = 8080, tokens: [Token] = []) {
            self.host = host
            self.port = port
            self.tokens = tokens
        }

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
            tokens = try c.decodeIfPresent([Token].self, forKey: .tokens) ?? d.tokens
        }

        /// Shortest token accepted: guessing one must stay out of reach.
        public static let minimumTokenLength = 16

        func validate() throws {
            func fail(_ s: String) -> ConfigurationError { ConfigurationError(file: "", detail: s) }
            guard (0...65535).contains(port) else { throw fail("admin.port: \(port) is not a TCP port") }
            var names = Set<String>()
            var secrets = Set<String>()
            for (i, token) in tokens.enumerated() {
                guard !token.name.isEmpty else { throw fail("admin.tokens[\(i)].name: must not be empty") }
                guard names.insert(token.name).inserted else { throw fail("admin.tokens[\(i)].name: '\(token.name)' is used twice") }
                guard token.token.count >= Self.minimumTokenLength else {
                    throw fail("admin.tokens[\(i)].token: at least \(Self.minimumTokenLength) characters")
                }
                guard secrets.insert(token.token).inserted else { throw fail("admin.tokens[\(i)].token: the same token is given twice") }
            }
        }
    }
}

/// What the core hands to the admin server it starts (see ``CoreServer/init(configuration:logger:clock:admin:)``).
public struct CoreAdminContext: Sendable {
    public var settings: CoreConfiguration.Admin
    public var store: any Store
    public var engine: CoreEngine
    public var provisioning: ProvisioningService?
    public var campaigns: CampaignRunner?
    /// Reaches a connected device's eUICC (profile operations on request).
    public var profileLinks: (@Sendable (String) -> (any EUICCLink)?)?
    public var logger: Logger
    public var clock: @Sendable () -> Int64

    public init(settings: CoreConfiguration.Admin, store: any Store, engine: CoreEngine, provisioning: ProvisioningService?,
                campaigns: CampaignRunner? = nil, profileLinks: (@Sendable (String) -> (any EUICCLink)?)? = nil,
                logger: Logger, clock: @escaping @Sendable () -> Int64) {
        self.settings = settings
        self.store = store
        self.engine = engine
        self.provisioning = provisioning
        self.campaigns = campaigns
        self.profileLinks = profileLinks
        self.logger = logger
        self.clock = clock
    }
}

/// A running admin server; the core stops it before closing its store.
public protocol CoreAdminServer: Sendable {
    var localAddress: SocketAddress { get }
    func stop() async
}

/// Starts the admin server for a core (the LPAAdmin module provides one).
public typealias CoreAdminStarter = @Sendable (CoreAdminContext) async throws -> any CoreAdminServer
