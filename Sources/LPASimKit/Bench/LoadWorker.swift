import Foundation
import NIOCore
import NIOPosix

/// The line protocol between the benchmark and a load worker (`lpa-sim bench load-worker`): the
/// benchmark writes one command per line to the worker's standard input, the worker answers each
/// with one JSON line (``LoadWorkerReply``) on its standard output. After start-up the worker
/// writes one reply without a command: empty when it is ready, with `error` when it cannot run.
public enum LoadWorkerCommand: Sendable, Equatable {
    case launch
    case counters
    case closedLoop
    case paced(ratePerSecond: Double)
    case stop
    case record(Bool)
    case latencies
    case close

    public var line: String {
        switch self {
        case .launch: return "launch"
        case .counters: return "counters"
        case .closedLoop: return "closed-loop"
        case .paced(let rate): return "paced \(rate)"
        case .stop: return "stop"
        case .record(let on): return on ? "record on" : "record off"
        case .latencies: return "latencies"
        case .close: return "close"
        }
    }

    public init?(line: String) {
        let words = line.split(separator: " ")
        switch (words.first, words.count) {
        case ("launch", 1): self = .launch
        case ("counters", 1): self = .counters
        case ("closed-loop", 1): self = .closedLoop
        case ("paced", 2):
            guard let rate = Double(words[1]), rate > 0, rate.isFinite else { return nil }
            self = .paced(ratePerSecond: rate)
        case ("stop", 1): self = .stop
        case ("record", 2) where words[1] == "on": self = .record(true)
        case ("record", 2) where words[1] == "off": self = .record(false)
        case ("latencies", 1): self = .latencies
        case ("close", 1): self = .close
        default: return nil
        }
    }
}

/// A worker's answer to one command.
public struct LoadWorkerReply: Sendable, Codable {
    public var counters: LoadCounters?
    public var latencies: [UInt64]?
    public var error: String?

    public init(counters: LoadCounters? = nil, latencies: [UInt64]? = nil, error: String? = nil) {
        self.counters = counters
        self.latencies = latencies
        self.error = error
    }
}

/// The worker side: carries out commands read from standard input on `load`, one at a time,
/// until `close` or the end of input (then it closes every connection too).
public enum LoadWorkerService {
    public static func serve(_ load: some LoadControl) async {
        reply(LoadWorkerReply())
        while let line = readLine() {
            guard let command = LoadWorkerCommand(line: line) else {
                reply(LoadWorkerReply(error: "unknown command '\(line.prefix(80))'"))
                continue
            }
            do {
                switch command {
                case .launch:
                    try await load.startLaunching()
                    reply(LoadWorkerReply())
                case .counters:
                    reply(LoadWorkerReply(counters: try await load.counters()))
                case .closedLoop:
                    try await load.startClosedLoop()
                    reply(LoadWorkerReply())
                case .paced(let rate):
                    try await load.startPaced(ratePerSecond: rate)
                    reply(LoadWorkerReply())
                case .stop:
                    try await load.stopSending()
                    reply(LoadWorkerReply())
                case .record(let on):
                    try await load.recordLatencies(on)
                    reply(LoadWorkerReply())
                case .latencies:
                    reply(LoadWorkerReply(latencies: try await load.latencies()))
                case .close:
                    await load.closeAll()
                    reply(LoadWorkerReply())
                    return
                }
            } catch {
                reply(LoadWorkerReply(error: "\(command.line): \(error)"))
            }
        }
        await load.closeAll()
    }

    /// Writes `reply` as one line on standard output, at once.
    public static func reply(_ reply: LoadWorkerReply) {
        var data = (try? JSONEncoder().encode(reply)) ?? Data(#"{"error":"reply not encodable"}"#.utf8)
        data.append(UInt8(ascii: "\n"))
        FileHandle.standardOutput.write(data)
    }
}

/// Benchmark connections held by a worker process (`lpa-sim bench load-worker`), steered over
/// its standard input and output. A worker has a file-descriptor limit of its own, so two
/// servers can each hold their full set of connections at once, and its CPU time is the load
/// generator's share for that server alone.
///
/// Commands go one at a time: callers await each before sending the next.
public final class LoadWorker: LoadControl, @unchecked Sendable {
    public struct WorkerError: Error, CustomStringConvertible {
        public var description: String
    }

    private let process: ServerProcess
    private let input: FileHandle
    private let output: Int32
    private let name: String
    /// Bytes read past the last line returned.
    private var pending: [UInt8] = []

    private static let readers: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 2)
        pool.start()
        return pool
    }()

    /// Starts `executable` with `arguments` (the worker command line) and waits until it says it
    /// is ready, which includes loading the devices' credentials.
    public static func start(name: String, executable: String, arguments: [String], logPath: String) async throws -> LoadWorker {
        let input = Pipe(), output = Pipe()
        let process = try await ServerProcess.launch(
            name: name, executable: executable, arguments: arguments, logPath: logPath, pipes: (input, output))
        let worker = LoadWorker(
            name: name, process: process, input: input.fileHandleForWriting, output: output.fileHandleForReading.fileDescriptor)
        do {
            let ready = try await worker.readReply()
            if let error = ready.error { throw WorkerError(description: "\(name): \(error)") }
        } catch {
            process.killNow()
            throw error
        }
        return worker
    }

    private init(name: String, process: ServerProcess, input: FileHandle, output: Int32) {
        self.name = name
        self.process = process
        self.input = input
        self.output = output
    }

    public var pid: Int32 { process.pid }

    private func send(_ command: LoadWorkerCommand) async throws -> LoadWorkerReply {
        do {
            try input.write(contentsOf: Data((command.line + "\n").utf8))
        } catch {
            throw WorkerError(description: "\(name): cannot send '\(command.line)': \(error); its log ends:\n\(process.logTail())")
        }
        let reply = try await readReply()
        if let error = reply.error { throw WorkerError(description: "\(name): \(error)") }
        return reply
    }

    /// Reads the next line from the worker and decodes it.
    private func readReply() async throws -> LoadWorkerReply {
        let line = try await Self.readers.runIfActive { try self.readLineBlocking() }
        do {
            return try JSONDecoder().decode(LoadWorkerReply.self, from: Data(line))
        } catch {
            throw WorkerError(description: "\(name): unreadable reply '\(String(decoding: line.prefix(120), as: UTF8.self))'")
        }
    }

    private func readLineBlocking() throws -> [UInt8] {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = Array(pending[..<newline])
                pending.removeSubrange(...newline)
                return line
            }
            let n = chunk.withUnsafeMutableBytes { read(output, $0.baseAddress, $0.count) }
            if n > 0 {
                pending.append(contentsOf: chunk[..<n])
            } else if n < 0, errno == EINTR {
                continue
            } else {
                throw WorkerError(description: "\(name) ended its output; its log ends:\n\(process.logTail())")
            }
        }
    }

    // MARK: LoadControl

    public func startLaunching() async throws { _ = try await send(.launch) }

    public func counters() async throws -> LoadCounters {
        guard let counters = try await send(.counters).counters else {
            throw WorkerError(description: "\(name): a counters reply without counters")
        }
        return counters
    }

    public func startClosedLoop() async throws { _ = try await send(.closedLoop) }

    public func startPaced(ratePerSecond: Double) async throws { _ = try await send(.paced(ratePerSecond: ratePerSecond)) }

    public func stopSending() async throws { _ = try await send(.stop) }

    public func recordLatencies(_ on: Bool) async throws { _ = try await send(.record(on)) }

    public func latencies() async throws -> [UInt64] { try await send(.latencies).latencies ?? [] }

    /// Closes the worker's connections and lets it exit (killing it if it does not within 30 s).
    public func closeAll() async {
        if process.isRunning { _ = try? await send(.close) }
        try? input.close()
        _ = await process.stop(grace: .seconds(30))
    }

    public func cpuSeconds() throws -> Double {
        try ProcessProbe(pid: process.pid).cpuSeconds()
    }

    /// Kills the worker at once (error paths).
    public func killNow() {
        process.killNow()
    }
}
