import Foundation
import LPACoreRPC
import NIOCore
import LPARPC
import NIOConcurrencyHelpers
import TerminalProtocol

/// Which edge holds which terminal (and the epoch of the terminal's session there): the core learns it from
/// each registration and forgets it when the terminal leaves or its edge's connection closes. Requests to a
/// terminal go to that edge. Thread-safe.
public final class EdgeDirectory: TerminalControl {
    private struct Held {
        var connection: RPCConnection
        var epoch: Int64
    }

    private struct State {
        var terminals: [String: Held] = [:]
        var edges: [ObjectIdentifier: (connection: RPCConnection, terminals: Set<String>)] = [:]
    }

    private let state = NIOLockedValueBox(State())

    public init() {}

    /// Records that `terminalID`'s session `epoch` is now served through `connection`.
    public func attach(_ terminalID: String, to connection: RPCConnection, epoch: Int64 = 0) {
        let id = ObjectIdentifier(connection)
        state.withLockedValue { s in
            if let old = s.terminals[terminalID]?.connection, old !== connection {
                s.edges[ObjectIdentifier(old)]?.terminals.remove(terminalID)
            }
            s.terminals[terminalID] = Held(connection: connection, epoch: epoch)
            s.edges[id, default: (connection, [])].terminals.insert(terminalID)
        }
    }

    /// Forgets `terminalID` if it is still served through `connection` (and, when `epoch` is given, in that
    /// session); returns the epoch of the session it forgot (nil when it forgot nothing).
    @discardableResult
    public func detach(_ terminalID: String, from connection: RPCConnection?, epoch: Int64? = nil) -> Int64? {
        state.withLockedValue { s in
            guard let current = s.terminals[terminalID], connection == nil || current.connection === connection,
                  epoch == nil || current.epoch == epoch else { return nil }
            s.terminals.removeValue(forKey: terminalID)
            s.edges[ObjectIdentifier(current.connection)]?.terminals.remove(terminalID)
            return current.epoch
        }
    }

    /// Forgets an edge and every terminal it held; returns those terminals with their session epochs.
    @discardableResult
    public func edgeClosed(_ connection: RPCConnection) -> [String: Int64] {
        state.withLockedValue { s in
            guard let entry = s.edges.removeValue(forKey: ObjectIdentifier(connection)) else { return [:] }
            var lost: [String: Int64] = [:]
            for t in entry.terminals {
                guard let held = s.terminals[t], held.connection === connection else { continue }
                s.terminals.removeValue(forKey: t)
                lost[t] = held.epoch
            }
            return lost
        }
    }

    /// Whether `terminalID` is currently served through `connection` (false for a nil connection).
    public func holds(_ terminalID: String, through connection: RPCConnection?) -> Bool {
        guard let connection else { return false }
        return state.withLockedValue { $0.terminals[terminalID]?.connection === connection }
    }

    public func connection(for terminalID: String) -> RPCConnection? {
        state.withLockedValue { $0.terminals[terminalID]?.connection }
    }

    public var terminalCount: Int { state.withLockedValue { $0.terminals.count } }
    /// The connections of the edges linked to this core.
    public var edgeConnections: [RPCConnection] { state.withLockedValue { $0.edges.values.map(\.connection) } }
    public var edgeCount: Int { state.withLockedValue { $0.edges.count } }

    private func client(for terminalID: String) throws -> CoreToEdgeClient {
        guard let connection = connection(for: terminalID) else {
            throw RPCError(.notFound, "terminal \(terminalID) is not connected to any edge")
        }
        return CoreToEdgeClient(connection)
    }

    public func pushSettings(terminalID: String, settings: TerminalSettings) async throws {
        var request = CoreRPC_PushSettingsRequest()
        request.terminalID = terminalID
        request.settings = CoreRPC_Settings(settings)
        _ = try await client(for: terminalID).pushSettings(request, deadline: RPCDeadline(.now() + .seconds(30)))
    }

    /// Runs an APDU batch on the terminal's card through its edge.
    public func transmit(terminalID: String, batch: ApduBatch, timeout: TimeAmount = .seconds(120)) async throws -> ApduBatchResult {
        var request = CoreRPC_TransmitApduBatchRequest()
        request.terminalID = terminalID
        request.channel = UInt32(batch.channel)
        request.apdus = batch.apdus.map { Data($0) }
        request.acceptSw = batch.acceptSW.map(UInt32.init)
        request.timeoutMs = UInt32(clamping: timeout.nanoseconds / 1_000_000)
        let response = try await client(for: terminalID).transmitApduBatch(request, deadline: RPCDeadline(.now() + timeout + .seconds(5)))
        return ApduBatchResult(batchID: 0, status: BatchStatus(rawValue: response.status), responses: response.responses.map { Array($0) }, detail: response.detail)
    }

    /// Ends the terminal's session with a Goodbye carrying `reason`.
    public func disconnect(terminalID: String, reason: ReasonCode, text: String) async throws -> Bool {
        var request = CoreRPC_DisconnectTerminalRequest()
        request.terminalID = terminalID
        request.reasonCode = reason.rawValue
        request.text = text
        return try await client(for: terminalID).disconnectTerminal(request, deadline: RPCDeadline(.now() + .seconds(30))).found
    }
}

