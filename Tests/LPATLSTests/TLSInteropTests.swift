import Foundation
import LPATLS
import NIOCore
import NIOPosix
import XCTest

/// Interoperability with the `openssl` command-line client and server, in both directions.
final class TLSInteropTests: XCTestCase {
    var ca: TestAuthority!
    var serverLeaf: TestAuthority.Leaf!
    var clientLeaf: TestAuthority.Leaf!
    var files: [String: String] = [:]

    override func setUpWithError() throws {
        ca = try TestAuthority(name: "Interop CA")
        serverLeaf = try ca.issue(commonName: "edge", client: false)
        clientLeaf = try ca.issue(commonName: "89049032123451234512345678901235", dnsNames: [], ips: [], server: false)
        files = [
            "ca": try temporaryFile(ca.certificate.pem),
            "serverCert": try temporaryFile(serverLeaf.certificate.pem),
            "serverKey": try temporaryFile(try serverLeaf.key.pemPKCS8),
            "clientCert": try temporaryFile(clientLeaf.certificate.pem),
            "clientKey": try temporaryFile(try clientLeaf.key.pemPKCS8),
        ]
    }

    override func tearDown() {
        for path in files.values { try? FileManager.default.removeItem(atPath: path) }
    }

    private var serverConfig: TLSConfiguration {
        .server(certificateChain: serverLeaf.chain, privateKey: serverLeaf.privateKey, trustRoots: ca.pem)
    }

    func testOpenSSLClientTalksToOurServerWithMutualTLS() async throws {
        let openssl = try openSSLBinary()
        let server = try await TestTLSServer.start(serverConfig, echo: true, closeAfterBytes: 5)
        defer { Task { try? await server.stop() } }
        let (status, output) = try runProcess(openssl, [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost",
            "-CAfile", files["ca"]!, "-cert", files["clientCert"]!, "-key", files["clientKey"]!,
            "-verify_return_error", "-ign_eof", "-quiet",
        ], input: "ping\n")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("ping"), output)
        let accepted = try await server.nextConnection()
        let details = try await accepted.handshake.futureResult.get()
        XCTAssertEqual(details.peerSubjectValue("CN"), "89049032123451234512345678901235")
    }

    func testOpenSSLClientKeyUpdatesAreFollowedByTheCompactRecordLayer() async throws {
        let openssl = try openSSLBinary()
        let server = try await TestTLSServer.start(serverConfig, echo: true)
        defer { Task { try? await server.stop() } }
        // Interactive s_client (no -quiet): a line "k" sends KeyUpdate, "K" one that requests the
        // server's own update. `-msg` shows the handshake messages s_client receives: exactly one
        // KeyUpdate must come back (the answer to "K"), and the echo after it must still be read.
        let process = Process()
        process.executableURL = URL(fileURLWithPath: openssl)
        process.arguments = [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", "-tls1_3",
            "-CAfile", files["ca"]!, "-cert", files["clientCert"]!, "-key", files["clientKey"]!, "-verify_return_error", "-msg",
        ]
        let stdin = Pipe(), stdout = Pipe()
        process.standardInput = stdin
        process.standardOutput = stdout
        process.standardError = stdout
        try process.run()
        defer { if process.isRunning { process.terminate() } }
        let accepted = try await server.nextConnection()
        let details = try await accepted.handshake.futureResult.get()
        XCTAssertEqual(details.protocolVersion, "TLSv1.3")
        XCTAssertEqual(accepted.compactRecordLayer, true)
        let loop = server.channel.eventLoop
        var expected = 0
        for line in ["before\n", "k\n", "middle\n", "K\n", "after\n"] {
            stdin.fileHandleForWriting.write(Data(line.utf8))
            if line.count > 2 {
                expected += line.utf8.count
                _ = try await accepted.waitForBytes(expected, on: loop).get()
            } else {
                try await Task.sleep(for: .milliseconds(300))
            }
        }
        try await Task.sleep(for: .milliseconds(300))
        try stdin.fileHandleForWriting.close()
        let output = String(decoding: stdout.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        let received = try await accepted.waitForBytes(expected, on: loop).get()
        XCTAssertEqual(String(buffer: received), "before\nmiddle\nafter\n")
        XCTAssertEqual(output.components(separatedBy: "KEYUPDATE").count - 1, 2, output)
        let lines = output.split(separator: "\n")
        XCTAssertEqual(lines.filter { $0.hasPrefix(">>> ") && $0.hasSuffix("KeyUpdate") }.count, 2, output)
        XCTAssertEqual(lines.filter { $0.hasPrefix("<<< ") && $0.hasSuffix("KeyUpdate") }.count, 1, output)
        let echoes = lines.filter { $0 == "after" || $0 == "middle" || $0 == "before" }
        XCTAssertEqual(echoes, ["before", "middle", "after"], output)
    }

    func testTLS12ConnectionsStayOnOpenSSLRecordLayer() async throws {
        let openssl = try openSSLBinary()
        let server = try await TestTLSServer.start(serverConfig, echo: true, closeAfterBytes: 5)
        defer { Task { try? await server.stop() } }
        let (status, output) = try runProcess(openssl, [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-servername", "localhost", "-tls1_2",
            "-CAfile", files["ca"]!, "-cert", files["clientCert"]!, "-key", files["clientKey"]!,
            "-verify_return_error", "-ign_eof", "-quiet",
        ], input: "ping\n")
        XCTAssertEqual(status, 0, output)
        XCTAssertTrue(output.contains("ping"), output)
        let accepted = try await server.nextConnection()
        let details = try await accepted.handshake.futureResult.get()
        XCTAssertEqual(details.protocolVersion, "TLSv1.2")
        XCTAssertEqual(accepted.compactRecordLayer, false)
    }

    func testOurServerRefusesTLS11FromOpenSSLClient() async throws {
        let openssl = try openSSLBinary()
        let server = try await TestTLSServer.start(serverConfig)
        defer { Task { try? await server.stop() } }
        let (status, output) = try runProcess(openssl, [
            "s_client", "-connect", "127.0.0.1:\(server.port)", "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0",
            "-CAfile", files["ca"]!, "-cert", files["clientCert"]!, "-key", files["clientKey"]!,
        ], input: "")
        XCTAssertNotEqual(status, 0, output)
        let accepted = try await server.nextConnection()
        let error = try await accepted.firstError.futureResult.get()
        guard case TLSError.handshakeFailed(let reasons, _) = error else { return XCTFail("unexpected \(error)") }
        XCTAssertTrue(reasons.joined().contains("unsupported protocol"), "\(reasons)")
    }

    func testOurClientTalksToOpenSSLServerWithMutualTLS() async throws {
        let openssl = try openSSLBinary()
        let port = try await freeLoopbackPort()
        let process = try startOpenSSLServer(openssl, port: port, extra: ["-Verify", "1", "-verify_return_error", "-rev"])
        defer { process.terminate(); process.waitUntilExit() }
        let (client, recorder) = try await connectWhenListening(port: port, configuration: .client(
            trustRoots: ca.pem, certificateChain: clientLeaf.chain, privateKey: clientLeaf.privateKey))
        let details = try await recorder.handshake.futureResult.get()
        XCTAssertEqual(details.peerSubjectValue("CN"), "edge")
        try await client.writeAndFlush(ByteBuffer(string: "hello\n"))
        let reply = try await recorder.waitForBytes(5, on: client.eventLoop).get()
        XCTAssertTrue(String(buffer: reply).contains("olleh"), String(buffer: reply))
        try? await client.close()
    }

    func testOurClientRefusesTLS11OpenSSLServer() async throws {
        let openssl = try openSSLBinary()
        let port = try await freeLoopbackPort()
        let process = try startOpenSSLServer(openssl, port: port, extra: ["-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0"])
        defer { process.terminate(); process.waitUntilExit() }
        let (_, recorder) = try await connectWhenListening(port: port, configuration: .client(trustRoots: ca.pem))
        let error = try await recorder.firstError.futureResult.get()
        guard case TLSError.handshakeFailed = error else { return XCTFail("unexpected \(error)") }
    }

    private func startOpenSSLServer(_ openssl: String, port: Int, extra: [String]) throws -> Process {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: openssl)
        p.arguments = ["s_server", "-accept", "127.0.0.1:\(port)", "-naccept", "1",
                       "-cert", files["serverCert"]!, "-key", files["serverKey"]!, "-CAfile", files["ca"]!] + extra
        p.standardInput = Pipe()
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// Connects once the server accepts TCP connections (bounded number of attempts).
    private func connectWhenListening(port: Int, configuration: TLSConfiguration) async throws -> (Channel, RecordingHandler) {
        var lastError: Error?
        for _ in 0..<100 {
            do {
                return try await connectTestClient(configuration, port: port)
            } catch {
                lastError = error
                try await Task.sleep(for: .milliseconds(50))
            }
        }
        throw lastError!
    }
}
