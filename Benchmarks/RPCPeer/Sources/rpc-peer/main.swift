import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import GRPCProtobuf
import SwiftProtobuf

// rpc-peer: the grpc-swift 2 side of `lpa-sim bench rpc`.
//
// Serves bench.Bench/Echo (CoreRPC_TransmitApduBatchRequest → CoreRPC_TransmitApduBatchResponse)
// over HTTP/2 on 127.0.0.1 and calls it from a client in the same process, keeping exactly
// `concurrency` unary calls in flight for `seconds` after `warmup` seconds, and prints one JSON
// line: {"implementation":…,"results":[{"transport":…,"concurrency":…,"calls":…,…}]}.
//
//   rpc-peer --transport plaintext|tls|both --concurrency 1,64,512 --seconds 5 --warmup 1 --pki DIR
//
// The payload and the handler match lpa-sim's side exactly (see RPCBenchPayload there).

struct Options {
    var transports = ["plaintext", "tls"]
    var concurrencies = [1, 64, 512]
    var seconds = 5.0
    var warmup = 1.0
    var pki: String?

    static func parse(_ arguments: [String]) throws -> Options {
        var options = Options()
        var i = 0
        func value() throws -> String {
            i += 1
            guard i < arguments.count else { throw UsageError(message: "\(arguments[i - 1]) needs a value") }
            return arguments[i]
        }
        while i < arguments.count {
            switch arguments[i] {
            case "--transport":
                let v = try value()
                switch v {
                case "both": options.transports = ["plaintext", "tls"]
                case "plaintext", "tls": options.transports = [v]
                default: throw UsageError(message: "--transport plaintext|tls|both, not \(v)")
                }
            case "--concurrency":
                let list = try value().split(separator: ",").map { Int($0) }
                guard !list.isEmpty, list.allSatisfy({ ($0 ?? 0) > 0 }) else {
                    throw UsageError(message: "--concurrency takes positive integers separated by commas")
                }
                options.concurrencies = list.map { $0! }
            case "--seconds":
                guard let v = Double(try value()), v > 0 else { throw UsageError(message: "--seconds must be positive") }
                options.seconds = v
            case "--warmup":
                guard let v = Double(try value()), v >= 0 else { throw UsageError(message: "--warmup must not be negative") }
                options.warmup = v
            case "--pki":
                options.pki = try value()
            default:
                throw UsageError(message: "unknown argument \(arguments[i])")
            }
            i += 1
        }
        if options.transports.contains("tls") && options.pki == nil {
            throw UsageError(message: "--transport tls needs --pki DIR (core.pem, core.key, edge-client.pem, edge-client.key, infra-ca.pem)")
        }
        return options
    }
}

struct UsageError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}

// MARK: Payload (identical to lpa-sim's RPCBenchPayload)

enum Payload {
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

// MARK: gRPC service

let echoMethod = MethodDescriptor(fullyQualifiedService: "bench.Bench", method: "Echo")

struct EchoService: RegistrableRPCService {
    func registerMethods<Transport: ServerTransport>(with router: inout RPCRouter<Transport>) {
        router.registerHandler(
            forMethod: echoMethod,
            deserializer: ProtobufDeserializer<CoreRPC_TransmitApduBatchRequest>(),
            serializer: ProtobufSerializer<CoreRPC_TransmitApduBatchResponse>()
        ) { request, _ in
            let single = try await ServerRequest(stream: request)
            return StreamingServerResponse(single: ServerResponse(message: Payload.echo(single.message)))
        }
    }
}

// MARK: Measurement

/// The same log-bucket histogram as lpa-sim's LatencyRecorder: 50 buckets per decade above 1 µs,
/// a bucket's value its geometric middle.
struct Histogram {
    private var buckets = [Int](repeating: 0, count: 2048)
    private(set) var count = 0

    mutating func record(_ ns: Int64) {
        let b = ns > 1000 ? min(Int((log10(Double(ns) / 1000) * 50).rounded(.down)) + 1, 2047) : 0
        buckets[b] += 1
        count += 1
    }

    func percentile(_ p: Double) -> Double {
        guard count > 0 else { return 0 }
        let target = max(1, Int((Double(count) * p / 100).rounded(.up)))
        var seen = 0
        for (i, n) in buckets.enumerated() {
            seen += n
            if seen >= target { return i == 0 ? 1000 : 1000 * pow(10, (Double(i) - 0.5) / 50) }
        }
        return 1000 * pow(10, (Double(buckets.count - 1) - 0.5) / 50)
    }
}

struct Point: Encodable {
    var transport: String
    var concurrency: Int
    var calls: Int
    var errors: Int
    var elapsedS: Double
    var callsPerS: Double
    var p50Ms: Double
    var p99Ms: Double
    var firstError: String?
}

struct Output: Encodable {
    var implementation: String
    var results: [Point]
}

extension Duration {
    var nanoseconds: Int64 { components.seconds * 1_000_000_000 + components.attoseconds / 1_000_000_000 }
}

/// Keeps `concurrency` calls in flight (one loop per worker); latencies and counts are those of
/// calls completing inside the measured window [warmup, warmup + seconds).
func measure(
    transport: String, concurrency: Int, warmup: Double, seconds: Double,
    call: @escaping @Sendable () async throws -> Void
) async -> Point {
    let clock = ContinuousClock()
    let from = clock.now + .nanoseconds(Int64(warmup * 1e9))
    let end = from + .nanoseconds(Int64(seconds * 1e9))
    struct Worker: Sendable { var latencies: [Int64] = []; var errors = 0; var firstError: String? }
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
                        if failed { w.errors += 1 } else { w.latencies.append((t1 - t0).nanoseconds) }
                    }
                }
                return w
            }
        }
        var all: [Worker] = []
        for await w in group { all.append(w) }
        return all
    }
    var histogram = Histogram()
    for w in workers { for ns in w.latencies { histogram.record(ns) } }
    return Point(
        transport: transport, concurrency: concurrency, calls: histogram.count,
        errors: workers.reduce(0) { $0 + $1.errors }, elapsedS: seconds,
        callsPerS: Double(histogram.count) / seconds,
        p50Ms: histogram.percentile(50) / 1e6, p99Ms: histogram.percentile(99) / 1e6,
        firstError: workers.lazy.compactMap(\.firstError).first)
}

func securities(_ transport: String, pki: String?) -> (HTTP2ServerTransport.Posix.TransportSecurity, HTTP2ClientTransport.Posix.TransportSecurity) {
    guard transport == "tls", let pki else { return (.plaintext, .plaintext) }
    let roots: TLSConfig.TrustRootsSource = .certificates([.file(path: "\(pki)/infra-ca.pem", format: .pem)])
    let server: HTTP2ServerTransport.Posix.TransportSecurity = .mTLS(
        certificateChain: [.file(path: "\(pki)/core.pem", format: .pem)],
        privateKey: .file(path: "\(pki)/core.key", format: .pem)
    ) { $0.trustRoots = roots }
    let client: HTTP2ClientTransport.Posix.TransportSecurity = .mTLS(
        certificateChain: [.file(path: "\(pki)/edge-client.pem", format: .pem)],
        privateKey: .file(path: "\(pki)/edge-client.key", format: .pem)
    ) { $0.trustRoots = roots }
    return (server, client)
}

func run(transport: String, options: Options) async throws -> [Point] {
    let (serverSecurity, clientSecurity) = securities(transport, pki: options.pki)
    let serverTransport = HTTP2ServerTransport.Posix(
        address: .ipv4(host: "127.0.0.1", port: 0), transportSecurity: serverSecurity)
    let server = GRPCServer(transport: serverTransport, services: [EchoService()])
    return try await withThrowingTaskGroup(of: [Point].self) { group in
        group.addTask { try await server.serve(); return [] }
        guard let port = try await serverTransport.listeningAddress.ipv4?.port else {
            throw UsageError(message: "the gRPC server has no IPv4 listening address")
        }
        let client = GRPCClient(transport: try HTTP2ClientTransport.Posix(
            target: .ipv4(address: "127.0.0.1", port: port), transportSecurity: clientSecurity))
        group.addTask { try await client.runConnections(); return [] }

        let request = Payload.request()
        let call: @Sendable () async throws -> Void = {
            let response = try await client.unary(
                request: ClientRequest(message: request), descriptor: echoMethod,
                serializer: ProtobufSerializer<CoreRPC_TransmitApduBatchRequest>(),
                deserializer: ProtobufDeserializer<CoreRPC_TransmitApduBatchResponse>(),
                options: .defaults
            ) { try $0.message }
            guard response.responses.count == request.apdus.count else {
                throw UsageError(message: "echo returned \(response.responses.count) responses")
            }
        }
        try await call()
        var points: [Point] = []
        for concurrency in options.concurrencies {
            points.append(await measure(
                transport: transport, concurrency: concurrency, warmup: options.warmup, seconds: options.seconds, call: call))
        }
        client.beginGracefulShutdown()
        server.beginGracefulShutdown()
        for try await _ in group {}
        return points
    }
}

let options: Options
do {
    options = try Options.parse(Array(CommandLine.arguments.dropFirst()))
} catch {
    FileHandle.standardError.write(Data("rpc-peer: \(error)\n".utf8))
    exit(2)
}

do {
    var results: [Point] = []
    for transport in options.transports {
        results += try await run(transport: transport, options: options)
    }
    let encoder = JSONEncoder()
    encoder.keyEncodingStrategy = .convertToSnakeCase
    encoder.outputFormatting = [.sortedKeys]
    let output = Output(
        implementation: "grpc-swift 2.4.3, grpc-swift-nio-transport 2.9.2 (HTTP/2, swift-nio-ssl), grpc-swift-protobuf 2.4.1",
        results: results)
    print(String(decoding: try encoder.encode(output), as: UTF8.self))
} catch {
    FileHandle.standardError.write(Data("rpc-peer: \(error)\n".utf8))
    exit(1)
}
