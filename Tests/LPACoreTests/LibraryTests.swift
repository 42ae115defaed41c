@testable import LPACore
import LPADomain
import TerminalProtocol
import XCTest

final class DeviceModelLibraryTests: XCTestCase {
    let meter = DeviceModel(code: "SIM-METER-1", name: "Meter", fields: [
        IdentityFieldSpec(name: "eid", validation: .eid),
        IdentityFieldSpec(name: "imei", validation: .imei),
        IdentityFieldSpec(name: "iccid", required: false, validation: .iccid),
        IdentityFieldSpec(name: "site", required: false, validation: .regex("[A-Z]{3}-[0-9]+")),
    ], match: ["imei": "^35693803"], heartbeatIntervalSeconds: 30, historyLimit: 50)
    let tracker = DeviceModel(code: "TRK-2", fields: [IdentityFieldSpec(name: "imei", validation: .imei)], match: ["imei": "^49015420"])

    let goodEID = "89049032123451234512345678901235"
    let goodIMEI = "356938035643809"

    func testMatchByCodeThenByPatterns() {
        let lib = DeviceModelLibrary([meter, tracker])
        XCTAssertEqual(try lib.match(modelCode: "TRK-2", fields: ["imei": goodIMEI]).get().code, "TRK-2")
        XCTAssertEqual(try lib.match(modelCode: "", fields: ["imei": goodIMEI]).get().code, "SIM-METER-1")
        XCTAssertEqual(try lib.match(modelCode: "OLD-NAME", fields: ["imei": "490154203237518"]).get().code, "TRK-2")
        guard case .failure(let refusal) = lib.match(modelCode: "X-1", fields: ["imei": "111111111111111"]) else { return XCTFail() }
        XCTAssertEqual(refusal.code, .unknownModel)
        XCTAssertTrue(refusal.text.contains("X-1"), refusal.text)
    }

    func testImportValidatesEveryField() {
        let ok = DeviceModelLibrary.importIdentity(["eid": goodEID, "imei": goodIMEI, "model": "SIM-METER-1", "site": "BER-12"], into: meter)
        XCTAssertEqual(try ok.get(), ["eid": goodEID, "imei": goodIMEI, "site": "BER-12"])

        func refusal(_ fields: [String: String]) -> RegistrationRefusal? {
            if case .failure(let r) = DeviceModelLibrary.importIdentity(fields, into: meter) { return r }
            return nil
        }
        XCTAssertEqual(refusal(["imei": goodIMEI])?.code, .missingField)
        XCTAssertEqual(refusal(["eid": "89049032123451234512345678901234", "imei": goodIMEI])?.code, .invalidField)
        let badLuhn = refusal(["eid": goodEID, "imei": "356938035643808"])
        XCTAssertEqual(badLuhn?.code, .invalidField)
        XCTAssertTrue(badLuhn?.text.hasPrefix("imei '356938035643808'") ?? false, badLuhn?.text ?? "")
        XCTAssertEqual(refusal(["eid": goodEID, "imei": "35693803564380"])?.code, .invalidField)
        XCTAssertEqual(refusal(["eid": goodEID, "imei": goodIMEI, "iccid": "1234"])?.code, .invalidField)
        XCTAssertEqual(refusal(["eid": goodEID, "imei": goodIMEI, "site": "ber-12"])?.code, .invalidField)
    }
}

final class ConfigurationLibraryTests: XCTestCase {
    func rule(_ name: String, _ priority: Int, _ match: RuleMatch, enabled: Bool = true) -> ConfigurationRule {
        ConfigurationRule(name: name, priority: priority, enabled: enabled, match: match,
                          requirement: DataConfigurationRequirement(smdpAddress: "smdp.\(name).example", profileType: name))
    }

    func testFirstMatchingRuleInPriorityOrderWins() {
        let lib = ConfigurationLibrary([
            rule("catch-all", 1000, RuleMatch()),
            rule("meters-eum", 10, RuleMatch(models: ["SIM-METER-1"], eidPrefixes: ["89049032"])),
            rule("disabled", 1, RuleMatch(), enabled: false),
            rule("imei-batch", 5, RuleMatch(imeiRanges: ["356938035640000-356938035649999"])),
            rule("tagged", 7, RuleMatch(tags: ["pilot", "berlin"])),
            rule("b-same-priority", 20, RuleMatch(iccidPrefixes: ["8988"])),
            rule("a-same-priority", 20, RuleMatch(iccidPrefixes: ["8988"])),
        ])
        XCTAssertEqual(lib.rules.map(\.name), ["disabled", "imei-batch", "tagged", "meters-eum", "a-same-priority", "b-same-priority", "catch-all"])
        let eid = "89049032123451234512345678901235"
        XCTAssertEqual(lib.evaluate(model: "SIM-METER-1", fields: ["eid": eid, "imei": "356938035643809"], tags: [])?.name, "imei-batch")
        XCTAssertEqual(lib.evaluate(model: "SIM-METER-1", fields: ["eid": eid, "imei": "356938035650000"], tags: [])?.name, "meters-eum")
        XCTAssertEqual(lib.evaluate(model: "X", fields: ["eid": eid], tags: ["berlin", "pilot", "x"])?.name, "tagged")
        XCTAssertEqual(lib.evaluate(model: "X", fields: ["eid": eid], tags: ["pilot"])?.name, "catch-all")
        XCTAssertEqual(lib.evaluate(model: "X", fields: ["iccid": "89882110000000000010"], tags: [])?.name, "a-same-priority")
    }

    func testMalformedRulesAreNamed() {
        XCTAssertNotNil(ConfigurationLibrary.problem(with: rule("r", 1, RuleMatch(imeiRanges: ["1-2"]))))
        var r = rule("r", 1, RuleMatch())
        r.requirement.activationCode = "LPA:1$smdp$"
        XCTAssertTrue(ConfigurationLibrary.problem(with: r)?.contains("activationCode") ?? false)
        r.requirement.activationCode = "1$smdp.example$ABC-123"
        XCTAssertNil(ConfigurationLibrary.problem(with: r))
    }
}

final class CountSettingTableTests: XCTestCase {
    func testBandsPickSettingsAndOverlapsAreRefused() {
        let table = CountSettingTable(model: "M", bands: [
            CountBand(minimumCount: 0, maximumCount: 0, heartbeatIntervalSeconds: 30, historyLimit: 200),
            CountBand(minimumCount: 1, maximumCount: 4, heartbeatIntervalSeconds: 60, historyLimit: 100),
            CountBand(minimumCount: 5, maximumCount: nil, heartbeatIntervalSeconds: 300, historyLimit: 20),
        ])
        XCTAssertNil(table.problem())
        XCTAssertEqual(table.band(for: 0)?.heartbeatIntervalSeconds, 30)
        XCTAssertEqual(table.band(for: 3)?.heartbeatIntervalSeconds, 60)
        XCTAssertEqual(table.band(for: 500)?.historyLimit, 20)
        let policy = CountSettingPolicy([table])
        XCTAssertEqual(policy.settings(model: "M", count: 5)?.heartbeatIntervalSeconds, 300)
        XCTAssertNil(policy.settings(model: "other", count: 5))

        let overlapping = CountSettingTable(model: "M", bands: [
            CountBand(minimumCount: 0, maximumCount: 5, heartbeatIntervalSeconds: 30, historyLimit: 10),
            CountBand(minimumCount: 5, maximumCount: nil, heartbeatIntervalSeconds: 60, historyLimit: 10),
        ])
        XCTAssertTrue(overlapping.problem()?.contains("overlap") ?? false)
    }
}

final class LibraryDocumentTests: XCTestCase {
    static let yaml = """
    deviceModels:
      - code: SIM-METER-1
        name: Smart meter
        fields:
          - {name: eid, validation: eid}
          - {name: imei, validation: imei}
          - {name: iccid, required: false, validation: iccid}
        heartbeatIntervalSeconds: 60
        historyLimit: 100
    configurationRules:
      - name: meters
        priority: 10
        match: {models: [SIM-METER-1], eidPrefixes: ["89049032"]}
        requirement: {smdpAddress: "smdp.example:8443", profileType: "iot-data"}
    countSettings:
      - model: SIM-METER-1
        bands:
          - {minimumCount: 0, maximumCount: 2, heartbeatIntervalSeconds: 30, historyLimit: 100}
          - {minimumCount: 3, heartbeatIntervalSeconds: 120, historyLimit: 50}
    """

    func testValidDocumentLoadsWithDefaults() throws {
        let doc = try LibraryDocument.parse(yaml: Self.yaml, file: "lib.yaml")
        XCTAssertEqual(doc.deviceModels.first?.fields.map(\.validation), [.eid, .imei, .iccid])
        XCTAssertEqual(doc.deviceModels.first?.fields.map(\.required), [true, true, false])
        XCTAssertEqual(doc.configurationRules.first?.enabled, true)
        XCTAssertEqual(doc.configurationRules.first?.requirement.orderViaES2Plus, false)
        XCTAssertNil(doc.countSettings.first?.bands.last?.maximumCount)
    }

    func testErrorsNameFileEntryAndField() {
        func error(_ yaml: String) -> String {
            do {
                _ = try LibraryDocument.parse(yaml: yaml, file: "lib.yaml")
                return "no error"
            } catch { return "\(error)" }
        }
        let badValidation = Self.yaml.replacingOccurrences(of: "validation: imei}", with: "validation: imeii}")
        XCTAssertTrue(error(badValidation).hasPrefix("lib.yaml: deviceModels[0].fields[1].validation"), error(badValidation))
        let unknownModel = Self.yaml.replacingOccurrences(of: "models: [SIM-METER-1]", with: "models: [NOPE]")
        XCTAssertEqual(error(unknownModel), "lib.yaml: configurationRules[0] (meters).match.models: unknown device model 'NOPE'")
        let missingAddress = Self.yaml.replacingOccurrences(of: "smdpAddress: \"smdp.example:8443\", ", with: "")
        XCTAssertTrue(error(missingAddress).hasPrefix("lib.yaml: configurationRules[0].requirement.smdpAddress: missing"), error(missingAddress))
        let overlap = Self.yaml.replacingOccurrences(of: "minimumCount: 3", with: "minimumCount: 2")
        XCTAssertTrue(error(overlap).contains("countSettings[0] (SIM-METER-1).bands"), error(overlap))
    }
}
