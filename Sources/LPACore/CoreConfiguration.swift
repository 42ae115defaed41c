import Foundation
import LPAConfig
import LPAOperator
import LPAStore
import LPATLS
import NIOCore

/// Settings of one `lpa-core` process. Every field has a default that runs on one machine; a YAML
/// file overrides any subset (keys as below, in camelCase), and command-line flags override the file.
public struct CoreConfiguration: ConfigurationFile, Equatable {
    /// Where edges connect (the edge–core RPC).
    public var listen = Listen()
    public var tls = TLS()
    /// Store URL: `sqlite:///path/file.db`, a plain path, `sqlite::memory:`, or `postgres://user:pass@host:port/db`.
    public var store: String = "var/lpa-core.db"
    /// Library file (device models, rules, count settings) imported at every start; empty = none.
    public var libraries: String = ""
    public var presence = Presence()
    public var nodeID: String = ProcessInfo.processInfo.hostName
    /// Profile downloads (S120–S150): limits, timeouts and the SM-DP+ endpoints.
    public var provisioning = Provisioning()
    /// How much per-event history the store keeps, and how abandoned fleet imports are cleared.
    public var retention = Retention()
    /// The admin HTTP API; nil (no `admin` section) serves none.
    public var admin: Admin?
    /// Signed job events POSTed to the operator's endpoints; nil (no `webhooks` section) sends none.
    public var webhooks: Webhooks?

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, tls, store, libraries, presence, nodeID, provisioning, retention, admin, webhooks
    }

    public struct Retention: Codable, Sendable, Equatable {
        /// Newest registration attempts kept per terminal (0: all) …
        public var registrationAttemptsPerTerminal: Int = 100
        /// … and none older than this (0: no age limit).
        public var registrationAttemptMaxAgeDays: Int = 30
        /// Newest online/offline changes kept per terminal (0: all) …
        public var presenceChangesPerTerminal: Int = 100
        /// … and none older than this (0: no age limit).
        public var presenceChangeMaxAgeDays: Int = 30
        /// Finished provisioning jobs are removed this long after their last change (0: kept).
        public var finishedJobMaxAgeDays: Int = 365
        /// Delivered and dead webhook deliveries are removed this long after they finished (0: kept).
        public var webhookDeliveryMaxAgeDays: Int = 30
        /// How often the sweep trims (and looks for abandoned imports).
        public var sweepSeconds: Int = 60
        /// A fleet import still staging this long after it began is abandoned: rejected and its rows
        /// removed. On SQLite every staging import found at start is abandoned (one process owns the file).
        public var abandonedImportSeconds: Int = 3600

        enum CodingKeys: String, CodingKey, CaseIterable {
            case registrationAttemptsPerTerminal, registrationAttemptMaxAgeDays, presenceChangesPerTerminal, presenceChangeMaxAgeDays
            case finishedJobMaxAgeDays, webhookDeliveryMaxAgeDays, sweepSeconds, abandonedImportSeconds
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            registrationAttemptsPerTerminal = try c.decodeIfPresent(Int.self, forKey: .registrationAttemptsPerTerminal) ?? d.registrationAttemptsPerTerminal
            registrationAttemptMaxAgeDays = try c.decodeIfPresent(Int.self, forKey: .registrationAttemptMaxAgeDays) ?? d.registrationAttemptMaxAgeDays
            presenceChangesPerTerminal = try c.decodeIfPresent(Int.self, forKey: .presenceChangesPerTerminal) ?? d.presenceChangesPerTerminal
            presenceChangeMaxAgeDays = try c.decodeIfPresent(Int.self, forKey: .presenceChangeMaxAgeDays) ?? d.presenceChangeMaxAgeDays
            finishedJobMaxAgeDays = try c.decodeIfPresent(Int.self, forKey: .finishedJobMaxAgeDays) ?? d.finishedJobMaxAgeDays
            webhookDeliveryMaxAgeDays = try c.decodeIfPresent(Int.self, forKey: .webhookDeliveryMaxAgeDays) ?? d.webhookDeliveryMaxAgeDays
            sweepSeconds = try c.decodeIfPresent(Int.self, forKey: .sweepSeconds) ?? d.sweepSeconds
            abandonedImportSeconds = try c.decodeIfPresent(Int.self, forKey: .abandonedImportSeconds) ?? d.abandonedImportSeconds
        }

        /// The store's policy for these settings.
        public var policy: RetentionPolicy {
            RetentionPolicy(
                registrationAttemptsPerTerminal: registrationAttemptsPerTerminal, registrationAttemptMaxAgeSeconds: Int64(registrationAttemptMaxAgeDays) * 86_400,
                presenceChangesPerTerminal: presenceChangesPerTerminal, presenceChangeMaxAgeSeconds: Int64(presenceChangeMaxAgeDays) * 86_400,
                finishedJobMaxAgeSeconds: Int64(finishedJobMaxAgeDays) * 86_400,
                finishedWebhookDeliveryMaxAgeSeconds: Int64(webhookDeliveryMaxAgeDays) * 86_400)
        }
    }

    public struct Listen: Codable, Sendable, Equatable {
        public var host: String = "127.0.0.1"
        public var port: Int = 7443

        enum CodingKeys: String, CodingKey, CaseIterable { case host, port }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
        }
    }

    public struct TLS: Codable, Sendable, Equatable {
        public var certificate: String = "pki/core.pem"
        public var privateKey: String = "pki/core.key"
        /// The infrastructure CA bundle that signs the edges' client certificates. Never the CA of
        /// the device certificates: whatever chains to it may act as an edge.
        public var clientCA: String = "pki/infra-ca.pem"
        public var requireClientCertificate: Bool = true
        /// URI an edge's client certificate must carry in its subject alternative names
        /// (``InfrastructureRole/edge``); empty accepts any certificate that chains to `clientCA`.
        public var requiredRole: String = InfrastructureRole.edge

        enum CodingKeys: String, CodingKey, CaseIterable { case certificate, privateKey, clientCA, requireClientCertificate, requiredRole }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            certificate = try c.decodeIfPresent(String.self, forKey: .certificate) ?? d.certificate
            privateKey = try c.decodeIfPresent(String.self, forKey: .privateKey) ?? d.privateKey
            clientCA = try c.decodeIfPresent(String.self, forKey: .clientCA) ?? d.clientCA
            requireClientCertificate = try c.decodeIfPresent(Bool.self, forKey: .requireClientCertificate) ?? d.requireClientCertificate
            requiredRole = try c.decodeIfPresent(String.self, forKey: .requiredRole) ?? d.requiredRole
        }
    }

    public struct Presence: Codable, Sendable, Equatable {
        /// Misses in a row that make a terminal offline.
        public var missLimit: Int = 3
        /// How late heartbeat counts can reach the core (the edges' counting window).
        public var reportDelaySeconds: Int = 60
        /// Time after a core start before silence is counted.
        public var graceSeconds: Int = 60
        /// How often misses are counted.
        public var sweepSeconds: Int = 5
        /// Interval assumed for terminals not yet heard since the start.
        public var defaultIntervalSeconds: Int = 60

        enum CodingKeys: String, CodingKey, CaseIterable {
            case missLimit, reportDelaySeconds, graceSeconds, sweepSeconds, defaultIntervalSeconds
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            missLimit = try c.decodeIfPresent(Int.self, forKey: .missLimit) ?? d.missLimit
            reportDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .reportDelaySeconds) ?? d.reportDelaySeconds
            graceSeconds = try c.decodeIfPresent(Int.self, forKey: .graceSeconds) ?? d.graceSeconds
            sweepSeconds = try c.decodeIfPresent(Int.self, forKey: .sweepSeconds) ?? d.sweepSeconds
            defaultIntervalSeconds = try c.decodeIfPresent(Int.self, forKey: .defaultIntervalSeconds) ?? d.defaultIntervalSeconds
        }
    }

    public struct Provisioning: Codable, Sendable, Equatable {
        /// Most downloads at once on this core.
        public var maximumConcurrentJobs: Int = 64
        /// Most downloads at once against one SM-DP+.
        public var maximumConcurrentJobsPerSMDP: Int = 32
        /// Time the device has to come back on the new profile after enable.
        public var returnTimeoutSeconds: Int = 600
        /// Failed downloads of one requirement before automation gives up on a device.
        public var maximumAttempts: Int = 3
        /// Time between a failed download and the next automatic one.
        public var retryDelaySeconds: Int = 60
        /// STORE DATA block size (6–255).
        public var storeDataBlockSize: Int = 255
        /// Most APDU bytes per terminal batch; larger packages take more round trips.
        public var maximumBatchBytes: Int = 192 * 1024
        /// How often timeouts and notification retries are looked at.
        public var tickSeconds: Int = 1
        /// Configured SM-DP+ endpoints (address, trusted roots, timeouts).
        public var operators: [OperatorEndpoint] = []
        /// Roots trusted for SM-DP+ addresses not listed in `operators`; empty: such addresses are refused.
        public var defaultTrustedRoots: String = ""

        enum CodingKeys: String, CodingKey, CaseIterable {
            case maximumConcurrentJobs, maximumConcurrentJobsPerSMDP, returnTimeoutSeconds, maximumAttempts, retryDelaySeconds
            case storeDataBlockSize, maximumBatchBytes, tickSeconds, operators, defaultTrustedRoots
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            maximumConcurrentJobs = try c.decodeIfPresent(Int.self, forKey: .maximumConcurrentJobs) ?? d.maximumConcurrentJobs
            maximumConcurrentJobsPerSMDP = try c.decodeIfPresent(Int.self, forKey: .maximumConcurrentJobsPerSMDP) ?? d.maximumConcurrentJobsPerSMDP
            returnTimeoutSeconds = try c.decodeIfPresent(Int.self, forKey: .returnTimeoutSeconds) ?? d.returnTimeoutSeconds
            maximumAttempts = try c.decodeIfPresent(Int.self, forKey: .maximumAttempts) ?? d.maximumAttempts
            retryDelaySeconds = try c.decodeIfPresent(Int.self, forKey: .retryDelaySeconds) ?? d.retryDelaySeconds
            storeDataBlockSize = try c.decodeIfPresent(Int.self, forKey: .storeDataBlockSize) ?? d.storeDataBlockSize
            maximumBatchBytes = try c.decodeIfPresent(Int.self, forKey: .maximumBatchBytes) ?? d.maximumBatchBytes
            tickSeconds = try c.decodeIfPresent(Int.self, forKey: .tickSeconds) ?? d.tickSeconds
            operators = try c.decodeIfPresent([OperatorEndpoint].self, forKey: .operators) ?? d.operators
            defaultTrustedRoots = try c.decodeIfPresent(String.self, forKey: .defaultTrustedRoots) ?? d.defaultTrustedRoots
        }

        /// The service settings these values describe.
        public var serviceSettings: ProvisioningService.Settings {
            ProvisioningService.Settings(
                maximumConcurrentJobs: maximumConcurrentJobs, maximumConcurrentJobsPerSMDP: maximumConcurrentJobsPerSMDP,
                returnTimeoutSeconds: Int64(returnTimeoutSeconds), maximumAttempts: maximumAttempts,
                retryDelaySeconds: Int64(retryDelaySeconds),
                runner: DownloadRunner.Settings(blockSize: storeDataBlockSize, maximumBatchBytes: maximumBatchBytes))
        }
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
        let d = Self()
        provisioning = try c.decodeIfPresent(Provisioning.self, forKey: .provisioning) ?? d.provisioning
        listen = try c.decodeIfPresent(Listen.self, forKey: .listen) ?? d.listen
        tls = try c.decodeIfPresent(TLS.self, forKey: .tls) ?? d.tls
        store = try c.decodeIfPresent(String.self, forKey: .store) ?? d.store
        libraries = try c.decodeIfPresent(String.self, forKey: .libraries) ?? d.libraries
        presence = try c.decodeIfPresent(Presence.self, forKey: .presence) ?? d.presence
        retention = try c.decodeIfPresent(Retention.self, forKey: .retention) ?? d.retention
        nodeID = try c.decodeIfPresent(String.self, forKey: .nodeID) ?? d.nodeID
        admin = try c.decodeIfPresent(Admin.self, forKey: .admin)
        webhooks = try c.decodeIfPresent(Webhooks.self, forKey: .webhooks)
    }

    public func validate() throws {
        func fail(_ s: String) -> ConfigurationError { ConfigurationError(file: "", detail: s) }
        guard (0...65535).contains(listen.port) else { throw fail("listen.port: \(listen.port) is not a TCP port") }
        guard !store.isEmpty else { throw fail("store: must not be empty") }
        guard provisioning.maximumConcurrentJobs > 0, provisioning.maximumConcurrentJobsPerSMDP > 0 else {
            throw fail("provisioning.maximumConcurrentJobs and maximumConcurrentJobsPerSMDP: must be positive")
        }
        guard (6...255).contains(provisioning.storeDataBlockSize) else {
            throw fail("provisioning.storeDataBlockSize: \(provisioning.storeDataBlockSize) is outside 6...255")
        }
        guard provisioning.maximumBatchBytes >= 1024 else { throw fail("provisioning.maximumBatchBytes: at least 1024") }
        guard provisioning.tickSeconds > 0, provisioning.returnTimeoutSeconds > 0 else {
            throw fail("provisioning.tickSeconds and returnTimeoutSeconds: must be positive")
        }
        guard presence.missLimit > 0 else { throw fail("presence.missLimit: must be positive") }
        guard presence.sweepSeconds > 0 else { throw fail("presence.sweepSeconds: must be positive") }
        guard presence.defaultIntervalSeconds > 0 else { throw fail("presence.defaultIntervalSeconds: must be positive") }
        guard presence.reportDelaySeconds >= 0, presence.graceSeconds >= 0 else {
            throw fail("presence.reportDelaySeconds and presence.graceSeconds: must not be negative")
        }
        let r = retention
        guard [r.registrationAttemptsPerTerminal, r.registrationAttemptMaxAgeDays, r.presenceChangesPerTerminal, r.presenceChangeMaxAgeDays,
               r.finishedJobMaxAgeDays, r.webhookDeliveryMaxAgeDays].allSatisfy({ $0 >= 0 }) else {
            throw fail("retention: limits must not be negative (0 keeps everything)")
        }
        guard r.sweepSeconds > 0, r.abandonedImportSeconds > 0 else {
            throw fail("retention.sweepSeconds and retention.abandonedImportSeconds: must be positive")
        }
        try admin?.validate()
        try webhooks?.validate()
    }

    public var presencePolicy: OnlineDictionary.Policy {
        OnlineDictionary.Policy(missLimit: presence.missLimit, reportDelaySeconds: Int64(presence.reportDelaySeconds),
                                graceSeconds: Int64(presence.graceSeconds), defaultIntervalSeconds: presence.defaultIntervalSeconds)
    }

    /// The TLS server configuration edges connect to.
    public func tlsConfiguration() -> TLSConfiguration {
        var c = TLSConfiguration.server(
            certificateChain: .file(tls.certificate), privateKey: .file(tls.privateKey),
            trustRoots: tls.requireClientCertificate ? .file(tls.clientCA) : nil,
            peerVerification: tls.requireClientCertificate ? .required : .none)
        if tls.requireClientCertificate, !tls.requiredRole.isEmpty { c.requiredPeerURI = tls.requiredRole }
        return c
    }
}
