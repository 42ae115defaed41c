import Foundation
import RSP

/// A kind of profile the simulated SM-DP+ can issue: what its metadata says, how its ICCIDs are made and how
/// large its package is.
public struct ProfileType: Sendable, Hashable, Codable {
    /// The name ES2+ downloadOrder uses (`profileType`) and the Profile Package header carries.
    public var name: String
    public var serviceProviderName: String
    /// `profileName` of the metadata; the type's name when nil.
    public var profileName: String?
    /// Digits every ICCID of this type begins with (starting with `89`); the rest is a counter and a Luhn digit.
    public var iccidPrefix: String
    /// Approximate size of the unprotected profile package, in bytes.
    public var packageSize: Int
    /// The events the eUICC is to notify (to this SM-DP+'s address) for profiles of this type.
    public var notificationEvents: [NotificationEvent]
    /// How many profiles of this type may be reserved at most; unlimited when nil.
    public var capacity: Int?

    public init(
        name: String, serviceProviderName: String, profileName: String? = nil, iccidPrefix: String,
        packageSize: Int = 8 * 1024, notificationEvents: [NotificationEvent] = [.install, .enable, .disable, .delete],
        capacity: Int? = nil
    ) {
        self.name = name
        self.serviceProviderName = serviceProviderName
        self.profileName = profileName
        self.iccidPrefix = iccidPrefix
        self.packageSize = packageSize
        self.notificationEvents = notificationEvents
        self.capacity = capacity
    }
}

/// How an `SMDPSimulator` behaves. Defaults run a compliant SM-DP+ at `smdp.test` with one profile type.
public struct SMDPConfiguration: Sendable {
    /// The SM-DP+ address (`host` or `host:port`): checked in initiateAuthentication, signed in serverSigned1,
    /// returned by confirmOrder and written into the notification configuration of every profile.
    public var address: String
    /// The profile types on offer.
    public var profileTypes: [ProfileType]
    /// When set, a matchingId (or an empty one) that names no order creates and releases an order of this type
    /// on the fly, so fleets download without any ES2+ call.
    public var autoOrderProfileType: String?
    /// How long an RSP session may take from initiateAuthentication to getBoundProfilePackage.
    public var sessionLifetime: Duration = .seconds(300)
    /// How long a download order stays usable after confirmOrder; forever when nil.
    public var orderLifetime: Duration?
    /// Download attempts per order before authenticateClient refuses it (8.8.5 / 6.4).
    public var maximumDownloadAttempts = 5
    /// `hostId` of the BPP's control reference template.
    public var hostId: [UInt8] = Array("ServerLPA SM-DP+".utf8)
    /// Protect the profile elements with fresh keys sent in a ReplaceSessionKeys (`A2`) part.
    public var usesReplaceSessionKeys = false
    /// The SM-DP+ OID (value of the OBJECT IDENTIFIER) the eUICC signs in CancelSession; checked only when set.
    public var smdpOid: [UInt8]?
    /// Answer handleNotification with `Failed` when a notification cannot be verified, instead of the
    /// SGP.22 behaviour (always 204; the refusal is only counted).
    public var refusesUnverifiableNotifications = false
    /// Known departures from SGP.22 to reproduce (none by default).
    public var deviations = SMDPFieldDeviations()

    public init(address: String = "smdp.test", profileTypes: [ProfileType] = [ProfileType.default]) {
        self.address = address
        self.profileTypes = profileTypes
    }
}

extension ProfileType {
    /// An 8 KiB operational test profile, `ServerLPA Test Operator`, ICCIDs `8999001…`.
    public static let `default` = ProfileType(
        name: "default", serviceProviderName: "ServerLPA Test Operator", profileName: "ServerLPA Test Profile",
        iccidPrefix: "8999001")
}
