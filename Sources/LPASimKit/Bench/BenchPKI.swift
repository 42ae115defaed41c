import Foundation

/// The PKI a benchmark runs with: a ``TestPKI`` holding at least as many devices as terminals.
public enum BenchPKI {
    /// What ``ensure(at:devices:progress:)`` found or did.
    public enum Outcome: Sendable, Equatable {
        /// The PKI was there with `devices` device certificates.
        case reused(devices: Int)
        /// There was none; one was created.
        case created
        /// It held only `previousDevices`; it was replaced by a bigger one.
        case recreated(previousDevices: Int)
    }

    /// Number of devices listed in `directory/devices.csv`, or nil when there is no inventory.
    public static func deviceCount(in directory: URL) -> Int? {
        guard let text = try? String(contentsOf: directory.appendingPathComponent("devices.csv"), encoding: .utf8) else {
            return nil
        }
        return max(0, text.split(whereSeparator: \.isNewline).count - 1)
    }

    /// Makes sure `directory` holds a test PKI with at least `devices` devices, creating it (or
    /// replacing a smaller one, or one made before the infrastructure CA existed) when it does not.
    @discardableResult
    public static func ensure(
        at directory: URL, devices: Int, progress: (@Sendable (_ completed: Int, _ total: Int) -> Void)? = nil
    ) throws -> Outcome {
        let existing = deviceCount(in: directory)
        let complete = FileManager.default.fileExists(atPath: TestPKI.Layout(directory: directory).infrastructureCACertificate.path)
        if let existing, existing >= devices, complete { return .reused(devices: existing) }
        try TestPKI.create(at: directory, devices: devices, overwrite: existing != nil, progress: progress)
        return existing.map { .recreated(previousDevices: $0) } ?? .created
    }
}
