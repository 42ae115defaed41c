import RSP
import TerminalProtocol

/// ES10c profile operations on one device beyond download: list, enable, disable, delete. Each opens the
/// ISD-R channel, sends one batch and closes the channel (three terminal round trips; enable and disable
/// with refresh may end the connection instead of the close, which is expected).
public struct ProfileOperations: Sendable {
    let link: any EUICCLink
    let blockSize: Int

    public init(link: any EUICCLink, blockSize: Int = StoreData.defaultBlockSize) {
        self.link = link
        self.blockSize = blockSize
    }

    /// The profiles installed on the eUICC.
    public func list() async throws -> [ProfileInfo] {
        try ProfileInfo.parseList(try await run(ES10c.profilesInfoRequest, name: "GetProfilesInfo", closeAfter: true))
    }

    /// Enables the profile with `iccid` (the eUICC disables the current one).
    public func enable(iccid: String, refresh: Bool = true) async throws {
        try check(try await run(ES10c.enableRequest(.iccid(iccid), refresh: refresh), name: "EnableProfile", closeAfter: !refresh),
                  tag: RSPTag.enableProfile, operation: "EnableProfile")
    }

    public func disable(iccid: String, refresh: Bool = true) async throws {
        try check(try await run(ES10c.disableRequest(.iccid(iccid), refresh: refresh), name: "DisableProfile", closeAfter: !refresh),
                  tag: RSPTag.disableProfile, operation: "DisableProfile")
    }

    /// Deletes a disabled profile.
    public func delete(iccid: String) async throws {
        try check(try await run(ES10c.deleteRequest(.iccid(iccid)), name: "DeleteProfile", closeAfter: true),
                  tag: RSPTag.deleteProfile, operation: "DeleteProfile")
    }

    private func check(_ response: [UInt8], tag: UInt32, operation: String) throws {
        let code = try ES10c.parseResult(response, tag: tag)
        guard code == 0 else { throw RSPError.euiccError(command: operation, code: code) }
    }

    private func run(_ command: [UInt8], name: String, closeAfter: Bool) async throws -> [UInt8] {
        let channel = try await link.openChannel(aid: ISDR.aid)
        var batch = ES10Batch(channel: channel, blockSize: blockSize)
        try batch.append(command, name: name)
        let result = try await link.transmit(batch.apdus, channel: channel)
        if closeAfter { try? await link.closeChannel(channel) }
        switch batch.outcomes(result.responses)[0] {
        case .completed(let data): return data
        case .refused(_, let sw, _): throw RSPError.statusWord(command: name, sw: sw.value)
        case .notExecuted: throw EUICCLinkError("apdu.not_executed", "\(name) did not run: \(result.detail)")
        }
    }
}
