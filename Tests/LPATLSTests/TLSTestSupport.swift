import Foundation
import LPACrypto
import LPATLS
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

/// A certificate authority for tests, issuing leaf certificates with LPACrypto.
struct TestAuthority {
    let key: PrivateKey
    let certificate: Certificate

    init(name: String, curve: EllipticCurve = .p256) throws {
        key = try PrivateKey.generate(curve: curve)
        var b = CertificateBuilder(subject: DistinguishedName(organization: "ServerLPA Tests", commonName: name), subjectPublicKey: key.publicKey)
        b.basicConstraints = .certificateAuthority()
        b.keyUsage = [.keyCertSign, .cRLSign]
        certificate = try b.build(issuer: .selfSigned(key))
    }

    var pem: TLSConfiguration.PEMSource { .pem(certificate.pem) }

    struct Leaf {
        let certificate: Certificate
        let key: PrivateKey
        var chain: TLSConfiguration.PEMSource { .pem(certificate.pem) }
        var privateKey: TLSConfiguration.PEMSource { .pem(try! key.pemPKCS8) }
    }

    func issue(
        commonName: String, serialNumber: String? = nil, dnsNames: [String] = ["localhost"], ips: [String] = ["127.0.0.1"],
        server: Bool = true, client: Bool = true, curve: EllipticCurve = .p256,
        notBefore: Date = Date(timeIntervalSinceNow: -3600), notAfter: Date = Date(timeIntervalSinceNow: 86400)
    ) throws -> Leaf {
        let leafKey = try PrivateKey.generate(curve: curve)
        var b = CertificateBuilder(
            subject: DistinguishedName(organization: "ServerLPA Tests", commonName: commonName, serialNumber: serialNumber),
            subjectPublicKey: leafKey.publicKey, notBefore: notBefore, notAfter: notAfter)
        b.basicConstraints = .endEntity
        b.keyUsage = [.digitalSignature]
        b.extendedKeyUsage = (server ? [.serverAuth] : []) + (client ? [.clientAuth] : [])
        b.subjectAltNames = try dnsNames.map { .dnsName($0) } + ips.map { try GeneralName.ip($0) }
        let cert = try b.build(issuer: .certificate(certificate, key: key))
        return Leaf(certificate: cert, key: leafKey)
    }
}

/// Records what happens on one side of a TLS connection; echoes application data when asked.
final class RecordingHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    let handshake: EventLoopPromise<TLSHandshakeCompleted>
    let firstError: EventLoopPromise<Error>
    let echo: Bool
    /// Close (with close_notify) once this many bytes were echoed.
    var closeAfterBytes: Int?
    private(set) var received = ByteBuffer()
    private var expected: (Int, EventLoopPromise<ByteBuffer>)?

    init(eventLoop: EventLoop, echo: Bool) {
        handshake = eventLoop.makePromise()
        firstError = eventLoop.makePromise()
        self.echo = echo
    }

    /// Completes once `count` bytes in total were received.
    func waitForBytes(_ count: Int, on eventLoop: EventLoop) -> EventLoopFuture<ByteBuffer> {
        eventLoop.flatSubmit {
            let p = eventLoop.makePromise(of: ByteBuffer.self)
            if self.received.readableBytes >= count { p.succeed(self.received) } else { self.expected = (count, p) }
            return p.futureResult
        }
    }

    /// Whether the TLS handler below had moved to the compact record layer when the handshake was announced.
    private(set) var compactRecordLayer: Bool?

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? TLSHandshakeCompleted {
            compactRecordLayer = (try? context.pipeline.syncOperations.handler(type: TLSHandler.self))?.usesCompactRecordLayer
            handshake.succeed(e)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if echo { context.write(wrapOutboundOut(buffer), promise: nil) }
        received.writeBuffer(&buffer)
        if let (count, p) = expected, received.readableBytes >= count {
            expected = nil
            p.succeed(received)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if echo { context.flush() }
        if let limit = closeAfterBytes, received.readableBytes >= limit {
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        firstError.succeed(error)
        handshake.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshake.fail(TLSError.closedDuringHandshake)
        firstError.fail(TLSError.closed)
        expected?.1.fail(TLSError.closed)
        expected = nil
    }
}

/// A TLS server on 127.0.0.1 with an OS-chosen port, recording every accepted connection.
final class TestTLSServer: @unchecked Sendable {
    let channel: Channel
    private let handlers = NIOLockedValueBox<[RecordingHandler]>([])
    private let waiters = NIOLockedValueBox<[EventLoopPromise<RecordingHandler>]>([])

    var port: Int { channel.localAddress!.port! }

    static func start(_ configuration: TLSConfiguration, echo: Bool = true, closeAfterBytes: Int? = nil, group: EventLoopGroup = MultiThreadedEventLoopGroup.singleton) async throws -> TestTLSServer {
        let context = try TLSContext(configuration: configuration)
        let box = NIOLockedValueBox<TestTLSServer?>(nil)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let recorder = RecordingHandler(eventLoop: channel.eventLoop, echo: echo)
                    recorder.closeAfterBytes = closeAfterBytes
                    try channel.pipeline.syncOperations.addHandler(TLSHandler(context: context))
                    try channel.pipeline.syncOperations.addHandler(recorder)
                    box.withLockedValue { $0 }?.accepted(recorder)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let server = TestTLSServer(channel: channel)
        box.withLockedValue { $0 = server }
        return server
    }

    private init(channel: Channel) {
        self.channel = channel
    }

    private func accepted(_ r: RecordingHandler) {
        let waiter = waiters.withLockedValue { w -> EventLoopPromise<RecordingHandler>? in
            w.isEmpty ? nil : w.removeFirst()
        }
        if let waiter { waiter.succeed(r) } else { handlers.withLockedValue { $0.append(r) } }
    }

    /// The next accepted connection's recorder.
    func nextConnection() async throws -> RecordingHandler {
        let ready = handlers.withLockedValue { h -> RecordingHandler? in h.isEmpty ? nil : h.removeFirst() }
        if let ready { return ready }
        let p = channel.eventLoop.makePromise(of: RecordingHandler.self)
        let raced = handlers.withLockedValue { h -> RecordingHandler? in
            if h.isEmpty {
                waiters.withLockedValue { $0.append(p) }
                return nil
            }
            return h.removeFirst()
        }
        if let raced { p.succeed(raced) }
        return try await p.futureResult.get()
    }

    func stop() async throws {
        try await channel.close()
    }
}

/// Connects a TLS client with `configuration` to 127.0.0.1:`port`.
func connectTestClient(
    _ configuration: TLSConfiguration, port: Int, serverHostname: String? = "localhost",
    sessionCache: TLSClientSessionCache? = nil, sessionKey: String? = nil, echo: Bool = false
) async throws -> (Channel, RecordingHandler) {
    let context = try TLSContext(configuration: configuration)
    let group = MultiThreadedEventLoopGroup.singleton
    let loop = group.next()
    let recorder = RecordingHandler(eventLoop: loop, echo: echo)
    do {
    let channel = try await ClientBootstrap(group: loop)
        .channelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try channel.pipeline.syncOperations.addHandler(TLSHandler(
                    context: context, serverHostname: serverHostname, sessionCache: sessionCache,
                    sessionKey: sessionKey ?? "127.0.0.1:\(port)"))
                try channel.pipeline.syncOperations.addHandler(recorder)
            }
        }
        .connect(host: "127.0.0.1", port: port).get()
    return (channel, recorder)
    } catch {
        recorder.handshake.fail(error)
        recorder.firstError.fail(error)
        throw error
    }
}

/// Runs a process to completion with `input` on stdin; returns exit status and combined output.
func runProcess(_ path: String, _ arguments: [String], input: String = "", timeout: TimeInterval = 20) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    process.arguments = arguments
    let stdin = Pipe(), stdout = Pipe()
    process.standardInput = stdin
    process.standardOutput = stdout
    process.standardError = stdout
    try process.run()
    stdin.fileHandleForWriting.write(Data(input.utf8))
    try stdin.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    let data = stdout.fileHandleForReading.readDataToEndOfFile()
    while process.isRunning, Date() < deadline { usleep(10_000) }
    if process.isRunning { process.terminate() }
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// Writes `text` to a temporary file and returns its path.
func temporaryFile(_ text: String, suffix: String = ".pem") throws -> String {
    let path = NSTemporaryDirectory() + "lpa-tls-\(UUID().uuidString)\(suffix)"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    return path
}

func openSSLBinary() throws -> String {
    for p in ["/usr/bin/openssl", "/usr/local/bin/openssl"] where FileManager.default.isExecutableFile(atPath: p) { return p }
    throw XCTSkip("openssl command-line tool is not installed")
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
func freeLoopbackPort() async throws -> Int {
    let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton).bind(host: "127.0.0.1", port: 0).get()
    let port = channel.localAddress!.port!
    try await channel.close()
    return port
}
