import Foundation
import LPALab
import LPASimKit

#if canImport(Glibc)
import Glibc
#endif

/// Why a chaos run could not set up its topology.
struct ChaosError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// The processes of an `lpa-sim chaos` run: a throwaway PostgreSQL cluster, lpa-core and lpa-edge processes and
/// HAProxy, each started as a ``ServerProcess`` (as `user` when given), on loopback ports chosen once and kept
/// across restarts. Each start of a server writes a log of its own under the working folder.
struct ChaosTopology {
    enum Member: Hashable {
        case core(Int), edge(Int), balancer
        var name: String {
            switch self {
            case .core(let i): return "core-\(i + 1)"
            case .edge(let i): return "edge-\(i + 1)"
            case .balancer: return "haproxy"
            }
        }
    }

    let directory: String
    let binaries: URL
    let user: String?
    private var processes: [Member: ServerProcess] = [:]
    private var ports: [Member: Int] = [:]
    private var starts: [Member: Int] = [:]
    private var postgres: (bin: String, data: String)?

    /// Log level of the cores and edges.
    var logLevel = "notice"

    init(directory: String, binaries: URL, user: String?) {
        self.directory = directory
        self.binaries = binaries
        self.user = user
    }

    // MARK: PostgreSQL

    /// initdb (as `postgres` when root), start on a free loopback port, create the database; returns its URL.
    mutating func startPostgres() async throws -> String {
        guard let bin = (try? FileManager.default.contentsOfDirectory(atPath: "/usr/lib/postgresql"))?
            .sorted(by: { $0.compare($1, options: .numeric) == .orderedAscending }).last.map({ "/usr/lib/postgresql/\($0)/bin" }) else {
            throw ChaosError("PostgreSQL is not installed (/usr/lib/postgresql/*/bin)")
        }
        let data = "\(directory)/postgres"
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let owner = getuid() == 0 ? "postgres" : nil
        if let owner { try Self.giveTree(data, to: owner) }
        try Self.run(owner, "\(bin)/initdb", ["-D", "\(data)/data", "-U", "postgres", "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8", "--no-sync"],
                     log: "\(directory)/postgres-initdb.log")
        let port = try LoopbackPort.free()
        try Self.run(owner, "\(bin)/pg_ctl", ["-D", "\(data)/data", "-l", "\(data)/server.log", "-w", "-t", "60", "-o",
                                              "-p \(port) -k \(data) -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c max_connections=300",
                                              "start"], log: "\(directory)/postgres-start.log")
        postgres = (bin, data)
        try Self.run(owner, "\(bin)/createdb", ["-h", "127.0.0.1", "-p", "\(port)", "-U", "postgres", "lpa"], log: "\(directory)/postgres-createdb.log")
        return "postgres://postgres@127.0.0.1:\(port)/lpa"
    }

    // MARK: Servers

    mutating func startCore(_ index: Int, store: String, pki: String) async throws {
        let port = try port(for: .core(index))
        // A core's own configuration (core-N.yaml) when there is one, else the shared core.yaml.
        let own = "\(directory)/\(Member.core(index).name).yaml"
        let configuration = FileManager.default.fileExists(atPath: own) ? own : "\(directory)/core.yaml"
        let process = try await launch(.core(index), binaries.appendingPathComponent("lpa-core").path, [
            "serve", "--config", configuration, "--store", store, "--listen", "127.0.0.1:\(port)", "--pki", pki,
            "--libraries", "\(directory)/libraries.yaml", "--node-id", Member.core(index).name, "--log-level", logLevel,
        ])
        try await process.waitUntilAccepting(host: "127.0.0.1", port: port, timeout: .seconds(60))
    }

    mutating func startEdge(_ index: Int, pki: String) async throws {
        let port = try port(for: .edge(index))
        var arguments = ["--config", "\(directory)/edge.yaml", "--listen", "127.0.0.1:\(port)", "--pki", pki, "--node-id", Member.edge(index).name, "--log-level", logLevel]
        for member in ports.keys.sorted(by: { $0.name < $1.name }) {
            if case .core = member, let corePort = ports[member] { arguments += ["--core", "127.0.0.1:\(corePort)"] }
        }
        let process = try await launch(.edge(index), binaries.appendingPathComponent("lpa-edge").path, arguments)
        try await process.waitUntilAccepting(host: "127.0.0.1", port: port, timeout: .seconds(60))
    }

    /// HAProxy in TCP mode in front of the edges; `maxconn` from the file-descriptor limit (two per connection).
    mutating func startHAProxy() async throws -> Int {
        let port = try port(for: .balancer)
        var limit = rlimit()
        getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        let maxconn = max(256, min(200_000, (Int(clamping: limit.rlim_cur) - 200) / 2))
        var servers = ""
        for member in ports.keys.sorted(by: { $0.name < $1.name }) {
            if case .edge = member, let edgePort = ports[member] {
                servers += "    server \(member.name) 127.0.0.1:\(edgePort) check inter 1s fall 2 rise 1\n"
            }
        }
        let configuration = """
            global
                maxconn \(maxconn)
            defaults
                mode tcp
                timeout connect 5s
                timeout client 1h
                timeout server 1h
            frontend terminals
                bind 127.0.0.1:\(port)
                default_backend edges
            backend edges
                balance roundrobin
            \(servers)
            """
        let path = "\(directory)/haproxy.cfg"
        try configuration.write(toFile: path, atomically: true, encoding: .utf8)
        chmod(path, 0o644)
        guard let haproxy = ["/usr/sbin/haproxy", "/usr/bin/haproxy"].first(where: FileManager.default.isExecutableFile(atPath:)) else {
            throw ChaosError("haproxy is not installed")
        }
        let process = try await launch(.balancer, haproxy, ["-f", path, "-db"])
        try await process.waitUntilAccepting(host: "127.0.0.1", port: port, timeout: .seconds(30))
        return port
    }

    /// Stops a server: SIGKILL at once (`hard`) or SIGTERM with its drain time.
    mutating func stop(_ member: Member, hard: Bool) async {
        guard let process = processes.removeValue(forKey: member) else { return }
        if hard {
            process.killNow()
            _ = await process.stop(grace: .seconds(5))
        } else {
            _ = await process.stop(grace: .seconds(30))
        }
    }

    /// Stops every server, then PostgreSQL.
    mutating func stopAll() {
        for process in processes.values { process.killNow() }
        processes.removeAll()
        if let postgres {
            try? Self.run(getuid() == 0 ? "postgres" : nil, "\(postgres.bin)/pg_ctl", ["-D", "\(postgres.data)/data", "-m", "immediate", "stop"],
                          log: "\(directory)/postgres-stop.log")
        }
        postgres = nil
    }

    /// Jobs two cores drove: a profile installed by each of two cores for the same job, or a challenge mismatch
    /// (the eUICC's answer for one core's session reaching another) logged for the job, from every core log.
    func jobsDrivenByTwoCores() -> Int {
        var installedBy: [String: Set<String>] = [:]
        var mismatched: Set<String> = []
        let files = (try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []
        for file in files where file.hasPrefix("core-") && file.hasSuffix(".log") {
            let core = String(file.split(separator: ".")[0])
            guard let text = try? String(contentsOfFile: "\(directory)/\(file)", encoding: .utf8) else { continue }
            for line in text.split(separator: "\n") {
                guard let job = Self.value(of: "job", in: line) else { continue }
                if line.hasSuffix("profile installed") { installedBy[job, default: []].insert(core) }
                if line.contains("euiccChallengeMismatch") { mismatched.insert(job) }
            }
        }
        return mismatched.union(installedBy.filter { $0.value.count > 1 }.keys).count
    }

    // MARK: Internals

    private mutating func port(for member: Member) throws -> Int {
        if let port = ports[member] { return port }
        let port = try LoopbackPort.free()
        ports[member] = port
        return port
    }

    private mutating func launch(_ member: Member, _ executable: String, _ arguments: [String]) async throws -> ServerProcess {
        let start = (starts[member] ?? 0) + 1
        starts[member] = start
        let process = try await ServerProcess.launch(name: member.name, executable: executable, arguments: arguments,
                                                     logPath: "\(directory)/\(member.name).\(start).log", user: user)
        processes[member] = process
        return process
    }

    private static func value(of key: String, in line: Substring) -> String? {
        guard let range = line.range(of: " \(key)=") else { return nil }
        return String(line[range.upperBound...].prefix { $0 != " " })
    }

    /// Runs a command to completion (as `user` when given, through runuser); throws with its log when it fails.
    /// Spawned and reaped here (posix_spawn, waitpid): a command that leaves a daemon behind (pg_ctl) ends
    /// when it exits.
    static func run(_ user: String?, _ executable: String, _ arguments: [String], log: String) throws {
        let argv = (user.map { ["/usr/sbin/runuser", "-u", $0, "--"] } ?? []) + [executable] + arguments
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_adddup2(&actions, 1, 2)
        let cArguments = argv.map { strdup($0) } + [nil]
        defer { for pointer in cArguments { free(pointer) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, argv[0], &actions, nil, cArguments, environ)
        guard spawned == 0 else { throw ChaosError("cannot start \(argv[0]): \(String(cString: strerror(spawned)))") }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
        guard status == 0 else {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            throw ChaosError("\(executable) failed (wait status \(status)): \(text.suffix(2000))")
        }
    }

    /// Makes `path` and everything under it owned by `user` (its primary group).
    static func giveTree(_ path: String, to user: String) throws {
        guard let entry = getpwnam(user) else { throw ChaosError("no user '\(user)'") }
        let (uid, gid) = (entry.pointee.pw_uid, entry.pointee.pw_gid)
        chown(path, uid, gid)
        if let walker = FileManager.default.enumerator(atPath: path) {
            for case let relative as String in walker { chown("\(path)/\(relative)", uid, gid) }
        }
    }
}
