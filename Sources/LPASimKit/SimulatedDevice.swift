import LPATLS
import TerminalProtocol

/// One simulated device: what it claims to be and the credentials it proves it with.
public struct SimulatedDevice: Sendable {
    public var identity: Identity
    public var credentials: TLSCredentials

    public init(identity: Identity, credentials: TLSCredentials) {
        self.identity = identity
        self.credentials = credentials
    }
}

/// Where a fleet connects and how it checks the server.
public struct FleetTarget: Sendable {
    public var host: String
    public var port: Int
    /// Name checked against the server certificate (and sent as SNI unless it is an address).
    public var serverName: String
    /// CA that signed the edge's certificate.
    public var trustRoots: TLSConfiguration.PEMSource

    public init(host: String, port: Int, serverName: String = "localhost", trustRoots: TLSConfiguration.PEMSource) {
        self.host = host
        self.port = port
        self.serverName = serverName
        self.trustRoots = trustRoots
    }
}

/// How simulated terminals behave.
public struct FleetBehaviour: Sendable {
    /// New connections per second across the fleet at start.
    public var connectRatePerSecond: Double = 500
    /// First reconnect delay; doubles per failed attempt up to ``reconnectMaximum``, with ±50 % jitter.
    public var reconnectInitial: Double = 1
    public var reconnectMaximum: Double = 60
    /// Local addresses to spread connections over (e.g. 127.0.0.2 …) when one address runs out of
    /// ports; empty = let the OS choose.
    public var sourceAddresses: [String] = []
    /// Agent string sent in Hello.
    public var agent: String = "lpa-sim/1"
    public var handshakeTimeoutSeconds: Double = 30
    /// The radio link between the terminal and the network (delays its answers to APDU requests).
    public var link: LinkProfile = .none

    public init() {}
}
