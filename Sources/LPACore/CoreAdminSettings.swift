import Foundation
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
    ///
    /// Without `tls` the API speaks plain HTTP, which is allowed on a loopback address only: bearer
    /// tokens must not cross a network in clear. With `tls` it speaks HTTPS through LPATLS.
    public struct Admin: Codable, Sendable, Equatable {
        public var host: String = "127.0.0.1"
        /// Port 0 picks a free port.
        public var port: Int = 8080
        public var tokens: [Token] = []
        /// HTTPS for the API and the console; nil: plain HTTP (loopback hosts only).
        public var tls: TLS?

        /// The admin listener's TLS: server certificate and key, and optionally a CA whose client
        /// certificates are requested (`optional`) or required (`required`) on top of bearer tokens.
        public struct TLS: Codable, Sendable, Equatable {
            public enum ClientCertificates: String, Codable, Sendable, CaseIterable {
                /// None requested.
                case none
                /// Requested; one that is sent must verify against `clientCA`.
                case optional
                /// A certificate verifying against `clientCA` is needed to connect at all.
                case required
            }

            /// PEM file: the server certificate chain, leaf first.
            public var certificate: String
            /// PEM file: the leaf's private key.
            public var privateKey: String
            /// PEM file: CAs for client certificates (needed unless `clientCertificates` is `none`).
            public var clientCA: String?
            /// Default: `optional` when `clientCA` is set, `none` otherwise.
            public var clientCertificates: ClientCertificates

            public init(certificate: String, privateKey: String, clientCA: String? = nil, clientCertificates: ClientCertificates? = nil) {
                self.certificate = certificate
                self.privateKey = privateKey
                self.clientCA = clientCA
                self.clientCertificates = clientCertificates ?? (clientCA == nil ? .none : .optional)
            }

            enum CodingKeys: String, CodingKey, CaseIterable { case certificate, privateKey, clientCA, clientCertificates }

            public init(from decoder: Decoder) throws {
                let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
                self.init(certificate: try c.decode(String.self, forKey: .certificate),
                          privateKey: try c.decode(String.self, forKey: .privateKey),
                          clientCA: try c.decodeIfPresent(String.self, forKey: .clientCA),
                          clientCertificates: try c.decodeIfPresent(ClientCertificates.self, forKey: .clientCertificates))
            }
        }

        /// Whether `host` names this machine only (127.0.0.0/8, `::1`, `localhost`), where plain HTTP is allowed.
        public static func isLoopback(_ host: String) -> Bool {
            let h = host.lowercased().trimmingCharacters(in: CharacterSet(charactersIn: "[]"))
            if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
            let parts = h.split(separator: ".", omittingEmptySubsequences: false)
            return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
        }

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

        enum CodingKeys: String, CodingKey, CaseIterable { case host, port, tokens, tls }

        public init(host: String = "127.0.0.1", port: Int = 8080, tokens: [Token] = [], tls: TLS? = nil) {
            self.host = host
            self.port = port
            self.tokens = tokens
            self.tls = tls
        }

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
            tokens = try c.decodeIfPresent([Token].self, forKey: .tokens) ?? d.tokens
            tls = try c.decodeIfPresent(TLS.self, forKey: .tls)
        }

        /// Shortest token accepted: guessing one must stay out of reach.
        public static let minimumTokenLength = 16

        func validate() throws {
            func fail(_ s: String) -> ConfigurationError { ConfigurationError(file: "", detail: s) }
            guard (0...65535).contains(port) else { throw fail("admin.port: \(port) is not a TCP port") }
            if let tls {
                if tls.clientCertificates != .none, (tls.clientCA ?? "").isEmpty {
                    throw fail("admin.tls.clientCA: needed when admin.tls.clientCertificates is \(tls.clientCertificates.rawValue)")
                }
            } else if !Self.isLoopback(host) {
                throw fail("admin.host: '\(host)' is not a loopback address, and plain HTTP would send the bearer tokens in clear;"
                    + " add admin.tls (certificate, privateKey; `lpa-sim pki init` writes admin.pem and admin.key) or listen on 127.0.0.1")
            }
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
