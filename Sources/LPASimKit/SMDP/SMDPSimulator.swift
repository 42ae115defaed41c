import Foundation
import LPACrypto
import LPAIdentity
import LPAOperator
import Logging
import RSP

/// A simulated SM-DP+ (SGP.22 v2): the operator side (ES2+) and the LPA side (ES9+) of one profile download
/// server, with real cryptography and checks, independent of HTTP (`SMDPServer` binds it to HTTPS).
///
/// It holds an inventory of `ProfileType`s, download orders (`SMDPOrder`) and RSP sessions. ES9+ follows
/// SGP.22 §3.1.3: initiateAuthentication signs serverSigned1 with DPauth; authenticateClient verifies the
/// eUICC → EUM → CI chain, euiccSignature1 and the session's challenge, finds the order by matchingId (or EID)
/// and signs smdpSigned2 with DPpb; getBoundProfilePackage verifies euiccSignature2, agrees session keys with
/// the eUICC's one-time key and builds the Bound Profile Package; handleNotification verifies and records
/// notifications. Every refusal is an `SMDPError` with the SGP.22 status code of the failed check.
///
/// An actor: calls are serialised, so a fleet's concurrent sessions each see consistent state. `statistics`,
/// `installedICCIDs` and `orders` report what happened; `setFaults` injects latency and failures.
public actor SMDPSimulator {
    public nonisolated let pki: RSPTestPKI
    public nonisolated let configuration: SMDPConfiguration
    let verifier: CertificateVerifier
    let clock: @Sendable () -> Date
    let logger: Logger

    var orders: [String: SMDPOrder] = [:]
    var ordersByMatchingId: [String: String] = [:]
    var sessions: [String: SMDPSession] = [:]
    var nextIndex: [String: UInt64] = [:]
    var reservedCount: [String: Int] = [:]
    var installed: [String: [String]] = [:]
    var handledNotifications: Set<String> = []
    var stats = SMDPStatistics()
    var faults = SMDPFaults()

    /// - Parameters:
    ///   - pki: DPauth and DPpb credentials, and the CI eUICC certificates must chain to.
    ///   - clock: the current time (sessions and orders expire by it); injectable for tests.
    /// - Throws: `SMDPError` when the configuration is unusable (no profile type, a bad ICCID prefix).
    public init(
        pki: RSPTestPKI, configuration: SMDPConfiguration = SMDPConfiguration(),
        clock: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "serverlpa.sim.smdp")
    ) throws {
        for type in configuration.profileTypes {
            do {
                _ = try ICCID.make(issuerPrefix: type.iccidPrefix, index: 1)
            } catch {
                throw SMDPError.failed("8.2.5", "2.1", "profile type '\(type.name)': ICCID prefix \(type.iccidPrefix): \(error)")
            }
        }
        if let auto = configuration.autoOrderProfileType, !configuration.profileTypes.contains(where: { $0.name == auto }) {
            throw SMDPError.profileTypeUnknown(auto)
        }
        self.pki = pki
        self.configuration = configuration
        self.verifier = try pki.makeVerifier()
        self.clock = clock
        var logger = logger
        logger[metadataKey: "smdp.address"] = "\(configuration.address)"
        self.logger = logger
    }

    // MARK: - Observation and faults

    /// Counters so far.
    public var statistics: SMDPStatistics { stats }

    /// ICCIDs whose installation was confirmed (and not since deleted), per EID.
    public var installedICCIDs: [String: [String]] { installed }

    /// Every order, keyed by ICCID.
    public var allOrders: [String: SMDPOrder] { orders }

    /// The order of `iccid`, if any.
    public func order(iccid: String) -> SMDPOrder? { orders[iccid] }

    /// Sessions not yet ended (waiting for a function or for the installation result).
    public var openSessionCount: Int { sessions.count }

    /// Replaces every fault knob.
    public func setFaults(_ faults: SMDPFaults) { self.faults = faults }

    /// The fault knobs in force.
    public var currentFaults: SMDPFaults { faults }

    /// Makes the next `count` calls of `function` fail with `error`.
    public func failNext(_ count: Int, of function: SMDPFunction, with error: SMDPError) {
        faults.scriptedFailures[function, default: []] += Array(repeating: error, count: count)
    }

    /// Counts the call, applies injected latency, then any injected failure.
    func enter(_ function: SMDPFunction) async throws(SMDPError) {
        stats.calls[function, default: 0] += 1
        if let delay = faults.latency[function] {
            try? await Task.sleep(for: delay)
        }
        if var queue = faults.scriptedFailures[function], !queue.isEmpty {
            let error = queue.removeFirst()
            faults.scriptedFailures[function] = queue
            throw error
        }
        if let rate = faults.failureRate[function], rate > 0, Double.random(in: 0..<1) < rate {
            throw faults.randomFailure
        }
    }

    // MARK: - ES2+ (operator)

    /// ES2+.DownloadOrder: reserves a profile — the one with `iccid` (returned to the inventory earlier) or a
    /// new one of `profileType` — optionally for `eid`.
    /// - Returns: the ICCID of the reserved profile.
    public func downloadOrder(eid: String? = nil, iccid: String? = nil, profileType: String? = nil) async throws(SMDPError) -> String {
        try await enter(.downloadOrder)
        if let eid { try checkEID(eid) }
        if let iccid {
            guard var order = orders[iccid] else { throw .iccidUnknown(iccid) }
            guard order.state == .available else { throw .iccidInUse(iccid) }
            if let profileType, profileType != order.profileType { throw .profileTypeUnknown(profileType) }
            order.state = .allocated
            order.eid = eid
            orders[iccid] = order
            stats.ordersCreated += 1
            return iccid
        }
        guard let profileType else { throw .missingElement("profileType") }
        return try allocate(profileType: profileType, eid: eid).iccid
    }

    /// ES2+.ConfirmOrder: confirms a reserved profile and gives it a matchingId (generated when absent).
    /// With `releaseFlag` false the profile waits for `releaseProfile`.
    public func confirmOrder(
        iccid: String, eid: String? = nil, matchingId: String? = nil, confirmationCode: String? = nil,
        smdsAddress: String? = nil, releaseFlag: Bool
    ) async throws(SMDPError) -> ConfirmOrderResponse {
        try await enter(.confirmOrder)
        guard var order = orders[iccid] else { throw .iccidUnknown(iccid) }
        guard order.state == .allocated else { throw .iccidNotAllowed(iccid, order.state.name) }
        if let eid {
            try checkEID(eid)
            if let bound = order.eid, bound != eid { throw .eidMismatch(iccid) }
            order.eid = eid
        }
        let chosen: String
        if let matchingId, !matchingId.isEmpty {
            guard ordersByMatchingId[matchingId] == nil else { throw .matchingIdInUse(matchingId) }
            chosen = matchingId
        } else {
            chosen = newMatchingId()
        }
        order.matchingId = chosen
        order.state = releaseFlag ? .released : .confirmed
        order.expiresAt = configuration.orderLifetime.map { clock().addingTimeInterval($0.timeInterval) }
        orders[iccid] = order
        ordersByMatchingId[chosen] = iccid
        return ConfirmOrderResponse(eid: order.eid, matchingId: chosen, smdpAddress: configuration.address)
    }

    /// ES2+.CancelOrder: ends an order that is not installed. `finalProfileStatusIndicator` `Available`
    /// returns the ICCID to the inventory, `Unavailable` retires it. A download in progress is abandoned.
    public func cancelOrder(
        iccid: String, eid: String? = nil, matchingId: String? = nil, finalProfileStatusIndicator: String
    ) async throws(SMDPError) {
        try await enter(.cancelOrder)
        guard var order = orders[iccid] else { throw .iccidUnknown(iccid) }
        if let eid, let bound = order.eid, bound != eid { throw .eidMismatch(iccid) }
        if let matchingId, order.matchingId != matchingId { throw .matchingIdMismatch(iccid) }
        switch order.state {
        case .installed, .available, .unavailable: throw .iccidNotAllowed(iccid, order.state.name)
        case .downloading(let transactionId): sessions[transactionId] = nil
        default: break
        }
        guard let final = FinalProfileStatusIndicator(rawValue: finalProfileStatusIndicator) else {
            throw .invalidElement("finalProfileStatusIndicator", "'\(finalProfileStatusIndicator)' is neither Available nor Unavailable")
        }
        if let matchingId = order.matchingId { ordersByMatchingId[matchingId] = nil }
        order.matchingId = nil
        order.eid = nil
        order.state = final == .available ? .available : .unavailable
        orders[iccid] = order
    }

    /// ES2+.ReleaseProfile: releases a profile confirmed with `releaseFlag` false.
    public func releaseProfile(iccid: String) async throws(SMDPError) {
        try await enter(.releaseProfile)
        guard var order = orders[iccid] else { throw .iccidUnknown(iccid) }
        guard order.state == .confirmed else { throw .iccidNotAllowed(iccid, order.state.name) }
        order.state = .released
        orders[iccid] = order
    }

    /// Creates `count` released orders of `profileType` without ES2+ calls (each with a fresh matchingId).
    /// - Returns: the orders, whose `activationCode(smdpAddress:)` a fleet can use.
    public func createOrders(profileType: String, count: Int) throws(SMDPError) -> [SMDPOrder] {
        try (0..<max(0, count)).map { (_) throws(SMDPError) in try createReleasedOrder(profileType: profileType, eid: nil, matchingId: nil) }
    }

    /// Creates one released order of `profileType` per EID, bound to it (each with a fresh matchingId; the
    /// eUICC may also download it with an empty matchingId, the default SM-DP+ case).
    public func createOrders(profileType: String, eids: [String]) throws(SMDPError) -> [SMDPOrder] {
        try eids.map { (eid) throws(SMDPError) in
            try checkEID(eid)
            return try createReleasedOrder(profileType: profileType, eid: eid, matchingId: nil)
        }
    }

    // MARK: - Inventory

    func allocate(profileType name: String, eid: String?) throws(SMDPError) -> SMDPOrder {
        guard let type = configuration.profileTypes.first(where: { $0.name == name }) else { throw .profileTypeUnknown(name) }
        if let capacity = type.capacity, reservedCount[name, default: 0] >= capacity { throw .profileTypeUnavailable(name) }
        var index = nextIndex[name, default: 1]
        var iccid: String
        repeat {
            do {
                iccid = try ICCID.make(issuerPrefix: type.iccidPrefix, index: index).value
            } catch {
                throw .profileTypeUnavailable(name)
            }
            index += 1
        } while orders[iccid] != nil
        nextIndex[name] = index
        reservedCount[name, default: 0] += 1
        let order = SMDPOrder(iccid: iccid, profileType: name, eid: eid, matchingId: nil, state: .allocated)
        orders[iccid] = order
        stats.ordersCreated += 1
        return order
    }

    func createReleasedOrder(profileType: String, eid: String?, matchingId: String?) throws(SMDPError) -> SMDPOrder {
        var order = try allocate(profileType: profileType, eid: eid)
        let chosen = matchingId ?? newMatchingId()
        order.matchingId = chosen
        order.state = .released
        order.expiresAt = configuration.orderLifetime.map { clock().addingTimeInterval($0.timeInterval) }
        orders[order.iccid] = order
        ordersByMatchingId[chosen] = order.iccid
        return order
    }

    func newMatchingId() -> String {
        while true {
            let bytes = (try? SecureRandom.bytes(count: 10)) ?? (0..<10).map { _ in UInt8.random(in: 0...255) }
            let hex = Hex.string(bytes)
            let text = stride(from: 0, to: hex.count, by: 5).map { start -> String in
                let from = hex.index(hex.startIndex, offsetBy: start)
                return String(hex[from..<hex.index(from, offsetBy: 5)])
            }.joined(separator: "-")
            if ordersByMatchingId[text] == nil { return text }
        }
    }

    func checkEID(_ eid: String) throws(SMDPError) {
        guard EID.validate(eid) == nil else { throw .eidInvalid(eid) }
    }
}

extension Duration {
    var timeInterval: TimeInterval {
        let parts = components
        return TimeInterval(parts.seconds) + TimeInterval(parts.attoseconds) / 1e18
    }
}
