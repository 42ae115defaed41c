import LPADomain
import XCTest
@testable import LPAStore

/// Domain values for store tests.
enum Sample {
    static func model(_ code: String, name: String = "Meter", interval: Int = 60) -> DeviceModel {
        DeviceModel(
            code: code, name: name,
            fields: [
                IdentityFieldSpec(name: "eid", validation: .eid),
                IdentityFieldSpec(name: "imei", validation: .imei),
                IdentityFieldSpec(name: "serial", required: false, validation: .regex("[A-Z]{2}[0-9]{6}")),
                IdentityFieldSpec(name: "slot", validation: .digits(min: 1, max: 2)),
            ],
            match: ["imei": "^35693803"],
            heartbeatIntervalSeconds: interval, historyLimit: 50)
    }

    static func requirement(_ smdp: String = "smdp.example.net") -> DataConfigurationRequirement {
        DataConfigurationRequirement(smdpAddress: smdp, profileType: "IoT-Data", activationCode: "1$\(smdp)$MATCH-1",
                                     matchingID: "MATCH-1", orderViaES2Plus: true, expectedICCID: "8949000000000000017")
    }

    static func rule(_ name: String, priority: Int, enabled: Bool = true) -> ConfigurationRule {
        ConfigurationRule(name: name, priority: priority, enabled: enabled,
                          match: RuleMatch(models: ["SIM-METER-1"], eidPrefixes: ["89049032"], tags: ["pilot"]),
                          requirement: requirement("smdp-\(name).example.net"))
    }

    static func countTable(_ model: String, interval: Int = 30) -> CountSettingTable {
        CountSettingTable(model: model, bands: [
            CountBand(minimumCount: 0, maximumCount: 4, heartbeatIntervalSeconds: interval, historyLimit: 10),
            CountBand(minimumCount: 5, maximumCount: nil, heartbeatIntervalSeconds: interval * 4, historyLimit: 100),
        ])
    }

    static func device(_ id: String, model: String = "SIM-METER-1", at: Int64 = 1_700_000_000) -> DeviceRecord {
        DeviceRecord(terminalID: id, model: model,
                     fields: ["eid": "89049032123451234512345678901235", "imei": "356938035643809", "note": "Zähler \"7\" ✓"],
                     tags: ["pilot", "north"], ruleName: "default", requirement: requirement(),
                     heartbeatIntervalSeconds: 60, historyLimit: 100, firstSeen: at, lastRegistered: at + 5)
    }

    static func attempt(_ id: String, at: Int64, outcome: String = "ACCEPTED") -> RegistrationAttempt {
        RegistrationAttempt(terminalID: id, at: at, edgeNodeID: "edge-1", remoteAddress: "10.0.0.7:4711", outcome: outcome, detail: "attempt at \(at)")
    }

    static func window(_ id: String, _ start: Int64, count: Int = 3) -> HeartbeatWindow {
        HeartbeatWindow(terminalID: id, windowStart: start, windowSeconds: 60, count: count)
    }

    static func presence(_ id: String, _ state: PresenceRecord.State = .online, lastSeen: Int64 = 100, misses: Int = 0) -> PresenceRecord {
        PresenceRecord(terminalID: id, state: state, lastSeen: lastSeen, consecutiveMisses: misses)
    }

    static func change(_ id: String, at: Int64, from: PresenceRecord.State? = nil, to: PresenceRecord.State = .online,
                       reason: String = "heartbeat") -> PresenceChange {
        PresenceChange(terminalID: id, at: at, from: from, to: to, reason: reason)
    }
}

/// Asserts that `body` throws a ``StoreError`` of `kind`; returns it for further checks.
@discardableResult
func assertStoreError<T>(_ kind: StoreError.Kind, _ message: String = "", file: StaticString = #filePath, line: UInt = #line,
                         _ body: () async throws -> T) async -> StoreError? {
    do {
        let value = try await body()
        XCTFail("expected \(kind.rawValue), got \(value) \(message)", file: file, line: line)
        return nil
    } catch let error as StoreError {
        XCTAssertEqual(error.kind, kind, "\(error) \(message)", file: file, line: line)
        return error
    } catch {
        XCTFail("expected StoreError \(kind.rawValue), got \(error) \(message)", file: file, line: line)
        return nil
    }
}

extension SQLStore {
    /// Runs SQL directly, bypassing the store's checks (to plant bad rows or triggers).
    func raw(_ sql: String, _ binds: [SQLValue] = []) async throws {
        _ = try await executor.write("test", exclusive: [], [SQLStatement(sql, binds)])
    }

    /// The single integer a raw query returns.
    func rawInteger(_ sql: String) async throws -> Int {
        try await executor.read("test", SQLQuery(table: "test", sql) { try $0.int(0, "value") }).first ?? 0
    }
}
