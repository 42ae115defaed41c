import LPACore
import LPASimKit

/// What a ``ProvisioningLab`` runs: the fleet, the SM-DP+ (built in or external), the core's limits.
public struct LabConfiguration: Sendable {
    /// Folder for the fleet PKI, the core's database and generated files.
    public var workdir = "var/demo"
    public var terminals = 200
    /// Core store URL; empty: SQLite in the workdir (recreated each run).
    public var store = ""
    /// The radio link of the simulated terminals.
    public var link: LinkProfile = .none
    /// Size of each profile package the built-in SM-DP+ produces, bytes.
    public var profileSize = 8 * 1024
    /// Curve of the RSP PKI (P-256 or brainpoolP256r1).
    public var brainpool = false
    /// An external SM-DP+ instead of the built-in simulator.
    public var externalSMDP: ExternalSMDP?
    /// Profile type the configuration rule asks for.
    public var profileType = "demo-iot-data"
    public var maximumConcurrentJobs = 64
    /// Seconds the fleet has to be provisioned before the run counts the rest as failed.
    public var timeoutSeconds: Double = 600
    /// Fault injection of the built-in SM-DP+: probability that a function call fails.
    public var smdpFailureRate: Double = 0
    public var storeDataBlockSize = 255
    /// Start the simulated fleet; off when the devices come from elsewhere (e.g. `lpa-agent` processes).
    public var startsFleet = true
    /// The lab core's admin API and console (nil: none), started by `adminStarter`.
    public var admin: CoreConfiguration.Admin?
    public var adminStarter: CoreAdminStarter?
    /// A real eUICC identity (see `VirtualEUICC.Identity.load(from:)`): the fleet is one terminal whose EID is
    /// the certificate's, carrying that identity unchanged instead of one minted under the lab's own EUM.
    public var euiccIdentity: VirtualEUICC.Identity?

    /// An operator's SM-DP+: its address (host[:port]) and the roots its TLS certificate chains to.
    public struct ExternalSMDP: Sendable, Hashable {
        public var address: String
        public var trustedRootsFile: String
        public var matchingID: String?
        public init(address: String, trustedRootsFile: String, matchingID: String? = nil) {
            self.address = address
            self.trustedRootsFile = trustedRootsFile
            self.matchingID = matchingID
        }
    }

    public init() {}
}
