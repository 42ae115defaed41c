import Foundation

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Reads another process's memory and CPU use from `/proc/<pid>` (Linux).
public struct ProcessProbe: Sendable {
    public let pid: Int32

    public init(pid: Int32) {
        self.pid = pid
    }

    public struct ProbeError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Resident set size (`VmRSS`) in bytes.
    public func residentBytes() throws -> Int {
        try statusKilobytes("VmRSS") * 1024
    }

    /// User plus system CPU time consumed so far, in seconds (`utime` + `stime` of `/proc/<pid>/stat`).
    public func cpuSeconds() throws -> Double {
        let path = "/proc/\(pid)/stat"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8),
              let close = text.lastIndex(of: ")")
        else {
            throw ProbeError(description: "\(path): cannot read (has process \(pid) exited?)")
        }
        // Fields after "(comm)": state is field 3, utime field 14, stime field 15.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 12, let user = Double(fields[11]), let system = Double(fields[12]) else {
            throw ProbeError(description: "\(path): unexpected format")
        }
        return (user + system) / Double(Self.clockTicksPerSecond)
    }

    private static let clockTicksPerSecond: Int = {
        let ticks = sysconf(Int32(_SC_CLK_TCK))
        return ticks > 0 ? ticks : 100
    }()

    private func statusKilobytes(_ key: String) throws -> Int {
        let path = "/proc/\(pid)/status"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw ProbeError(description: "\(path): cannot read (has process \(pid) exited?)")
        }
        for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
            let value = line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first.flatMap { Int($0) }
            if let value { return value }
        }
        throw ProbeError(description: "\(path): no \(key) line")
    }
}
