import Foundation
import LPAEdge
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import XCTest

/// The `lpa-edge` executable under a small open-file limit (`ulimit -n`): its connection cap is
/// derived from the limit, so connections beyond it are refused on accept instead of the process
/// running out of descriptors; a configured cap above the limit is warned about.
final class EdgeOpenFileLimitTests: XCTestCase {
    static let openFiles = 160

    func startEdge(extraConfig: String? = nil) throws -> (process: Process, stderr: AsyncStream<String>) {
        let binary = Bundle.main.bundleURL.appendingPathComponent("lpa-edge").path
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw XCTSkip("build lpa-edge first (swift build --build-tests)")
        }
        var arguments = [binary, "--listen", "127.0.0.1:0", "--pki", EdgeIntegrationTests.pkiDirectory.path, "--metrics", "off"]
        if let extraConfig {
            let file = FileManager.default.temporaryDirectory.appendingPathComponent("edge-\(UUID().uuidString).yaml")
            try extraConfig.write(to: file, atomically: true, encoding: .utf8)
            arguments += ["--config", file.path]
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/bash")
        process.arguments = ["-c", "ulimit -n \(Self.openFiles) && exec \"$@\"", "edge"] + arguments
        let pipe = Pipe()
        process.standardError = pipe
        process.standardOutput = FileHandle.nullDevice
        let lines = AsyncStream<String> { continuation in
            let buffer = NIOLockedValueBox(Data())
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let chunk = handle.availableData
                if chunk.isEmpty {
                    handle.readabilityHandler = nil
                    continuation.finish()
                    return
                }
                let complete = buffer.withLockedValue { data -> [String] in
                    data.append(chunk)
                    var out: [String] = []
                    while let newline = data.firstIndex(of: 0x0A) {
                        out.append(String(decoding: data[data.startIndex..<newline], as: UTF8.self))
                        data.removeSubrange(data.startIndex...newline)
                    }
                    return out
                }
                for line in complete { continuation.yield(line) }
            }
        }
        try process.run()
        return (process, lines)
    }

    /// The "lpa-edge listening" line and the lines before it.
    func waitForListening(_ lines: AsyncStream<String>) async throws -> (listening: String, before: [String]) {
        var before: [String] = []
        for await line in lines {
            if line.contains("lpa-edge listening") { return (line, before) }
            before.append(line)
        }
        XCTFail("lpa-edge exited before listening:\n\(before.joined(separator: "\n"))")
        throw WaitTimeout(what: "lpa-edge listening")
    }

    static func value(_ key: String, in line: String) -> String? {
        guard let range = line.range(of: #"\b\#(key)=\S+"#, options: .regularExpression) else { return nil }
        return String(line[range].dropFirst(key.count + 1))
    }

    func testConnectionsBeyondTheDerivedCapAreRefusedOnAccept() async throws {
        let (process, lines) = try startEdge()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let (listening, _) = try await waitForListening(lines)
        let reserve = EdgeConfiguration.Limits.reservedFileDescriptors(openFiles: Self.openFiles)
        let cap = Self.openFiles - reserve
        XCTAssertEqual(Self.value("max_connections", in: listening), "\(cap)", listening)
        let portText = try XCTUnwrap(Self.value("address", in: listening)?.split(separator: ":").last, listening)
        let port = try XCTUnwrap(Int(portText.filter(\.isNumber)))

        // One address opens more connections than the cap and than the process has descriptors for.
        let attempts = Self.openFiles + 20
        let closed = NIOLockedValueBox(0)
        var channels: [Channel] = []
        for _ in 0..<attempts {
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connect(host: "127.0.0.1", port: port).get()
            channel.closeFuture.whenComplete { _ in closed.withLockedValue { $0 += 1 } }
            channels.append(channel)
        }
        defer { for channel in channels { channel.close(promise: nil) } }
        try await eventually("every connection beyond the cap refused") { closed.withLockedValue { $0 } >= attempts - cap }
        XCTAssertEqual(closed.withLockedValue { $0 }, attempts - cap, "the connections within the cap stay open")
        XCTAssertTrue(process.isRunning)
    }

    func testACapAboveTheOpenFileLimitIsWarnedAbout() async throws {
        let (process, lines) = try startEdge(extraConfig: "limits:\n  maxConnections: 5000\n")
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        let (listening, before) = try await waitForListening(lines)
        XCTAssertEqual(Self.value("max_connections", in: listening), "5000")
        let warning = before.first { $0.contains("limits.maxConnections 5000 exceeds") }
        XCTAssertNotNil(warning, before.joined(separator: "\n"))
        XCTAssertTrue(warning?.contains("open-file limit of \(Self.openFiles)") ?? false, warning ?? "")
    }
}
