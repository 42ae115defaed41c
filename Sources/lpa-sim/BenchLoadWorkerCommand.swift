import ArgumentParser
import Foundation
import LPAConfig
import LPASimKit

/// Holds one server's benchmark connections for `lpa-sim bench edge --peer …`, which starts one
/// worker per server and steers it over standard input and output (``LoadWorkerCommand``), so
/// that each server's connections have their own process and file-descriptor limit.
struct BenchLoadWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load-worker",
        abstract: "Benchmark connections to one server, steered over standard input (used by `bench edge --peer`).",
        shouldDisplay: false)

    @Option(help: "Wire format: terminal (lpa-edge) or mqtt (Mosquitto).")
    var format: String

    @Option(help: "Server address.")
    var host: String = "127.0.0.1"

    @Option(help: "Server port.")
    var port: Int

    @Option(help: "Name checked against the server certificate.")
    var serverName: String = "localhost"

    @Option(help: "PKI folder holding the device credentials and fleet-ca.pem.")
    var pki: String

    @Option(help: "Number of connections.")
    var terminals: Int

    @Option(help: "Connections between connect and welcome at once.")
    var concurrency: Int = 256

    @Option(help: "Local addresses to spread connections over, comma-separated (default: the OS chooses).")
    var sourceAddresses: String = ""

    func validate() throws {
        guard ["terminal", "mqtt"].contains(format) else { throw ValidationError("--format must be terminal or mqtt") }
        guard terminals > 0, concurrency > 0, (1...65_535).contains(port) else {
            throw ValidationError("--terminals and --concurrency must be positive, --port a TCP port")
        }
    }

    func run() async throws {
        FileDescriptorLimit.raiseToHardLimit()
        let load: any LoadControl
        do {
            var plan = EdgeBenchPlan(trustRoots: .file(URL(fileURLWithPath: pki).appendingPathComponent("fleet-ca.pem").path))
            plan.host = host
            plan.serverName = serverName
            plan.sourceAddresses = sourceAddresses.split(separator: ",").map(String.init)
            let target = try EdgeBenchmark.target(plan: plan, port: port)
            let devices = try FleetLoader.devices(inPKI: pki, limit: terminals)
            guard devices.count == terminals else {
                throw ValidationError("\(pki) holds \(devices.count) devices, \(terminals) needed")
            }
            if format == "mqtt" {
                load = try await EdgeLoadDriver(format: MQTTBenchFormat(), devices: devices, target: target, maximumLaunching: concurrency)
            } else {
                load = try await EdgeLoadDriver(format: TerminalBenchFormat(), devices: devices, target: target, maximumLaunching: concurrency)
            }
        } catch {
            LoadWorkerService.reply(LoadWorkerReply(error: "cannot start: \(error)"))
            throw ExitCode(2)
        }
        await LoadWorkerService.serve(load)
    }
}
