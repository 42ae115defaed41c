/// The device-model library, configuration rules and count settings the demo loads into lpa-core.
enum DemoLibrary {
    static let yaml = """
    # Demo libraries for lpa-core: one device model, one rule, one count-setting table.
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
        requirement: {smdpAddress: "127.0.0.1:8444", profileType: "demo-iot-data"}
    countSettings:
      - model: SIM-METER-1
        bands:
          # A silent window keeps the short interval; a terminal that reports moves to a longer one.
          - {minimumCount: 0, maximumCount: 0, heartbeatIntervalSeconds: 2, historyLimit: 50}
          - {minimumCount: 1, heartbeatIntervalSeconds: 4, historyLimit: 20}
    """
}
