import Foundation

/// The C device agent's reference program (`lpa-agent`) as `make -C Sources/CLPAAgent` builds it, for tests and
/// tools that run it as a process.
public enum DeviceAgentBuild {
    /// Where the Makefile puts `lpa-agent` in a checkout rooted at `repositoryRoot`.
    public static func binary(repositoryRoot: URL) -> URL {
        repositoryRoot.appendingPathComponent(".build/clpaagent/lpa-agent")
    }

    /// The binary, built with the Makefile first when it is missing; nil when it cannot be built here.
    public static func ensureBuilt(repositoryRoot: URL) -> URL? {
        let binary = binary(repositoryRoot: repositoryRoot)
        if !FileManager.default.isExecutableFile(atPath: binary.path) {
            let make = Process()
            make.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            make.arguments = ["make", "-C", repositoryRoot.appendingPathComponent("Sources/CLPAAgent").path, "-j2", "all"]
            make.standardOutput = FileHandle.nullDevice
            make.standardError = FileHandle.nullDevice
            try? make.run()
            make.waitUntilExit()
        }
        return FileManager.default.isExecutableFile(atPath: binary.path) ? binary : nil
    }
}
