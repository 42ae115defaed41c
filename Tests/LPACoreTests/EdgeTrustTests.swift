import Foundation
@testable import LPACore
import LPACoreRPC
import LPACrypto
@testable import LPAEdge
import LPARPC
import LPASimKit
import LPATLS
import Logging
import NIOCore
import TerminalProtocol
import XCTest

/// The trust model of the edge–core link over real mutual TLS on loopback: only edge certificates
/// from the infrastructure CA may act as edges, only core certificates are accepted by edges, and
/// every call is bound to the edge connection that registered the terminal.
final class EdgeTrustTests: XCTestCase {
    static let pki: TestPKI = {
        let url = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("lpa-trust-\(UUID().uuidString)")
        return try! TestPKI.create(at: url, devices: 3)
    }()

    var pkiPath: String { Self.pki.layout.directory.path }

    var logger: Logger {
        var l = Logger(label: "trust")
        l.logLevel = .critical
        return l
    }

    func startCore() async throws -> CoreServer {
        let libraryFile = NSTemporaryDirectory() + "lpa-trust-lib-\(UUID().uuidString).yaml"
        try """
        deviceModels:
          - code: SIM-METER-1
            fields:
              - {name: eid, validation: eid}
              - {name: imei, validation: imei}
            heartbeatIntervalSeconds: 60
            historyLimit: 10
        """.write(toFile: libraryFile, atomically: true, encoding: .utf8)
        var c = CoreConfiguration()
        c.listen.port = 0
        c.store = "sqlite::memory:"
        c.libraries = libraryFile
        c.tls.certificate = "\(pkiPath)/core.pem"
        c.tls.privateKey = "\(pkiPath)/core.key"
        c.tls.clientCA = "\(pkiPath)/infra-ca.pem"
        c.nodeID = "core-trust"
        let core = CoreServer(configuration: c, logger: logger)
        try await core.start()
        return core
    }

    /// An RPC connection to the core's edge port presenting `certificate`/`key`.
    func connect(to core: CoreServer, certificate: TLSConfiguration.PEMSource, key: TLSConfiguration.PEMSource,
                 nodeID: String) async throws -> RPCConnection {
        let tls = TLSConfiguration.client(trustRoots: .file("\(pkiPath)/infra-ca.pem"), certificateChain: certificate, privateKey: key)
        return try await RPCClient.connect(
            configuration: .init(host: "127.0.0.1", port: core.localAddress!.port!, security: .tls(tls), serverHostname: "localhost",
                                 connection: RPCConnectionConfiguration(nodeID: nodeID)),
            logger: logger)
    }

    func edgeConnection(to core: CoreServer, nodeID: String) async throws -> RPCConnection {
        try await connect(to: core, certificate: .file("\(pkiPath)/edge-client.pem"), key: .file("\(pkiPath)/edge-client.key"), nodeID: nodeID)
    }

    func registration(_ device: TestPKI.Device, terminalID: String? = nil) -> CoreRPC_RegisterTerminalRequest {
        let identity = Identity(eid: device.identity.eid.value, imei: device.identity.imei.value, model: device.identity.model)
        var request = CoreRPC_RegisterTerminalRequest()
        request.terminalID = terminalID ?? identity.terminalID
        request.identity = CoreRPC_Identity(identity)
        request.remoteAddress = "127.0.0.1:1"
        return request
    }

    /// A certificate under the infrastructure CA that passes the chain check but carries `uri` (or no role).
    func infrastructureCertificate(role uri: String?, usages: [ExtendedKeyUsage]) throws -> (certificate: TLSConfiguration.PEMSource, key: TLSConfiguration.PEMSource) {
        let authority = try Self.pki.infrastructureAuthority()
        let key = try PrivateKey.generate(curve: .p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(organization: TestPKI.organization, commonName: "not-an-edge"),
            subjectPublicKey: key.publicKey, notBefore: Date().addingTimeInterval(-3600), notAfter: Date().addingTimeInterval(86400))
        builder.basicConstraints = .endEntity
        builder.keyUsage = [.digitalSignature]
        builder.extendedKeyUsage = usages
        builder.subjectAltNames = [.dnsName("localhost"), .ipAddress([127, 0, 0, 1])] + (uri.map { [GeneralName.uri($0)] } ?? [])
        let certificate = try builder.build(issuer: .certificate(authority.certificate, key: authority.key))
        return (.pem(certificate.pem), .pem(try key.pemPKCS8))
    }

    func testADeviceCertificateCannotConnectToTheCoresEdgePort() async throws {
        let core = try await startCore()
        let device = Self.pki.devices[0]
        do {
            let connection = try await connect(to: core, certificate: .file(device.certificate.path), key: .file(device.key.path), nodeID: "impostor")
            let response = try? await EdgeToCoreClient(connection).registerTerminal(registration(Self.pki.devices[1]), deadline: RPCDeadline(.now() + .seconds(5)))
            XCTFail("a device certificate was accepted as an edge (registration answered: \(response != nil))")
        } catch {
            // Refused in the TLS handshake (the core's alert) or when the core closed before the HELLO.
        }
        XCTAssertTrue(core.edgeConnections.isEmpty)
        // The real edge certificate works on the same port.
        let edge = try await edgeConnection(to: core, nodeID: "edge-a")
        let answer = try await EdgeToCoreClient(edge).registerTerminal(registration(Self.pki.devices[1]), deadline: RPCDeadline(.now() + .seconds(10)))
        XCTAssertTrue(answer.accepted, answer.reasonText)
        XCTAssertEqual(core.directory.terminalCount, 1)
        XCTAssertEqual(core.edgeConnections.map(\.remoteNodeID), ["edge-a"])
        await edge.close()
        await core.stop()
    }

    func testAnInfrastructureCertificateWithoutTheEdgeRoleIsRefused() async throws {
        let core = try await startCore()
        for role in [nil, InfrastructureRole.core] {
            let credentials = try infrastructureCertificate(role: role, usages: [.clientAuth])
            do {
                _ = try await connect(to: core, certificate: credentials.certificate, key: credentials.key, nodeID: "no-role")
                // TLS 1.3: the client may finish before the server refuses; the connection must not last.
                XCTFail("a certificate with role \(role ?? "none") was accepted on the edge port")
            } catch {
                // Refused: the core's alert, or its reset of the connection right after the handshake.
            }
        }
        XCTAssertTrue(core.edgeConnections.isEmpty)
        await core.stop()
    }

    func testTheEdgeRefusesACoreWithoutTheCoreRole() async throws {
        // A server presenting a certificate from the fleet CA (edge.pem names localhost) and one from
        // the infrastructure CA without the core role: the edge's link configuration refuses both.
        var edgeConfiguration = EdgeConfiguration()
        edgeConfiguration.core.certificate = "\(pkiPath)/edge-client.pem"
        edgeConfiguration.core.privateKey = "\(pkiPath)/edge-client.key"
        edgeConfiguration.core.trustRoots = "\(pkiPath)/infra-ca.pem"
        let noRole = try infrastructureCertificate(role: nil, usages: [.serverAuth])
        let impostors: [(String, TLSConfiguration.PEMSource, TLSConfiguration.PEMSource)] = [
            ("fleet CA server certificate", .file("\(pkiPath)/edge.pem"), .file("\(pkiPath)/edge.key")),
            ("infrastructure certificate without a role", noRole.certificate, noRole.key),
        ]
        for (what, certificate, key) in impostors {
            var serverTLS = TLSConfiguration.server(certificateChain: certificate, privateKey: key, trustRoots: .file("\(pkiPath)/infra-ca.pem"))
            serverTLS.requiredPeerURI = InfrastructureRole.edge
            let server = try await RPCServer.start(
                configuration: .init(port: 0, security: .tls(serverTLS), connection: RPCConnectionConfiguration(nodeID: "fake-core")),
                router: RPCRouter(), logger: logger)
            do {
                _ = try await RPCClient.connect(
                    configuration: .init(host: "127.0.0.1", port: server.port, security: .tls(edgeConfiguration.coreLinkTLSConfiguration()),
                                         serverHostname: "localhost", connection: RPCConnectionConfiguration(nodeID: "edge")),
                    logger: logger)
                XCTFail("the edge accepted a core presenting a \(what)")
            } catch {
                XCTAssertTrue(error is TLSError, "\(what): \(error)")
            }
            await server.shutdown()
        }
    }

    func testAnEdgeActsOnlyOnTerminalsItRegistered() async throws {
        let core = try await startCore()
        let engine = try XCTUnwrap(core.engine)
        let store = try XCTUnwrap(core.store)
        let edgeA = try await edgeConnection(to: core, nodeID: "edge-a")
        let edgeB = try await edgeConnection(to: core, nodeID: "edge-b")
        let deadline = { RPCDeadline(.now() + .seconds(10)) }
        let device = Self.pki.devices[0]
        let terminalID = device.identity.eid.value

        // A terminal id that differs from the identity it carries is refused.
        do {
            _ = try await EdgeToCoreClient(edgeB).registerTerminal(registration(device, terminalID: "T-MADE-UP"), deadline: deadline())
            XCTFail("a terminal id other than the identity's was accepted")
        } catch let error as RPCError {
            XCTAssertEqual(error.status, .permissionDenied)
        }
        let madeUp = try await store.device(terminalID: "T-MADE-UP")
        XCTAssertNil(madeUp)

        let accepted = try await EdgeToCoreClient(edgeA).registerTerminal(registration(device), deadline: deadline())
        XCTAssertTrue(accepted.accepted, accepted.reasonText)
        XCTAssertTrue(core.directory.connection(for: terminalID) === core.edgeConnections.first { $0.remoteNodeID == "edge-a" })

        // Edge B writes counts for A's terminal: dropped, nothing stored.
        var report = CoreRPC_ReportHeartbeatsRequest()
        var count = CoreRPC_HeartbeatCount()
        count.terminalID = terminalID
        count.windowStart = 1_800_000_000
        count.windowSeconds = 60
        count.count = 99_999
        count.lastSeen = 1_800_000_030
        report.counts = [count]
        _ = try await EdgeToCoreClient(edgeB).reportHeartbeats(report, deadline: deadline())
        let history = try await store.heartbeatHistory(terminalID: terminalID, limit: 10)
        XCTAssertFalse(history.contains { $0.count == 99_999 }, "\(history)")

        // Edge B says A's terminal is gone: refused, A still holds it.
        var gone = CoreRPC_TerminalGoneRequest()
        gone.terminalID = terminalID
        gone.reasonCode = ReasonCode.heartbeatTimeout.rawValue
        do {
            _ = try await EdgeToCoreClient(edgeB).terminalGone(gone, deadline: deadline())
            XCTFail("an edge announced the departure of another edge's terminal")
        } catch let error as RPCError {
            XCTAssertEqual(error.status, .permissionDenied)
        }
        XCTAssertEqual(core.directory.connection(for: terminalID)?.remoteNodeID, "edge-a")

        // Edge A's own calls work.
        count.count = 7
        report.counts = [count]
        _ = try await EdgeToCoreClient(edgeA).reportHeartbeats(report, deadline: deadline())
        let own = try await store.heartbeatHistory(terminalID: terminalID, limit: 10)
        XCTAssertEqual(own.map(\.count), [7])
        _ = try await EdgeToCoreClient(edgeA).terminalGone(gone, deadline: deadline())
        XCTAssertNil(core.directory.connection(for: terminalID))
        _ = engine
        await edgeA.close()
        await edgeB.close()
        await core.stop()
    }
}
