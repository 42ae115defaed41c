import Foundation
import LPAConfig
import LPATLS
import NIOCore

/// Settings of one `lpa-edge` process. Every field has a default that runs on one machine; a YAML
/// file overrides any subset (keys as below, in camelCase), and command-line flags override the file.
public struct EdgeConfiguration: ConfigurationFile, Equatable {
    /// Where terminals connect.
    public var listen: Listen = Listen()
    public var tls: TLS = TLS()
    public var limits: Limits = Limits()
    public var heartbeat: Heartbeat = Heartbeat()
    /// The lpa-core processes this edge reports to; with no addresses the edge runs standalone.
    public var core: CoreLinkSettings = CoreLinkSettings()
    /// Which certificate subject attributes bind which Hello identity fields.
    public var identityBinding: [IdentityBindingRule] = IdentityBindingRule.defaults
    /// Seconds granted to terminals to leave on shutdown before the rest are closed.
    public var drainSeconds: Double = 10
    /// A name for this edge in logs and (later) the core's routing table.
    public var nodeID: String = ProcessInfo.processInfo.hostName
    /// The Prometheus endpoint (`GET /metrics`, plain HTTP) that `lpa-edge` serves.
    public var metrics: Metrics = Metrics()
    /// Threads serving terminals; 0 runs one per CPU core.
    public var eventLoopThreads: Int = 0

    enum CodingKeys: String, CodingKey, CaseIterable {
        case listen, tls, limits, heartbeat, core, identityBinding, drainSeconds, nodeID, metrics, eventLoopThreads
    }

    public struct Metrics: Codable, Sendable, Equatable {
        public var enabled: Bool = true
        public var host: String = "127.0.0.1"
        /// Port 0 picks a free port.
        public var port: Int = 9464

        enum CodingKeys: String, CodingKey, CaseIterable { case enabled, host, port }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            enabled = try c.decodeIfPresent(Bool.self, forKey: .enabled) ?? d.enabled
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
        }
    }

    public struct Listen: Codable, Sendable, Equatable {
        public var host: String = "127.0.0.1"
        public var port: Int = 8443
        /// Listen backlog; a burst of reconnecting devices needs a deep one.
        public var backlog: Int = 4096
        enum CodingKeys: String, CodingKey, CaseIterable {
            case host, port, backlog
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            host = try c.decodeIfPresent(String.self, forKey: .host) ?? d.host
            port = try c.decodeIfPresent(Int.self, forKey: .port) ?? d.port
            backlog = try c.decodeIfPresent(Int.self, forKey: .backlog) ?? d.backlog
        }
    }

    public struct TLS: Codable, Sendable, Equatable {
        public var certificate: String = "pki/edge.pem"
        public var privateKey: String = "pki/edge.key"
        /// CA bundle that signs device certificates.
        public var clientCA: String = "pki/fleet-ca.pem"
        /// Require device certificates (mutual TLS). Turning this off also turns off identity binding.
        public var requireClientCertificate: Bool = true
        public var handshakeTimeoutSeconds: Double = 10
        public var minimumVersion: String = "TLSv1.2"
        public var groups: String = "P-256:X25519:brainpoolP256r1"
        public var cipherList: String?
        public var cipherSuites: String?
        public var sessionResumption: Bool = true
        /// After a TLS 1.3 handshake, free OpenSSL's connection object and protect records
        /// directly (about 0.3 KiB of TLS state per idle terminal instead of about 20 KiB).
        public var compactSessions: Bool = true
        /// File with the secret every edge of a deployment shares (≥ 32 bytes, e.g.
        /// `openssl rand -base64 48`): session tickets then resume on any edge. Unset: tickets
        /// resume only on the edge that issued them.
        public var ticketKeyFile: String?
        /// How long one derived ticket key seals new tickets; tickets stay valid for two periods.
        public var ticketKeyRotationSeconds: Int = 43_200
        enum CodingKeys: String, CodingKey, CaseIterable {
            case certificate, privateKey, clientCA, requireClientCertificate, handshakeTimeoutSeconds, minimumVersion, groups, cipherList, cipherSuites, sessionResumption, compactSessions
            case ticketKeyFile, ticketKeyRotationSeconds
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            certificate = try c.decodeIfPresent(String.self, forKey: .certificate) ?? d.certificate
            privateKey = try c.decodeIfPresent(String.self, forKey: .privateKey) ?? d.privateKey
            clientCA = try c.decodeIfPresent(String.self, forKey: .clientCA) ?? d.clientCA
            requireClientCertificate = try c.decodeIfPresent(Bool.self, forKey: .requireClientCertificate) ?? d.requireClientCertificate
            handshakeTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .handshakeTimeoutSeconds) ?? d.handshakeTimeoutSeconds
            minimumVersion = try c.decodeIfPresent(String.self, forKey: .minimumVersion) ?? d.minimumVersion
            groups = try c.decodeIfPresent(String.self, forKey: .groups) ?? d.groups
            cipherList = try c.decodeIfPresent(String.self, forKey: .cipherList)
            cipherSuites = try c.decodeIfPresent(String.self, forKey: .cipherSuites)
            sessionResumption = try c.decodeIfPresent(Bool.self, forKey: .sessionResumption) ?? d.sessionResumption
            compactSessions = try c.decodeIfPresent(Bool.self, forKey: .compactSessions) ?? d.compactSessions
            ticketKeyFile = try c.decodeIfPresent(String.self, forKey: .ticketKeyFile)
            ticketKeyRotationSeconds = try c.decodeIfPresent(Int.self, forKey: .ticketKeyRotationSeconds) ?? d.ticketKeyRotationSeconds
        }
    }

    public struct Limits: Codable, Sendable, Equatable {
        /// Open connections accepted at once; further ones are closed on accept. 0 (the default):
        /// derived from the open-file limit (``connectionCap(openFiles:)``).
        public var maxConnections: Int = 0
        /// New connections per second per remote address (token bucket rate) …
        public var handshakesPerSecondPerAddress: Double = 5_000
        /// … and the burst the bucket holds.
        public var handshakeBurstPerAddress: Double = 20_000
        /// Largest frame accepted from a terminal.
        public var maxFrameBytes: Int = 256 * 1024
        /// Largest frame accepted before Welcome, where only Hello and Goodbye are allowed: the
        /// largest valid Hello (every field at its protocol limit) is about 18 KiB.
        public var helloMaxFrameBytes: Int = 24 * 1024
        /// Bytes queued towards one terminal before it counts as slow (reads from it stop).
        public var writeBufferHighWaterBytes: Int = 64 * 1024
        public var writeBufferLowWaterBytes: Int = 16 * 1024
        /// Seconds a terminal has after the TLS handshake to send Hello.
        public var helloTimeoutSeconds: Double = 15
        /// Seconds a session the edge ends (Reject or Goodbye) stays open for that last frame to be
        /// written; then it is closed whether the terminal read it or not.
        public var closeTimeoutSeconds: Double = 2
        enum CodingKeys: String, CodingKey, CaseIterable {
            case maxConnections, handshakesPerSecondPerAddress, handshakeBurstPerAddress, maxFrameBytes, writeBufferHighWaterBytes, writeBufferLowWaterBytes, helloTimeoutSeconds
            case closeTimeoutSeconds, helloMaxFrameBytes
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            maxConnections = try c.decodeIfPresent(Int.self, forKey: .maxConnections) ?? d.maxConnections
            handshakesPerSecondPerAddress = try c.decodeIfPresent(Double.self, forKey: .handshakesPerSecondPerAddress) ?? d.handshakesPerSecondPerAddress
            handshakeBurstPerAddress = try c.decodeIfPresent(Double.self, forKey: .handshakeBurstPerAddress) ?? d.handshakeBurstPerAddress
            maxFrameBytes = try c.decodeIfPresent(Int.self, forKey: .maxFrameBytes) ?? d.maxFrameBytes
            helloMaxFrameBytes = try c.decodeIfPresent(Int.self, forKey: .helloMaxFrameBytes) ?? d.helloMaxFrameBytes
            writeBufferHighWaterBytes = try c.decodeIfPresent(Int.self, forKey: .writeBufferHighWaterBytes) ?? d.writeBufferHighWaterBytes
            writeBufferLowWaterBytes = try c.decodeIfPresent(Int.self, forKey: .writeBufferLowWaterBytes) ?? d.writeBufferLowWaterBytes
            helloTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .helloTimeoutSeconds) ?? d.helloTimeoutSeconds
            closeTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .closeTimeoutSeconds) ?? d.closeTimeoutSeconds
        }

        /// File descriptors kept free of terminal connections for everything else the process
        /// opens (core links, metrics, files): a twentieth of the limit, at least 64, at most 1,024.
        public static func reservedFileDescriptors(openFiles: Int) -> Int {
            min(1_024, max(64, openFiles / 20))
        }

        /// The connection cap in force under an open-file limit of `openFiles`: `maxConnections`
        /// when set, otherwise what the limit leaves after ``reservedFileDescriptors(openFiles:)``.
        /// `warning` says when a configured cap is more than the limit can hold (accepts beyond it
        /// fail with EMFILE instead of being refused).
        public func connectionCap(openFiles: Int) -> (cap: Int, warning: String?) {
            let available = max(1, openFiles - Self.reservedFileDescriptors(openFiles: openFiles))
            guard maxConnections > 0 else { return (available, nil) }
            guard maxConnections > available else { return (maxConnections, nil) }
            return (maxConnections, "limits.maxConnections \(maxConnections) exceeds the \(available) connections the open-file "
                + "limit of \(openFiles) leaves room for: raise the limit (ulimit -n, LimitNOFILE=, docker --ulimit nofile=) "
                + "or lower maxConnections (0 derives it from the limit)")
        }
    }

    public struct Heartbeat: Codable, Sendable, Equatable {
        /// Interval sent in Welcome until the core decides otherwise.
        public var defaultIntervalSeconds: Int = 60
        /// History limit sent in Welcome until the core decides otherwise.
        public var defaultHistoryLimit: Int = 100
        /// A terminal silent for this many intervals is dropped.
        public var missedIntervalsBeforeDrop: Int = 3
        /// Length of one heartbeat counting window.
        public var countWindowSeconds: Int = 60
        /// Heartbeats one terminal may send per second, sustained (0: no limit), and at once. Beyond
        /// that a heartbeat is dropped (neither acknowledged nor counted; `lpa_edge_heartbeats_excess_total`) …
        public var maxPerSecond: Double = 1
        public var burst: Int = 20
        /// … and after this many dropped heartbeats the session ends with `PROTOCOL_VIOLATION`.
        public var excessBeforeClose: Int = 20
        enum CodingKeys: String, CodingKey, CaseIterable {
            case defaultIntervalSeconds, defaultHistoryLimit, missedIntervalsBeforeDrop, countWindowSeconds
            case maxPerSecond, burst, excessBeforeClose
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            defaultIntervalSeconds = try c.decodeIfPresent(Int.self, forKey: .defaultIntervalSeconds) ?? d.defaultIntervalSeconds
            defaultHistoryLimit = try c.decodeIfPresent(Int.self, forKey: .defaultHistoryLimit) ?? d.defaultHistoryLimit
            missedIntervalsBeforeDrop = try c.decodeIfPresent(Int.self, forKey: .missedIntervalsBeforeDrop) ?? d.missedIntervalsBeforeDrop
            countWindowSeconds = try c.decodeIfPresent(Int.self, forKey: .countWindowSeconds) ?? d.countWindowSeconds
            maxPerSecond = try c.decodeIfPresent(Double.self, forKey: .maxPerSecond) ?? d.maxPerSecond
            burst = try c.decodeIfPresent(Int.self, forKey: .burst) ?? d.burst
            excessBeforeClose = try c.decodeIfPresent(Int.self, forKey: .excessBeforeClose) ?? d.excessBeforeClose
        }
    }

    public struct CoreLinkSettings: Codable, Sendable, Equatable {
        /// `HOST:PORT` of each core; terminals are spread over them by a stable hash of their id.
        public var addresses: [String] = []
        /// Client certificate and key the edge presents to the cores (mutual TLS).
        public var certificate: String = "pki/edge-client.pem"
        public var privateKey: String = "pki/edge-client.key"
        /// The infrastructure CA that signed the cores' certificates (never the device CA).
        public var trustRoots: String = "pki/infra-ca.pem"
        /// URI a core's certificate must carry in its subject alternative names
        /// (``InfrastructureRole/core``); empty accepts any certificate that chains to `trustRoots`.
        public var requiredRole: String = InfrastructureRole.core
        /// Name checked against the cores' certificates.
        public var serverName: String = "localhost"
        public var callTimeoutSeconds: Double = 10

        enum CodingKeys: String, CodingKey, CaseIterable {
            case addresses, certificate, privateKey, trustRoots, requiredRole, serverName, callTimeoutSeconds
        }

        public init() {}

        public init(from decoder: Decoder) throws {
            let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
            let d = Self()
            addresses = try c.decodeIfPresent([String].self, forKey: .addresses) ?? d.addresses
            certificate = try c.decodeIfPresent(String.self, forKey: .certificate) ?? d.certificate
            privateKey = try c.decodeIfPresent(String.self, forKey: .privateKey) ?? d.privateKey
            trustRoots = try c.decodeIfPresent(String.self, forKey: .trustRoots) ?? d.trustRoots
            requiredRole = try c.decodeIfPresent(String.self, forKey: .requiredRole) ?? d.requiredRole
            serverName = try c.decodeIfPresent(String.self, forKey: .serverName) ?? d.serverName
            callTimeoutSeconds = try c.decodeIfPresent(Double.self, forKey: .callTimeoutSeconds) ?? d.callTimeoutSeconds
        }
    }

    public init() {}

    public init(from decoder: Decoder) throws {
        let c = try ConfigurationDecoding.container(decoder, CodingKeys.self)
        let d = EdgeConfiguration()
        listen = try c.decodeIfPresent(Listen.self, forKey: .listen) ?? d.listen
        tls = try c.decodeIfPresent(TLS.self, forKey: .tls) ?? d.tls
        limits = try c.decodeIfPresent(Limits.self, forKey: .limits) ?? d.limits
        heartbeat = try c.decodeIfPresent(Heartbeat.self, forKey: .heartbeat) ?? d.heartbeat
        core = try c.decodeIfPresent(CoreLinkSettings.self, forKey: .core) ?? d.core
        identityBinding = try c.decodeIfPresent([IdentityBindingRule].self, forKey: .identityBinding) ?? d.identityBinding
        drainSeconds = try c.decodeIfPresent(Double.self, forKey: .drainSeconds) ?? d.drainSeconds
        nodeID = try c.decodeIfPresent(String.self, forKey: .nodeID) ?? d.nodeID
        metrics = try c.decodeIfPresent(Metrics.self, forKey: .metrics) ?? d.metrics
        eventLoopThreads = try c.decodeIfPresent(Int.self, forKey: .eventLoopThreads) ?? d.eventLoopThreads
    }

    /// Checks ranges that decoding alone cannot.
    public func validate() throws {
        func fail(_ s: String) -> ConfigurationError { ConfigurationError(file: "", detail: s) }
        guard (0...65535).contains(listen.port) else { throw fail("listen.port: \(listen.port) is not a TCP port") }
        guard (0...65535).contains(metrics.port) else { throw fail("metrics.port: \(metrics.port) is not a TCP port") }
        guard (0...1024).contains(eventLoopThreads) else { throw fail("eventLoopThreads: must be between 0 (one per core) and 1024") }
        guard limits.maxConnections >= 0 else { throw fail("limits.maxConnections: must be 0 (derived from the open-file limit) or positive") }
        guard limits.maxFrameBytes >= 64, limits.maxFrameBytes <= 2 * 1024 * 1024 else {
            throw fail("limits.maxFrameBytes: must be between 64 and 2097152")
        }
        guard limits.helloMaxFrameBytes >= 64, limits.helloMaxFrameBytes <= limits.maxFrameBytes else {
            throw fail("limits.helloMaxFrameBytes: must be between 64 and limits.maxFrameBytes")
        }
        guard limits.writeBufferLowWaterBytes < limits.writeBufferHighWaterBytes else {
            throw fail("limits.writeBufferLowWaterBytes: must be below writeBufferHighWaterBytes")
        }
        guard limits.closeTimeoutSeconds > 0, limits.closeTimeoutSeconds <= 300 else {
            throw fail("limits.closeTimeoutSeconds: must be above 0 and at most 300")
        }
        guard heartbeat.defaultIntervalSeconds > 0 else { throw fail("heartbeat.defaultIntervalSeconds: must be positive") }
        guard heartbeat.missedIntervalsBeforeDrop > 0 else { throw fail("heartbeat.missedIntervalsBeforeDrop: must be positive") }
        guard heartbeat.countWindowSeconds > 0 else { throw fail("heartbeat.countWindowSeconds: must be positive") }
        guard heartbeat.maxPerSecond >= 0 else { throw fail("heartbeat.maxPerSecond: must be 0 (no limit) or positive") }
        guard heartbeat.burst >= 1 else { throw fail("heartbeat.burst: must be at least 1") }
        guard heartbeat.excessBeforeClose >= 1 else { throw fail("heartbeat.excessBeforeClose: must be at least 1") }
        for (i, address) in core.addresses.enumerated() {
            guard let colon = address.lastIndex(of: ":"), let port = Int(address[address.index(after: colon)...]), (1...65535).contains(port) else {
                throw fail("core.addresses[\(i)]: '\(address)' is not HOST:PORT")
            }
        }
        guard core.callTimeoutSeconds > 0 else { throw fail("core.callTimeoutSeconds: must be positive") }
        guard TLSConfiguration.ProtocolVersion(rawValue: tls.minimumVersion) != nil else {
            throw fail("tls.minimumVersion: '\(tls.minimumVersion)' is not TLSv1.2 or TLSv1.3")
        }
        guard tls.ticketKeyRotationSeconds >= 60 else { throw fail("tls.ticketKeyRotationSeconds: must be at least 60") }
    }

    /// The TLS client configuration of the link to the cores: this edge's certificate, the cores'
    /// infrastructure CA and the role their certificates must carry.
    public func coreLinkTLSConfiguration() -> TLSConfiguration {
        var c = TLSConfiguration.client(
            trustRoots: .file(core.trustRoots), certificateChain: .file(core.certificate), privateKey: .file(core.privateKey))
        c.handshakeTimeout = .seconds(10)
        c.requiredPeerURI = core.requiredRole.isEmpty ? nil : core.requiredRole
        return c
    }

    /// The TLS server configuration this edge listens with.
    ///
    /// - Throws: ``TLSError`` when `tls.ticketKeyFile` cannot be read or holds too short a secret.
    public func tlsConfiguration() throws -> TLSConfiguration {
        var c = TLSConfiguration.server(
            certificateChain: .file(tls.certificate),
            privateKey: .file(tls.privateKey),
            trustRoots: tls.requireClientCertificate ? .file(tls.clientCA) : nil,
            peerVerification: tls.requireClientCertificate ? .required : .none)
        c.handshakeTimeout = .nanoseconds(Int64(tls.handshakeTimeoutSeconds * 1e9))
        c.minimumVersion = TLSConfiguration.ProtocolVersion(rawValue: tls.minimumVersion) ?? .tls12
        c.groups = tls.groups
        if let list = tls.cipherList { c.cipherList = list }
        if let suites = tls.cipherSuites { c.cipherSuites = suites }
        c.sessionResumption = tls.sessionResumption
        c.compactSessions = tls.compactSessions
        if let file = tls.ticketKeyFile {
            c.ticketKeys = try TLSTicketKeys(file: file, rotationSeconds: tls.ticketKeyRotationSeconds)
        }
        return c
    }
}

