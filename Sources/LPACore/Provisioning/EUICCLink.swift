import Foundation
import LPACoreRPC
import LPARPC
import NIOCore
import TerminalProtocol

/// The eUICC of one terminal as the core reaches it: every call is one terminal round trip.
public protocol EUICCLink: Sendable {
    /// Opens a logical channel and selects `aid` on it.
    func openChannel(aid: [UInt8]) async throws -> UInt8
    /// Runs APDUs in order on `channel` (the device answers `61xx` itself and stops at the first
    /// status word other than `9000`/`91xx`).
    func transmit(_ apdus: [[UInt8]], channel: UInt8) async throws -> ApduBatchResult
    func closeChannel(_ channel: UInt8) async throws
}

/// Why the terminal could not run a request at all.
public struct EUICCLinkError: Error, Sendable, Hashable, CustomStringConvertible, CodedError {
    public var errorCode: String
    public var text: String
    public init(_ code: String, _ text: String) {
        errorCode = code
        self.text = text
    }
    public var description: String { text }
}

/// ``EUICCLink`` to a terminal through the edge that holds its session (``EdgeDirectory``).
public struct TerminalEUICCLink: EUICCLink {
    public let terminalID: String
    let directory: EdgeDirectory
    let timeout: TimeAmount

    public init(terminalID: String, directory: EdgeDirectory, timeout: TimeAmount = .seconds(120)) {
        self.terminalID = terminalID
        self.directory = directory
        self.timeout = timeout
    }

    public func openChannel(aid: [UInt8]) async throws -> UInt8 {
        let result = try await directory.openChannel(terminalID: terminalID, aid: aid, timeout: timeout)
        guard result.sw == 0x9000 else {
            throw EUICCLinkError("apdu.select_failed", "opening a channel to \(aid.count)-byte AID: status word \(String(result.sw, radix: 16, uppercase: true)) \(result.detail)")
        }
        return result.channel
    }

    public func transmit(_ apdus: [[UInt8]], channel: UInt8) async throws -> ApduBatchResult {
        try await directory.transmit(terminalID: terminalID, batch: ApduBatch(batchID: 0, channel: channel, apdus: apdus, acceptSW: []), timeout: timeout)
    }

    public func closeChannel(_ channel: UInt8) async throws {
        _ = try await directory.closeChannel(terminalID: terminalID, channel: channel, timeout: timeout)
    }
}

extension EdgeDirectory {
    /// Opens a logical channel on the terminal's card through its edge.
    public func openChannel(terminalID: String, aid: [UInt8], timeout: TimeAmount) async throws -> (channel: UInt8, sw: UInt16, detail: String) {
        guard let connection = connection(for: terminalID) else {
            throw EUICCLinkError("terminal.offline", "terminal \(terminalID) is not connected to any edge")
        }
        var request = CoreRPC_OpenChannelRequest()
        request.terminalID = terminalID
        request.aid = Data(aid)
        request.timeoutMs = UInt32(clamping: timeout.nanoseconds / 1_000_000)
        let response = try await CoreToEdgeClient(connection).openChannel(request, deadline: RPCDeadline(.now() + timeout + .seconds(5)))
        return (UInt8(clamping: response.channel), UInt16(clamping: response.sw), response.detail)
    }

    /// Closes a logical channel on the terminal's card; returns the status word.
    public func closeChannel(terminalID: String, channel: UInt8, timeout: TimeAmount) async throws -> UInt16 {
        guard let connection = connection(for: terminalID) else {
            throw EUICCLinkError("terminal.offline", "terminal \(terminalID) is not connected to any edge")
        }
        var request = CoreRPC_CloseChannelRequest()
        request.terminalID = terminalID
        request.channel = UInt32(channel)
        request.timeoutMs = UInt32(clamping: timeout.nanoseconds / 1_000_000)
        return UInt16(clamping: try await CoreToEdgeClient(connection).closeChannel(request, deadline: RPCDeadline(.now() + timeout + .seconds(5))).sw)
    }
}
