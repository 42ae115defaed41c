import ArgumentParser
import Foundation
import LPAMetricsExport
import LPASimKit
import Logging

struct SMDPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "smdp",
        abstract: "Run the SM-DP+ simulator: ES9+ and ES2+ over HTTPS with a GSMA-style test PKI.",
        discussion: """
            Loads the RSP test PKI from --pki (SGP.26 file names; created there when missing) and serves
            ES9+ (/gsma/rsp2/es9plus/…) and ES2+ (/gsma/rsp2/es2plus/…) with the DPtls certificate.
            Clients trust the CI certificate (CERT_CI_ECDSA_NIST.pem in --pki). Any matching ID, or
            none, gets a profile of --profile-type (auto-order), so fleets download without ES2+ calls.
            Runs until SIGINT/SIGTERM.

            Field deviations (SM-DP+ behaviours met in the field, to test an LPA's tolerance):
              --segment-size N       N plaintext bytes per 86 segment (1008 gives 1036-byte segments,
                                     more than the 1020 of SGP.22 §2.5.3)
              --swap-header-iccid    ProfileHeader ICCID nibble-swapped instead of E.118 digit order
              --no-charset           Content-Type: application/json without ;charset=UTF-8
              --http-500-on-error    a refused request gets HTTP 500 instead of a Failed status code

            Examples:
              lpa-sim smdp --listen 127.0.0.1:8444 --pki var/rsp
              lpa-sim smdp --listen 127.0.0.1:8444 --pki var/rsp --profile-size 32768 --failure-rate 0.05
              lpa-sim smdp --listen 127.0.0.1:8444 --pki var/rsp --segment-size 1008 --no-charset
            """)

    @Option(help: "Listen address HOST:PORT.")
    var listen = "127.0.0.1:8444"

    @Option(help: "Address clients use (host[:port]); default: the listen address.")
    var address: String?

    @Option(help: "Folder of the RSP test PKI (created when missing).")
    var pki = "var/rsp"

    @Option(help: "Profile type served.")
    var profileType = "demo-iot-data"

    @Option(help: "Size of each profile package, bytes.")
    var profileSize = 8192

    @Option(help: "Probability that an ES9+ download function fails (fault injection).")
    var failureRate = 0.0

    @Option(help: "Plaintext bytes per 86 segment (field deviation; default keeps segments within 1020 bytes).")
    var segmentSize: Int?

    @Flag(help: "Write the ProfileHeader ICCID nibble-swapped (field deviation).")
    var swapHeaderIccid = false

    @Flag(help: "Answer Content-Type application/json without the charset (field deviation).")
    var noCharset = false

    @Flag(name: .customLong("http-500-on-error"), help: "Answer a refused request with HTTP 500 instead of a Failed status code (field deviation).")
    var http500OnError = false

    @Option(help: "Log level.")
    var logLevel = "warning"

    func validate() throws {
        if let segmentSize, !(1...65_000).contains(segmentSize) { throw ValidationError("--segment-size must be 1…65000") }
    }

    func run() async throws {
        let level = Logger.Level(rawValue: logLevel) ?? .warning
        ProcessLogging.bootstrap(level: level)
        let parts = listen.split(separator: ":")
        guard parts.count == 2, let port = Int(parts[1]) else { throw ValidationError("--listen must be HOST:PORT") }
        let directory = URL(fileURLWithPath: pki)
        let rsp: RSPTestPKI
        if let loaded = try? RSPTestPKI.load(from: directory) {
            rsp = loaded
        } else {
            rsp = try RSPTestPKI.create()
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            try rsp.write(to: directory, overwrite: true)
        }
        var configuration = SMDPConfiguration(address: address ?? listen, profileTypes: [
            ProfileType(name: profileType, serviceProviderName: "ServerLPA Demo Operator", profileName: "Demo IoT data",
                        iccidPrefix: "8999001", packageSize: profileSize, notificationEvents: [.install, .enable, .disable, .delete]),
        ])
        configuration.autoOrderProfileType = profileType
        configuration.deviations.profileElementsPlaintextPerSegment = segmentSize
        configuration.deviations.swapsHeaderICCID = swapHeaderIccid
        configuration.deviations.omitsContentTypeCharset = noCharset
        configuration.deviations.answersHTTP500OnError = http500OnError
        let simulator = try SMDPSimulator(pki: rsp, configuration: configuration)
        if failureRate > 0 {
            var faults = SMDPFaults()
            for function in [SMDPFunction.initiateAuthentication, .authenticateClient, .getBoundProfilePackage] {
                faults.failureRate[function] = failureRate
            }
            await simulator.setFaults(faults)
        }
        let server = try await SMDPServer.start(simulator: simulator, host: String(parts[0]), port: port,
                                                tls: try SMDPServer.tlsConfiguration(pki: rsp))
        print("SM-DP+ simulator on \(server.address) (address \(configuration.address)); clients trust \(directory.path)/CERT_CI_ECDSA_NIST.pem")
        await ShutdownSignal.wait()
        await server.shutdown()
        let stats = await simulator.statistics
        print("sessions started \(stats.sessionsStarted), installs confirmed \(stats.installsConfirmed), notifications \(stats.notificationsReceived.values.reduce(0, +))")
    }
}

/// Waits for SIGINT or SIGTERM.
enum ShutdownSignal {
    static func wait() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let once = OnceFlag()
            for signalNumber in [SIGINT, SIGTERM] {
                signal(signalNumber, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
                source.setEventHandler {
                    if once.set() { continuation.resume() }
                }
                source.resume()
                Self.sources.append(source)
            }
        }
    }

    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []
}

final class OnceFlag: @unchecked Sendable {
    private let lock = NSLock()
    private var done = false
    /// True the first time only.
    func set() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        if done { return false }
        done = true
        return true
    }
}
