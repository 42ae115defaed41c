import Foundation
import LPAHTTP
import LPAStore
import LPAWebhooks
import NIOConcurrencyHelpers
import NIOHTTP1

/// A clock the test moves by hand.
final class ManualClock: Sendable {
    private let seconds: NIOLockedValueBox<Int64>

    init(_ start: Int64 = 1_700_000_000) { seconds = NIOLockedValueBox(start) }

    var now: Int64 { seconds.withLockedValue { $0 } }
    func advance(_ delta: Int64) { seconds.withLockedValue { $0 += delta } }
    var function: @Sendable () -> Int64 { { self.now } }
}

/// A webhook receiver on 127.0.0.1 (plaintext, port chosen by the OS) that checks every delivery's signature
/// with its secret, answers 500 to the first `failures` deliveries and 204 afterwards, and keeps what it got.
final class Receiver: Sendable {
    struct Received: Sendable {
        var headers: HTTPHeaders
        var body: [UInt8]
        var signatureValid: Bool
        var status: Int

        var event: String? { headers.first(name: "X-ServerLPA-Event") }
        var delivery: String? { headers.first(name: "X-ServerLPA-Delivery") }
        var json: [String: Any] { (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any] ?? [:] }
    }

    let server: HTTPSServer
    private let state: NIOLockedValueBox<(failures: Int, received: [Received])>
    /// Every delivery as it arrives, for tests that wait for one without polling.
    let arrivals: AsyncStream<Received>

    var url: String { "http://127.0.0.1:\(server.port)/hooks/serverlpa" }
    var received: [Received] { state.withLockedValue { $0.received } }

    static func start(secret: String, failures: Int = 0) async throws -> Receiver {
        let state = NIOLockedValueBox<(failures: Int, received: [Received])>((failures, []))
        let (arrivals, arrived) = AsyncStream.makeStream(of: Received.self)
        let key = Array(secret.utf8)
        let server = try await HTTPSServer.start(configuration: HTTPSServerConfiguration(host: "127.0.0.1", port: 0, tls: nil)) { request in
            let timestamp = request.headers.first(name: "X-ServerLPA-Timestamp") ?? ""
            let signature = request.headers.first(name: "X-ServerLPA-Signature") ?? ""
            let valid = WebhookSignature.isValid(header: signature, body: request.body, timestamp: timestamp, secret: key)
            let status = state.withLockedValue { state -> Int in
                let status: Int
                if !valid || request.method != .POST || request.path != "/hooks/serverlpa" {
                    status = 400
                } else if state.failures > 0 {
                    state.failures -= 1
                    status = 500
                } else {
                    status = 204
                }
                let received = Received(headers: request.headers, body: request.body, signatureValid: valid, status: status)
                state.received.append(received)
                arrived.yield(received)
                return status
            }
            return HTTPServerResponse(status: HTTPResponseStatus(statusCode: status))
        }
        return Receiver(server: server, state: state, arrivals: arrivals)
    }

    private init(server: HTTPSServer, state: NIOLockedValueBox<(failures: Int, received: [Received])>, arrivals: AsyncStream<Received>) {
        self.server = server
        self.state = state
        self.arrivals = arrivals
    }

    func stop() async { await server.shutdown() }
}

/// A migrated SQLite store in a fresh temporary directory, reopenable (a core restart).
struct TemporaryStore {
    let directory: URL
    var path: String { directory.appendingPathComponent("core.db").path }

    init() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-webhooks-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    func open() async throws -> SQLiteStore {
        let store = try SQLiteStore(path: path)
        try await store.migrate()
        return store
    }

    func remove() { try? FileManager.default.removeItem(at: directory) }
}
