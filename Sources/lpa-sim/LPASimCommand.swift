import ArgumentParser

@main
struct LPASimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lpa-sim",
        abstract: "ServerLPA's development and load kit: test PKI, simulated terminal fleets, demo and benchmarks.",
        discussion: """
            Examples:
              lpa-sim demo                          # edge + 200 simulated terminals on this machine
              lpa-sim pki init --dir pki --devices 1000
              lpa-sim fleet --pki pki --edge 127.0.0.1:8443 --duration 60
              lpa-sim bench edge --terminals 10000 --peer mosquitto
            """,
        subcommands: [DemoCommand.self, PKICommand.self, FleetCommand.self, SMDPCommand.self, BenchCommand.self, ChaosCommand.self])
}
