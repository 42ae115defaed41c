import LPAOperator

/// Why the simulated SM-DP+ refused a function: the `functionExecutionStatus` it answers with and the
/// SGP.22 status code (subject code, reason code) naming the failed check.
///
/// The same value travels through the engine (`SMDPSimulator` throws it) and the HTTP binding (`SMDPServer`
/// writes it into `header.functionExecutionStatus`), so an `ES9PlusClient` sees exactly these codes as
/// `ES9PlusError.failed(StatusCodeData)`.
public struct SMDPError: Error, Sendable, Equatable, CustomStringConvertible {
    /// `Failed` for every refusal this simulator makes; `Expired` is available for fault injection.
    public var status: FunctionExecutionStatus.Status
    public var statusCodeData: StatusCodeData

    public init(status: FunctionExecutionStatus.Status = .failed, statusCodeData: StatusCodeData) {
        self.status = status
        self.statusCodeData = statusCodeData
    }

    /// A `Failed` status with `subjectCode`, `reasonCode` and a message.
    public static func failed(_ subjectCode: String, _ reasonCode: String, _ message: String) -> SMDPError {
        SMDPError(statusCodeData: StatusCodeData(subjectCode: subjectCode, reasonCode: reasonCode, message: message))
    }

    /// `subjectCode/reasonCode`, the key under which failures are counted.
    public var code: String { "\(statusCodeData.subjectCode)/\(statusCodeData.reasonCode)" }

    public var description: String { "\(status.rawValue): \(statusCodeData)" }
}

// MARK: - The status codes of SGP.22 §5.3 (ES2+) and §5.6 (ES9+) this simulator uses

extension SMDPError {
    // Request handling (JSON binding, SGP.22 §6.5)

    /// The `Content-Type` header is not `application/json`.
    static func invalidContentType(_ found: String?) -> SMDPError {
        .failed("1.2.1", "2.1", "Content-Type must be application/json, got \(found ?? "none")")
    }
    /// The `X-Admin-Protocol` header is absent or not `gsma/rsp/v…`.
    static func invalidAdminProtocol(_ found: String?) -> SMDPError {
        .failed("1.2.2", "2.1", "X-Admin-Protocol must be gsma/rsp/v2.x.y, got \(found ?? "none")")
    }
    /// A mandatory request field is missing.
    static func missingElement(_ field: String) -> SMDPError {
        .failed("1.3.1", "2.2", "mandatory element '\(field)' is missing")
    }
    /// A request field is present but unusable (not JSON, not base64, not the DER it must hold, …).
    static func invalidElement(_ field: String, _ reason: String) -> SMDPError {
        .failed("1.3.1", "2.1", "element '\(field)' is invalid: \(reason)")
    }

    // ES9+ (SGP.22 §5.6, tables of InitiateAuthentication, AuthenticateClient, GetBoundProfilePackage,
    // CancelSession)

    static func invalidSMDPAddress(_ address: String) -> SMDPError {
        .failed("8.8.1", "3.8", "Invalid SM-DP+ Address '\(address)'")
    }
    static let unsupportedCIForSigning = SMDPError.failed(
        "8.8.2", "3.1", "None of the proposed Public Key Identifiers is supported by the SM-DP+")
    static let unsupportedSpecificationVersion = SMDPError.failed(
        "8.8.3", "3.1", "The Specification Version Number indicated by the eUICC is not supported by the SM-DP+")
    static let unavailableServerCertificate = SMDPError.failed(
        "8.8.4", "3.7", "The SM-DP+ has no CERT.DPauth.ECDSA signed by one of the GSMA CI Public Keys supported by the eUICC")
    static func unknownTransaction(_ message: String = "The RSP session identified by the TransactionID is unknown") -> SMDPError {
        .failed("8.10.1", "3.9", message)
    }
    static let unknownCIPublicKey = SMDPError.failed(
        "8.11.1", "3.9", "Unknown CI Public Key: the CI of the EUM Certificate is not a trusted root for the SM-DP+")
    static func eumCertificateInvalid(_ reason: String) -> SMDPError { .failed("8.1.2", "6.1", "EUM Certificate is invalid: \(reason)") }
    static func eumCertificateExpired() -> SMDPError { .failed("8.1.2", "6.3", "EUM Certificate has expired") }
    static func euiccCertificateInvalid(_ reason: String) -> SMDPError { .failed("8.1.3", "6.1", "eUICC Certificate is invalid: \(reason)") }
    static func euiccCertificateExpired() -> SMDPError { .failed("8.1.3", "6.3", "eUICC Certificate has expired") }
    static func euiccVerificationFailed(_ reason: String) -> SMDPError { .failed("8.1", "6.1", "eUICC verification failed: \(reason)") }
    static func eidRefused(_ reason: String) -> SMDPError { .failed("8.1.1", "3.8", "EID refused: \(reason)") }
    static func matchingIdRefused(_ matchingId: String) -> SMDPError {
        .failed("8.2.6", "3.8", "MatchingID '\(matchingId)' is refused")
    }
    static func profileNotReleased(_ iccid: String) -> SMDPError {
        .failed("8.2", "1.2", "Profile \(iccid) has not yet been released")
    }
    static let downloadOrderExpired = SMDPError.failed("8.8.5", "4.10", "The Download order has expired")
    static let maximumRetriesExceeded = SMDPError.failed(
        "8.8.5", "6.4", "The maximum number of retries for the Profile download order has been exceeded")
    static let invalidSMDPOid = SMDPError.failed("8.8", "3.10", "The provided SM-DP+ OID is invalid")

    // ES2+ (SGP.22 §5.3)

    static func iccidUnknown(_ iccid: String) -> SMDPError { .failed("8.2.1", "3.9", "Profile ICCID \(iccid) is unknown") }
    static func iccidNotAllowed(_ iccid: String, _ state: String) -> SMDPError {
        .failed("8.2.1", "1.2", "Profile ICCID \(iccid) is \(state): function not allowed")
    }
    static func iccidInUse(_ iccid: String) -> SMDPError { .failed("8.2.1", "3.3", "Profile ICCID \(iccid) is already in use") }
    static func profileTypeUnknown(_ type: String) -> SMDPError { .failed("8.2.5", "3.9", "Profile Type '\(type)' is unknown") }
    static func profileTypeUnavailable(_ type: String) -> SMDPError {
        .failed("8.2.5", "3.7", "No more profiles of Profile Type '\(type)' are available")
    }
    static func eidInvalid(_ eid: String) -> SMDPError { .failed("8.1.1", "2.1", "EID '\(eid)' is invalid") }
    static func eidMismatch(_ iccid: String) -> SMDPError {
        .failed("8.1.1", "3.10", "EID does not match the one associated with profile \(iccid)")
    }
    static func matchingIdInUse(_ matchingId: String) -> SMDPError {
        .failed("8.2.6", "3.3", "MatchingID '\(matchingId)' is already in use")
    }
    static func matchingIdMismatch(_ iccid: String) -> SMDPError {
        .failed("8.2.6", "3.10", "MatchingID does not match the one of profile \(iccid)")
    }
}
