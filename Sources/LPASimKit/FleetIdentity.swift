import LPAIdentity

/// The identity of one simulated device: EID, IMEI, ICCID and device model, derived deterministically from
/// the device's index in the fleet.
///
/// Device `n` of a fleet always gets the same identifiers (given the same numbering), so a PKI created twice,
/// or on two machines, describes the same fleet.
public struct FleetIdentity: Sendable, Hashable, Codable {
    public var eid: EID
    public var imei: IMEI
    public var iccid: ICCID
    public var model: String

    public init(eid: EID, imei: IMEI, iccid: ICCID, model: String) {
        self.eid = eid
        self.imei = imei
        self.iccid = iccid
        self.model = model
    }

    /// How identifiers are numbered in a simulated fleet.
    public struct Numbering: Sendable, Hashable {
        /// EID prefix (starts with 89); the index fills the digits up to the two check digits.
        public var eidPrefix: String
        /// IMEI Type Allocation Code (8 digits); the index is the 6-digit serial, so at most 1,000,000 devices.
        public var tac: String
        /// ICCID issuer prefix (starts with 89); the index fills the digits up to the Luhn check digit.
        public var iccidIssuerPrefix: String

        public init(eidPrefix: String, tac: String, iccidIssuerPrefix: String) {
            self.eidPrefix = eidPrefix
            self.tac = tac
            self.iccidIssuerPrefix = iccidIssuerPrefix
        }

        /// The simulator's default: EIDs `89049032…`, TAC `35000011`, ICCIDs `8988247…` (20 digits).
        public static let simulator = Numbering(eidPrefix: "89049032", tac: "35000011", iccidIssuerPrefix: "8988247")

        /// The largest number of devices this numbering can describe (limited by the 6-digit IMEI serial).
        public var capacity: Int { 1_000_000 }
    }

    /// The default device model of simulated fleets.
    public static let defaultModel = "SIM-METER-1"

    /// The identity of device `index` (0-based, not negative) under `numbering`.
    /// - Throws: `IdentityError` when the numbering is invalid or `index` does not fit it.
    public static func make(
        index: Int,
        model: String = defaultModel,
        numbering: Numbering = .simulator
    ) throws(IdentityError) -> FleetIdentity {
        precondition(index >= 0, "device indexes start at 0")
        let index = UInt64(index)
        return FleetIdentity(
            eid: try EID.make(prefix: numbering.eidPrefix, index: index),
            imei: try IMEI.make(tac: numbering.tac, index: index),
            iccid: try ICCID.make(issuerPrefix: numbering.iccidIssuerPrefix, index: index),
            model: model
        )
    }
}
