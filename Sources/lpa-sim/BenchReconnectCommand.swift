import ArgumentParser
import Foundation
import LPAConfig
import LPAEdge
import LPAMetricsExport
import LPASimKit
import Logging

struct BenchReconnectCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reconnect",
        abstract: "Measure a reconnect storm: the whole fleet dropped at once and re-admitted, optionally against Mosquitto.",
        discussion: """
            Starts two lpa-edge processes on free loopback ports, both with the session-ticket
            secret of the PKI folder (ticket.key, as every edge of a deployment shares it). N
            simulated terminals connect to the first edge with full mutual-TLS handshakes and
            greet; then every connection is dropped at once and every terminal reconnects
            straight away to the second edge — as when an edge restarts or a balancer moves its
            terminals — offering the ticket the first edge gave it. Printed for both admissions:
            time until the last Welcome, admissions per second, server CPU per admission
            (both edges counted), and how many re-admissions resumed their TLS session.

            With --peer mosquitto the same storm runs against Mosquitto 2 in the same invocation
            (MQTT 3.1.1 over TLS with the same certificates; CONNECT + SUBSCRIBE is the greeting),
            its clients reconnecting to the same broker with the sessions it issued (a single
            Mosquitto cannot share tickets with another), and the ratios are printed. The servers
            run one after the other, each with the machine to itself.

            Examples:
              lpa-sim bench reconnect --terminals 1000
              lpa-sim bench reconnect --terminals 10000 --peer mosquitto
              lpa-sim bench reconnect --terminals 10000 --peer mosquitto --json
            """)

    @Option(help: "Number of simulated terminals.")
    var terminals: Int = 10_000

    @Option(help: "Also run the storm against this peer: mosquitto.")
    var peer: String?

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Option(help: "PKI folder; created (or re-created) with a test PKI when missing or holding fewer devices than --terminals.")
    var pki: String = "var/bench/pki"

    @Option(help: "Folder for the servers' configurations and logs.")
    var workdir: String = "var/bench"

    @Option(help: "The lpa-edge executable (default: lpa-edge next to this lpa-sim).")
    var edgeBinary: String?

    @Option(help: "The mosquitto executable (default: found in /usr/sbin, /usr/local/sbin, …).")
    var mosquittoBinary: String?

    @Option(help: "Connections between connect and welcome at once.")
    var concurrency: Int = 256

    @Option(help: "Event-loop threads of each lpa-edge (0: one per core).")
    var edgeThreads: Int = 0

    func validate() throws {
        guard terminals > 0 else { throw ValidationError("--terminals must be positive") }
        guard concurrency > 0 else { throw ValidationError("--concurrency must be positive") }
        if let peer, peer != "mosquitto" { throw ValidationError("--peer: only 'mosquitto' is supported") }
    }

    func run() async throws {
        ProcessLogging.bootstrap(level: .warning)
        let openFiles = FileDescriptorLimit.raiseToHardLimit()
        guard terminals + 512 <= openFiles else {
            Console.error("--terminals \(terminals) needs about \(terminals + 512) open files, but the limit is \(openFiles)")
            throw ExitCode(2)
        }
        let edgeExecutable = edgeBinary ?? BenchEdgeCommand.siblingExecutable("lpa-edge")
        guard FileManager.default.isExecutableFile(atPath: edgeExecutable) else {
            Console.error("no lpa-edge executable at \(edgeExecutable); build it or pass --edge-binary")
            throw ExitCode(2)
        }
        var mosquitto: String?
        if peer == "mosquitto" {
            mosquitto = mosquittoBinary ?? MosquittoPeer.locate()
            guard let path = mosquitto, FileManager.default.isExecutableFile(atPath: path) else {
                Console.error("mosquitto not found; install it (`apt-get install mosquitto`) or pass --mosquitto-binary")
                throw ExitCode(2)
            }
        }
        let pkiURL = URL(fileURLWithPath: pki).standardizedFileURL
        let runDirectory = URL(fileURLWithPath: workdir).standardizedFileURL.appendingPathComponent("reconnect-\(ProcessInfo.processInfo.processIdentifier)")
        let devices: [SimulatedDevice]
        let ticketKey = pkiURL.appendingPathComponent("ticket.key").path
        do {
            if BenchPKI.deviceCount(in: pkiURL) ?? 0 < terminals, !json {
                BenchEdgeCommand.phase("creating a test PKI with \(terminals) devices in \(pkiURL.path)")
            }
            try BenchPKI.ensure(at: pkiURL, devices: terminals, progress: nil)
            try PKICommand.Init.writeTicketSecret(in: pkiURL, overwrite: false)
            try FileManager.default.createDirectory(at: runDirectory, withIntermediateDirectories: true)
            if !json { BenchEdgeCommand.phase("loading \(terminals) device credentials from \(pkiURL.path)") }
            devices = try FleetLoader.devices(inPKI: pkiURL.path, limit: terminals)
        } catch {
            Console.error("set-up in \(pkiURL.path): \(error)")
            throw ExitCode(2)
        }

        var plan = EdgeBenchPlan(trustRoots: .file(pkiURL.appendingPathComponent("fleet-ca.pem").path))
        plan.handshakeConcurrency = concurrency
        plan.launchTimeout = .seconds(Int64(max(120, terminals / 50)))
        plan.settle = .seconds(1)
        let progress: BenchProgress = json ? .silent : BenchProgress(
            phase: { BenchEdgeCommand.phase($0) }, status: { if Console.isTerminal { Console.status($0) } })

        var results: [ReconnectFigures] = []
        do {
            var edges: [BenchServer] = []
            for name in ["lpa-edge-a", "lpa-edge-b"] {
                let port = try await ServerProcess.freePort()
                let config = runDirectory.appendingPathComponent("\(name).yaml")
                try BenchEdgeCommand.edgeConfiguration(
                    port: port, pki: pkiURL.path, terminals: terminals, threads: edgeThreads, nodeID: name, ticketKeyFile: ticketKey
                ).write(to: config, atomically: true, encoding: .utf8)
                edges.append(BenchServer(name: name, version: nil, executable: edgeExecutable, arguments: ["--config", config.path, "--log-level", "warning"],
                                         port: port, logPath: runDirectory.appendingPathComponent("\(name).log").path))
            }
            results.append(try await ReconnectBenchmark.run(
                name: "lpa-edge", version: nil, servers: edges, format: TerminalBenchFormat(), devices: devices, plan: plan, progress: progress))
            if let mosquitto {
                let port = try await ServerProcess.freePort()
                let conf = runDirectory.appendingPathComponent("mosquitto.conf")
                let edgeTLS = try EdgeConfiguration().tlsConfiguration()
                try MosquittoPeer.configuration(
                    port: port, certificate: "\(pkiURL.path)/edge.pem", privateKey: "\(pkiURL.path)/edge.key",
                    clientCA: "\(pkiURL.path)/fleet-ca.pem", cipherSuites: edgeTLS.cipherSuites, cipherList: edgeTLS.cipherList,
                    stayRoot: geteuid() == 0
                ).write(to: conf, atomically: true, encoding: .utf8)
                let version = MosquittoPeer.version(executable: mosquitto)
                let broker = BenchServer(name: "mosquitto", version: version, executable: mosquitto, arguments: ["-c", conf.path],
                                         port: port, logPath: runDirectory.appendingPathComponent("mosquitto.log").path)
                results.append(try await ReconnectBenchmark.run(
                    name: "mosquitto", version: version, servers: [broker], format: MQTTBenchFormat(), devices: devices, plan: plan, progress: progress))
            }
        } catch {
            if !json, Console.isTerminal { Console.endStatus() }
            Console.error("benchmark failed: \(error)")
            Console.error("configurations and logs kept in \(runDirectory.path)")
            throw ExitCode(1)
        }
        if !json, Console.isTerminal { Console.endStatus() }
        try? FileManager.default.removeItem(at: runDirectory)
        let report = ReconnectReport(
            results: results, terminals: terminals, concurrency: concurrency, cores: ProcessInfo.processInfo.activeProcessorCount,
            system: BenchEdgeCommand.systemDescription(), loadAverage: BenchEdgeCommand.loadAverage())
        print(json ? report.json() : report.table())
    }
}

/// The storm's figures per server and, with a peer, the ratios ours / peer.
struct ReconnectReport: Encodable {
    var results: [ReconnectFigures]
    var terminals: Int
    var concurrency: Int
    var cores: Int
    var system: String
    var loadAverage: String
    /// Re-admissions per second, ours / peer (> 1: we re-admit faster).
    var readmissionRateRatio: Double?
    /// Server CPU per re-admission, ours / peer (< 1: we spend less).
    var readmissionCPURatio: Double?

    init(results: [ReconnectFigures], terminals: Int, concurrency: Int, cores: Int, system: String, loadAverage: String) {
        self.results = results
        self.terminals = terminals
        self.concurrency = concurrency
        self.cores = cores
        self.system = system
        self.loadAverage = loadAverage
        if results.count == 2 {
            readmissionRateRatio = results[1].readmissionsPerS > 0 ? results[0].readmissionsPerS / results[1].readmissionsPerS : nil
            readmissionCPURatio = results[1].serverCPUMsPerReadmission > 0 ? results[0].serverCPUMsPerReadmission / results[1].serverCPUMsPerReadmission : nil
        }
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    func table() -> String {
        var lines = ["reconnect storm: \(terminals) terminals, \(concurrency) connecting at once, \(cores) cores, \(system), load \(loadAverage)"]
        for r in results {
            lines.append("")
            lines.append("\(r.server)\(r.version.map { " \($0)" } ?? "")  (\(r.path))")
            lines.append(String(format: "  full admission    %8.2f s  %9.0f /s  server CPU %.3f ms each", r.fullAdmissionSeconds, r.fullAdmissionsPerS, r.serverCPUMsPerFullAdmission))
            lines.append(String(format: "  re-admission      %8.2f s  %9.0f /s  server CPU %.3f ms each  resumed %d/%d  failed %d",
                                r.readmissionSeconds, r.readmissionsPerS, r.serverCPUMsPerReadmission, r.resumed, r.connections, r.failures))
        }
        if let rate = readmissionRateRatio, let cpu = readmissionCPURatio {
            lines.append("")
            lines.append(String(format: "ratio lpa-edge / mosquitto: re-admissions per second ×%.2f, server CPU per re-admission ×%.2f", rate, cpu))
        }
        return lines.joined(separator: "\n")
    }
}
