import ArgumentParser
import Foundation
import LPAAdmin
import LPACore
import LPACrypto
import LPALab
import LPAMetricsExport
import LPASimKit
import Logging

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Batch-provision a simulated fleet end to end on this machine: SM-DP+ simulator, lpa-core, lpa-edge, virtual eUICCs.",
        discussion: """
            Creates a fleet PKI (once) and a GSMA RSP test PKI under --workdir, starts the SM-DP+
            simulator (ES9+/ES2+ over HTTPS), lpa-core on SQLite with a device-model library, a
            configuration rule and count settings, and lpa-edge linked to it over mutual TLS; then
            connects the fleet, each terminal carrying a virtual eUICC. Every terminal registers
            (S110, claim 2), its rule asks for a profile (S120), the core runs the SGP.22 download
            through the terminal (S120–S140), enables the profile and notifies the SM-DP+ (S150);
            the terminal comes back on the new ICCID, which confirms the job. Ends with a table
            (or --json) and exits 1 when any terminal was not provisioned.

            The core's operator console and admin API listen on 127.0.0.1 (--admin-port); the demo
            prints the console's URL and one fresh token per role (admin, operate, read). With --keep
            everything keeps running after the summary, the fleet sending heartbeats, until Ctrl-C:
            open the console, start a campaign over the fleet and watch it.

            Examples:
              lpa-sim demo
              lpa-sim demo --terminals 1000 --link lte-m
              lpa-sim demo --json
              lpa-sim demo --terminals 50 --keep --admin-port 8080
              lpa-sim demo --smdp-address smdp.operator.example --smdp-roots roots.pem --matching-id ABC-123
              lpa-sim demo --euicc euicc/ --smdp-address smdp.operator.example --smdp-roots roots.pem --matching-id ABC-123

            With --euicc DIR the fleet is one terminal carrying the eUICC identity in DIR (SGP.26 file names:
            CERT_EUICC_ECDSA_NIST|BRP and its SK_ key, CERT_EUM_ECDSA_…, CERT_CI_ECDSA_…; no CI or SM-DP+
            keys), its certificate presented unchanged: any SGP.22 SM-DP+ that trusts that CI can serve it.
            """)

    @Option(help: "Number of simulated terminals.")
    var terminals: Int = 200

    @Option(help: "Folder for the PKI, the core's database and the demo library.")
    var workdir: String = "var/demo"

    @Option(help: "Radio link of the terminals: \(LinkProfile.all.map(\.name).joined(separator: ", ")).")
    var link: String = "none"

    @Option(help: "Seconds allowed for provisioning the fleet.")
    var timeout: Double = 600

    @Option(help: "Size of each simulated profile package, bytes.")
    var profileSize: Int = 8192

    @Option(help: "Address (host[:port]) of an external SM-DP+ to use instead of the simulator.")
    var smdpAddress: String?

    @Option(help: "PEM file with the roots the external SM-DP+'s TLS certificate chains to.")
    var smdpRoots: String?

    @Option(help: "Matching ID to present to the external SM-DP+.")
    var matchingId: String?

    @Option(help: "Folder with a real eUICC identity (SGP.26 file names); the fleet is then that one eUICC.")
    var euicc: String?

    @Flag(help: "Use brainpoolP256r1 for the RSP test PKI (and the _BRP identity of --euicc).")
    var brainpool = false

    @Flag(help: "Print the summary as one JSON object.")
    var json = false

    @Flag(help: "Keep the SM-DP+, lpa-core, lpa-edge, the fleet and the console running after the summary, until SIGINT/SIGTERM.")
    var keep = false

    @Option(help: "Port of the core's admin API and console on 127.0.0.1 (0: any free port; the URL is printed).")
    var adminPort: Int = 0

    func validate() throws {
        guard terminals > 0 else { throw ValidationError("--terminals must be positive") }
        guard LinkProfile.named(link) != nil else { throw ValidationError("--link must be one of \(LinkProfile.all.map(\.name).joined(separator: ", "))") }
        if (smdpAddress == nil) != (smdpRoots == nil) { throw ValidationError("--smdp-address and --smdp-roots go together") }
        guard (0...65535).contains(adminPort) else { throw ValidationError("--admin-port must be a TCP port") }
    }

    /// A fresh token per role for this run: 24 random bytes, hex.
    static func demoTokens() throws -> [CoreConfiguration.Admin.Token] {
        try AdminRole.allCases.reversed().map { role in
            let hex = try SecureRandom.bytes(count: 24).map { String(format: "%02x", $0) }.joined()
            return CoreConfiguration.Admin.Token(name: "demo-\(role.rawValue)", role: role, token: hex)
        }
    }

    func run() async throws {
        ProcessLogging.bootstrap(level: .error)
        var configuration = LabConfiguration()
        configuration.workdir = workdir
        configuration.terminals = terminals
        configuration.link = LinkProfile.named(link) ?? .none
        configuration.timeoutSeconds = timeout
        configuration.profileSize = profileSize
        configuration.brainpool = brainpool
        if let euicc {
            let identities: [VirtualEUICC.Identity]
            do {
                identities = try VirtualEUICC.Identity.load(from: URL(fileURLWithPath: euicc))
            } catch {
                Console.error("\(error)")
                throw ExitCode(2)
            }
            let curve: EllipticCurve = brainpool ? .brainpoolP256r1 : .p256
            guard let identity = identities.first(where: { $0.privateKey.curve == curve }) ?? (brainpool ? nil : identities.first) else {
                Console.error("\(euicc) has no \(curve) eUICC identity")
                throw ExitCode(2)
            }
            configuration.euiccIdentity = identity
            configuration.terminals = 1
        }
        if let smdpAddress, let smdpRoots {
            configuration.externalSMDP = .init(address: smdpAddress, trustedRootsFile: smdpRoots, matchingID: matchingId)
        }
        let tokens = try Self.demoTokens()
        configuration.admin = CoreConfiguration.Admin(host: "127.0.0.1", port: adminPort, tokens: tokens)
        configuration.adminStarter = AdminServer.starter(metrics: nil)
        let lab = ProvisioningLab(configuration: configuration)
        do {
            try await lab.start(announce: { if !json { print($0) } })
        } catch {
            Console.error("cannot start the demo: \(error)")
            await lab.stop()
            throw ExitCode(2)
        }
        let console = "http://127.0.0.1:\(lab.adminAddress?.port ?? adminPort)/console/"
        // On stderr with --json, so stdout stays one JSON object.
        let announce: (String) -> Void = { line in if json { Console.error(line) } else { print(line) } }
        announce("console: \(console)")
        for token in tokens { announce("token (\(token.role.rawValue)): \(token.token)") }
        fflush(nil)
        let summary = try await lab.waitForFleet { progress in
            guard !json else { return }
            Console.status(String(format: "%@ %5.0fs  provisioned %d/%d  failed %d  in flight %d  online %d",
                                  Console.bar(Double(progress.provisioned) / Double(max(1, progress.terminals))), progress.elapsed,
                                  progress.provisioned, progress.terminals, progress.failed, progress.inFlight, progress.online))
        }
        if !json { Console.endStatus() }
        if !keep { await lab.stop() }
        print(json ? DemoReport.json(summary) : DemoReport.table(summary))
        if keep {
            announce("keeping the demo running; console: \(console) (Ctrl-C to stop)")
            fflush(nil)
            await ShutdownSignal.wait()
            await lab.stop()
        }
        if summary.provisioned < summary.terminals {
            Console.error("\(summary.terminals - summary.provisioned) of \(summary.terminals) terminals were not provisioned")
            throw ExitCode(1)
        }
    }
}

/// The demo's summary as a table or one JSON object.
enum DemoReport {
    static func table(_ s: LabSummary) -> String {
        func kv(_ d: [String: Int]) -> String { d.isEmpty ? "none" : d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        let rows: [(String, String)] = [
            ("terminals", "\(s.terminals)"),
            ("provisioned (device back on the new profile)", "\(s.provisioned)"),
            ("failed", "\(s.failed) (\(kv(s.failures)))"),
            ("download attempts", "\(s.attempts)"),
            ("time", String(format: "%.1f s (%.2f profiles/s)", s.seconds, s.profilesPerSecond)),
            ("time to provision p50 / p99", String(format: "%.0f s / %.0f s", s.p50Seconds, s.p99Seconds)),
            ("terminal round trips per download", String(format: "%.2f (max %d)", s.roundTripsPerDownload, s.roundTripsMax)),
            ("APDU batches / APDUs", "\(s.batches) / \(s.apdus)"),
            ("notifications acknowledged by the SM-DP+", "\(s.notificationsAcknowledged)"),
            ("heartbeat interval changes", "\(s.heartbeatIntervalChanges)"),
            ("online / offline (online dictionary)", "\(s.online) / \(s.offline)"),
            ("link", s.link),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    static func json(_ s: LabSummary) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(s)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
