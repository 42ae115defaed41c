import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import LPADomain
import LPAIdentity
import LPAMetricsExport
import LPAStore
import Logging
import NIOHTTP1
import XCTest

/// A core's store and engine with the admin API on 127.0.0.1 (port chosen by the OS), on a
/// temporary SQLite file.
final class AdminHarness: Sendable {
    static let tokens: [AdminRole: String] = [
        .read: "read-token-0123456789abcdef",
        .operate: "operate-token-0123456789abcdef",
        .admin: "admin-token-0123456789abcdef",
    ]

    let directory: URL
    let store: any Store
    let engine: CoreEngine
    let server: AdminServer
    let operators: OperatorDirectory

    static let library = """
        deviceModels:
          - code: SIM-METER-1
            name: Meter
            fields:
              - { name: eid, validation: eid }
              - { name: imei, validation: imei }
            heartbeatIntervalSeconds: 60
            historyLimit: 100
        configurationRules:
          - name: pilots
            priority: 10
            match: { models: [SIM-METER-1], tags: [pilot] }
            requirement: { smdpAddress: smdp.pilot.example, profileType: pilot-data }
          - name: meters
            priority: 20
            match: { models: [SIM-METER-1] }
            requirement: { smdpAddress: smdp.example, profileType: meter-data }
        """

    /// `tls` serves HTTPS (``clientTLS`` then reaches it); `host` is where the server listens.
    init(metrics: PrometheusExport? = nil, host: String = "127.0.0.1", tls: CoreConfiguration.Admin.TLS? = nil) async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-admin-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        store = try StoreFactory.open(url: "sqlite://\(directory.path)/core.db")
        try await store.migrate()
        var logger = Logger(label: "admin-test")
        logger.logLevel = .warning
        engine = CoreEngine(store: store, presencePolicy: CoreConfiguration().presencePolicy, control: EdgeDirectory(), logger: logger,
                            clock: { 1_800_000_000 })
        try await engine.start()
        try await engine.importLibraries(try LibraryDocument.parse(yaml: Self.library))
        let settings = CoreConfiguration.Admin(host: host, port: 0, tokens: Self.tokens.map {
            CoreConfiguration.Admin.Token(name: "\($0.key.rawValue)-holder", role: $0.key, token: $0.value)
        }, tls: tls)
        // Campaign routes need a runner; no device is reachable, so nothing downloads in these tests.
        operators = OperatorDirectory(endpoints: [])
        let provisioning = ProvisioningService(store: store, es9: operators, links: { _ in nil }, clock: { 1_800_000_000 }, logger: logger)
        let campaigns = CampaignRunner(store: store, provisioning: provisioning, settings: .init(coreID: "admin-test"),
                                       clock: { 1_800_000_000 }, logger: logger)
        let context = CoreAdminContext(settings: settings, store: store, engine: engine, provisioning: provisioning, campaigns: campaigns,
                                       logger: logger, clock: { 1_800_000_000 })
        server = try await AdminServer.start(context, metrics: metrics)
    }

    func shutdown() async {
        await server.stop()
        await operators.shutdown()
        try? await store.close()
        try? FileManager.default.removeItem(at: directory)
    }

    func client(_ role: AdminRole?) -> AdminHTTPClient {
        AdminHTTPClient(host: "127.0.0.1", port: server.localAddress.port!, token: role.map { Self.tokens[$0]! })
    }

    func client(token: String?) -> AdminHTTPClient {
        AdminHTTPClient(host: "127.0.0.1", port: server.localAddress.port!, token: token)
    }
}

/// `{"error": {…}}` of a response.
struct ErrorBody: Decodable, Equatable {
    struct Detail: Decodable, Equatable {
        var code: String
        var message: String
        var field: String?
    }
    var error: Detail
}

extension AdminHTTPClient.Response {
    func decode<T: Decodable>(_ type: T.Type, file: StaticString = #filePath, line: UInt = #line) throws -> T {
        do {
            return try JSONDecoder().decode(type, from: Data(body))
        } catch {
            XCTFail("HTTP \(status) body is not \(T.self): \(text)", file: file, line: line)
            throw error
        }
    }

    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }

    func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
}

/// Valid identifiers for fleets of any size.
enum Fleet {
    static func eid(_ i: Int) -> String { try! EID.make(prefix: "89049032", index: UInt64(i)).value }
    static func imei(_ i: Int) -> String { try! IMEI.make(tac: "35693803", index: UInt64(i)).value }
}

/// Resident set size of this process, from /proc.
func residentBytes() -> Int {
    guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
          let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }),
          let kb = Int(line.split(separator: " ").dropFirst().first ?? "") else { return 0 }
    return kb * 1024
}
