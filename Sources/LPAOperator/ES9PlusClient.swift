import LPAHTTP
import Logging
import Metrics

/// The LPA side of ES9+ (SGP.22 v2.x, JSON over HTTPS): the calls the server-side LPA makes to
/// an SM-DP+ to download a profile and to report results.
///
/// Each call is `POST https://{smdpAddress}/gsma/rsp2/es9plus/{function}` with
/// `Content-Type: application/json` and `X-Admin-Protocol`; requests are plain JSON objects
/// (no header); binary fields travel as base64 of DER. Responses are checked for
/// `header.functionExecutionStatus` and, within a session, for the request's transactionId.
///
/// Thread-safe; calls may run concurrently (connections are pooled per SM-DP+). Each call is
/// timed in `lpa_es9_request_duration_seconds{function,status}` and logged with its
/// transactionId. Errors are ``ES9PlusError``.
public final class ES9PlusClient: Sendable {
    public let endpoint: OperatorEndpoint
    private let caller: RSPFunctionCaller

    /// - Parameters:
    ///   - metrics: where call durations are recorded; the process-wide `MetricsSystem` by default.
    ///   - httpClient: a client to share (its trust settings apply); when nil the ES9+ client
    ///     makes its own from `endpoint` and closes it on ``shutdown()``.
    /// - Throws: ``ES9PlusError`` when the address or TLS material is unusable.
    public init(
        endpoint: OperatorEndpoint,
        httpClient: HTTPSClient? = nil,
        logger: Logger = Logger(label: "serverlpa.operator.es9plus"),
        metrics: MetricsFactory = MetricsSystem.factory
    ) throws {
        self.endpoint = endpoint
        self.caller = try RSPFunctionCaller(
            endpoint: endpoint, httpClient: httpClient, basePath: "/gsma/rsp2/es9plus",
            durationMetric: "lpa_es9_request_duration_seconds", logger: logger, metrics: metrics)
    }

    /// ES9+.InitiateAuthentication: starts a session with the eUICC's challenge and info.
    ///
    /// - Parameters:
    ///   - euiccChallenge: the 16 bytes from ES10b.GetEUICCChallenge.
    ///   - euiccInfo1: DER of EUICCInfo1 (tag BF20) from ES10b.GetEUICCInfo.
    ///   - smdpAddress: the address the session is for (as in the activation code); the
    ///     endpoint's address when nil.
    public func initiateAuthentication(euiccChallenge: [UInt8], euiccInfo1: [UInt8], smdpAddress: String? = nil) async throws -> InitiateAuthenticationResponse {
        let function = "initiateAuthentication"
        let body = RSPJSONObject.encode([
            "euiccChallenge": euiccChallenge,
            "euiccInfo1": euiccInfo1,
            "smdpAddress": smdpAddress ?? endpoint.smdpAddress,
        ])
        let reply = try await caller.call(function, body: body, transactionId: nil)
        let object = try RSPFunctionCaller.object(of: reply, function: function)
        return try InitiateAuthenticationResponse(object)
    }

    /// ES9+.AuthenticateClient: sends the eUICC's AuthenticateServerResponse (DER, tag BF38).
    public func authenticateClient(transactionId: String, authenticateServerResponse: [UInt8]) async throws -> AuthenticateClientResponse {
        let function = "authenticateClient"
        let body = RSPJSONObject.encode(["transactionId": transactionId, "authenticateServerResponse": authenticateServerResponse])
        let reply = try await caller.call(function, body: body, transactionId: transactionId)
        let object = try RSPFunctionCaller.object(of: reply, function: function)
        let response = try AuthenticateClientResponse(object)
        try RSPFunctionCaller.checkTransactionId(response.transactionId, expected: transactionId)
        return response
    }

    /// ES9+.GetBoundProfilePackage: sends the eUICC's PrepareDownloadResponse (DER, tag BF21)
    /// and returns the Bound Profile Package.
    public func getBoundProfilePackage(transactionId: String, prepareDownloadResponse: [UInt8]) async throws -> GetBoundProfilePackageResponse {
        let function = "getBoundProfilePackage"
        let body = RSPJSONObject.encode(["transactionId": transactionId, "prepareDownloadResponse": prepareDownloadResponse])
        let reply = try await caller.call(function, body: body, transactionId: transactionId)
        let object = try RSPFunctionCaller.object(of: reply, function: function)
        let response = try GetBoundProfilePackageResponse(object)
        try RSPFunctionCaller.checkTransactionId(response.transactionId, expected: transactionId)
        return response
    }

    /// ES9+.HandleNotification: delivers one pending notification (DER: a
    /// ProfileInstallationResult or OtherSignedNotification). Succeeds on HTTP 204, or on 200
    /// with `Executed-Success`.
    public func handleNotification(pendingNotification: [UInt8]) async throws {
        let body = RSPJSONObject.encode(["pendingNotification": pendingNotification])
        _ = try await caller.call("handleNotification", body: body, transactionId: nil, allowsNoContent: true)
    }

    /// ES9+.CancelSession: sends the eUICC's CancelSessionResponse (DER, tag BF41).
    public func cancelSession(transactionId: String, cancelSessionResponse: [UInt8]) async throws {
        let body = RSPJSONObject.encode(["transactionId": transactionId, "cancelSessionResponse": cancelSessionResponse])
        _ = try await caller.call("cancelSession", body: body, transactionId: transactionId)
    }

    /// Closes the HTTPS client when this ES9+ client created it; otherwise does nothing.
    public func shutdown() async {
        await caller.shutdown()
    }
}
