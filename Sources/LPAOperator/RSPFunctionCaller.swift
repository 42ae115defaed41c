import LPAHTTP
import Logging
import Metrics
import NIOCore
import NIOHTTP1

/// Calls the functions of one SGP.22 JSON interface (ES9+ or ES2+) on one SM-DP+: builds the
/// HTTPS request, maps transport failures, checks the HTTP status, reads
/// `header.functionExecutionStatus`, and records the call's duration and outcome.
///
/// Shared by ``ES9PlusClient`` and ``ES2PlusClient``. Thread-safe (immutable). Logs never carry
/// request or response bodies, only function names, outcomes and transactionIds.
struct RSPFunctionCaller: Sendable {
    /// `/gsma/rsp2/es9plus` or `/gsma/rsp2/es2plus`.
    let basePath: String
    /// Metric name of the per-function duration timer.
    let durationMetric: String
    let http: HTTPSClient
    let host: String
    let port: Int
    let adminProtocol: String
    let logger: Logger
    /// Where the duration timers go; the process-wide `MetricsSystem` by default.
    let metrics: MetricsFactory
    /// True when ``http`` was made here and is closed by ``shutdown()``.
    let ownsHTTPClient: Bool

    /// A caller for `endpoint`, over `httpClient` when given, else over a client of its own made
    /// from the endpoint's settings.
    ///
    /// - Throws: ``OperatorError/transport(_:)`` when the address or TLS material is unusable.
    init(
        endpoint: OperatorEndpoint, httpClient: HTTPSClient?, basePath: String, durationMetric: String,
        logger: Logger, metrics: MetricsFactory
    ) throws {
        (host, port) = try endpoint.hostAndPort()
        do {
            http = try httpClient ?? HTTPSClient(configuration: endpoint.httpsClientConfiguration, logger: logger)
        } catch let error as HTTPClientError {
            throw OperatorError.transport(error)
        }
        var logger = logger
        logger[metadataKey: "rsp.smdp"] = "\(endpoint.smdpAddress)"
        self.logger = logger
        self.ownsHTTPClient = httpClient == nil
        self.basePath = basePath
        self.durationMetric = durationMetric
        self.adminProtocol = endpoint.adminProtocol
        self.metrics = metrics
    }

    /// Closes the HTTPS client when this caller made it.
    func shutdown() async {
        if ownsHTTPClient { await http.shutdown() }
    }

    /// What a successful call returned.
    enum Reply {
        /// A JSON body whose status is `Executed-Success` or `Executed-WithWarning`.
        case object(RSPJSONObject, FunctionExecutionStatus)
        /// HTTP 204, allowed only where the caller asked for it.
        case noContent
    }

    /// POSTs `body` (already-encoded JSON) to `{basePath}/{function}`.
    ///
    /// - Parameters:
    ///   - transactionId: logged with the call (never the body).
    ///   - allowsNoContent: accept HTTP 204 as success (ES9+.HandleNotification).
    /// - Throws: ``OperatorError`` only.
    func call(_ function: String, body: [UInt8], transactionId: String?, allowsNoContent: Bool = false) async throws -> Reply {
        var logger = self.logger
        logger[metadataKey: "rsp.function"] = "\(function)"
        if let transactionId { logger[metadataKey: "transactionId"] = "\(transactionId)" }
        let started = NIODeadline.now()
        var outcome = "unknown"
        defer {
            let elapsed = NIODeadline.now() - started
            Metrics.Timer(label: durationMetric, dimensions: [("function", function), ("status", outcome)], factory: metrics)
                .recordNanoseconds(elapsed.nanoseconds)
        }
        do {
            let reply = try await exchange(function, body: body, allowsNoContent: allowsNoContent)
            switch reply {
            case .noContent:
                outcome = FunctionExecutionStatus.Status.executedSuccess.rawValue
            case .object(_, let status):
                outcome = status.status.rawValue
                if status.status == .executedWithWarning {
                    logger.warning("SM-DP+ executed the function with a warning", metadata: [
                        "rsp.statusCodeData": "\(status.statusCodeData.map { "\($0)" } ?? "none")",
                    ])
                }
            }
            logger.debug("SM-DP+ function executed", metadata: ["rsp.status": "\(outcome)"])
            return reply
        } catch let error as OperatorError {
            switch error {
            case .failed: outcome = FunctionExecutionStatus.Status.failed.rawValue
            case .expired: outcome = FunctionExecutionStatus.Status.expired.rawValue
            default: outcome = error.code
            }
            logger.warning("SM-DP+ function failed", metadata: ["rsp.error": "\(error)", "rsp.errorCode": "\(error.code)"])
            throw error
        }
    }

    private func exchange(_ function: String, body: [UInt8], allowsNoContent: Bool) async throws -> Reply {
        // SGP.22 §6.5.1: the request headers an SM-DP+ may check. The response's own headers are not required:
        // a body that parses as the function's JSON is accepted whether or not the SM-DP+ sent the charset or
        // X-Admin-Protocol.
        var headers: HTTPHeaders = [
            "Content-Type": "application/json;charset=UTF-8",
            "Accept": "application/json",
            "X-Admin-Protocol": adminProtocol,
        ]
        if basePath.hasSuffix("es9plus") { headers.add(name: "User-Agent", value: "gsma-rsp-lpad") }
        let request = HTTPClientRequest(method: .POST, host: host, port: port, path: "\(basePath)/\(function)", headers: headers, body: body)
        let response: HTTPClientResponse
        do {
            response = try await http.execute(request)
        } catch HTTPClientError.timeout {
            throw OperatorError.timeout
        } catch let error as HTTPClientError {
            throw OperatorError.transport(error)
        }
        return try Self.reply(to: response, allowsNoContent: allowsNoContent)
    }

    /// Reads an SM-DP+'s HTTP response to a function call: a 200 with a JSON object whose
    /// `header.functionExecutionStatus` says it executed, or a 204 where `allowsNoContent`.
    ///
    /// - Throws: ``OperatorError`` only (`http`, `malformedResponse`, `failed`, `expired`).
    static func reply(to response: HTTPClientResponse, allowsNoContent: Bool) throws -> Reply {
        if allowsNoContent, response.status == .noContent {
            return .noContent
        }
        guard response.status == .ok else {
            throw OperatorError.http(status: Int(response.status.code), body: String(decoding: response.body.prefix(512), as: UTF8.self))
        }
        let object = try RSPJSONObject(parsing: response.body)
        let status = try FunctionExecutionStatus.parse(from: object)
        switch status.status {
        case .executedSuccess, .executedWithWarning:
            return .object(object, status)
        case .failed:
            guard let data = status.statusCodeData else {
                throw OperatorError.malformedResponse("status 'Failed' without 'header.functionExecutionStatus.statusCodeData'")
            }
            throw OperatorError.failed(data)
        case .expired:
            throw OperatorError.expired(status.statusCodeData)
        }
    }

    /// The body of a successful reply that must carry one.
    static func object(of reply: Reply, function: String) throws -> RSPJSONObject {
        guard case .object(let object, _) = reply else {
            throw OperatorError.malformedResponse("\(function) answered without a body")
        }
        return object
    }

    /// Checks that the SM-DP+ answered for the session the request named.
    static func checkTransactionId(_ received: String, expected: String) throws {
        guard received.lowercased() == expected.lowercased() else {
            throw OperatorError.malformedResponse("transactionId '\(received)' does not match the session's '\(expected)'")
        }
    }
}
