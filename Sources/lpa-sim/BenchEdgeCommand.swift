import ArgumentParser
import Foundation
import LPAConfig
import LPAEdge
import LPAMetricsExport
import LPASimKit
import Logging
import NIOCore

struct BenchEdgeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "edge",
        abstract: "Measure lpa-edge — handshakes, heartbeat throughput, memory per connection, ack latency — optionally against Mosquitto.",
        discussion: """
            Starts lpa-edge as a child process on a free loopback port and runs, with N simulated
            terminals each presenting its own device certificate:

              1. handshakes: N full mutual-TLS handshakes (no resumption) plus Hello/Welcome,
                 256 at a time; handshakes/s = N / (last Welcome − first connect)
              2. memory: (edge RSS with N connections − RSS before) / N, after 2 s of settling
              3. throughput: closed loop, one heartbeat in flight per terminal, for --duration
                 seconds after a 1 s warm-up; heartbeats/s = acks / elapsed
              4. latency: heartbeats paced at --paced-rate per second over all terminals;
                 ack p50 / p99
              5. shutdown: SIGTERM with every terminal connected, wait for exit

            With --peer mosquitto the same phases run against Mosquitto 2 in the same invocation
            (MQTT 3.1.1 over TLS with the same certificates: CONNECT + SUBSCRIBE hb/<EID> is the
            welcome, a QoS 0 PUBLISH to hb/<EID> carrying the same heartbeat body is a heartbeat,
            the broker's echo is its ack), and the ratios ours/mosquitto are printed.
            Install it with `apt-get install mosquitto`. Both servers are brought up with all
            their connections (each server's connections held by a load-worker process of its
            own), then the closed loop alternates between them in --window second windows,
            order A B B A …, until each had --duration seconds; a shared machine's drift in
            speed then falls on both alike. The ratio of each round is printed too.

            The load generator runs on the same machine; every figure is for client and server
            sharing its cores. Exit status: 0 when every phase succeeded, 1 when one failed
            (the reason is printed), 2 for bad options or a missing binary.

            Examples:
              lpa-sim bench edge --terminals 1000 --duration 5
              lpa-sim bench edge --terminals 10000 --peer mosquitto
              lpa-sim bench edge --peer mosquitto --json > bench.json
              lpa-sim bench edge --terminals 50000 --source-addresses 3 --edge-binary .build/release/lpa-edge
            """)

    @Option(help: "Number of simulated terminals (concurrent connections).")
    var terminals: Int = 10_000

    @Option(help: "Seconds of the measured closed-loop heartbeat phase.")
    var duration: Double = 10

    @Option(help: "Also benchmark this peer in the same run: mosquitto.")
    var peer: String?

    @Option(help: "With --peer: seconds per closed-loop window; the servers alternate window by window until each had --duration seconds.")
    var window: Double = 2

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Option(help: "PKI folder; created (or re-created) with a test PKI when missing or holding fewer devices than --terminals.")
    var pki: String = "var/bench/pki"

    @Option(help: "Spread client sockets over 127.0.0.1 … 127.0.0.K (default: one address per 20,000 terminals).")
    var sourceAddresses: Int?

    @Option(help: "The lpa-edge executable (default: lpa-edge next to this lpa-sim).")
    var edgeBinary: String?

    @Option(help: "The mosquitto executable (default: found in /usr/sbin, /usr/local/sbin, …).")
    var mosquittoBinary: String?

    @Option(help: "Connections between connect and welcome at once.")
    var concurrency: Int = 256

    @Option(help: "Aggregate heartbeats per second of the latency phase (default: one per terminal per second).")
    var pacedRate: Double?

    @Option(help: "Seconds of the measured latency phase.")
    var pacedDuration: Double = 5

    @Option(help: "Event-loop threads of lpa-edge (0: one per core, its default; Mosquitto always runs one).")
    var edgeThreads: Int = 0

    @Option(help: "Folder for the generated configurations and the servers' logs.")
    var workdir: String = "var/bench"

    func validate() throws {
        guard terminals > 0 else { throw ValidationError("--terminals must be positive") }
        guard duration > 0 else { throw ValidationError("--duration must be positive") }
        guard window > 0, window <= duration else { throw ValidationError("--window must be positive and at most --duration") }
        guard pacedDuration > 0 else { throw ValidationError("--paced-duration must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        if let pacedRate, pacedRate <= 0 { throw ValidationError("--paced-rate must be positive") }
        guard (0...1024).contains(edgeThreads) else { throw ValidationError("--edge-threads must be between 0 and 1024") }
        if let peer, peer != "mosquitto" { throw ValidationError("--peer '\(peer)' is not known; the only peer is mosquitto") }
        if let sourceAddresses, !(1...254).contains(sourceAddresses) {
            throw ValidationError("--source-addresses must be between 1 and 254")
        }
    }

    func run() async throws {
        ProcessLogging.bootstrap(level: .warning)

        // Children inherit the raised limit; each side holds one descriptor per connection.
        let openFiles = FileDescriptorLimit.raiseToHardLimit()
        let needed = terminals + 512
        guard needed <= openFiles else {
            fail("--terminals \(terminals) needs about \(needed) open files per process, but the limit is \(openFiles) "
                + "(hard limit \(FileDescriptorLimit.hardLimit)); raise it (`ulimit -Hn`, /etc/security/limits.conf, "
                + "`docker run --ulimit nofile=…`) or use fewer terminals", code: 2)
        }

        let edgeExecutable = edgeBinary ?? Self.siblingExecutable("lpa-edge")
        guard FileManager.default.isExecutableFile(atPath: edgeExecutable) else {
            fail("no lpa-edge executable at \(edgeExecutable); build it (`swift build --product lpa-edge`) or pass --edge-binary", code: 2)
        }
        var mosquitto: String?
        if peer == "mosquitto" {
            mosquitto = mosquittoBinary ?? MosquittoPeer.locate()
            guard let path = mosquitto, FileManager.default.isExecutableFile(atPath: path) else {
                fail("mosquitto not found\(mosquittoBinary.map { " at \($0)" } ?? ""); install it (`apt-get install mosquitto`) or pass --mosquitto-binary", code: 2)
            }
        }

        let pkiURL = URL(fileURLWithPath: pki).standardizedFileURL
        // With a peer, each server's load worker loads the credentials itself.
        var devices: [SimulatedDevice] = []
        do {
            try ensurePKI(at: pkiURL)
            if mosquitto == nil {
                if !json { phase("loading \(terminals) device credentials from \(pkiURL.path)") }
                devices = try FleetLoader.devices(inPKI: pkiURL.path, limit: terminals)
            }
        } catch {
            fail("test PKI in \(pkiURL.path): \(error)", code: 2)
        }
        guard mosquitto != nil || devices.count == terminals else {
            fail("\(pkiURL.path) holds \(devices.count) devices, \(terminals) needed", code: 2)
        }

        let runDirectory = URL(fileURLWithPath: workdir).standardizedFileURL.appendingPathComponent("run-\(ProcessInfo.processInfo.processIdentifier)")
        do {
            try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
        } catch {
            fail("cannot create \(runDirectory.path): \(error.localizedDescription)", code: 2)
        }

        let addressCount = sourceAddresses ?? max(1, (terminals + 19_999) / 20_000)
        var plan = EdgeBenchPlan(trustRoots: .file(pkiURL.appendingPathComponent("fleet-ca.pem").path))
        plan.handshakeConcurrency = concurrency
        plan.duration = .nanoseconds(Int64(duration * 1e9))
        plan.pacedRatePerSecond = pacedRate ?? Double(terminals)
        plan.pacedDuration = .nanoseconds(Int64(pacedDuration * 1e9))
        plan.launchTimeout = .seconds(Int64(max(120, terminals / 50)))
        plan.sourceAddresses = addressCount > 1 ? (1...addressCount).map { "127.0.0.\($0)" } : []

        var conditions = EdgeBenchConditions(
            terminals: terminals, durationS: duration, warmupS: Double(plan.warmup.nanoseconds) / 1e9,
            pacedS: pacedDuration, pacedRatePerS: plan.pacedRatePerSecond, handshakeConcurrency: concurrency,
            cores: ProcessInfo.processInfo.activeProcessorCount, openssl: OpenSSLVersion.text,
            network: "loopback, \(plan.host) → \(plan.host)", sourceAddresses: addressCount,
            heartbeatBodyBytes: TerminalBenchFormat.heartbeatBody.count,
            system: Self.systemDescription(), loadAverage: Self.loadAverage())
        conditions.edgeThreads = edgeThreads
        if peer != nil {
            plan.window = .nanoseconds(Int64(window * 1e9))
            conditions.rounds = max(1, Int((duration / window).rounded(.up)))
            conditions.windowS = window
            conditions.durationS = Double(conditions.rounds) * window
            conditions.warmupS = Double(plan.windowWarmup.nanoseconds) / 1e9
        }
        let progress = makeProgress()
        let pkiPath = pkiURL.path

        var ours = EdgeBenchFigures(server: "lpa-edge", version: nil)
        var theirs: EdgeBenchFigures?
        do {
            let edgePort = try await ServerProcess.freePort()
            let edgeConfig = runDirectory.appendingPathComponent("edge.yaml")
            try Self.edgeConfiguration(port: edgePort, pki: pkiPath, terminals: terminals, threads: edgeThreads)
                .write(to: edgeConfig, atomically: true, encoding: .utf8)
            let edge = BenchServer(
                name: "lpa-edge", version: nil, executable: edgeExecutable,
                arguments: ["--config", edgeConfig.path, "--log-level", "warning"],
                port: edgePort, logPath: runDirectory.appendingPathComponent("lpa-edge.log").path)

            if let mosquitto {
                theirs = EdgeBenchFigures(server: "mosquitto", version: MosquittoPeer.version(executable: mosquitto))
                let port = try await ServerProcess.freePort()
                let conf = runDirectory.appendingPathComponent("mosquitto.conf")
                let edgeTLS = try EdgeConfiguration().tlsConfiguration()
                try MosquittoPeer.configuration(
                    port: port, certificate: "\(pkiPath)/edge.pem", privateKey: "\(pkiPath)/edge.key",
                    clientCA: "\(pkiPath)/fleet-ca.pem", cipherSuites: edgeTLS.cipherSuites, cipherList: edgeTLS.cipherList,
                    stayRoot: geteuid() == 0
                ).write(to: conf, atomically: true, encoding: .utf8)
                let server = BenchServer(
                    name: "mosquitto", version: theirs?.version, executable: mosquitto, arguments: ["-c", conf.path],
                    port: port, logPath: runDirectory.appendingPathComponent("mosquitto.log").path)
                let worker = Self.siblingExecutable("lpa-sim")
                let workerArguments = [
                    "bench", "load-worker", "--host", plan.host, "--server-name", plan.serverName, "--pki", pkiPath,
                    "--terminals", String(terminals), "--concurrency", String(concurrency),
                    "--source-addresses", plan.sourceAddresses.joined(separator: ","),
                ]
                let logDirectory = runDirectory
                let comparison = try await EdgeBenchmark.compare(
                    ours: edge, peer: server, connections: terminals, rounds: conditions.rounds, plan: plan, progress: progress
                ) { target in
                    try await LoadWorker.start(
                        name: "load generator for \(target.name)", executable: worker,
                        arguments: workerArguments + ["--port", String(target.port), "--format", target.name == "mosquitto" ? "mqtt" : "terminal"],
                        logPath: logDirectory.appendingPathComponent("load-\(target.name).log").path)
                }
                ours = comparison.ours
                theirs = comparison.peer
            } else {
                ours = try await EdgeBenchmark.run(
                    server: edge, format: TerminalBenchFormat(), devices: devices, plan: plan, progress: progress)
            }
        } catch let failure as BenchFailure {
            if failure.server == "mosquitto" { theirs = failure.partial } else { ours = failure.partial }
            report(EdgeBenchReport(ours: ours, peer: theirs, conditions: conditions, error: failure.description))
            Console.error("benchmark failed — \(failure.description)")
            Console.error("configurations and logs kept in \(runDirectory.path)")
            throw ExitCode(1)
        } catch {
            Console.error("benchmark failed: \(error)")
            Console.error("configurations and logs kept in \(runDirectory.path)")
            throw ExitCode(1)
        }
        try? FileManager.default.removeItem(at: runDirectory)
        report(EdgeBenchReport(ours: ours, peer: theirs, conditions: conditions))
    }

    // MARK: Setup

    /// Makes sure the PKI holds at least `terminals` devices, creating it when it does not.
    private func ensurePKI(at url: URL) throws {
        if !json {
            switch BenchPKI.deviceCount(in: url) {
            case nil: phase("creating a test PKI with \(terminals) devices in \(url.path)")
            case let rows? where rows < terminals: phase("\(url.path) holds \(rows) devices; re-creating it with \(terminals)")
            default: break
            }
        }
        let showProgress = !json && Console.isTerminal
        var progress: (@Sendable (Int, Int) -> Void)?
        if showProgress {
            progress = { done, total in
                Console.status("\(Console.bar(Double(done) / Double(max(1, total)))) device certificates \(done)/\(total)")
            }
        }
        try BenchPKI.ensure(at: url, devices: terminals, progress: progress)
        if showProgress { Console.endStatus() }
    }

    /// The edge's configuration: mutual TLS with the PKI, limits above the terminal count, and a
    /// heartbeat interval long enough that no terminal is dropped while the benchmark idles it.
    static func edgeConfiguration(port: Int, pki: String, terminals: Int, threads: Int, nodeID: String = "bench-edge",
                                  ticketKeyFile: String? = nil) throws -> String {
        var c = EdgeConfiguration()
        c.nodeID = nodeID
        c.metrics.enabled = false
        c.tls.ticketKeyFile = ticketKeyFile
        c.listen.host = "127.0.0.1"
        c.listen.port = port
        c.tls.certificate = "\(pki)/edge.pem"
        c.tls.privateKey = "\(pki)/edge.key"
        c.tls.clientCA = "\(pki)/fleet-ca.pem"
        c.limits.maxConnections = max(c.limits.maxConnections, terminals + 1_024)
        c.limits.handshakesPerSecondPerAddress = max(c.limits.handshakesPerSecondPerAddress, Double(terminals) * 10)
        c.limits.handshakeBurstPerAddress = max(c.limits.handshakeBurstPerAddress, Double(terminals) + 1_024)
        c.heartbeat.defaultIntervalSeconds = 3_600
        // The closed loop measures how many heartbeats the edge can take: no per-terminal rate.
        c.heartbeat.maxPerSecond = 0
        c.drainSeconds = 10
        c.eventLoopThreads = threads
        return "# Generated by lpa-sim bench.\n" + (try c.rendered(json: false))
    }

    /// `name` in the folder of the running executable.
    static func siblingExecutable(_ name: String) -> String {
        let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        let base = me.path == "/proc/self/exe"
            ? URL(fileURLWithPath: CommandLine.arguments[0]).standardizedFileURL
            : me
        return base.deletingLastPathComponent().appendingPathComponent(name).path
    }

    /// Distribution and kernel, e.g. `Debian GNU/Linux 12 (bookworm), Linux 6.1.0`.
    static func systemDescription() -> String {
        let os = ProcessInfo.processInfo.operatingSystemVersionString
        guard let release = try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8) else { return os }
        return "\(os), Linux \(release.trimmingCharacters(in: .whitespacesAndNewlines))"
    }

    static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }

    // MARK: Output

    /// A line of its own, replacing the status line on a terminal, written at once (also to a pipe or log).
    static func phase(_ line: String) {
        if Console.isTerminal { FileHandle.standardOutput.write(Data("\r\u{1B}[2K".utf8)) }
        print(line)
        fflush(nil)
    }

    private func phase(_ line: String) {
        Self.phase(line)
    }

    /// Phases as lines; the live status line only on a terminal; nothing with --json.
    private func makeProgress() -> BenchProgress {
        if json { return .silent }
        return BenchProgress(
            phase: { Self.phase($0) },
            status: { if Console.isTerminal { Console.status($0) } })
    }

    private func report(_ report: EdgeBenchReport) {
        print(json ? Self.json(report) : Self.table(report))
    }

    private func fail(_ message: String, code: Int32) -> Never {
        Console.error(message)
        Foundation.exit(code)
    }

    static func json(_ report: EdgeBenchReport) -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? encoder.encode(report)) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func table(_ report: EdgeBenchReport) -> String {
        let ours = report.ours
        let peer = report.peer
        let c = report.conditions
        func ratio(_ a: Double, _ b: Double?) -> String {
            guard let b, b > 0, a > 0 else { return "" }
            return String(format: "%.2f", a / b)
        }
        func kib(_ bytes: Double) -> String { String(format: "%.1f KiB", bytes / 1024) }
        func mib(_ bytes: Int) -> String { String(format: "%.1f MiB", Double(bytes) / 1_048_576) }
        func ms(_ v: Double) -> String { String(format: "%.3f ms", v) }
        typealias Row = (String, (EdgeBenchFigures) -> String, String)
        let rows: [Row] = [
            ("connections", { "\($0.connections)" }, ""),
            ("handshakes/s", { String(format: "%.0f", $0.handshakesPerS) }, ratio(ours.handshakesPerS, peer?.handshakesPerS)),
            ("heartbeats/s (closed loop)", { String(format: "%.0f", $0.heartbeatsPerS) }, ratio(ours.heartbeatsPerS, peer?.heartbeatsPerS)),
            ("RSS per connection", { kib($0.rssBytesPerConnection) }, ratio(ours.rssBytesPerConnection, peer?.rssBytesPerConnection)),
            (String(format: "ack p50 (paced %.0f/s)", c.pacedRatePerS), { ms($0.ackP50Ms) }, ratio(ours.ackP50Ms, peer?.ackP50Ms)),
            ("ack p99", { ms($0.ackP99Ms) }, ratio(ours.ackP99Ms, peer?.ackP99Ms)),
            ("ack p99.9 / max", { "\(ms($0.ackP999Ms)) / \(ms($0.ackMaxMs))" }, ""),
            ("paced heartbeats sent/s", { String(format: "%.0f", $0.pacedSentPerS) }, ""),
            ("server CPU (closed loop)", { String(format: "%.0f %%", $0.serverCpuPercent) }, ratio(ours.serverCpuPercent, peer?.serverCpuPercent)),
            ("server CPU per heartbeat", { String(format: "%.1f µs", $0.serverCpuMicrosecondsPerHeartbeat) },
             ratio(ours.serverCpuMicrosecondsPerHeartbeat, peer?.serverCpuMicrosecondsPerHeartbeat)),
            ("load generator CPU per heartbeat", { String(format: "%.1f µs (%.0f %%)", $0.clientCpuMicrosecondsPerHeartbeat, $0.clientCpuPercent) },
             ratio(ours.clientCpuMicrosecondsPerHeartbeat, peer?.clientCpuMicrosecondsPerHeartbeat)),
            ("RSS before / loaded", { "\(mib($0.rssBaselineBytes)) / \(mib($0.rssLoadedBytes))" }, ""),
            ("handshake phase", { String(format: "%.2f s", $0.handshakeSeconds) }, ""),
            ("TLS", { "\($0.tlsVersion) \($0.tlsCipher)\($0.tlsGroup.map { " " + $0 } ?? "")" }, ""),
            ("shutdown (SIGTERM → exit)", { String(format: "%.2f s", $0.shutdownSeconds) }, ""),
            ("version", { $0.version ?? "this build" }, ""),
        ]
        let columns = [ours] + (peer.map { [$0] } ?? [])
        var table: [[String]] = [[""] + columns.map(\.server) + (peer == nil ? [] : ["ours/peer"])]
        for (label, value, r) in rows {
            table.append([label] + columns.map(value) + (peer == nil ? [] : [r]))
        }
        let widths = (0..<table[0].count).map { i in table.map { $0[i].count }.max() ?? 0 }
        var lines = [
            "lpa-sim bench edge: \(c.terminals) terminals, mutual TLS over \(c.network), \(c.cores) cores, \(c.openssl)",
        ]
        for row in table {
            var line = zip(row, widths).map { $0.0.padding(toLength: $0.1, withPad: " ", startingAt: 0) }.joined(separator: "  ")
            while line.last == " " { line.removeLast() }
            lines.append(line)
        }
        lines.append("")
        let closedLoop = c.rounds > 0
            ? String(format: "closed loop in %d rounds of one %.1f s window per server (after %.1f s warm-up each), order alternating, connections held by one load-generator process per server", c.rounds, c.windowS, c.warmupS)
            : String(format: "%.0f s closed loop after %.0f s warm-up", c.durationS, c.warmupS)
        lines.append(String(
            format: "conditions: %@; %.0f s paced at %.0f/s; %d handshakes in flight; %d source address(es); heartbeat body %d bytes; lpa-edge event loops %@; load average %@; %@",
            closedLoop, c.pacedS, c.pacedRatePerS, c.handshakeConcurrency, c.sourceAddresses, c.heartbeatBodyBytes,
            c.edgeThreads == 0 ? "one per core" : "\(c.edgeThreads)", c.loadAverage, c.system))
        if let rounds = report.throughputRatioRounds, let median = report.throughputRatioRoundsMedian {
            lines.append(String(format: "throughput ratio by round: %@ (median %.2f, %d of %d rounds at or above 1)",
                                rounds.map { String(format: "%.2f", $0) }.joined(separator: " "), median, rounds.filter { $0 >= 1 }.count, rounds.count))
        }
        if let t = report.throughputRatio, let m = report.memoryRatio {
            lines.append(String(format: "throughput_ratio %.2f (ours/mosquitto heartbeats/s, higher is better); memory_ratio %.2f (ours/mosquitto RSS per connection, lower is better)", t, m))
        }
        if let error = report.error {
            lines.append("FAILED: \(error)")
        }
        return lines.joined(separator: "\n")
    }
}
