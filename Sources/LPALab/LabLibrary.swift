/// The device-model library, configuration rule and count settings a lab run loads into lpa-core.
public enum LabLibrary {
    public static func yaml(smdpAddress: String, profileType: String, matchingID: String?) -> String {
        let matching = matchingID.map { ", matchingID: \"\($0)\"" } ?? ""
        return """
        # Lab libraries for lpa-core: one device model, one rule, one count-setting table.
        deviceModels:
          - code: SIM-METER-1
            name: Simulated smart meter
            fields:
              - {name: eid, validation: eid}
              - {name: imei, validation: imei}
              - {name: iccid, required: false, validation: iccid}
            heartbeatIntervalSeconds: 2
            historyLimit: 50
        configurationRules:
          - name: simulated-meters
            priority: 10
            match: {models: [SIM-METER-1]}
            requirement: {smdpAddress: "\(smdpAddress)", profileType: "\(profileType)"\(matching)}
        countSettings:
          - model: SIM-METER-1
            bands:
              # A silent window keeps the short interval; a terminal that reports moves to a longer one.
              - {minimumCount: 0, maximumCount: 0, heartbeatIntervalSeconds: 2, historyLimit: 50}
              - {minimumCount: 1, heartbeatIntervalSeconds: 4, historyLimit: 20}
        """
    }
}
