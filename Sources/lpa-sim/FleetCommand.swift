import ArgumentParser
import Foundation
import LPAIdentity
import LPASimKit
import NIOCore

struct FleetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fleet",
        abstract: "Connect simulated terminals to an lpa-edge and keep them heartbeating.",
        discussion: """
            Each terminal presents its own device certificate from the PKI folder, says Hello,
            heartbeats at the interval the server sets, answers APDU batches, and reconnects with
            backoff. Live counts are printed once a second.

            Examples:
              lpa-sim fleet --pki pki --edge 127.0.0.1:8443 --terminals 1000 --duration 120
              lpa-sim fleet --pki pki --edge 127.0.0.1:8443 --json
            """)

    @Option(help: "PKI folder made by `lpa-sim pki init`.")
    var pki: String = "pki"

    @Option(help: "Edge address, HOST:PORT.")
    var edge: String = "127.0.0.1:8443"

    @Option(help: "Name checked against the edge certificate.")
    var serverName: String = "localhost"

    @Option(help: "Number of terminals (at most the devices in the PKI).")
    var terminals: Int?

    @Option(help: "Seconds to run; 0 runs until interrupted.")
    var duration: Double = 30

    @Option(help: "New connections per second while ramping up.")
    var connectRate: Double = 500

    @Option(help: "Comma-separated local addresses to connect from (e.g. 127.0.0.2,127.0.0.3).")
    var sourceAddresses: String?

    @Option(help: "Folder of eUICC identities under SGP.26 file names (CERT_EUICC_ECDSA_NIST|BRP with its SK_ key, the EUM and CI certificates; no CI or SM-DP+ keys): the terminal whose EID is the certificate's serialNumber carries it unchanged; others carry a placeholder card unless --mint-per-eid.")
    var rsp: String?

    @Flag(help: "With --rsp: mint an eUICC certificate for every other terminal's EID under the folder's EUM (needs the EUM private key and the rest of an RSP test PKI, as `lpa-sim smdp --pki` writes it).")
    var mintPerEid = false

    @Option(help: "Folder where the virtual eUICCs keep their state between runs (with --rsp).")
    var cardState: String?

    @Option(help: "Radio link of the terminals: \(LinkProfile.all.map(\.name).joined(separator: ", ")).")
    var link: String = "none"

    @Flag(help: "Print the final counts as one JSON object.")
    var json = false

    func run() async throws {
        guard let colon = edge.lastIndex(of: ":"), let port = Int(edge[edge.index(after: colon)...]) else {
            Console.error("--edge '\(edge)' is not HOST:PORT")
            throw ExitCode(2)
        }
        let devices: [SimulatedDevice]
        do {
            devices = try FleetLoader.devices(inPKI: pki, limit: terminals)
        } catch {
            Console.error("\(error)")
            throw ExitCode(2)
        }
        var behaviour = FleetBehaviour()
        behaviour.connectRatePerSecond = connectRate
        behaviour.sourceAddresses = sourceAddresses?.split(separator: ",").map(String.init) ?? []
        let target = FleetTarget(host: String(edge[..<colon]), port: port, serverName: serverName, trustRoots: .file("\(pki)/fleet-ca.pem"))
        guard let linkProfile = LinkProfile.named(link) else { throw ValidationError("--link must be one of \(LinkProfile.all.map(\.name).joined(separator: ", "))") }
        behaviour.link = linkProfile
        var identities: [String: VirtualEUICC.Identity] = [:]
        if let rsp {
            let folder = URL(fileURLWithPath: rsp)
            if mintPerEid {
                let pki = try RSPTestPKI.load(from: folder)
                for device in devices { identities[device.identity.eid] = try VirtualEUICC.Identity(pki: pki, eid: try EID(device.identity.eid)) }
            }
            // Real identities are presented unchanged and win over minted ones.
            let real = try VirtualEUICC.Identity.load(from: folder)
            for identity in real { identities[identity.eid] = identity }
            let matched = devices.filter { identities[$0.identity.eid] != nil }.count
            if matched == 0 {
                Console.error("no terminal has the EID of the eUICC certificate(s) in \(rsp) (\(real.map(\.eid).joined(separator: ", "))): "
                              + "make the fleet PKI with `lpa-sim pki init --eid-prefix <the EID's first 30 digits>` or pass --mint-per-eid")
                throw ExitCode(2)
            }
        }
        let cards = identities
        let stateDirectory = cardState.map { URL(fileURLWithPath: $0) }
        if let stateDirectory { try FileManager.default.createDirectory(at: stateDirectory, withIntermediateDirectories: true) }
        let fleet = try FleetSimulator(target: target, devices: devices, behaviour: behaviour) { device in
            guard let identity = cards[device.identity.eid] else { return PlaceholderCard() }
            return VirtualEUICC(identity: identity, configuration: .init(stateDirectory: stateDirectory))
        }
        fleet.start()
        let started = Date()
        while duration == 0 || Date().timeIntervalSince(started) < duration {
            try await Task.sleep(for: .seconds(1))
            if !json { Console.status(FleetReport.line(fleet.statistics, total: devices.count, elapsed: Date().timeIntervalSince(started))) }
        }
        if !json { Console.endStatus() }
        await fleet.stop()
        let report = FleetReport(statistics: fleet.statistics, terminals: devices.count, seconds: Date().timeIntervalSince(started))
        print(json ? report.json() : report.table())
    }
}
