import ArgumentParser
import Foundation
import LPAAdminClient
import LPADomain
import LPAIdentity
import LPALab
import LPAMetricsExport
import LPASimKit
import LPAStore
import Logging

struct BenchProvisionCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "provision",
        abstract: "Measure end-to-end provisioning: profiles/s, CPU per profile of each process, round trips, time to provision.",
        discussion: """
            Starts the SM-DP+ simulator (`lpa-sim smdp`), lpa-core (SQLite) and lpa-edge as separate
            processes from the same build, then runs the fleet — each terminal with a virtual eUICC — in
            this process behind the chosen link profile. Every terminal is provisioned through the full
            SGP.22 flow. CPU seconds are read from /proc for each process (the fleet: this process).
            Prints the figures and the conditions (or --json).

            Examples:
              lpa-sim bench provision --terminals 500
              lpa-sim bench provision --terminals 200 --link nb-iot --json
            """)

    @Option(help: "Number of terminals (one profile each).")
    var terminals: Int = 500

    @Option(help: "Radio link of the terminals: \(LinkProfile.all.map(\.name).joined(separator: ", ")).")
    var link: String = "none"

    @Option(help: "Profile package size, bytes.")
    var profileSize: Int = 8192

    @Option(help: "Most downloads at once in lpa-core.")
    var concurrency: Int = 64

    @Option(help: "Seconds allowed.")
    var timeout: Double = 900

    @Option(help: "Working folder.")
    var workdir = "var/bench-provision"

    @Flag(help: "One JSON object.")
    var json = false

    func validate() throws {
        guard terminals > 0 else { throw ValidationError("--terminals must be positive") }
        guard LinkProfile.named(link) != nil else { throw ValidationError("--link must be one of \(LinkProfile.all.map(\.name).joined(separator: ", "))") }
    }

    func run() async throws {
        ProcessLogging.bootstrap(level: .error)
        let binaries = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
        for tool in ["lpa-core", "lpa-edge"] where !FileManager.default.isExecutableFile(atPath: binaries.appendingPathComponent(tool).path) {
            Console.error("\(tool) is not built next to lpa-sim (\(binaries.path)); run `swift build -c release` first")
            throw ExitCode(2)
        }
        try FileManager.default.createDirectory(atPath: workdir, withIntermediateDirectories: true)
        let fleetPKI = "\(workdir)/pki", rspDir = "\(workdir)/rsp"
        if (try? TestPKI.load(from: URL(fileURLWithPath: fleetPKI)))?.devices.count ?? 0 < terminals {
            try FileManager.default.createDirectory(atPath: fleetPKI, withIntermediateDirectories: true)
            try TestPKI.create(at: URL(fileURLWithPath: fleetPKI), devices: terminals, overwrite: true)
        }
        let rsp = try RSPTestPKI.create()
        try FileManager.default.createDirectory(atPath: rspDir, withIntermediateDirectories: true)
        try rsp.write(to: URL(fileURLWithPath: rspDir), overwrite: true)
        let ciFile = "\(rspDir)/\(RSPTestPKI.Member.ci.certificateName(curve: .p256)).pem"
        for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: "\(workdir)/core.db\(suffix)") }

        let smdpPort = try freePort(), corePort = try freePort(), edgePort = try freePort()
        let smdpAddress = "127.0.0.1:\(smdpPort)"
        try LabLibrary.yaml(smdpAddress: smdpAddress, profileType: "bench-profile", matchingID: nil)
            .write(toFile: "\(workdir)/libraries.yaml", atomically: true, encoding: .utf8)
        try """
        provisioning:
          maximumConcurrentJobs: \(concurrency)
          maximumConcurrentJobsPerSMDP: \(concurrency)
          returnTimeoutSeconds: \(Int(timeout))
          operators:
            - {smdpAddress: "\(smdpAddress)", trustedRoots: {file: "\(ciFile)"}, maxConnections: 32}
        presence: {reportDelaySeconds: 5, graceSeconds: 5, sweepSeconds: 1}
        """.write(toFile: "\(workdir)/core.yaml", atomically: true, encoding: .utf8)

        var processes: [(name: String, process: Process)] = []
        // Each child logs to WORKDIR/NAME.log; a child that stops early has its last lines printed.
        func launch(_ name: String, _ arguments: [String]) throws {
            let process = Process()
            process.executableURL = binaries.appendingPathComponent(name == "smdp" ? "lpa-sim" : name)
            process.arguments = arguments
            let logPath = "\(workdir)/\(name).log"
            FileManager.default.createFile(atPath: logPath, contents: nil)
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle(forWritingAtPath: logPath)
            try process.run()
            processes.append((name, process))
        }
        defer { for (_, p) in processes where p.isRunning { p.terminate() } }
        func waitFor(_ port: Int, of name: String) async throws {
            try await waitForPort(port, process: processes.first { $0.name == name }?.process, name: name)
        }
        try launch("smdp", ["smdp", "--listen", smdpAddress, "--pki", rspDir, "--profile-type", "bench-profile", "--profile-size", "\(profileSize)"])
        try launch("lpa-core", ["serve", "--config", "\(workdir)/core.yaml", "--store", "\(workdir)/core.db", "--listen", "127.0.0.1:\(corePort)",
                                "--pki", fleetPKI, "--libraries", "\(workdir)/libraries.yaml", "--log-level", "error"])
        try await waitFor(smdpPort, of: "smdp")
        try await waitFor(corePort, of: "lpa-core")
        let edgeMetricsPort = try freePort()
        try launch("lpa-edge", ["--listen", "127.0.0.1:\(edgePort)", "--pki", fleetPKI, "--core", "127.0.0.1:\(corePort)",
                                "--metrics", "127.0.0.1:\(edgeMetricsPort)", "--log-level", "error"])
        try await waitFor(edgePort, of: "lpa-edge")
        try await waitForReady(metricsPort: edgeMetricsPort, process: processes.last!.process)  // linked to the core

        // The fleet in this process.
        let devices = try FleetLoader.devices(inPKI: fleetPKI, limit: terminals)
        var identities: [String: VirtualEUICC.Identity] = [:]
        for device in devices { identities[device.identity.eid] = try VirtualEUICC.Identity(pki: rsp, eid: try EID(device.identity.eid)) }
        let cards = identities
        var behaviour = FleetBehaviour()
        behaviour.link = LinkProfile.named(link) ?? .none
        behaviour.reconnectInitial = 0.5
        let target = FleetTarget(host: "127.0.0.1", port: edgePort, serverName: "localhost", trustRoots: .file("\(fleetPKI)/fleet-ca.pem"))
        let fleet = try FleetSimulator(target: target, devices: devices, behaviour: behaviour) { device in
            guard let identity = cards[device.identity.eid] else { return PlaceholderCard() }
            return VirtualEUICC(identity: identity)
        }
        let cpuStart = processes.map { ProcessCPU.seconds(pid: $0.process.processIdentifier) }
        let ownStart = ProcessCPU.ownSeconds()
        let started = Date()
        fleet.start()

        let store = try StoreFactory.open(url: "\(workdir)/core.db", logger: Logger(label: "bench"))
        var counts: [ProvisioningJob.State: Int] = [:]
        while Date().timeIntervalSince(started) < timeout {
            try await Task.sleep(for: .milliseconds(500))
            counts = (try? await store.jobCounts()) ?? counts
            let done = (counts[.confirmed] ?? 0) + (counts[.failed] ?? 0) + (counts[.returnTimedOut] ?? 0)
            if !json {
                Console.status(String(format: "%@ %5.0fs  provisioned %d/%d  failed %d", Console.bar(Double(counts[.confirmed] ?? 0) / Double(terminals)),
                                      Date().timeIntervalSince(started), counts[.confirmed] ?? 0, terminals, done - (counts[.confirmed] ?? 0)))
            }
            if done >= terminals { break }
        }
        let elapsed = Date().timeIntervalSince(started)
        let cpuEnd = processes.map { ProcessCPU.seconds(pid: $0.process.processIdentifier) }
        let ownEnd = ProcessCPU.ownSeconds()
        if !json { Console.endStatus() }
        await fleet.stop()

        var trips: [Int] = [], durations: [Double] = []
        for device in devices {
            guard let job = try await store.jobs(terminalID: device.identity.eid, limit: 1).first, job.state == .confirmed else { continue }
            trips.append(job.roundTrips)
            durations.append(Double((job.finishedAt ?? job.updatedAt) - job.createdAt))
        }
        try? await store.close()
        durations.sort()
        let provisioned = counts[.confirmed] ?? 0
        func perProfile(_ seconds: Double) -> Double { provisioned > 0 ? (seconds / Double(provisioned) * 1e5).rounded() / 1e5 : 0 }
        var cpu: [String: Double] = ["fleet": perProfile(ownEnd - ownStart)]
        for (index, entry) in processes.enumerated() {
            let key = ["smdp": "smdp", "lpa-core": "core", "lpa-edge": "edge"][entry.name] ?? entry.name
            cpu[key] = perProfile(cpuEnd[index] - cpuStart[index])
        }
        let report = ProvisionBenchReport(
            profiles: provisioned, failed: terminals - provisioned, seconds: (elapsed * 10).rounded() / 10,
            profilesPerSecond: (Double(provisioned) / elapsed * 100).rounded() / 100,
            roundTripsPerDownload: trips.isEmpty ? 0 : (Double(trips.reduce(0, +)) / Double(trips.count) * 100).rounded() / 100,
            cpuSecondsPerProfile: cpu, p50Seconds: ProvisioningLab.percentile(durations, 50), p99Seconds: ProvisioningLab.percentile(durations, 99),
            link: link, terminals: terminals, profileSize: profileSize, concurrency: concurrency,
            machine: "\(ProcessInfo.processInfo.activeProcessorCount) cores, load \(ProcessCPU.loadAverage())")
        print(json ? report.json() : report.table())
        if provisioned < terminals { throw ExitCode(1) }
    }

    private func freePort() throws -> Int {
        try LoopbackPort.free()
    }

    private func waitForPort(_ port: Int, process: Process?, name: String) async throws {
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if LoopbackPort.isListening(port) { return }
            if let process, !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        if let process, !process.isRunning {
            Console.error("\(name) stopped (status \(process.terminationStatus)) before listening on 127.0.0.1:\(port)")
        } else {
            Console.error("nothing listens on 127.0.0.1:\(port) after 30 s (\(name))")
        }
        printLogTail(of: name)
        throw ExitCode(2)
    }

    /// Waits until the edge's `GET /health/ready` answers 200 (it listens and is linked to the core).
    private func waitForReady(metricsPort: Int, process: Process) async throws {
        let client = AdminHTTPClient(host: "127.0.0.1", port: metricsPort, token: nil)
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline, process.isRunning {
            if let response = try? await client.send(.GET, "/health/ready"), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        Console.error("lpa-edge did not become ready (linked to lpa-core) within 30 s")
        printLogTail(of: "lpa-edge")
        throw ExitCode(2)
    }

    /// The last lines a child wrote to its log, on stderr.
    private func printLogTail(of name: String, lines: Int = 20) {
        let path = "\(workdir)/\(name).log"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8), !text.isEmpty else { return }
        let tail = text.split(separator: "\n", omittingEmptySubsequences: false).suffix(lines + 1).joined(separator: "\n")
        FileHandle.standardError.write(Data("--- last lines of \(path)\n\(tail)\n".utf8))
    }
}

struct ProvisionBenchReport: Encodable {
    var profiles: Int
    var failed: Int
    var seconds: Double
    var profilesPerSecond: Double
    var roundTripsPerDownload: Double
    var cpuSecondsPerProfile: [String: Double]
    var p50Seconds: Double
    var p99Seconds: Double
    var link: String
    var terminals: Int
    var profileSize: Int
    var concurrency: Int
    var machine: String

    enum CodingKeys: String, CodingKey {
        case profiles, failed, seconds, link, terminals, concurrency, machine
        case profilesPerSecond = "profiles_per_s"
        case roundTripsPerDownload = "round_trips_per_download"
        case cpuSecondsPerProfile = "cpu_s_per_profile"
        case p50Seconds = "p50_s"
        case p99Seconds = "p99_s"
        case profileSize = "profile_size"
    }

    func table() -> String {
        let cpu = ["core", "edge", "smdp", "fleet"].map { String(format: "%@ %.4f", $0, cpuSecondsPerProfile[$0] ?? 0) }.joined(separator: ", ")
        let rows: [(String, String)] = [
            ("profiles provisioned", "\(profiles) of \(terminals) (\(failed) failed)"),
            ("time", String(format: "%.1f s, %.2f profiles/s", seconds, profilesPerSecond)),
            ("CPU seconds per profile", cpu),
            ("terminal round trips per download", String(format: "%.2f", roundTripsPerDownload)),
            ("time to provision p50 / p99", String(format: "%.0f s / %.0f s (job creation to the device's return)", p50Seconds, p99Seconds)),
            ("conditions", "link \(link), \(profileSize)-byte profiles, \(concurrency) concurrent downloads, \(machine)"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}

/// CPU time of processes, from /proc.
enum ProcessCPU {
    static let ticks = Double(sysconf(Int32(_SC_CLK_TCK)))

    static func seconds(pid: Int32) -> Double {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return 0 }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        // After the command: state(0) … utime(11) stime(12).
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else { return 0 }
        return (user + system) / ticks
    }

    static func ownSeconds() -> Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_utime.tv_sec) + Double(usage.ru_utime.tv_usec) / 1e6 + Double(usage.ru_stime.tv_sec) + Double(usage.ru_stime.tv_usec) / 1e6
    }

    static func loadAverage() -> String {
        (try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8))?.split(separator: " ").prefix(3).joined(separator: " ") ?? "?"
    }
}
