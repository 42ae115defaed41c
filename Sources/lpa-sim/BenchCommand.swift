import ArgumentParser

struct BenchCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Benchmarks that print figures with the conditions they ran under.",
        discussion: """
            Each benchmark starts what it measures on this machine and, with --peer, runs the
            same phases against the reference implementation in the same invocation, printing
            the ratio (the machine is shared and noisy; only same-run ratios compare).

            Examples:
              lpa-sim bench edge --terminals 1000 --duration 5
              lpa-sim bench edge --terminals 10000 --peer mosquitto
              lpa-sim bench edge --peer mosquitto --json
              lpa-sim bench reconnect --terminals 10000 --peer mosquitto
            """,
        subcommands: [BenchEdgeCommand.self, BenchReconnectCommand.self, BenchRPCCommand.self, BenchProvisionCommand.self, BenchLoadWorkerCommand.self])
}
