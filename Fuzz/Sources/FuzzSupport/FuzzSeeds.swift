import Foundation

/// Seed inputs of a fuzz target: valid objects made by the product's own encoders, each prefixed with the target's
/// selector or option byte.
///
/// `Fuzz/run.sh seed` runs every target with `FUZZ_WRITE_SEEDS=<directory>`: the target's `LLVMFuzzerInitialize`
/// calls ``writeIfRequested(_:)``, which writes the seeds there and exits; the script then minimises them into
/// `Fuzz/Corpus/<target>` with libFuzzer's `-merge=1`.
public enum FuzzSeeds {
    public static func writeIfRequested(_ seeds: () throws -> [[UInt8]]) {
        guard let directory = ProcessInfo.processInfo.environment["FUZZ_WRITE_SEEDS"], !directory.isEmpty else { return }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (index, seed) in try seeds().enumerated() {
                try Data(seed).write(to: URL(fileURLWithPath: directory).appendingPathComponent(String(format: "seed-%03d", index)))
            }
        } catch {
            FileHandle.standardError.write(Data("writing seeds: \(error)\n".utf8))
            exit(1)
        }
        exit(0)
    }
}

/// The C signature of libFuzzer's optional `LLVMFuzzerInitialize(int *argc, char ***argv)`.
public typealias FuzzArguments = UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>
