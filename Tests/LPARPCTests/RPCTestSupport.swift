import Foundation
import LPACoreRPC
import LPACrypto
import LPARPC
import LPATLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

/// A certificate authority for RPC tests, issuing node certificates with LPACrypto.
struct RPCTestAuthority {
    let key: PrivateKey
    let certificate: Certificate

    init(name: String) throws {
        key = try PrivateKey.generate(curve: .p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(organization: "ServerLPA RPC Tests", commonName: name), subjectPublicKey: key.publicKey)
        builder.basicConstraints = .certificateAuthority()
        builder.keyUsage = [.keyCertSign, .cRLSign]
        certificate = try builder.build(issuer: .selfSigned(key))
    }

    var trustRoots: TLSConfiguration.PEMSource { .pem(certificate.pem) }

    struct Node {
        let certificate: Certificate
        let key: PrivateKey
        var chain: TLSConfiguration.PEMSource { .pem(certificate.pem) }
        var privateKey: TLSConfiguration.PEMSource { .pem(try! key.pemPKCS8) }
    }

    /// A certificate for a node, usable as TLS server and client on 127.0.0.1 / localhost.
    func issue(commonName: String) throws -> Node {
        let nodeKey = try PrivateKey.generate(curve: .p256)
        var builder = CertificateBuilder(
            subject: DistinguishedName(organization: "ServerLPA RPC Tests", commonName: commonName),
            subjectPublicKey: nodeKey.publicKey,
            notBefore: Date(timeIntervalSinceNow: -3600), notAfter: Date(timeIntervalSinceNow: 86400))
        builder.basicConstraints = .endEntity
        builder.keyUsage = [.digitalSignature]
        builder.extendedKeyUsage = [.serverAuth, .clientAuth]
        builder.subjectAltNames = [.dnsName("localhost"), try GeneralName.ip("127.0.0.1")]
        return Node(certificate: try builder.build(issuer: .certificate(certificate, key: key)), key: nodeKey)
    }

    func serverSecurity(_ node: Node) -> RPCTransportSecurity {
        .tls(.server(certificateChain: node.chain, privateKey: node.privateKey, trustRoots: trustRoots))
    }

    func clientSecurity(_ node: Node) -> RPCTransportSecurity {
        .tls(.client(trustRoots: trustRoots, certificateChain: node.chain, privateKey: node.privateKey))
    }
}

/// An unbounded stream of values with a handle to feed it from any thread, for awaiting events.
/// The iterator is only touched under the lock, by one consumer at a time.
final class EventStream<Element: Sendable>: @unchecked Sendable {
    let stream: AsyncStream<Element>
    private let continuation: AsyncStream<Element>.Continuation
    private let iterator: NIOLockedValueBox<AsyncStream<Element>.Iterator?>

    init() {
        let (stream, continuation) = AsyncStream<Element>.makeStream()
        self.stream = stream
        self.continuation = continuation
        self.iterator = NIOLockedValueBox(nil)
    }

    func yield(_ element: Element) {
        continuation.yield(element)
    }

    /// The next element; nil once finished. One consumer at a time.
    func next() async -> Element? {
        var iterator = self.iterator.withLockedValue { $0.take() } ?? stream.makeAsyncIterator()
        let element = await iterator.next()
        self.iterator.withLockedValue { $0 = iterator }
        return element
    }

    func finish() {
        continuation.finish()
    }
}

/// Echo and blocking handlers shared by the connection tests. Requests and responses reuse the
/// `TerminalGone` messages: a terminal id to echo and a reason code.
enum TestMethods {
    static let echo = "test.Echo"
    static let block = "test.Block"
    static let fail = "test.Fail"
    static let garbage = "test.Garbage"

    enum Event: Sendable {
        case started(String)
        case cancelled(String)
    }

    static func request(_ id: String, code: Int32 = 0) -> CoreRPC_TerminalGoneRequest {
        var request = CoreRPC_TerminalGoneRequest()
        request.terminalID = id
        request.reasonCode = code
        return request
    }

    /// `test.Echo` answers with the request; `test.Block` waits until its task is cancelled;
    /// `test.Fail` throws the status named by `reason_code`; `test.Garbage` answers with bytes that
    /// are no protobuf message.
    static func router(prefix: String = "", events: EventStream<Event>? = nil) -> RPCRouter {
        var router = RPCRouter()
        router.register(echo, CoreRPC_TerminalGoneRequest.self) { request, _ in
            var response = request
            response.terminalID = prefix + request.terminalID
            return response
        }
        router.register(block, CoreRPC_TerminalGoneRequest.self) { request, _ -> CoreRPC_TerminalGoneRequest in
            events?.yield(.started(request.terminalID))
            do {
                try await blockUntilCancelled()
            } catch {
                events?.yield(.cancelled(request.terminalID))
                throw error
            }
            return request
        }
        router.register(fail, CoreRPC_TerminalGoneRequest.self) { request, _ -> CoreRPC_TerminalGoneRequest in
            throw RPCError(RPCStatus(wireValue: UInt16(request.reasonCode)), "failed as asked")
        }
        router.registerRaw(garbage) { _, _ in ByteBuffer(bytes: [0xFF, 0xFF, 0xFF]) }
        return router
    }
}

/// Suspends until the current task is cancelled, then throws `CancellationError`.
func blockUntilCancelled() async throws {
    while true {
        try await Task.sleep(nanoseconds: 86_400 * 1_000_000_000)
    }
}

/// Runs `body`, failing the test if it takes longer than `seconds` (a guard against hangs, not a
/// means of synchronisation).
func withTimeout<T: Sendable>(
    _ seconds: Double = 60, file: StaticString = #filePath, line: UInt = #line,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(nanoseconds: UInt64(seconds * 1_000_000_000))
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            XCTFail("timed out after \(seconds) s", file: file, line: line)
            throw RPCError(.deadlineExceeded, "test timed out")
        }
        group.cancelAll()
        return value
    }
}

/// Asserts that `body` throws an ``RPCError`` with `status`.
func assertRPCError<T>(
    _ status: RPCStatus, file: StaticString = #filePath, line: UInt = #line, _ body: () async throws -> T
) async -> RPCError? {
    do {
        _ = try await body()
        XCTFail("expected \(status.name), the call succeeded", file: file, line: line)
        return nil
    } catch let error as RPCError {
        XCTAssertEqual(error.status, status, "\(error)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected RPCError \(status.name), got \(error)", file: file, line: line)
        return nil
    }
}

/// A server and a client connection over loopback TCP (plaintext unless `security` says otherwise).
struct LoopbackPair {
    let server: RPCServer
    let client: RPCConnection
    /// The server's handle on the same connection.
    let serverSide: RPCConnection

    static func make(
        serverRouter: RPCRouter, clientRouter: RPCRouter = RPCRouter(),
        configure: (inout RPCConnectionConfiguration, inout RPCConnectionConfiguration) -> Void = { _, _ in }
    ) async throws -> LoopbackPair {
        var serverConfiguration = RPCConnectionConfiguration(nodeID: "core-test")
        var clientConfiguration = RPCConnectionConfiguration(nodeID: "edge-test")
        configure(&serverConfiguration, &clientConfiguration)
        let accepted = EventStream<RPCConnection>()
        let server = try await RPCServer.start(
            configuration: .init(security: .plaintext, connection: serverConfiguration), router: serverRouter,
            onConnection: { accepted.yield($0) })
        let client = try await RPCClient.connect(
            configuration: .init(host: "127.0.0.1", port: server.port, security: .plaintext, connection: clientConfiguration),
            router: clientRouter)
        guard let serverSide = await accepted.next() else { throw RPCError(.internal, "no accepted connection") }
        return LoopbackPair(server: server, client: client, serverSide: serverSide)
    }

    func shutdown() async {
        await client.closeNow()
        await server.shutdown()
    }
}
