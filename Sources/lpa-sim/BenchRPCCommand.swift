import ArgumentParser
import Foundation
import LPACoreRPC
import LPAMetricsExport
import LPARPC
import LPASimKit
import LPATLS
import Logging

/// The request and the handler of the benchmark; Benchmarks/RPCPeer builds the same ones.
enum RPCBenchPayload {
    static let method = "bench.Echo"
    static let apduCount = 4
    static let apduLength = 255

    static func request() -> CoreRPC_TransmitApduBatchRequest {
        var request = CoreRPC_TransmitApduBatchRequest()
        request.terminalID = "bench-terminal-000001"
        request.channel = 1
        request.apdus = (0..<apduCount).map { k in
            Data((0..<apduLength).map { i in UInt8(truncatingIfNeeded: i &* 31 &+ k &* 7) })
        }
        request.acceptSw = [0x9000, 0x6310]
        request.timeoutMs = 5_000
        return request
    }

    static func echo(_ request: CoreRPC_TransmitApduBatchRequest) -> CoreRPC_TransmitApduBatchResponse {
        var response = CoreRPC_TransmitApduBatchResponse()
        response.status = 0
        response.responses = request.apdus.map { apdu in
            var data = apdu
            data.append(contentsOf: [0x90, 0x00])
            return data
        }
        return response
    }
}

struct BenchRPCCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rpc",
        abstract: "Measure the edge↔core RPC (LPARPC) against grpc-swift 2 on the same messages.",
        discussion: """
            Starts an RPC server on 127.0.0.1 serving bench.Echo (TransmitApduBatchRequest with 4 APDUs
            of 255 bytes → TransmitApduBatchResponse with 4 responses of 257 bytes) and a client in
            this process. For each concurrency it keeps exactly that many unary calls in flight
            (one looping worker per call) for --warmup seconds, then measures --seconds: calls/s
            = calls completed in the window / window, p50 and p99 from call to return.

            Unless --no-peer, the same points then run in grpc-swift 2 (HTTP/2, the same generated
            messages, the same handler) through the executable rpc-peer of the separate package
            Benchmarks/RPCPeer, built here when needed (`swift build -c release --package-path
            Benchmarks/RPCPeer`; the first build takes several minutes). Each point runs ours then
            grpc's, back to back, and the ratios ours/grpc are printed.

            TLS is mutual on both sides with the same certificates (core.pem as server, edge-client.pem
            as client, from a test PKI in --pki): ours through LPATLS/OpenSSL, grpc-swift's through
            swift-nio-ssl/BoringSSL.

            Exit status: 0 when both sides ran, 1 when the peer could not be built or run (our
            figures are still printed) or calls failed, 2 for bad options.

            Examples:
              lpa-sim bench rpc
              lpa-sim bench rpc --transport plaintext --seconds 3 --no-peer
              lpa-sim bench rpc --json > rpc.json
            """)

    @Option(help: "plaintext, tls or both.")
    var transport: String = "both"

    @Option(help: "Calls in flight, comma-separated.")
    var concurrency: String = "1,64,512"

    @Option(help: "Measured seconds per point.")
    var seconds: Double = 5

    @Option(help: "Warm-up seconds before each measured window.")
    var warmup: Double = 1

    @Flag(help: "Measure ours only.")
    var noPeer = false

    @Option(help: "The rpc-peer executable (default: built from Benchmarks/RPCPeer).")
    var peerBinary: String?

    @Option(help: "The Benchmarks/RPCPeer package folder (default: found from the current folder or this executable).")
    var peerPackage: String?

    @Option(help: "Test PKI folder; created when missing.")
    var pki: String = "var/bench/rpc-pki"

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    var transports: [String] { transport == "both" ? ["plaintext", "tls"] : [transport] }

    var concurrencies: [Int] { concurrency.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) } }

    func validate() throws {
        guard ["plaintext", "tls", "both"].contains(transport) else { throw ValidationError("--transport is plaintext, tls or both") }
        let list = concurrency.split(separator: ",")
        guard !list.isEmpty, concurrencies.count == list.count, concurrencies.allSatisfy({ $0 > 0 && $0 <= 10_000 }) else {
            throw ValidationError("--concurrency takes integers from 1 to 10000 separated by commas")
        }
        guard seconds > 0 else { throw ValidationError("--seconds must be positive") }
        guard warmup >= 0 else { throw ValidationError("--warmup must not be negative") }
    }

    func run() async throws {
        ProcessLogging.bootstrap(level: .warning)
        let pkiURL = URL(fileURLWithPath: pki).standardizedFileURL
        do {
            try RPCBenchmark.ensurePKI(at: pkiURL)
        } catch {
            Console.error("test PKI in \(pkiURL.path): \(error)")
            throw ExitCode(2)
        }

        var peerBinaryURL: URL?
        var peerProblem: String?
        if noPeer {
            peerProblem = "not run (--no-peer)"
        } else if let peerBinary {
            peerBinaryURL = URL(fileURLWithPath: peerBinary).standardizedFileURL
        } else if let package = RPCPeerRunner.packageDirectory(explicit: peerPackage) {
            let log = pkiURL.deletingLastPathComponent().appendingPathComponent("rpc-peer-build.log")
            phase("building rpc-peer (swift build -c release --package-path \(package.path)); log in \(log.path)")
            do {
                peerBinaryURL = try RPCPeerRunner.build(package: package, log: log)
            } catch {
                peerProblem = "could not be built: \(error)"
            }
        } else {
            peerProblem = "could not be built: no Benchmarks/RPCPeer package found (pass --peer-package or --peer-binary)"
        }
        if let peerProblem, !noPeer { Console.error("grpc-swift peer \(peerProblem); printing our figures only") }

        let request = RPCBenchPayload.request()
        let requestBytes = (try? request.serializedBytes() as [UInt8])?.count ?? 0
        let responseBytes = (try? RPCBenchPayload.echo(request).serializedBytes() as [UInt8])?.count ?? 0
        let warmupDuration = Duration.nanoseconds(Int64(warmup * 1e9))
        let measuredDuration = Duration.nanoseconds(Int64(seconds * 1e9))
        var peerImplementation = "grpc-swift 2.4.3 (not run)"

        var rows: [RPCBenchRow] = []
        var failed = false
        for transport in transports {
            let security = try transportSecurity(transport, pki: pkiURL.path)
            var router = RPCRouter()
            router.register(RPCBenchPayload.method, CoreRPC_TransmitApduBatchRequest.self) { request, _ in
                RPCBenchPayload.echo(request)
            }
            let server = try await RPCServer.start(
                configuration: RPCServer.Configuration(
                    host: "127.0.0.1", port: 0, security: security.server,
                    connection: RPCConnectionConfiguration(nodeID: "bench-core")),
                router: router)
            let client = try RPCClient(configuration: RPCClient.Configuration(
                host: "127.0.0.1", port: server.port, security: security.client, serverHostname: "localhost",
                connection: RPCConnectionConfiguration(nodeID: "bench-edge")))
            client.start()
            let connection: RPCConnection
            do {
                connection = try await client.connection()
                let check = try await connection.call(RPCBenchPayload.method, request, responseType: CoreRPC_TransmitApduBatchResponse.self)
                guard check.responses.count == request.apdus.count else { throw RPCPeerRunner.Failure(description: "bad echo") }
            } catch {
                Console.error("our \(transport) RPC did not answer: \(error)")
                await client.shutdown()
                await server.shutdown()
                throw ExitCode(1)
            }
            let call: @Sendable () async throws -> Void = {
                _ = try await connection.call(
                    RPCBenchPayload.method, request, responseType: CoreRPC_TransmitApduBatchResponse.self)
            }
            for c in concurrencies {
                phase("\(transport), \(c) in flight: LPARPC")
                let ours = await RPCBenchmark.measure(
                    transport: transport, concurrency: c, warmup: warmupDuration, duration: measuredDuration, call: call)
                if let e = ours.firstError { Console.error("LPARPC \(transport) c=\(c): \(ours.errors) errors, first: \(e)") }
                if ours.errors > 0 || ours.calls == 0 { failed = true }
                var grpc: RPCBenchPoint?
                if let binary = peerBinaryURL, peerProblem == nil {
                    phase("\(transport), \(c) in flight: grpc-swift")
                    do {
                        let output = try RPCPeerRunner.run(binary: binary, arguments: [
                            "--transport", transport, "--concurrency", "\(c)",
                            "--seconds", "\(seconds)", "--warmup", "\(warmup)", "--pki", pkiURL.path,
                        ])
                        peerImplementation = output.implementation
                        grpc = output.results.first
                        if let e = grpc?.firstError { Console.error("grpc-swift \(transport) c=\(c): \(grpc?.errors ?? 0) errors, first: \(e)") }
                    } catch {
                        peerProblem = "failed to run: \(error)"
                        Console.error("grpc-swift peer \(peerProblem!); printing our figures only")
                    }
                }
                rows.append(RPCBenchRow(ours: ours, grpc: grpc))
            }
            await client.shutdown()
            await server.shutdown()
        }

        let conditions = RPCBenchConditions(
            seconds: seconds, warmupS: warmup, concurrencies: concurrencies, transports: transports,
            cores: ProcessInfo.processInfo.activeProcessorCount,
            network: "loopback 127.0.0.1, one connection",
            request: "TransmitApduBatchRequest with \(RPCBenchPayload.apduCount) APDUs of \(RPCBenchPayload.apduLength) bytes, echoed with SW 9000 appended",
            requestBytes: requestBytes, responseBytes: responseBytes,
            ours: "LPARPC (length-prefixed frames over SwiftNIO, swift-protobuf 1.39.0), NIO singleton event loop group",
            peer: peerImplementation + ", NIO singleton event loop group, default HTTP/2 settings",
            peerStatus: peerProblem ?? "ran",
            tls: "mutual TLS with the same certificates; ours LPATLS on \(OpenSSLVersion.text), grpc-swift on swift-nio-ssl (BoringSSL)",
            order: "per point: LPARPC then grpc-swift (a separate process), back to back",
            system: Self.systemDescription(), loadAverage: Self.loadAverage())
        let report = RPCBenchReport(results: rows, conditions: conditions)
        print(json ? report.json : report.table)
        if failed || (!noPeer && peerProblem != nil) { throw ExitCode(1) }
    }

    private func transportSecurity(_ transport: String, pki: String) throws -> (server: RPCTransportSecurity, client: RPCTransportSecurity) {
        guard transport == "tls" else { return (.plaintext, .plaintext) }
        let roots = TLSConfiguration.PEMSource.file("\(pki)/infra-ca.pem")
        let server = TLSConfiguration.server(
            certificateChain: .file("\(pki)/core.pem"), privateKey: .file("\(pki)/core.key"), trustRoots: roots)
        let client = TLSConfiguration.client(
            trustRoots: roots, certificateChain: .file("\(pki)/edge-client.pem"), privateKey: .file("\(pki)/edge-client.key"))
        return (.tls(server), .tls(client))
    }

    private func phase(_ line: String) {
        guard !json else { return }
        FileHandle.standardError.write(Data("\(line)\n".utf8))
    }

    private static func systemDescription() -> String {
        let os = ProcessInfo.processInfo.operatingSystemVersionString
        guard let release = try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8) else { return os }
        return "\(os), Linux \(release.trimmingCharacters(in: .whitespacesAndNewlines))"
    }

    private static func loadAverage() -> String {
        guard let text = try? String(contentsOfFile: "/proc/loadavg", encoding: .utf8) else { return "unknown" }
        return text.split(separator: " ").prefix(3).joined(separator: " ")
    }
}
