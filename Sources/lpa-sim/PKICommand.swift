import ArgumentParser
import Foundation
import LPACrypto
import LPASimKit

/// `lpa-sim pki …`: the test PKI that the demo, the fleet simulator and the benchmarks run on.
struct PKICommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pki",
        abstract: "Create the test PKI: fleet CA, infrastructure CA, lpa-edge/lpa-core certificates and one certificate per simulated device.",
        subcommands: [Init.self]
    )
}

extension PKICommand {
    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "init",
            abstract: "Write a fleet CA, service certificates and device certificates into a directory.",
            discussion: """
                Files written into --dir (keys: unencrypted PKCS#8 PEM, mode 0600):
                  fleet-ca.pem, .key       fleet CA: issues the device certificates, edge.pem and admin.pem
                  edge.pem, .key           lpa-edge server towards terminals: localhost, 127.0.0.1, ::1
                  admin.pem, .key          lpa-core's admin API and console (HTTPS): localhost,
                                           127.0.0.1, ::1 and every --admin-name
                  devices/<EID>.pem, .key  device client certificates
                  devices.csv              eid,imei,iccid,model,cert,key
                  infra-ca.pem, .key       infrastructure CA: issues only the two below
                  core.pem, .key           lpa-core server towards edges: same names, URI urn:serverlpa:role:core
                  edge-client.pem, .key    lpa-edge's client certificate (CN lpa-edge, URI urn:serverlpa:role:edge)
                Device certificates have subject CN = EID, serialNumber = IMEI.
                lpa-core trusts only infra-ca.pem on its edge port, so a device certificate
                cannot act as an edge (README, "Trust model").

                Device n has the same EID, IMEI and ICCID in every PKI.
                An existing PKI is never replaced without --force.

                Examples:
                  lpa-sim pki init
                  lpa-sim pki init --dir pki --devices 10000
                  lpa-sim pki init --dir pki-bp --devices 50 --curve brainpoolP256r1 --force
                  lpa-sim pki init --dir pki --devices 5 --json
                  lpa-sim pki init --dir pki --admin-name core.example --admin-name 10.0.0.5

                Exit codes: 0 created; 64 invalid arguments; 70 key or certificate failure;
                73 a PKI already exists in --dir (add --force); 74 file system error.
                """
        )

        @Option(help: "Directory to write the PKI into (created if missing).")
        var dir: String = "./pki"

        @Option(help: "Number of device certificates (0 to 1000000).")
        var devices: Int = 200

        @Option(help: "Curve of every key: \(Curve.allCases.map(\.rawValue).joined(separator: " or ")).")
        var curve: Curve = .p256

        @Option(help: "Device model written to devices.csv.")
        var model: String = "SIM-METER-1"

        @Option(help: "Validity of the service and device certificates, in days (the CA gets ten years).")
        var validityDays: Int = 825

        @Option(help: "EID prefix of the devices (89…, up to 30 digits; device n fills the rest and the check digits). A real eUICC's first 30 digits give device 0 that eUICC's EID.")
        var eidPrefix: String = FleetIdentity.Numbering.simulator.eidPrefix

        @Option(help: "Extra DNS name or IPv4 address of the admin API certificate (repeatable).")
        var adminName: [String] = []

        @Flag(help: "Replace an existing PKI in --dir.")
        var force = false

        @Flag(help: "Print a JSON summary object on stdout instead of text.")
        var json = false

        enum Curve: String, CaseIterable, ExpressibleByArgument {
            case p256
            case brainpoolP256r1

            var ellipticCurve: EllipticCurve {
                switch self {
                case .p256: .p256
                case .brainpoolP256r1: .brainpoolP256r1
                }
            }
        }

        func validate() throws {
            guard (0...1_000_000).contains(devices) else {
                throw ValidationError("--devices must be between 0 and 1000000, got \(devices).")
            }
            guard validityDays > 0 else {
                throw ValidationError("--validity-days must be positive, got \(validityDays).")
            }
            guard eidPrefix.hasPrefix("89"), eidPrefix.count <= 30, eidPrefix.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                throw ValidationError("--eid-prefix must be up to 30 digits starting with 89, got \(eidPrefix).")
            }
        }

        func run() throws {
            let directory = URL(fileURLWithPath: dir)
            let progress = json ? nil : PKIProgress(total: devices)
            var report: (@Sendable (Int, Int) -> Void)? = nil
            if let progress {
                report = { done, total in progress.update(done, total) }
            }
            let start = Date()
            let pki: TestPKI
            let fingerprint: String
            do throws(TestPKIError) {
                pki = try TestPKI.create(
                    at: directory,
                    devices: devices,
                    curve: curve.ellipticCurve,
                    model: model,
                    numbering: FleetIdentity.Numbering(
                        eidPrefix: eidPrefix, tac: FleetIdentity.Numbering.simulator.tac,
                        iccidIssuerPrefix: FleetIdentity.Numbering.simulator.iccidIssuerPrefix),
                    validityDays: validityDays,
                    adminNames: adminName,
                    overwrite: force,
                    progress: report
                )
                fingerprint = try pki.certificateAuthority().certificate.fingerprintSHA256
                    .map { String(format: "%02X", $0) }.joined(separator: ":")
            } catch {
                progress?.finish()
                describe(error)
                throw ExitCode(exitCode(for: error))
            }
            progress?.finish()
            do {
                try Self.writeTicketSecret(in: directory, overwrite: force)
            } catch {
                FileHandle.standardError.write(Data("lpa-sim: cannot write the session-ticket secret: \(error)\n".utf8))
                throw ExitCode(1)
            }
            let seconds = Date().timeIntervalSince(start)
            if json {
                try printJSON(PKISummary(pki: pki, curve: curve.rawValue, model: model, seconds: seconds, fingerprint: fingerprint))
            } else {
                printText(pki, seconds: seconds, fingerprint: fingerprint)
            }
        }

        /// `ticket.key`: the session-ticket secret every lpa-edge of the deployment shares
        /// (`tls.ticketKeyFile`), 48 random bytes in base64, mode 0600; kept when present unless `overwrite`.
        static func writeTicketSecret(in directory: URL, overwrite: Bool) throws {
            let path = directory.appendingPathComponent("ticket.key").path
            if !overwrite, FileManager.default.fileExists(atPath: path) { return }
            let secret = Data(try SecureRandom.bytes(count: 48)).base64EncodedString() + "\n"
            guard FileManager.default.createFile(atPath: path, contents: Data(secret.utf8), attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
            }
        }

        private func printText(_ pki: TestPKI, seconds: Double, fingerprint: String) {
            let layout = pki.layout
            func name(_ url: URL) -> String { url.lastPathComponent }
            print("""
                Created a test PKI in \(layout.directory.path): \(pki.devices.count) devices on \(curve.rawValue), \
                \(String(format: "%.2f", seconds)) s.
                  fleet CA      \(name(layout.fleetCACertificate)), \(name(layout.fleetCAKey))  SHA-256 \(fingerprint)
                  lpa-edge      \(name(layout.edgeCertificate)), \(name(layout.edgeKey))  (server: localhost, 127.0.0.1, ::1)
                  infra CA      \(name(layout.infrastructureCACertificate)), \(name(layout.infrastructureCAKey))  (edge–core link only)
                  lpa-core      \(name(layout.coreCertificate)), \(name(layout.coreKey))  (server towards edges, role core)
                  edge → core   \(name(layout.edgeClientCertificate)), \(name(layout.edgeClientKey))  (client, CN lpa-edge, role edge)
                  admin API     \(name(layout.adminCertificate)), \(name(layout.adminKey))  (server: localhost, 127.0.0.1, ::1\(adminName.map { ", " + $0 }.joined()))
                  devices       \(name(layout.devicesDirectory))/<EID>.pem, .key; inventory \(name(layout.devicesCSV))
                  tickets       ticket.key  (session-ticket secret shared by every lpa-edge)
                """)
            if let first = pki.devices.first?.identity, let last = pki.devices.last?.identity {
                print("  EIDs          \(first.eid) … \(last.eid)")
            }
        }

        private func printJSON(_ summary: some Encodable) throws {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try encoder.encode(summary), as: UTF8.self))
        }

        private func describe(_ error: TestPKIError) {
            Console.error("pki init: \(error)")
            if json {
                struct Failure: Encodable {
                    let ok = false
                    let code: String
                    let message: String
                }
                try? printJSON(Failure(code: error.code, message: error.description))
            }
        }

        private func exitCode(for error: TestPKIError) -> Int32 {
            switch error {
            case .alreadyExists: 73
            case .invalidDeviceCount, .invalidParameter, .eidOutsideEUM: 64
            case .fileSystem: 74
            case .crypto, .identity, .malformedInventory, .inconsistentFiles: 70
            }
        }
    }
}

/// The `--json` summary of `pki init`.
private struct PKISummary: Encodable {
    struct Pair: Encodable {
        let certificate: String
        let key: String
    }

    let ok = true
    let directory: String
    let devices: Int
    let curve: String
    let model: String
    let seconds: Double
    let fleetCA: Pair
    let fleetCAFingerprintSHA256: String
    let edge: Pair
    let infrastructureCA: Pair
    let core: Pair
    let edgeClient: Pair
    let devicesDirectory: String
    let devicesCSV: String
    let firstEID: String?
    let lastEID: String?

    init(pki: TestPKI, curve: String, model: String, seconds: Double, fingerprint: String) {
        let layout = pki.layout
        directory = layout.directory.path
        devices = pki.devices.count
        self.curve = curve
        self.model = model
        self.seconds = (seconds * 1000).rounded() / 1000
        fleetCA = Pair(certificate: layout.fleetCACertificate.path, key: layout.fleetCAKey.path)
        fleetCAFingerprintSHA256 = fingerprint
        edge = Pair(certificate: layout.edgeCertificate.path, key: layout.edgeKey.path)
        infrastructureCA = Pair(certificate: layout.infrastructureCACertificate.path, key: layout.infrastructureCAKey.path)
        core = Pair(certificate: layout.coreCertificate.path, key: layout.coreKey.path)
        edgeClient = Pair(certificate: layout.edgeClientCertificate.path, key: layout.edgeClientKey.path)
        devicesDirectory = layout.devicesDirectory.path
        devicesCSV = layout.devicesCSV.path
        firstEID = pki.devices.first?.identity.eid.value
        lastEID = pki.devices.last?.identity.eid.value
    }
}

/// Device progress for `pki init`: a bar on a terminal, a line per 10 % otherwise. Called from TestPKI's
/// worker threads; one lock keeps lines whole.
private final class PKIProgress: @unchecked Sendable {
    private let lock = NSLock()
    private let total: Int
    private var lastTenth = -1
    private var shown = false

    init(total: Int) {
        self.total = total
    }

    func update(_ done: Int, _ total: Int) {
        guard total > 0 else { return }
        lock.withLock {
            let fraction = Double(done) / Double(total)
            if Console.isTerminal {
                Console.status("devices \(Console.bar(fraction)) \(done)/\(total)")
                shown = true
            } else {
                let tenth = Int(fraction * 10)
                guard tenth > lastTenth else { return }
                lastTenth = tenth
                print("devices \(done)/\(total)")
            }
        }
    }

    func finish() {
        lock.withLock {
            if shown { Console.endStatus() }
            shown = false
        }
    }
}
