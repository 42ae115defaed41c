/// Behaviours of SM-DP+s met in the field that depart from SGP.22 without breaking what an LPA can carry, so
/// the LPA's tolerance of them is tested. All off by default (a compliant SM-DP+); `lpa-sim smdp` exposes each.
public struct SMDPFieldDeviations: Sendable, Hashable {
    /// Plaintext bytes per `86` segment instead of the size that keeps segments within 1020 bytes
    /// (SGP.22 §2.5.3). 1008 gives 1036-byte segments (1008 padded to 1024, an 8-byte MAC, a 4-byte header).
    public var profileElementsPlaintextPerSegment: Int?
    /// Write `ProfileHeader.iccid` nibble-swapped like EF.ICCID instead of in E.118 digit order.
    public var swapsHeaderICCID = false
    /// Answer `Content-Type: application/json` without `;charset=UTF-8` (SGP.22 §6.5.1 writes the charset).
    public var omitsContentTypeCharset = false
    /// Answer a refused request with HTTP 500 and no JSON body instead of HTTP 200 with
    /// `functionExecutionStatus` `Failed` and its status code.
    public var answersHTTP500OnError = false

    public init() {}

    /// Whether the simulator behaves as SGP.22 says.
    public var isEmpty: Bool { self == SMDPFieldDeviations() }
}
