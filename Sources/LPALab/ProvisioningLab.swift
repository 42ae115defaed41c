import Foundation
import LPACore
import LPADomain
import LPAEdge
import LPAIdentity
import LPAOperator
import LPASimKit
import LPAStore
import Logging
import NIOCore
import NIOPosix
import TerminalProtocol

/// Everything of a provisioning run on one machine: the SM-DP+ simulator (or an external SM-DP+), lpa-core
/// on SQLite with the demo libraries, lpa-edge linked to it, and a fleet of terminals each carrying a
/// virtual eUICC — the whole S110–S150 flow, as `lpa-sim demo`, `lpa-sim bench provision` and the
/// end-to-end tests run it.
public final class ProvisioningLab: @unchecked Sendable {
    public private(set) var configuration: LabConfiguration
    private let logger: Logger

    public private(set) var core: CoreServer?
    public private(set) var edge: EdgeServer?
    private var link: RPCCoreLink?
    public private(set) var smdp: SMDPServer?
    public private(set) var fleet: FleetSimulator?
    public private(set) var smdpAddress = ""
    /// The edge's TLS port for terminals.
    public private(set) var edgePort = 0
    /// The GSMA-side test PKI (CI, EUM, SM-DP+), for minting eUICCs of devices run outside the lab.
    public private(set) var rspPKI: RSPTestPKI?
    private var started = Date()

    public init(configuration: LabConfiguration, logger: Logger = Logger(label: "lpa-lab")) {
        self.configuration = configuration
        self.logger = logger
    }

    /// Starts every part and the fleet; returns when the fleet has started connecting.
    public func start(announce: (String) -> Void = { _ in }) async throws {
        let workdir = configuration.workdir
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let pkiDir = "\(workdir)/pki"
        // A folder from before the infrastructure CA existed is made anew.
        let pkiComplete = FileManager.default.fileExists(atPath: TestPKI.Layout(directory: URL(fileURLWithPath: pkiDir)).infrastructureCACertificate.path)
        if let real = configuration.euiccIdentity {
            // One terminal, numbered so that its EID is the real eUICC's.
            configuration.terminals = 1
            if !pkiComplete || (try? TestPKI.load(from: URL(fileURLWithPath: pkiDir)))?.devices.first?.identity.eid.value != real.eid {
                announce("creating a test PKI for the terminal of eUICC \(real.eid) in \(pkiDir)")
                try FileManager.default.createDirectory(atPath: pkiDir, withIntermediateDirectories: true)
                let numbering = FleetIdentity.Numbering(
                    eidPrefix: String(real.eid.prefix(30)), tac: FleetIdentity.Numbering.simulator.tac,
                    iccidIssuerPrefix: FleetIdentity.Numbering.simulator.iccidIssuerPrefix)
                try TestPKI.create(at: URL(fileURLWithPath: pkiDir), devices: 1, numbering: numbering, overwrite: true)
            }
        } else {
            if !pkiComplete || (try? TestPKI.load(from: URL(fileURLWithPath: pkiDir)))?.devices.count ?? 0 < configuration.terminals {
                announce("creating a test PKI with \(configuration.terminals) device certificates in \(pkiDir)")
                try FileManager.default.createDirectory(atPath: pkiDir, withIntermediateDirectories: true)
                try TestPKI.create(at: URL(fileURLWithPath: pkiDir), devices: configuration.terminals, overwrite: true)
            }
        }

        // The GSMA side: CI, EUM, eUICCs, SM-DP+ certificates.
        var parameters = RSPTestPKI.Parameters()
        parameters.curve = configuration.brainpool ? .brainpoolP256r1 : .p256
        let rsp = try RSPTestPKI.create(parameters)
        rspPKI = rsp

        // The SM-DP+.
        let trustedRoots: OperatorPEM
        var matchingID: String?
        if let external = configuration.externalSMDP {
            smdpAddress = external.address
            trustedRoots = .file(external.trustedRootsFile)
            matchingID = external.matchingID
        } else {
            let port = try LoopbackPort.free()
            smdpAddress = "127.0.0.1:\(port)"
            var smdpConfiguration = SMDPConfiguration(address: smdpAddress, profileTypes: [
                ProfileType(name: configuration.profileType, serviceProviderName: "ServerLPA Demo Operator",
                            profileName: "Demo IoT data", iccidPrefix: "8999001", packageSize: configuration.profileSize,
                            notificationEvents: [.install, .enable, .disable, .delete]),
            ])
            smdpConfiguration.autoOrderProfileType = configuration.profileType
            let simulator = try SMDPSimulator(pki: rsp, configuration: smdpConfiguration, logger: logger)
            if configuration.smdpFailureRate > 0 {
                var faults = SMDPFaults()
                for function in [SMDPFunction.initiateAuthentication, .authenticateClient, .getBoundProfilePackage] {
                    faults.failureRate[function] = configuration.smdpFailureRate
                }
                await simulator.setFaults(faults)
            }
            smdp = try await SMDPServer.start(simulator: simulator, host: "127.0.0.1", port: port,
                                              tls: SMDPServer.tlsConfiguration(pki: rsp), logger: logger)
            trustedRoots = .pem(rsp.ci.certificate.pem)
        }

        // lpa-core on SQLite with the demo libraries.
        let libraryFile = "\(workdir)/libraries.yaml"
        try LabLibrary.yaml(smdpAddress: smdpAddress, profileType: configuration.profileType, matchingID: matchingID)
            .write(toFile: libraryFile, atomically: true, encoding: .utf8)
        var coreConfig = CoreConfiguration()
        coreConfig.listen.port = 0
        if configuration.store.isEmpty {
            for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(workdir)/core.db\(suffix)") }
            coreConfig.store = "\(workdir)/core.db"
        } else {
            coreConfig.store = configuration.store
        }
        coreConfig.libraries = libraryFile
        coreConfig.tls.certificate = "\(pkiDir)/core.pem"
        coreConfig.tls.privateKey = "\(pkiDir)/core.key"
        coreConfig.tls.clientCA = "\(pkiDir)/infra-ca.pem"
        coreConfig.presence.reportDelaySeconds = 5
        coreConfig.presence.graceSeconds = 5
        coreConfig.presence.sweepSeconds = 1
        coreConfig.nodeID = "lab-core"
        coreConfig.provisioning.maximumConcurrentJobs = configuration.maximumConcurrentJobs
        coreConfig.provisioning.maximumConcurrentJobsPerSMDP = configuration.maximumConcurrentJobs
        coreConfig.provisioning.storeDataBlockSize = configuration.storeDataBlockSize
        coreConfig.provisioning.returnTimeoutSeconds = max(60, Int(configuration.timeoutSeconds))
        coreConfig.provisioning.retryDelaySeconds = 2
        coreConfig.provisioning.operators = [OperatorEndpoint(smdpAddress: smdpAddress, trustedRoots: trustedRoots, maxConnections: 32)]
        coreConfig.admin = configuration.admin
        let core = CoreServer(configuration: coreConfig, logger: logger, admin: configuration.adminStarter)
        let coreAddress = try await core.start()
        self.core = core

        // lpa-edge linked to it.
        var edgeConfig = EdgeConfiguration()
        edgeConfig.listen.port = 0
        edgeConfig.tls.certificate = "\(pkiDir)/edge.pem"
        edgeConfig.tls.privateKey = "\(pkiDir)/edge.key"
        edgeConfig.tls.clientCA = "\(pkiDir)/fleet-ca.pem"
        edgeConfig.heartbeat.countWindowSeconds = 5
        edgeConfig.core.addresses = ["127.0.0.1:\(coreAddress.port ?? 0)"]
        edgeConfig.core.certificate = "\(pkiDir)/edge-client.pem"
        edgeConfig.core.privateKey = "\(pkiDir)/edge-client.key"
        edgeConfig.core.trustRoots = "\(pkiDir)/infra-ca.pem"
        edgeConfig.nodeID = "lab-edge"
        let sessions = SessionTable()
        let link = try RPCCoreLink(configuration: edgeConfig, sessions: sessions, logger: logger)
        link.start()
        self.link = link
        let edge = try EdgeServer(environment: EdgeEnvironment(configuration: edgeConfig, coreLink: link, sessions: sessions, logger: logger))
        let edgeAddress = try await edge.start()
        self.edge = edge
        edgePort = edgeAddress.port ?? 0
        let linkDeadline = Date().addingTimeInterval(15)
        while link.connectedCores == 0, Date() < linkDeadline { try await Task.sleep(for: .milliseconds(20)) }
        guard link.connectedCores == 1 else { throw LabError("lpa-edge could not connect to lpa-core at \(coreAddress)") }

        started = Date()
        guard configuration.startsFleet else { return }
        // The fleet, each terminal with its own virtual eUICC.
        let devices = try FleetLoader.devices(inPKI: pkiDir, limit: configuration.terminals)
        var identities: [String: VirtualEUICC.Identity] = [:]
        if let real = configuration.euiccIdentity {
            identities[real.eid] = real
        } else {
            for device in devices {
                let eid = device.identity.eid
                do {
                    identities[eid] = try VirtualEUICC.Identity(pki: rsp, eid: try EID(eid))
                } catch {
                    throw LabError("cannot make the eUICC of \(eid): \(error)")
                }
            }
        }
        let cards = identities
        var behaviour = FleetBehaviour()
        behaviour.link = configuration.link
        behaviour.reconnectInitial = 0.5
        let target = FleetTarget(host: "127.0.0.1", port: edgeAddress.port ?? 0, serverName: "localhost", trustRoots: .file("\(pkiDir)/fleet-ca.pem"))
        let fleet = try FleetSimulator(target: target, devices: devices, behaviour: behaviour) { device in
            guard let identity = cards[device.identity.eid] else { return PlaceholderCard() }
            return VirtualEUICC(identity: identity)
        }
        self.fleet = fleet
        announce("SM-DP+ \(configuration.externalSMDP == nil ? "simulator" : "(external)") on \(smdpAddress), lpa-core on \(coreAddress) (\(coreConfig.store)), lpa-edge on \(edgeAddress); \(devices.count) terminals with virtual eUICCs, link \(configuration.link)")
        started = Date()
        fleet.start()
    }

    /// Where the core's admin API and console listen, when configured.
    public var adminAddress: SocketAddress? { core?.adminAddress }

    /// Jobs by state, as the core's store has them.
    public func jobCounts() async -> [ProvisioningJob.State: Int] {
        (try? await core?.store?.jobCounts()) ?? [:]
    }

    /// Waits until every terminal's job is confirmed or finished otherwise, or the timeout; calls
    /// `progress` about four times a second.
    public func waitForFleet(progress: (LabProgress) -> Void = { _ in }) async throws -> LabSummary {
        let deadline = started.addingTimeInterval(configuration.timeoutSeconds)
        let total = configuration.terminals
        while Date() < deadline {
            try await Task.sleep(for: .milliseconds(250))
            let counts = await jobCounts()
            let current = LabProgress(counts: counts, terminals: total, online: fleet?.statistics.snapshot.online ?? 0,
                                      elapsed: Date().timeIntervalSince(started))
            progress(current)
            if current.finished >= total { break }
        }
        // Enable notifications travel after the device is back; give the sweeps a moment to deliver them.
        if let simulator = smdp?.simulator {
            let expected = 2 * (await jobCounts()[.confirmed] ?? 0)
            let until = Date().addingTimeInterval(10)
            while Date() < until, await simulator.statistics.notificationsReceived.values.reduce(0, +) < expected {
                try await Task.sleep(for: .milliseconds(100))
            }
        }
        return try await summary()
    }

    /// The run's outcome from the core's store, the fleet's counters and the SM-DP+'s.
    public func summary() async throws -> LabSummary {
        var summary = LabSummary(terminals: configuration.terminals, seconds: Date().timeIntervalSince(started), link: configuration.link.name)
        guard let store = core?.store else { return summary }
        var trips: [Int] = []
        var durations: [Double] = []
        for device in try FleetLoader.devices(inPKI: "\(configuration.workdir)/pki", limit: configuration.terminals) {
            let terminalID = device.identity.eid
            let jobs = try await store.jobs(terminalID: terminalID, limit: 20)
            guard let latest = jobs.first else {
                summary.failures["no_job", default: 0] += 1
                continue
            }
            switch latest.state {
            case .confirmed:
                summary.provisioned += 1
                trips.append(latest.roundTrips)
                durations.append(Double((latest.finishedAt ?? latest.updatedAt) - (jobs.last?.createdAt ?? latest.createdAt)))
            case .failed, .returnTimedOut, .cancelled:
                summary.failures[latest.errorCode ?? latest.state.rawValue, default: 0] += 1
            default:
                summary.failures["unfinished_\(latest.state.rawValue)", default: 0] += 1
            }
            summary.attempts += jobs.count
        }
        summary.failed = summary.failures.values.reduce(0, +)
        summary.roundTripsPerDownload = trips.isEmpty ? 0 : (Double(trips.reduce(0, +)) / Double(trips.count) * 100).rounded() / 100
        summary.roundTripsMax = trips.max() ?? 0
        durations.sort()
        summary.p50Seconds = Self.percentile(durations, 50)
        summary.p99Seconds = Self.percentile(durations, 99)
        if let s = fleet?.statistics.snapshot {
            summary.heartbeatIntervalChanges = s.intervalChanges
            summary.refreshes = s.refreshes
            summary.batches = s.batchesExecuted
            summary.apdus = s.apdusExecuted
        }
        let presence = try await store.allPresence()
        summary.online = presence.filter { $0.state == .online }.count
        summary.offline = presence.filter { $0.state == .offline }.count
        if let simulator = smdp?.simulator {
            let stats = await simulator.statistics
            summary.notificationsAcknowledged = stats.notificationsReceived.values.reduce(0, +)
            summary.installsConfirmedBySMDP = stats.installsConfirmed
        }
        summary.seconds = (Date().timeIntervalSince(started) * 10).rounded() / 10
        summary.profilesPerSecond = summary.seconds > 0 ? (Double(summary.provisioned) / summary.seconds * 100).rounded() / 100 : 0
        return summary
    }

    /// The `p`th percentile of ascending `sorted` (nearest rank); 0 when empty.
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return 0 }
        let index = min(sorted.count - 1, Int((p / 100 * Double(sorted.count)).rounded(.up)) - 1)
        return sorted[max(0, index)]
    }

    public func stop() async {
        await fleet?.stop()
        await edge?.stop()
        await link?.shutdown()
        await core?.stop()
        await smdp?.shutdown()
    }

}

/// Live counts of a lab run.
public struct LabProgress: Sendable {
    public var counts: [ProvisioningJob.State: Int]
    public var terminals: Int
    public var online: Int
    public var elapsed: Double

    public var provisioned: Int { counts[.confirmed] ?? 0 }
    public var failed: Int { (counts[.failed] ?? 0) + (counts[.returnTimedOut] ?? 0) + (counts[.cancelled] ?? 0) }
    public var finished: Int { provisioned + failed }
    public var inFlight: Int { counts.filter { $0.key.isActive }.values.reduce(0, +) }
}

/// The outcome of a lab run.
public struct LabSummary: Sendable, Encodable {
    public var terminals: Int
    public var provisioned = 0
    public var failed = 0
    public var failures: [String: Int] = [:]
    public var attempts = 0
    public var seconds: Double
    public var profilesPerSecond = 0.0
    public var roundTripsPerDownload = 0.0
    public var roundTripsMax = 0
    public var p50Seconds = 0.0
    public var p99Seconds = 0.0
    public var heartbeatIntervalChanges = 0
    public var refreshes = 0
    public var batches = 0
    public var apdus = 0
    public var online = 0
    public var offline = 0
    public var notificationsAcknowledged = 0
    public var installsConfirmedBySMDP = 0
    public var link: String

    init(terminals: Int, seconds: Double, link: String) {
        self.terminals = terminals
        self.seconds = seconds
        self.link = link
    }

    enum CodingKeys: String, CodingKey {
        case terminals, provisioned, failed, failures, attempts, seconds, link
        case profilesPerSecond = "profiles_per_s"
        case roundTripsPerDownload = "round_trips_per_download"
        case roundTripsMax = "round_trips_max"
        case p50Seconds = "p50_s"
        case p99Seconds = "p99_s"
        case heartbeatIntervalChanges = "heartbeat_interval_changes"
        case refreshes, batches, apdus, online, offline
        case notificationsAcknowledged = "notifications_acknowledged"
        case installsConfirmedBySMDP = "installs_confirmed_by_smdp"
    }
}

public struct LabError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}
