import Foundation
import LPAAdminClient
import LPAHTTP
import LPATLS
import NIOCore
import NIOHTTP1

/// Moves one signed delivery to its endpoint and reports the HTTP status; the dispatcher decides what the
/// status means. Separate from the dispatcher so its logic can be driven without sockets.
public protocol WebhookTransport: Sendable {
    /// POSTs `body` with `headers` to `url` and returns the response's status code.
    ///
    /// - Throws: ``WebhookError/timeout(seconds:)`` when no whole answer came within `timeoutSeconds`;
    ///   ``WebhookError/transport(_:)`` when the endpoint could not be reached or answered garbage.
    func post(_ url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Int64) async throws -> Int
    /// Closes open connections; later posts fail.
    func shutdown() async
}

/// The transport the core uses: `https://` through ``HTTPSClient`` (system OpenSSL, the configured trust roots,
/// host name checked, connections reused), and plain `http://127.0.0.1` through a one-connection-per-call
/// HTTP/1.1 client for local receivers.
///
/// Thread-safe; one per webhook service.
public final class HTTPWebhookTransport: WebhookTransport {
    private let https: HTTPSClient?

    /// - Parameter trustedRoots: CA certificates for `https://` endpoints; nil allows only local `http://`.
    /// - Throws: ``WebhookError/transport(_:)`` when the roots cannot be loaded.
    public init(trustedRoots: TLSConfiguration.PEMSource?) throws {
        guard let trustedRoots else {
            https = nil
            return
        }
        do {
            https = try HTTPSClient(configuration: HTTPSClientConfiguration(trustRoots: trustedRoots))
        } catch {
            throw WebhookError.transport("cannot load the webhook trust roots: \(error)")
        }
    }

    public func post(_ url: String, headers: [(String, String)], body: [UInt8], timeoutSeconds: Int64) async throws -> Int {
        guard let components = URLComponents(string: url), let scheme = components.scheme?.lowercased(), let host = components.host else {
            throw WebhookError.transport("'\(url)' is not an absolute URL")
        }
        switch scheme {
        case "https":
            guard let https else { throw WebhookError.transport("no trustedRoots are configured for https:// endpoints") }
            do {
                let response = try await https.post(url, headers: HTTPHeaders(headers), body: body, timeout: .seconds(timeoutSeconds))
                return Int(response.status.code)
            } catch HTTPClientError.timeout {
                throw WebhookError.timeout(seconds: timeoutSeconds)
            } catch {
                throw WebhookError.transport("\(error)")
            }
        case "http" where host == "127.0.0.1":
            var path = components.percentEncodedPath
            if path.isEmpty { path = "/" }
            if let query = components.percentEncodedQuery { path += "?" + query }
            let client = AdminHTTPClient(host: host, port: components.port ?? 80, token: nil)
            let target = path
            return try await Self.withDeadline(seconds: timeoutSeconds) {
                do {
                    return try await client.send(.POST, target, body: body, headers: headers).status
                } catch {
                    throw WebhookError.transport("\(error)")
                }
            }
        default:
            throw WebhookError.transport("'\(url)' is neither https:// nor http://127.0.0.1")
        }
    }

    public func shutdown() async {
        await https?.shutdown()
    }

    /// Runs `body`, failing with ``WebhookError/timeout(seconds:)`` (and cancelling it) when it takes longer.
    private static func withDeadline<T: Sendable>(seconds: Int64, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withThrowingTaskGroup(of: T.self) { group in
            group.addTask { try await body() }
            group.addTask {
                try await Task.sleep(for: .seconds(seconds))
                throw WebhookError.timeout(seconds: seconds)
            }
            defer { group.cancelAll() }
            return try await group.next()!
        }
    }
}
