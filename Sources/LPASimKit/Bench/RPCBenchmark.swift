import Foundation

/// One measured point of `lpa-sim bench rpc`: unary calls with exactly `concurrency` in flight.
public struct RPCBenchPoint: Codable, Sendable {
    public var transport: String
    public var concurrency: Int
    /// Calls that completed inside the measured window.
    public var calls: Int
    public var errors: Int
    public var elapsedS: Double
    public var callsPerS: Double
    public var p50Ms: Double
    public var p99Ms: Double
    public var firstError: String?

    public init(transport: String, concurrency: Int, calls: Int, errors: Int, elapsedS: Double,
                callsPerS: Double, p50Ms: Double, p99Ms: Double, firstError: String? = nil) {
        self.transport = transport
        self.concurrency = concurrency
        self.calls = calls
        self.errors = errors
        self.elapsedS = elapsedS
        self.callsPerS = callsPerS
        self.p50Ms = p50Ms
        self.p99Ms = p99Ms
        self.firstError = firstError
    }
}

/// What `rpc-peer` prints: one JSON line.
public struct RPCPeerOutput: Codable, Sendable {
    public var implementation: String
    public var results: [RPCBenchPoint]
}

/// A row of the report: our point beside grpc-swift's at the same transport and concurrency.
public struct RPCBenchRow: Encodable, Sendable {
    public var transport: String
    public var concurrency: Int
    public var calls: Int
    public var errors: Int
    public var callsPerS: Double
    public var p50Ms: Double
    public var p99Ms: Double
    public var grpcCalls: Int?
    public var grpcErrors: Int?
    public var grpcCallsPerS: Double?
    public var grpcP50Ms: Double?
    public var grpcP99Ms: Double?
    /// ours / grpc calls per second: above 1 is better.
    public var throughputRatio: Double?
    /// ours / grpc p99: below 1 is better.
    public var p99Ratio: Double?

    public init(ours: RPCBenchPoint, grpc: RPCBenchPoint?) {
        transport = ours.transport
        concurrency = ours.concurrency
        calls = ours.calls
        errors = ours.errors
        callsPerS = ours.callsPerS
        p50Ms = ours.p50Ms
        p99Ms = ours.p99Ms
        grpcCalls = grpc?.calls
        grpcErrors = grpc?.errors
        grpcCallsPerS = grpc?.callsPerS
        grpcP50Ms = grpc?.p50Ms
        grpcP99Ms = grpc?.p99Ms
        if let g = grpc, g.callsPerS > 0, ours.callsPerS > 0 { throughputRatio = ours.callsPerS / g.callsPerS }
        if let g = grpc, g.p99Ms > 0, ours.p99Ms > 0 { p99Ratio = ours.p99Ms / g.p99Ms }
    }

    private enum CodingKeys: String, CodingKey {
        case transport, concurrency, calls, errors, callsPerS, p50Ms, p99Ms
        case grpcCalls, grpcErrors, grpcCallsPerS, grpcP50Ms, grpcP99Ms, throughputRatio, p99Ratio
    }

    /// Every key is present; a figure the peer did not produce is null.
    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(transport, forKey: .transport)
        try c.encode(concurrency, forKey: .concurrency)
        try c.encode(calls, forKey: .calls)
        try c.encode(errors, forKey: .errors)
        try c.encode(callsPerS, forKey: .callsPerS)
        try c.encode(p50Ms, forKey: .p50Ms)
        try c.encode(p99Ms, forKey: .p99Ms)
        try c.encode(grpcCalls, forKey: .grpcCalls)
        try c.encode(grpcErrors, forKey: .grpcErrors)
        try c.encode(grpcCallsPerS, forKey: .grpcCallsPerS)
        try c.encode(grpcP50Ms, forKey: .grpcP50Ms)
        try c.encode(grpcP99Ms, forKey: .grpcP99Ms)
        try c.encode(throughputRatio, forKey: .throughputRatio)
        try c.encode(p99Ratio, forKey: .p99Ratio)
    }
}

public struct RPCBenchConditions: Encodable, Sendable {
    public var seconds: Double
    public var warmupS: Double
    public var concurrencies: [Int]
    public var transports: [String]
    public var cores: Int
    public var network: String
    public var request: String
    public var requestBytes: Int
    public var responseBytes: Int
    public var ours: String
    public var peer: String
    public var peerStatus: String
    public var tls: String
    public var order: String
    public var system: String
    public var loadAverage: String

    public init(seconds: Double, warmupS: Double, concurrencies: [Int], transports: [String], cores: Int, network: String,
                request: String, requestBytes: Int, responseBytes: Int, ours: String, peer: String, peerStatus: String,
                tls: String, order: String, system: String, loadAverage: String) {
        self.seconds = seconds
        self.warmupS = warmupS
        self.concurrencies = concurrencies
        self.transports = transports
        self.cores = cores
        self.network = network
        self.request = request
        self.requestBytes = requestBytes
        self.responseBytes = responseBytes
        self.ours = ours
        self.peer = peer
        self.peerStatus = peerStatus
        self.tls = tls
        self.order = order
        self.system = system
        self.loadAverage = loadAverage
    }
}

public struct RPCBenchReport: Encodable, Sendable {
    public var results: [RPCBenchRow]
    public var conditions: RPCBenchConditions

    public init(results: [RPCBenchRow], conditions: RPCBenchConditions) {
        self.results = results
        self.conditions = conditions
    }

    public var json: String {
        let encoder = JSONEncoder()
        encoder.keyEncodingStrategy = .convertToSnakeCase
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        return String(decoding: (try? encoder.encode(self)) ?? Data("{}".utf8), as: UTF8.self)
    }

    public var table: String {
        func f0(_ v: Double?) -> String { v.map { String(format: "%.0f", $0) } ?? "—" }
        func ms(_ v: Double?) -> String { v.map { String(format: "%.3f", $0) } ?? "—" }
        func r(_ v: Double?) -> String { v.map { String(format: "%.2f", $0) } ?? "—" }
        var rows: [[String]] = [[
            "transport", "conc", "calls/s", "grpc calls/s", "thr ratio", "p50 ms", "grpc p50 ms", "p99 ms", "grpc p99 ms", "p99 ratio", "errors",
        ]]
        for row in results {
            rows.append([
                row.transport, "\(row.concurrency)", f0(row.callsPerS), f0(row.grpcCallsPerS), r(row.throughputRatio),
                ms(row.p50Ms), ms(row.grpcP50Ms), ms(row.p99Ms), ms(row.grpcP99Ms), r(row.p99Ratio),
                "\(row.errors)/\(row.grpcErrors.map(String.init) ?? "—")",
            ])
        }
        let widths = (0..<rows[0].count).map { i in rows.map { $0[i].count }.max() ?? 0 }
        let c = conditions
        var lines = ["lpa-sim bench rpc: unary bench.Echo, client and server in one process each, \(c.network), \(c.cores) cores"]
        for row in rows {
            lines.append(zip(row, widths).enumerated().map { i, cell in
                i < 2 ? cell.0.padding(toLength: cell.1, withPad: " ", startingAt: 0)
                    : String(repeating: " ", count: cell.1 - cell.0.count) + cell.0
            }.joined(separator: "  "))
        }
        lines.append("")
        lines.append("thr ratio = ours/grpc calls per second (higher is better); p99 ratio = ours/grpc p99 (lower is better); errors = ours/grpc")
        lines.append(String(format: "conditions: %.1f s measured per point after %.1f s warm-up; %@ (%d → %d bytes encoded)",
                            c.seconds, c.warmupS, c.request, c.requestBytes, c.responseBytes))
        lines.append("ours: \(c.ours)")
        lines.append("peer: \(c.peer) — \(c.peerStatus)")
        lines.append("tls: \(c.tls)")
        lines.append("order: \(c.order); load average \(c.loadAverage); \(c.system)")
        return lines.joined(separator: "\n")
    }
}

/// The driver of `lpa-sim bench rpc`, independent of the RPC stack that `call` goes through.
public enum RPCBenchmark {
    /// Keeps exactly `concurrency` calls in flight — `concurrency` workers, each calling in a loop —
    /// for `warmup` and then `duration`. Figures are those of the calls that completed inside the
    /// measured window: calls per second = completions / duration; latency from call to return,
    /// in the log-bucket histogram of the fleet statistics.
    public static func measure(
        transport: String, concurrency: Int, warmup: Duration, duration: Duration,
        call: @escaping @Sendable () async throws -> Void
    ) async -> RPCBenchPoint {
        let clock = ContinuousClock()
        let from = clock.now + warmup
        let end = from + duration
        struct Worker: Sendable {
            var latencies: [Int64] = []
            var errors = 0
            var firstError: String?
        }
        let workers = await withTaskGroup(of: Worker.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var w = Worker()
                    w.latencies.reserveCapacity(4096)
                    var failures = 0
                    while true {
                        let t0 = clock.now
                        var failed = false
                        do { try await call() } catch {
                            failed = true
                            failures += 1
                            if w.firstError == nil { w.firstError = "\(error)" }
                        }
                        let t1 = clock.now
                        if t1 >= end || failures > 100 { break }
                        if t1 >= from {
                            if failed { w.errors += 1 } else { w.latencies.append(nanoseconds(t1 - t0)) }
                        }
                    }
                    return w
                }
            }
            var all: [Worker] = []
            for await w in group { all.append(w) }
            return all
        }
        var recorder = LatencyRecorder()
        for w in workers { for ns in w.latencies { recorder.record(ns) } }
        let seconds = Double(nanoseconds(duration)) / 1e9
        return RPCBenchPoint(
            transport: transport, concurrency: concurrency, calls: recorder.count,
            errors: workers.reduce(0) { $0 + $1.errors }, elapsedS: seconds,
            callsPerS: Double(recorder.count) / seconds,
            p50Ms: recorder.percentile(50) / 1e6, p99Ms: recorder.percentile(99) / 1e6,
            firstError: workers.lazy.compactMap(\.firstError).first)
    }

    static func nanoseconds(_ d: Duration) -> Int64 {
        d.components.seconds * 1_000_000_000 + d.components.attoseconds / 1_000_000_000
    }

    /// A test PKI with the core's server certificate and the edge's client certificate (no devices).
    public static func ensurePKI(at directory: URL) throws {
        try BenchPKI.ensure(at: directory, devices: 0)
    }
}

/// Builds and runs `rpc-peer` from the separate package `Benchmarks/RPCPeer`.
public enum RPCPeerRunner {
    public struct Failure: Error, CustomStringConvertible {
        public var description: String

        public init(description: String) {
            self.description = description
        }
    }

    /// The package folder: `explicit`, else `Benchmarks/RPCPeer` under the current directory or
    /// above this executable's build folder.
    public static func packageDirectory(explicit: String?) -> URL? {
        let fm = FileManager.default
        if let explicit { return URL(fileURLWithPath: explicit).standardizedFileURL }
        var candidates = [URL(fileURLWithPath: fm.currentDirectoryPath)]
        var exe = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        for _ in 0..<4 {
            exe.deleteLastPathComponent()
            candidates.append(exe)
        }
        for base in candidates {
            let dir = base.appendingPathComponent("Benchmarks/RPCPeer")
            if fm.fileExists(atPath: dir.appendingPathComponent("Package.swift").path) { return dir.standardizedFileURL }
        }
        return nil
    }

    /// `swift build -c release --package-path <package> --product rpc-peer`; returns the executable.
    /// The build's output goes to `log`.
    public static func build(package: URL, log: URL) throws -> URL {
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        defer { try? handle.close() }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["swift", "build", "-c", "release", "--package-path", package.path, "--product", "rpc-peer"]
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw Failure(description: "cannot run `swift build` for \(package.path): \(error.localizedDescription)")
        }
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let tail = (try? String(contentsOf: log, encoding: .utf8))?
                .split(separator: "\n").suffix(8).joined(separator: "\n") ?? ""
            throw Failure(description: "`swift build -c release --package-path \(package.path)` failed (exit \(process.terminationStatus)); last lines of \(log.path):\n\(tail)")
        }
        let binary = package.appendingPathComponent(".build/release/rpc-peer")
        guard FileManager.default.isExecutableFile(atPath: binary.path) else {
            throw Failure(description: "the build succeeded but \(binary.path) is missing")
        }
        return binary
    }

    /// Runs the peer and decodes its JSON line.
    public static func run(binary: URL, arguments: [String]) throws -> RPCPeerOutput {
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        let out = Pipe()
        let err = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = FileHandle.nullDevice
        do { try process.run() } catch {
            throw Failure(description: "cannot run \(binary.path): \(error.localizedDescription)")
        }
        let errorData = ErrorCollector(err.fileHandleForReading)
        let data = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let stderr = String(decoding: errorData.wait(), as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "rpc-peer exited with \(process.terminationStatus): \(stderr)")
        }
        guard let line = String(decoding: data, as: UTF8.self).split(separator: "\n").last else {
            throw Failure(description: "rpc-peer printed nothing\(stderr.isEmpty ? "" : ": \(stderr)")")
        }
        let decoder = JSONDecoder()
        decoder.keyDecodingStrategy = .convertFromSnakeCase
        do {
            return try decoder.decode(RPCPeerOutput.self, from: Data(line.utf8))
        } catch {
            throw Failure(description: "rpc-peer's output is not the expected JSON (\(error)): \(line.prefix(200))")
        }
    }

    /// Drains a pipe on a thread of its own so that a chatty child never blocks on it.
    private final class ErrorCollector: @unchecked Sendable {
        private var data = Data()
        private let done = DispatchSemaphore(value: 0)

        init(_ handle: FileHandle) {
            Thread.detachNewThread { [self] in
                data = handle.readDataToEndOfFile()
                done.signal()
            }
        }

        func wait() -> Data {
            done.wait()
            return data
        }
    }
}
