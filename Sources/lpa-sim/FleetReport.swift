import Foundation
import LPASimKit

/// Summary of a fleet run, as a table or one JSON object.
struct FleetReport: Encodable {
    var terminals: Int
    var seconds: Double
    var handshakes: Int
    var resumedHandshakes: Int
    var welcomed: Int
    var online: Int
    var heartbeatsSent: Int
    var heartbeatAcks: Int
    var ackP50Ms: Double
    var ackP99Ms: Double
    var intervalChanges: Int
    var batchesExecuted: Int
    var reconnects: Int
    var rejected: [String: Int]
    var goodbyes: [String: Int]
    var connectFailures: [String: Int]
    /// Terminals lpa-core knows an edge for, and those its online dictionary holds online.
    var coreRegistered: Int?
    var coreOnline: Int?

    init(statistics: FleetStatistics, terminals: Int, seconds: Double, online: Int? = nil) {
        let s = statistics.snapshot
        let p = statistics.ackLatencyMilliseconds(percentiles: [50, 99])
        self.terminals = terminals
        self.seconds = (seconds * 10).rounded() / 10
        handshakes = s.handshakes
        resumedHandshakes = s.resumedHandshakes
        welcomed = s.welcomed
        self.online = online ?? s.online
        heartbeatsSent = s.heartbeatsSent
        heartbeatAcks = s.heartbeatAcks
        ackP50Ms = (p[0] * 100).rounded() / 100
        ackP99Ms = (p[1] * 100).rounded() / 100
        intervalChanges = s.intervalChanges
        batchesExecuted = s.batchesExecuted
        reconnects = s.reconnects
        rejected = s.rejected
        goodbyes = s.goodbyes
        connectFailures = s.connectFailures
    }

    static func line(_ statistics: FleetStatistics, total: Int, elapsed: Double) -> String {
        let s = statistics.snapshot
        let p99 = statistics.ackLatencyMilliseconds(percentiles: [99])[0]
        return String(format: "%@ %5.0fs online %d/%d  handshakes %d (%d resumed)  heartbeats %d acked %d  p99 %.1f ms  rejected %d",
                      Console.bar(Double(s.online) / Double(max(1, total))), elapsed, s.online, total, s.handshakes,
                      s.resumedHandshakes, s.heartbeatsSent, s.heartbeatAcks, p99, s.rejected.values.reduce(0, +))
    }

    func table() -> String {
        func kv(_ d: [String: Int]) -> String { d.isEmpty ? "none" : d.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") }
        let rows: [(String, String)] = [
            ("terminals", "\(terminals)"),
            ("seconds", String(format: "%.1f", seconds)),
            ("TLS handshakes", "\(handshakes) (\(resumedHandshakes) resumed)"),
            ("welcomed", "\(welcomed)"),
            ("online at end", "\(online)"),
            ("heartbeats sent / acked", "\(heartbeatsSent) / \(heartbeatAcks)"),
            ("ack latency p50 / p99", String(format: "%.2f ms / %.2f ms", ackP50Ms, ackP99Ms)),
            ("heartbeat interval changes", "\(intervalChanges)"),
            ("APDU batches executed", "\(batchesExecuted)"),
            ("reconnects", "\(reconnects)"),
            ("rejected", kv(rejected)),
            ("goodbyes", kv(goodbyes)),
            ("connection failures", kv(connectFailures)),
        ] + (coreRegistered.map { [("registered with lpa-core", "\($0)")] } ?? [])
          + (coreOnline.map { [("online in lpa-core", "\($0)")] } ?? [])
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }

    func json() -> String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }
}
