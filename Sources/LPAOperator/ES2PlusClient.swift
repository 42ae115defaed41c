import Foundation
import LPAHTTP
import Logging
import Metrics

/// The operator side of ES2+ (SGP.22 v2.x, JSON over HTTPS): ordering, confirming, cancelling
/// and releasing profiles on an SM-DP+.
///
/// Each call is `POST https://{smdpAddress}/gsma/rsp2/es2plus/{function}`; every request carries
/// `header{functionRequesterIdentifier, functionCallIdentifier}` (a fresh identifier per call).
/// ES2+ normally runs over mutual TLS: give the endpoint a client certificate.
///
/// Thread-safe. Each call is timed in `lpa_es2_request_duration_seconds{function,status}`.
/// Errors are ``ES2PlusError`` (the same type and status handling as ES9+).
public final class ES2PlusClient: Sendable {
    public let endpoint: OperatorEndpoint
    /// Identifies this operator to the SM-DP+ in every request header.
    public let functionRequesterIdentifier: String
    private let makeFunctionCallIdentifier: @Sendable () -> String
    private let caller: RSPFunctionCaller

    /// - Parameters:
    ///   - metrics: where call durations are recorded; the process-wide `MetricsSystem` by default.
    ///   - httpClient: a client to share; when nil one is made from `endpoint` and closed on ``shutdown()``.
    ///   - makeFunctionCallIdentifier: a new identifier per call (a UUID by default).
    /// - Throws: ``ES2PlusError`` when the address or TLS material is unusable.
    public init(
        endpoint: OperatorEndpoint,
        functionRequesterIdentifier: String,
        httpClient: HTTPSClient? = nil,
        logger: Logger = Logger(label: "serverlpa.operator.es2plus"),
        metrics: MetricsFactory = MetricsSystem.factory,
        makeFunctionCallIdentifier: @escaping @Sendable () -> String = { UUID().uuidString }
    ) throws {
        self.endpoint = endpoint
        self.functionRequesterIdentifier = functionRequesterIdentifier
        self.makeFunctionCallIdentifier = makeFunctionCallIdentifier
        self.caller = try RSPFunctionCaller(
            endpoint: endpoint, httpClient: httpClient, basePath: "/gsma/rsp2/es2plus",
            durationMetric: "lpa_es2_request_duration_seconds", logger: logger, metrics: metrics)
    }

    /// ES2+.DownloadOrder: reserves a profile (by ICCID or profile type, optionally for an EID).
    ///
    /// - Returns: the ICCID of the reserved profile.
    public func downloadOrder(eid: String? = nil, iccid: String? = nil, profileType: String? = nil) async throws -> String {
        let function = "downloadOrder"
        var fields = request()
        fields["eid"] = eid
        fields["iccid"] = iccid
        fields["profileType"] = profileType
        let reply = try await caller.call(function, body: RSPJSONObject.encode(fields), transactionId: nil)
        return try RSPFunctionCaller.object(of: reply, function: function).string("iccid")
    }

    /// ES2+.ConfirmOrder: confirms a reserved profile's download and returns its matching ID.
    public func confirmOrder(
        iccid: String, eid: String? = nil, matchingId: String? = nil, confirmationCode: String? = nil,
        smdsAddress: String? = nil, releaseFlag: Bool
    ) async throws -> ConfirmOrderResponse {
        let function = "confirmOrder"
        var fields = request()
        fields["iccid"] = iccid
        fields["eid"] = eid
        fields["matchingId"] = matchingId
        fields["confirmationCode"] = confirmationCode
        fields["smdsAddress"] = smdsAddress
        fields["releaseFlag"] = releaseFlag
        let reply = try await caller.call(function, body: RSPJSONObject.encode(fields), transactionId: nil)
        return try ConfirmOrderResponse(RSPFunctionCaller.object(of: reply, function: function))
    }

    /// ES2+.CancelOrder: cancels a pending order.
    public func cancelOrder(
        iccid: String, eid: String? = nil, matchingId: String? = nil, finalProfileStatusIndicator: FinalProfileStatusIndicator
    ) async throws {
        var fields = request()
        fields["iccid"] = iccid
        fields["eid"] = eid
        fields["matchingId"] = matchingId
        fields["finalProfileStatusIndicator"] = finalProfileStatusIndicator.rawValue
        _ = try await caller.call("cancelOrder", body: RSPJSONObject.encode(fields), transactionId: nil)
    }

    /// ES2+.ReleaseProfile: releases a profile confirmed with `releaseFlag` false.
    public func releaseProfile(iccid: String) async throws {
        var fields = request()
        fields["iccid"] = iccid
        _ = try await caller.call("releaseProfile", body: RSPJSONObject.encode(fields), transactionId: nil)
    }

    /// Closes the HTTPS client when this ES2+ client created it; otherwise does nothing.
    public func shutdown() async {
        await caller.shutdown()
    }

    /// A request object holding only the ES2+ request header.
    private func request() -> [String: Any] {
        ["header": [
            "functionRequesterIdentifier": functionRequesterIdentifier,
            "functionCallIdentifier": makeFunctionCallIdentifier(),
        ] as [String: Any]]
    }
}
