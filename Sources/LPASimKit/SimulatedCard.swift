import TerminalProtocol

/// The card side a simulated terminal talks to: what a modem's eUICC is to a real device agent.
/// Implementations are used from one event loop at a time.
public protocol SimulatedCard: AnyObject {
    /// Opens a logical channel and selects `aid` on it. Returns the channel, the SELECT status word
    /// and response data.
    func openLogicalChannel(aid: [UInt8]) -> (channel: UInt8, sw: UInt16, response: [UInt8])
    /// Closes a logical channel; returns the status word.
    func closeLogicalChannel(_ channel: UInt8) -> UInt16
    /// Sends one command APDU; returns response data followed by SW1 SW2.
    func transmit(_ apdu: [UInt8]) -> [UInt8]
    /// The ICCID of the enabled profile, which the device reports in Hello; `nil` keeps the device's own.
    var enabledICCID: String? { get }
    /// Whether the card asked for a refresh (a profile was enabled or disabled with the refresh flag): the
    /// device then restarts its modem, i.e. drops the connection and comes back. Reading it clears it.
    func takeRefreshRequest() -> Bool
}

extension SimulatedCard {
    public var enabledICCID: String? { nil }
    public func takeRefreshRequest() -> Bool { false }
}

/// Stands in for an eUICC until a real one is attached: opens channels, answers every command with
/// `9000`, and answers GET RESPONSE with nothing. Counts what it saw.
public final class PlaceholderCard: SimulatedCard {
    public private(set) var commands = 0
    private var openChannels: Set<UInt8> = []

    public init() {}

    public func openLogicalChannel(aid: [UInt8]) -> (channel: UInt8, sw: UInt16, response: [UInt8]) {
        guard let channel = (1...19).map(UInt8.init).first(where: { !openChannels.contains($0) }) else {
            return (0, 0x6A81, [])  // function not supported: no free channel
        }
        openChannels.insert(channel)
        return (channel, 0x9000, [])
    }

    public func closeLogicalChannel(_ channel: UInt8) -> UInt16 {
        openChannels.remove(channel) == nil ? 0x6881 : 0x9000
    }

    public func transmit(_ apdu: [UInt8]) -> [UInt8] {
        commands += 1
        guard apdu.count >= 4 else { return [0x67, 0x00] }
        return [0x90, 0x00]
    }
}
