import Foundation
import LPACrypto
import LPAHTTP
import LPAOperator
import LPATLS
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import XCTest

/// A certificate authority for tests, issuing leaf certificates with LPACrypto.
struct TestAuthority {
    let key: PrivateKey
    let certificate: Certificate

    init(name: String) throws {
        key = try PrivateKey.generate(curve: .p256)
        var b = CertificateBuilder(subject: DistinguishedName(organization: "ServerLPA Tests", commonName: name), subjectPublicKey: key.publicKey)
        b.basicConstraints = .certificateAuthority()
        b.keyUsage = [.keyCertSign, .cRLSign]
        certificate = try b.build(issuer: .selfSigned(key))
    }

    var pem: String { certificate.pem }

    struct Leaf {
        let certificate: Certificate
        let key: PrivateKey
        var chainPEM: String { certificate.pem }
        var keyPEM: String { try! key.pemPKCS8 }
    }

    func issue(commonName: String, dnsNames: [String] = ["localhost"], ips: [String] = ["127.0.0.1"], server: Bool = true, client: Bool = false) throws -> Leaf {
        let leafKey = try PrivateKey.generate(curve: .p256)
        var b = CertificateBuilder(
            subject: DistinguishedName(organization: "ServerLPA Tests", commonName: commonName),
            subjectPublicKey: leafKey.publicKey,
            notBefore: Date(timeIntervalSinceNow: -3600), notAfter: Date(timeIntervalSinceNow: 86400))
        b.basicConstraints = .endEntity
        b.keyUsage = [.digitalSignature]
        b.extendedKeyUsage = (server ? [.serverAuth] : []) + (client ? [.clientAuth] : [])
        b.subjectAltNames = try dnsNames.map { .dnsName($0) } + ips.map { try GeneralName.ip($0) }
        return Leaf(certificate: try b.build(issuer: .certificate(certificate, key: key)), key: leafKey)
    }
}

/// The PKI of a test: one CA, an SM-DP+ TLS certificate for 127.0.0.1/localhost and an
/// operator client certificate. Built once per test process (key generation is the slow part).
struct TestPKI: Sendable {
    let caPEM: String
    let serverChainPEM: String
    let serverKeyPEM: String
    let clientChainPEM: String
    let clientKeyPEM: String
    /// A CA that issued nothing the server uses.
    let otherCAPEM: String

    static let shared: TestPKI = {
        let ca = try! TestAuthority(name: "Test SM-DP+ TLS CA")
        let server = try! ca.issue(commonName: "smdp.test")
        let client = try! ca.issue(commonName: "operator.test", dnsNames: [], ips: [], server: false, client: true)
        let other = try! TestAuthority(name: "Unrelated CA")
        return TestPKI(
            caPEM: ca.pem, serverChainPEM: server.chainPEM, serverKeyPEM: server.keyPEM,
            clientChainPEM: client.chainPEM, clientKeyPEM: client.keyPEM, otherCAPEM: other.pem)
    }()

    func serverTLS(requireClientCertificate: Bool = false) -> TLSConfiguration {
        .server(
            certificateChain: .pem(serverChainPEM), privateKey: .pem(serverKeyPEM), trustRoots: .pem(caPEM),
            peerVerification: requireClientCertificate ? .required : .none)
    }

    func clientConfiguration(trusting roots: String? = nil) -> HTTPSClientConfiguration {
        HTTPSClientConfiguration(trustRoots: .pem(roots ?? caPEM))
    }
}

/// A scriptable SM-DP+ stand-in: an ``HTTPSServer`` whose answer the test sets, recording every
/// request it receives.
final class FakeServer: Sendable {
    typealias Responder = @Sendable (HTTPServerRequest) async -> HTTPServerResponse

    let server: HTTPSServer
    private let responder: NIOLockedValueBox<Responder>
    private let received = NIOLockedValueBox<[HTTPServerRequest]>([])

    var port: Int { server.port }
    var requests: [HTTPServerRequest] { received.withLockedValue { $0 } }

    init(tls: TLSConfiguration? = TestPKI.shared.serverTLS(), maxRequestBodySize: Int = 1 << 20, responder: @escaping Responder = { _ in HTTPServerResponse(status: .ok) }) async throws {
        let responderBox = NIOLockedValueBox<Responder>(responder)
        let received = self.received
        var configuration = HTTPSServerConfiguration(tls: tls)
        configuration.maxRequestBodySize = maxRequestBodySize
        configuration.shutdownGracePeriod = .seconds(2)
        self.responder = responderBox
        self.server = try await HTTPSServer.start(configuration: configuration) { request in
            received.withLockedValue { $0.append(request) }
            let respond = responderBox.withLockedValue { $0 }
            return await respond(request)
        }
    }

    func respond(_ responder: @escaping Responder) {
        self.responder.withLockedValue { $0 = responder }
    }

    func stop() async {
        await server.shutdown()
    }
}

/// A gate a server handler waits on; cancelled waiters return at once, so a handler parked
/// here ends when its connection closes.
final class Gate: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation

    init() {
        (stream, continuation) = AsyncStream.makeStream(of: Void.self)
    }

    func wait() async {
        for await _ in stream { return }
    }

    func open() {
        continuation.finish()
    }
}

/// A JSON response body from a dictionary.
func json(_ object: [String: Any]) -> [UInt8] {
    Array(try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]))
}

/// The request body as a dictionary.
func jsonObject(_ bytes: [UInt8]) -> [String: Any] {
    (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any] ?? [:]
}

func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

/// `header.functionExecutionStatus` with the given status.
func header(_ status: String, subjectCode: String? = nil, reasonCode: String? = nil, message: String? = nil) -> [String: Any] {
    var executionStatus: [String: Any] = ["status": status]
    if let subjectCode, let reasonCode {
        var codes: [String: Any] = ["subjectCode": subjectCode, "reasonCode": reasonCode]
        codes["message"] = message
        executionStatus["statusCodeData"] = codes
    }
    return ["functionExecutionStatus": executionStatus]
}

/// Asserts that `body` throws an error equal to `expected`.
func assertThrows<E: Error & Equatable, T>(_ expected: E, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> T) async {
    do {
        _ = try await body()
        XCTFail("expected \(expected), got success", file: file, line: line)
    } catch let error as E {
        XCTAssertEqual(error, expected, file: file, line: line)
    } catch {
        XCTFail("expected \(expected), got \(error)", file: file, line: line)
    }
}

/// Runs `body` and returns the error it throws, failing the test when it succeeds.
func thrownError<T>(file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> T) async -> Error? {
    do {
        _ = try await body()
        XCTFail("expected an error, got success", file: file, line: line)
        return nil
    } catch {
        return error
    }
}
