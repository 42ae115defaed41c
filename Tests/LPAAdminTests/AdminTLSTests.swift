import Foundation
import LPAAdmin
import LPAAdminClient
import LPACore
import XCTest

/// The admin API and console over HTTPS (LPATLS): same tokens as over plain HTTP, the server
/// certificate checked by our client and by curl, client certificates when asked for, and plain
/// HTTP refused anywhere but loopback. Certificates are made with the `openssl` command.
final class AdminTLSTests: XCTestCase {
    var directory: URL!

    override func setUp() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-admin-tls-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        try Self.shell("""
            set -e
            ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"
            for ca in ca other-ca; do
              openssl req -x509 $ec -keyout $ca.key -out $ca.pem -days 2 -subj "/CN=Test $ca" \
                -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
            done
            openssl req $ec -keyout server.key -out server.csr -subj "/CN=lpa-core admin" 2>/dev/null
            printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\nextendedKeyUsage=serverAuth\\n' > server.ext
            openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out server.pem -days 2 -extfile server.ext 2>/dev/null
            openssl req $ec -keyout client.key -out client.csr -subj "/CN=operator laptop" 2>/dev/null
            printf 'extendedKeyUsage=clientAuth\\n' > client.ext
            openssl x509 -req -in client.csr -CA ca.pem -CAkey ca.key -CAcreateserial -out client.pem -days 2 -extfile client.ext 2>/dev/null
            """, in: directory)
    }

    override func tearDown() async throws {
        try? FileManager.default.removeItem(at: directory)
    }

    private func path(_ name: String) -> String { directory.appendingPathComponent(name).path }

    private func tls(_ clientCertificates: CoreConfiguration.Admin.TLS.ClientCertificates = .none) -> CoreConfiguration.Admin.TLS {
        CoreConfiguration.Admin.TLS(certificate: path("server.pem"), privateKey: path("server.key"),
                                    clientCA: clientCertificates == .none ? nil : path("ca.pem"), clientCertificates: clientCertificates)
    }

    func testTheSameTokensWorkOverHTTPSAndTheServerIsVerified() async throws {
        let harness = try await AdminHarness(tls: tls())
        let port = harness.server.localAddress.port!
        XCTAssertEqual(harness.server.scheme, "https")
        let trusted = try AdminHTTPClient.tlsContext(trustRoots: path("ca.pem"))
        let session = try await AdminHTTPClient(host: "127.0.0.1", port: port, token: AdminHarness.tokens[.admin], tls: trusted)
            .send(.GET, "/v1/session")
        XCTAssertEqual(session.status, 200, session.text)
        XCTAssertEqual(session.json["role"] as? String, "admin")
        let forbidden = try await AdminHTTPClient(host: "127.0.0.1", port: port, token: AdminHarness.tokens[.read], tls: trusted)
            .send(.PUT, "/v1/count-settings/SIM-METER-1", contentType: "application/json", body: Array("{}".utf8))
        XCTAssertEqual(forbidden.status, 403, "roles hold over HTTPS too")
        let console = try await AdminHTTPClient(host: "127.0.0.1", port: port, token: nil, tls: trusted).send(.GET, "/console/")
        XCTAssertEqual(console.status, 200)

        // An independent client: curl verifying the chain and the name.
        let curl = try Self.shell("""
            curl -sS --fail-with-body --cacert ca.pem -H "Authorization: Bearer \(AdminHarness.tokens[.read]!)" https://127.0.0.1:\(port)/v1/session
            """, in: directory)
        XCTAssertTrue(curl.contains("\"role\":\"read\""), curl)

        // A client trusting another CA does not get through; nor does plain HTTP on the HTTPS port.
        let untrusted = try AdminHTTPClient.tlsContext(trustRoots: path("other-ca.pem"))
        await XCTAssertThrowsErrorAsync(try await AdminHTTPClient(host: "127.0.0.1", port: port, token: AdminHarness.tokens[.admin], tls: untrusted)
            .send(.GET, "/v1/session"))
        let plain = try? await AdminHTTPClient(host: "127.0.0.1", port: port, token: AdminHarness.tokens[.admin]).send(.GET, "/v1/session")
        XCTAssertNotEqual(plain?.status, 200, "plain HTTP on the HTTPS port")
        await harness.shutdown()
    }

    func testRequiredClientCertificatesAreChecked() async throws {
        let harness = try await AdminHarness(tls: tls(.required))
        let port = harness.server.localAddress.port!
        let without = try AdminHTTPClient.tlsContext(trustRoots: path("ca.pem"))
        await XCTAssertThrowsErrorAsync(try await AdminHTTPClient(host: "127.0.0.1", port: port, token: AdminHarness.tokens[.read], tls: without)
            .send(.GET, "/v1/session"))
        let with = try AdminHTTPClient.tlsContext(trustRoots: path("ca.pem"), certificate: path("client.pem"), privateKey: path("client.key"))
        let response = try await AdminHTTPClient(host: "127.0.0.1", port: port, token: AdminHarness.tokens[.read], tls: with).send(.GET, "/v1/session")
        XCTAssertEqual(response.status, 200, response.text)
        // The certificate adds to the token; it does not replace it.
        let tokenless = try await AdminHTTPClient(host: "127.0.0.1", port: port, token: nil, tls: with).send(.GET, "/v1/session")
        XCTAssertEqual(tokenless.status, 401)
        await harness.shutdown()
    }

    func testPlainHTTPIsRefusedOffLoopback() async throws {
        for host in ["127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST"] {
            XCTAssertTrue(CoreConfiguration.Admin.isLoopback(host), host)
        }
        for host in ["0.0.0.0", "::", "10.0.0.5", "127.0.0.1.example", "core.example", "128.0.0.1", ""] {
            XCTAssertFalse(CoreConfiguration.Admin.isLoopback(host), host)
        }
        // The configuration file says so before anything starts…
        let yaml = """
            admin:
              host: 0.0.0.0
              tokens: [{name: ops, role: read, token: "0123456789abcdef0123"}]
            """
        XCTAssertThrowsError(try CoreConfiguration.parse(yaml: yaml)) { error in
            XCTAssertTrue("\(error)".contains("admin.host"), "\(error)")
            XCTAssertTrue("\(error)".contains("admin.tls"), "\(error)")
        }
        XCTAssertNoThrow(try CoreConfiguration.parse(yaml: yaml + "\n  tls: {certificate: a.pem, privateKey: a.key}"))
        XCTAssertThrowsError(try CoreConfiguration.parse(yaml: yaml + "\n  tls: {certificate: a.pem, privateKey: a.key, clientCertificates: required}")) {
            XCTAssertTrue("\($0)".contains("admin.tls.clientCA"), "\($0)")
        }
        // …and the server refuses to start that way even when handed such settings directly.
        do {
            let harness = try await AdminHarness(host: "0.0.0.0")
            await harness.shutdown()
            XCTFail("plain HTTP on 0.0.0.0 started")
        } catch let error as AdminServerError {
            XCTAssertEqual(error, .plainHTTPOffLoopback(host: "0.0.0.0"))
            XCTAssertTrue(error.description.contains("admin.tls"))
        }
        // With TLS the same host is fine.
        let harness = try await AdminHarness(host: "0.0.0.0", tls: tls())
        XCTAssertEqual(harness.server.scheme, "https")
        await harness.shutdown()
    }

    @discardableResult
    static func shell(_ script: String, in directory: URL) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", script]
        process.currentDirectoryURL = directory
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw ShellError(output: output) }
        return output
    }

    struct ShellError: Error, CustomStringConvertible {
        var output: String
        var description: String { "shell command failed: \(output)" }
    }
}

func XCTAssertThrowsErrorAsync<T>(_ expression: @autoclosure () async throws -> T, file: StaticString = #filePath, line: UInt = #line) async {
    do {
        _ = try await expression()
        XCTFail("no error thrown", file: file, line: line)
    } catch {}
}
