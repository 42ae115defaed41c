import ArgumentParser
import Foundation
import LPAConfig
import LPADomain
import LPAIdentity
import LPALab
import LPAMetricsExport
import LPASimKit
import LPAStore
import LPATLS
import Logging

/// `lpa-sim chaos`: the scaled-out deployment on one machine, with cores and edges killed and restarted while
/// a fleet downloads its profiles; counts what users count (stuck, falsely failed, installed twice).
struct ChaosCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "chaos",
        abstract: "Kill and restart cores and edges of a scaled-out deployment during downloads; print what went wrong as one JSON line.",
        discussion: """
            Starts, as separate processes: a throwaway PostgreSQL cluster, --cores lpa-core processes sharing it,
            --edges lpa-edge processes behind HAProxy (TCP; maxconn sized from the file-descriptor limit). The SM-DP+
            simulator and the fleet (each terminal with a virtual eUICC, on the chosen link profile) run in this
            process so their counts can be read directly. Servers run as --user (default nobody) when started as
            root. All addresses are loopback, all ports free ones.

            While the downloads run, --faults faults hit at random moments (seeded by --seed): kill -9 or SIGTERM
            of a core or an edge followed by a restart, or a rolling restart of every edge (SIGTERM, restart, next).
            Then it waits until every terminal's job settled (or --timeout) and prints one JSON line:
            terminals, confirmed, failed, stuck, false_failures (failed or timed-out jobs: nothing injects
            failures), double_installs (eUICCs holding more than one profile, or with more than one install
            confirmed at the SM-DP+), jobs_run_by_two_cores (jobs whose load or challenge two cores drove, from
            the cores' logs), false_offline (terminals shown offline at the end although the whole fleet is
            connected), offline_transitions (offline changes recorded during the run: a terminal cut off by an
            edge restart for longer than its miss limit counts here, rightly),
            recovery_s (from the end of the last fault to settlement). Exit status 1 when any of stuck,
            false_failures, double_installs, jobs_run_by_two_cores or false_offline is not 0.

            Examples:
              lpa-sim chaos --terminals 100
              lpa-sim chaos --terminals 1000 --scenario core --faults 6 --seed 7
              lpa-sim chaos --scenario rolling-edges --link lte-m
            """)

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        case core, edge, rollingEdges = "rolling-edges", mixed
    }

    enum Provisioning: String, ExpressibleByArgument, CaseIterable {
        case automation, campaign
    }

    @Option(help: "Number of terminals (one profile each).")
    var terminals: Int = 100

    @Option(help: "lpa-core processes (2 or more).")
    var cores: Int = 2

    @Option(help: "lpa-edge processes behind HAProxy (2 or more).")
    var edges: Int = 2

    @Option(help: "Faults: \(Scenario.allCases.map(\.rawValue).joined(separator: ", ")).")
    var scenario: Scenario = .mixed

    @Option(help: """
        How downloads start: automation (the configuration rule's requirement, on registration) or campaign \
        (devices without a requirement; once every terminal registered, one campaign over all of them is created \
        through core 1's admin API with `lpa-core admin campaigns create`).
        """)
    var provisioning: Provisioning = .automation

    @Option(help: "Number of faults.")
    var faults: Int = 4

    @Option(help: "Seed of the fault schedule.")
    var seed: UInt64 = 1

    @Option(help: "Radio link of the terminals: \(LinkProfile.all.map(\.name).joined(separator: ", ")).")
    var link: String = "nb-iot"

    @Option(help: "Profile package size, bytes.")
    var profileSize: Int = 4096

    @Option(help: "User the servers run as when this runs as root.")
    var user = "nobody"

    @Option(help: "Seconds allowed in all.")
    var timeout: Double = 1200

    @Option(help: "Working folder (created; removed at the end unless --keep).")
    var workdir: String?

    @Flag(help: "Keep the working folder (logs, PKI) after the run.")
    var keep = false

    @Option(help: "Log level of the cores and edges (their logs are in the working folder).")
    var logLevel: String = "notice"

    func validate() throws {
        guard terminals > 0 else { throw ValidationError("--terminals must be positive") }
        guard cores >= 2, edges >= 2 else { throw ValidationError("--cores and --edges must be 2 or more") }
        guard LinkProfile.named(link) != nil else { throw ValidationError("--link must be one of \(LinkProfile.all.map(\.name).joined(separator: ", "))") }
    }

    func run() async throws {
        ProcessLogging.bootstrap(level: .critical)
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for tool in ["lpa-core", "lpa-edge"] where !FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent(tool).path) {
            Console.error("\(tool) is not built next to lpa-sim (\(binaries.path))")
            throw ExitCode(2)
        }
        _ = FileDescriptorLimit.raiseToHardLimit()
        let asRoot = getuid() == 0
        let runAs = asRoot ? user : nil
        let dir = workdir ?? NSTemporaryDirectory() + "lpa-chaos-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var topology = ChaosTopology(directory: dir, binaries: binaries, user: runAs)
        topology.logLevel = logLevel
        defer {
            topology.stopAll()
            if !keep { try? FileManager.default.removeItem(atPath: dir) }
        }

        // PKI: the fleet's (edges, cores, devices) and the GSMA RSP test PKI (SM-DP+, eUICCs).
        note("PKI for \(terminals) terminals")
        let fleetPKI = "\(dir)/pki"
        try FileManager.default.createDirectory(atPath: fleetPKI, withIntermediateDirectories: true)
        try TestPKI.create(at: URL(fileURLWithPath: fleetPKI), devices: terminals, overwrite: true)
        let rsp = try RSPTestPKI.create()
        let rspDir = "\(dir)/rsp"
        try FileManager.default.createDirectory(atPath: rspDir, withIntermediateDirectories: true)
        try rsp.write(to: URL(fileURLWithPath: rspDir), overwrite: true)
        let ciFile = "\(rspDir)/\(RSPTestPKI.Member.ci.certificateName(curve: .p256)).pem"

        // The SM-DP+ simulator, here.
        let smdpPort = try LoopbackPort.free()
        let smdpAddress = "127.0.0.1:\(smdpPort)"
        var smdpConfiguration = SMDPConfiguration(address: smdpAddress, profileTypes: [
            ProfileType(name: "chaos-profile", serviceProviderName: "ServerLPA Chaos Operator", profileName: "Chaos IoT data",
                        iccidPrefix: "8999001", packageSize: profileSize, notificationEvents: [.install, .enable]),
        ])
        smdpConfiguration.autoOrderProfileType = "chaos-profile"
        let smdp = try SMDPSimulator(pki: rsp, configuration: smdpConfiguration)
        let smdpServer = try await SMDPServer.start(simulator: smdp, host: "127.0.0.1", port: smdpPort, tls: try SMDPServer.tlsConfiguration(pki: rsp))

        try LabLibrary.yaml(smdpAddress: smdpAddress, profileType: "chaos-profile", matchingID: nil, rule: provisioning == .automation)
            .write(toFile: "\(dir)/libraries.yaml", atomically: true, encoding: .utf8)
        let coreYAML = """
        provisioning:
          maximumConcurrentJobs: 64
          maximumConcurrentJobsPerSMDP: 64
          returnTimeoutSeconds: 300
          operators:
            - {smdpAddress: "\(smdpAddress)", trustedRoots: {file: "\(ciFile)"}, maxConnections: 32}
        presence: {reportDelaySeconds: 10, graceSeconds: 10, sweepSeconds: 1}

        """
        try coreYAML.write(toFile: "\(dir)/core.yaml", atomically: true, encoding: .utf8)
        // Core 1 also serves the admin API (plain HTTP on loopback) for the campaign.
        let adminPort = try LoopbackPort.free()
        let adminToken = UUID().uuidString
        try (coreYAML + """
        admin:
          host: 127.0.0.1
          port: \(adminPort)
          tokens:
            - {name: chaos, role: admin, token: "\(adminToken)"}

        """).write(toFile: "\(dir)/core-1.yaml", atomically: true, encoding: .utf8)
        // The edges report heartbeat counts every 5 s (the cores allow 10 s for a report to arrive) and serve
        // their metrics on ports the OS picks.
        try """
        heartbeat: {countWindowSeconds: 5}
        metrics: {port: 0}
        """.write(toFile: "\(dir)/edge.yaml", atomically: true, encoding: .utf8)
        if let runAs { try ChaosTopology.giveTree(dir, to: runAs) }

        note("PostgreSQL")
        let storeURL = try await topology.startPostgres()
        note("\(cores) cores, \(edges) edges, HAProxy")
        for index in 0..<cores { try await topology.startCore(index, store: storeURL, pki: fleetPKI) }
        for index in 0..<edges { try await topology.startEdge(index, pki: fleetPKI) }
        let balancerPort = try await topology.startHAProxy()

        // The fleet, here, through the balancer.
        let devices = try FleetLoader.devices(inPKI: fleetPKI, limit: terminals)
        var identities: [String: VirtualEUICC.Identity] = [:]
        for device in devices {
            identities[device.identity.eid] = try VirtualEUICC.Identity(pki: rsp, eid: try EID(device.identity.eid))
        }
        let cardIdentities = identities
        let cards = CardShelf()
        var behaviour = FleetBehaviour()
        behaviour.link = LinkProfile.named(link) ?? .nbIoT
        behaviour.reconnectInitial = 0.5
        behaviour.reconnectMaximum = 5
        let target = FleetTarget(host: "127.0.0.1", port: balancerPort, serverName: "localhost", trustRoots: .file("\(fleetPKI)/fleet-ca.pem"))
        let fleet = try FleetSimulator(target: target, devices: devices, behaviour: behaviour) { device -> SimulatedCard in
            guard let identity = cardIdentities[device.identity.eid] else { return PlaceholderCard() }
            let card = VirtualEUICC(identity: identity)
            cards.keep(card, eid: device.identity.eid)
            return card
        }
        let store = try StoreFactory.open(url: storeURL, logger: Logger(label: "chaos"))
        let started = Date()
        fleet.start()
        note("fleet of \(terminals) on \(link); \(faults) faults (\(scenario.rawValue), seed \(seed)); \(provisioning.rawValue)")
        if provisioning == .campaign {
            note("waiting for every terminal to register")
            while try await store.deviceCount() < terminals {
                guard Date().timeIntervalSince(started) < timeout else { throw ChaosError("only \(try await store.deviceCount()) of \(terminals) terminals registered in \(Int(timeout)) s") }
                try await Task.sleep(for: .seconds(1))
            }
            try createCampaign(adminPort: adminPort, token: adminToken, smdpAddress: smdpAddress, terminalIDs: devices.map(\.identity.eid),
                               binaries: binaries, log: "\(dir)/campaign-create.log")
            note("campaign \(Self.campaignID) created through core 1")
        }

        // Faults at random moments of the downloads.
        var random = SeededRandom(seed: seed)
        var lastFaultEnd = Date()
        for number in 1...max(1, faults) where faults > 0 {
            try await Task.sleep(for: .milliseconds(Int.random(in: 3_000...15_000, using: &random)))
            let kind: Scenario = scenario == .mixed ? [.core, .edge, .rollingEdges].randomElement(using: &random)! : scenario
            let hard = Bool.random(using: &random)
            let pause = Int.random(in: 1_000...8_000, using: &random)
            switch kind {
            case .core, .mixed:
                let index = Int.random(in: 0..<cores, using: &random)
                note("fault \(number): \(hard ? "kill -9" : "SIGTERM") core \(index + 1), restart after \(pause) ms")
                await topology.stop(.core(index), hard: hard)
                try await Task.sleep(for: .milliseconds(pause))
                try await topology.startCore(index, store: storeURL, pki: fleetPKI)
            case .edge:
                let index = Int.random(in: 0..<edges, using: &random)
                note("fault \(number): \(hard ? "kill -9" : "SIGTERM") edge \(index + 1), restart after \(pause) ms")
                await topology.stop(.edge(index), hard: hard)
                try await Task.sleep(for: .milliseconds(pause))
                try await topology.startEdge(index, pki: fleetPKI)
            case .rollingEdges:
                note("fault \(number): rolling restart of \(edges) edges")
                for index in 0..<edges {
                    await topology.stop(.edge(index), hard: false)
                    try await topology.startEdge(index, pki: fleetPKI)
                }
            }
            lastFaultEnd = Date()
        }

        // Settlement: every terminal's newest job confirmed or finished, nothing active, for a few seconds.
        note("waiting for settlement")
        var quietSince: Date?
        var settledAt = Date()
        while Date().timeIntervalSince(started) < timeout {
            try await Task.sleep(for: .seconds(2))
            guard let counts = try? await store.jobCounts() else { continue }
            let active = counts.filter { $0.key.isActive }.values.reduce(0, +)
            let confirmed = counts[.confirmed] ?? 0
            Console.status(String(format: "%5.0fs  confirmed %d/%d  active %d  failed %d", Date().timeIntervalSince(started), confirmed, terminals,
                                  active, (counts[.failed] ?? 0) + (counts[.returnTimedOut] ?? 0)))
            var campaignDone = true
            if provisioning == .campaign {
                let state = try? await store.campaign(id: Self.campaignID)?.state
                campaignDone = state == .completed || state == .canceled
            }
            if active == 0, counts.values.reduce(0, +) >= terminals, campaignDone {
                if quietSince == nil { quietSince = Date() }
                if Date().timeIntervalSince(quietSince!) >= 6 { settledAt = quietSince!; break }
            } else {
                quietSince = nil
                settledAt = Date()
            }
        }
        Console.endStatus()
        // One more presence period with the fleet still connected, then the count.
        try await Task.sleep(for: .seconds(3))

        var report = ChaosReport(terminals: terminals)
        let installed = await smdp.installedICCIDs
        for device in devices {
            let eid = device.identity.eid
            let jobs = try await store.jobs(terminalID: eid, limit: 50)
            let newest = jobs.first
            switch newest?.state {
            case .confirmed?: report.confirmed += 1
            case .failed?, .returnTimedOut?, .cancelled?: report.failed += 1
            default: report.stuck += 1
            }
            report.falseFailures += jobs.filter { $0.state == .failed || $0.state == .returnTimedOut }.count
            if newest?.state != .confirmed || jobs.count > 1 {
                // What a user would look at: the jobs, the device on record, its session and its card.
                let device = try await store.device(terminalID: eid)
                let session = try await store.terminalSession(terminalID: eid)
                let history = jobs.map { "\($0.id) \($0.state.rawValue) owner=\($0.owner ?? "-") iccid=\($0.iccid ?? "-") \($0.errorCode ?? "")" }
                Console.error("""
                    terminal \(eid): jobs [\(history.joined(separator: "; "))]; device iccid=\(device?.fields["iccid"] ?? "-") \
                    registered=\(device?.lastRegistered ?? 0); session core=\(session?.coreID ?? "-") epoch=\(session?.epoch ?? 0); \
                    card enabled=\(cards.enabledICCIDs(eid: eid).joined(separator: ","))
                    """)
            }
            if cards.profileCount(eid: eid) > 1 || (installed[eid]?.count ?? 0) > 1 { report.doubleInstalls += 1 }
            if try await store.presence(terminalID: eid)?.state == .offline { report.falseOffline += 1 }
            report.offlineTransitions += try await store.presenceChanges(terminalID: eid, limit: 1000).filter { $0.to == .offline }.count
        }
        report.jobsRunByTwoCores = topology.jobsDrivenByTwoCores()
        if provisioning == .campaign {
            let campaign = try await store.campaign(id: Self.campaignID)
            let progress = try await store.campaignProgress(id: Self.campaignID)
            report.campaign = .init(state: campaign?.state.rawValue ?? "missing", succeeded: progress.count(.succeeded),
                                    failed: progress.count(.failed), skipped: progress.count(.skipped))
            // Targets that never finished are stuck, whatever their terminal's jobs say.
            let finished = progress.count(.succeeded) + progress.count(.failed) + progress.count(.skipped)
            report.stuck = max(report.stuck, terminals - finished)
        }
        report.recoverySeconds = (max(0, settledAt.timeIntervalSince(lastFaultEnd)) * 10).rounded() / 10
        report.seconds = (Date().timeIntervalSince(started) * 10).rounded() / 10
        report.conditions = "\(cores) cores, \(edges) edges, HAProxy, PostgreSQL; link \(link); \(profileSize)-byte profiles; \(provisioning.rawValue); scenario \(scenario.rawValue), \(faults) faults, seed \(seed); servers as \(runAs ?? "the current user")"
        try? await store.close()
        await fleet.stop()
        await smdpServer.shutdown()
        print(report.json())
        if report.stuck + report.falseFailures + report.doubleInstalls + report.jobsRunByTwoCores + report.falseOffline > 0 { throw ExitCode(1) }
    }

    static let campaignID = "chaos"

    /// Creates and starts the campaign over `terminalIDs` as an operator would: `lpa-core admin campaigns create`
    /// against core 1's admin API. No canary, no automatic pause, a start rate that never holds the fleet back.
    private func createCampaign(adminPort: Int, token: String, smdpAddress: String, terminalIDs: [String], binaries: URL, log: String) throws {
        var arguments = ["admin", "campaigns", "create", "--url", "http://127.0.0.1:\(adminPort)", "--token", token, "--id", Self.campaignID,
                         "--name", "chaos", "--smdp", smdpAddress, "--profile-type", "chaos-profile", "--starts-per-minute", "60000",
                         "--concurrency-per-smdp", "64", "--canary-share", "0", "--failure-threshold", "1", "--max-attempts", "3"]
        for id in terminalIDs { arguments += ["--terminal", id] }
        try ChaosTopology.run(nil, binaries.appendingPathComponent("lpa-core").path, arguments, log: log)
    }

    private func note(_ text: String) {
        FileHandle.standardError.write(Data("chaos: \(text)\n".utf8))
    }
}

/// The fleet's virtual eUICCs, kept to count their profiles at the end. Thread-safe.
final class CardShelf: @unchecked Sendable {
    private let lock = NSLock()
    private var cards: [String: [VirtualEUICC]] = [:]

    func keep(_ card: VirtualEUICC, eid: String) {
        lock.withLock { cards[eid, default: []].append(card) }
    }

    /// The enabled profile of each card of `eid`.
    func enabledICCIDs(eid: String) -> [String] {
        lock.withLock { cards[eid] ?? [] }.map { $0.enabledICCID ?? "-" }
    }

    /// The most profiles any card of `eid` holds.
    func profileCount(eid: String) -> Int {
        let held = lock.withLock { cards[eid] ?? [] }
        return held.map(\.profiles.count).max() ?? 0
    }
}

/// The JSON line `lpa-sim chaos` prints.
struct ChaosReport: Encodable {
    var terminals: Int
    var confirmed = 0
    var failed = 0
    var stuck = 0
    var falseFailures = 0
    var doubleInstalls = 0
    var jobsRunByTwoCores = 0
    var falseOffline = 0
    var offlineTransitions = 0
    var recoverySeconds = 0.0
    var seconds = 0.0
    var conditions = ""
    /// The campaign's end, in the campaign scenario.
    var campaign: CampaignOutcome?

    struct CampaignOutcome: Encodable {
        var state: String
        var succeeded: Int
        var failed: Int
        var skipped: Int
    }

    init(terminals: Int) { self.terminals = terminals }

    enum CodingKeys: String, CodingKey {
        case terminals, confirmed, failed, stuck, seconds, conditions, campaign
        case falseFailures = "false_failures"
        case doubleInstalls = "double_installs"
        case jobsRunByTwoCores = "jobs_run_by_two_cores"
        case falseOffline = "false_offline"
        case offlineTransitions = "offline_transitions"
        case recoverySeconds = "recovery_s"
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// A reproducible random sequence (SplitMix64) for the fault schedule.
struct SeededRandom: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
