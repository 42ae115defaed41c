import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A server under test, run as a child process of the benchmark: output to a log file, probed
/// until it accepts connections, stopped with SIGTERM (SIGKILL after a grace period).
///
/// It is never left behind: on Linux the child is started through `setpriv --pdeathsig KILL`
/// from a thread that lives as long as this process (the parent-death signal follows the
/// spawning thread), so the kernel kills it if the benchmark dies for any reason; and every
/// path out of a benchmark run stops it explicitly.
///
/// The child inherits the spawning thread's signal mask. Threads started from Swift concurrency
/// or Dispatch workers block SIGTERM, SIGINT and others, and a server that only unblocks signals
/// by restoring the mask it started with (Mosquitto does, around `epoll_wait`) would never see
/// SIGTERM; so the spawning thread unblocks every signal first.
public final class ServerProcess: @unchecked Sendable {
    public let name: String
    public let logPath: String
    private let process: Process

    public struct LaunchError: Error, CustomStringConvertible {
        public var description: String
    }

    /// How the process ended.
    public struct Exit: Sendable, CustomStringConvertible {
        /// Exit code, or the signal number when ``signalled``.
        public var status: Int32
        public var signalled: Bool
        /// True when the grace period ran out and the benchmark sent SIGKILL.
        public var killed: Bool
        /// Seconds from SIGTERM to exit.
        public var seconds: Double

        public var clean: Bool { !signalled && status == 0 && !killed }

        public var description: String {
            if killed { return "did not exit within the grace period; killed" }
            return signalled ? "ended by signal \(status)" : "exited with status \(status)"
        }
    }

    private init(name: String, logPath: String, process: Process) {
        self.name = name
        self.logPath = logPath
        self.process = process
    }

    public var pid: Int32 { process.processIdentifier }
    public var isRunning: Bool { process.isRunning }

    /// The thread children are spawned from: a pool thread that is never shut down.
    private static let spawner: NIOThreadPool = {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        return pool
    }()

    /// Starts `executable` with `arguments`, standard output and error appended to `logPath`;
    /// with `pipes`, standard input and output are those pipes instead (errors still go to the log).
    /// With `user` (a user name, Linux with `setpriv`), the process runs as that user and its primary group, with
    /// no supplementary groups: `setpriv` changes the ids and executes the server itself, so ``pid`` is the
    /// server's and a SIGKILL reaches it.
    public static func launch(
        name: String, executable: String, arguments: [String], logPath: String, pipes: (input: Pipe, output: Pipe)? = nil,
        user: String? = nil
    ) async throws -> ServerProcess {
        guard FileManager.default.isExecutableFile(atPath: executable) else {
            throw LaunchError(description: "\(name): \(executable) is not an executable file")
        }
        guard FileManager.default.createFile(atPath: logPath, contents: nil), let log = FileHandle(forWritingAtPath: logPath) else {
            throw LaunchError(description: "\(name): cannot write its log \(logPath)")
        }
        let process = Process()
        #if os(Linux)
        let setpriv = "/usr/bin/setpriv"
        if FileManager.default.isExecutableFile(atPath: setpriv) {
            process.executableURL = URL(fileURLWithPath: setpriv)
            var ids: [String] = []
            if let user {
                guard let entry = getpwnam(user) else { throw LaunchError(description: "\(name): no user '\(user)'") }
                ids = ["--reuid=\(entry.pointee.pw_uid)", "--regid=\(entry.pointee.pw_gid)", "--clear-groups"]
            }
            process.arguments = ["--pdeathsig", "KILL"] + ids + ["--", executable] + arguments
        } else {
            if user != nil { throw LaunchError(description: "\(name): running as another user needs \(setpriv)") }
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
        }
        #else
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        #endif
        process.standardInput = pipes?.input ?? FileHandle.nullDevice
        process.standardOutput = pipes?.output ?? log
        process.standardError = log
        let server = ServerProcess(name: name, logPath: logPath, process: process)
        do {
            try await spawner.runIfActive {
                unblockAllSignalsOnThisThread()
                try server.process.run()
            }
        } catch {
            throw LaunchError(description: "\(name): cannot start \(executable): \(error)")
        }
        try? log.close()
        return server
    }

    /// Waits until `port` on 127.0.0.1 accepts a TCP connection.
    ///
    /// - Throws: when the process exits first (with the end of its log) or `timeout` passes.
    public func waitUntilAccepting(host: String, port: Int, timeout: TimeAmount) async throws {
        let deadline = NIODeadline.now() + timeout
        let address = try SocketAddress(ipAddress: host, port: port)
        while true {
            guard isRunning else {
                throw LaunchError(description: "\(name) exited during start-up (\(exitDescription)); its log ends:\n\(logTail())")
            }
            if let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.milliseconds(500)).connect(to: address).get() {
                try? await channel.close()
                return
            }
            guard NIODeadline.now() < deadline else {
                throw LaunchError(description: "\(name) did not accept connections on \(host):\(port) within \(timeout.nanoseconds / 1_000_000_000) s; its log ends:\n\(logTail())")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    private var exitDescription: String {
        process.terminationReason == .uncaughtSignal
            ? "signal \(process.terminationStatus)" : "status \(process.terminationStatus)"
    }

    /// Sends SIGTERM and waits up to `grace` for the process to exit, then kills it.
    public func stop(grace: TimeAmount) async -> Exit {
        let started = NIODeadline.now()
        guard isRunning else { return exit(killed: false, since: started) }
        kill(pid, SIGTERM)
        let deadline = started + grace
        while isRunning, NIODeadline.now() < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        guard isRunning else { return exit(killed: false, since: started) }
        kill(pid, SIGKILL)
        while isRunning {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return exit(killed: true, since: started)
    }

    private func exit(killed: Bool, since: NIODeadline) -> Exit {
        Exit(
            status: process.terminationStatus, signalled: process.terminationReason == .uncaughtSignal,
            killed: killed, seconds: Double((NIODeadline.now() - since).nanoseconds) / 1e9)
    }

    /// Kills the process at once if it still runs (error paths).
    public func killNow() {
        if isRunning { kill(pid, SIGKILL) }
    }

    /// The last `lines` lines of the process's log.
    public func logTail(lines: Int = 20) -> String {
        guard let text = try? String(contentsOfFile: logPath, encoding: .utf8) else { return "(no log at \(logPath))" }
        let all = text.split(separator: "\n", omittingEmptySubsequences: false)
        let tail = all.suffix(lines + 1).joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
        return tail.isEmpty ? "(empty log)" : tail.split(separator: "\n").map { "  | \($0)" }.joined(separator: "\n")
    }

    /// A TCP port on `host` that nothing listens on right now (the OS picks it).
    public static func freePort(host: String = "127.0.0.1") async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: host, port: 0).get()
        let port = channel.localAddress?.port
        try? await channel.close()
        guard let port else { throw LaunchError(description: "cannot find a free port on \(host)") }
        return port
    }
}

/// Clears the calling thread's signal mask, so that processes it spawns start with none blocked.
private func unblockAllSignalsOnThisThread() {
    var none = sigset_t()
    sigemptyset(&none)
    pthread_sigmask(SIG_SETMASK, &none, nil)
}
