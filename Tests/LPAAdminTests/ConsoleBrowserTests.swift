import Foundation
import XCTest

/// The operator console in a real browser: starts `lpa-sim demo --keep` (SM-DP+ simulator, lpa-core with
/// its console, lpa-edge and a simulated fleet, as separate processes from this test, unprivileged when
/// run as root) and runs `Tests/ConsoleBrowser/console_test.py`, which drives headless Chromium through
/// Selenium: sign-in, the fleet, a device, a campaign run to completion, pause and resume, a read
/// token's refused action, a library edit's field error. Screenshots go to `.build/console-screenshots`.
///
/// Needs `chromium`, `chromium-driver` and a Python with Selenium (`.ci/run` makes `.build/console-venv`;
/// `LPA_CONSOLE_PYTHON` names another). Without them the test is skipped, except under `CI=true`,
/// where it fails.
final class ConsoleBrowserTests: XCTestCase {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let terminals = 12

    func testConsoleInHeadlessChromiumAgainstTheDemo() async throws {
        let environment = ProcessInfo.processInfo.environment
        let python = environment["LPA_CONSOLE_PYTHON"] ?? Self.repository.appendingPathComponent(".build/console-venv/bin/python").path
        let chromium = environment["LPA_CONSOLE_CHROMIUM"] ?? "/usr/bin/chromium"
        let chromedriver = environment["LPA_CONSOLE_CHROMEDRIVER"] ?? "/usr/bin/chromedriver"
        var missing = [python, chromium, chromedriver].filter { !FileManager.default.isExecutableFile(atPath: $0) }
        if missing.isEmpty, try await Self.run(python, ["-c", "import selenium"]).status != 0 { missing.append("selenium (for \(python))") }
        if !missing.isEmpty {
            let message = "the browser test needs \(missing.joined(separator: ", ")) (.ci/run installs chromium, chromium-driver and a venv with selenium)"
            if environment["CI"] == "true" {
                XCTFail(message)
                return
            }
            throw XCTSkip(message)
        }
        let lpaSim = Bundle.main.bundleURL.appendingPathComponent("lpa-sim").path
        XCTAssertTrue(FileManager.default.isExecutableFile(atPath: lpaSim), "build lpa-sim first (swift build --build-tests)")

        let workdir = FileManager.default.temporaryDirectory.appendingPathComponent("lpa-console-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: workdir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: workdir) }
        let demoArguments = [lpaSim, "demo", "--terminals", "\(Self.terminals)", "--workdir", workdir.path, "--keep", "--admin-port", "0"]
        let demo = Process()
        if getuid() == 0 {
            // As production runs it: the servers as an unprivileged user.
            try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: workdir.path)
            demo.executableURL = URL(fileURLWithPath: "/usr/sbin/runuser")
            demo.arguments = ["-u", "nobody", "--"] + demoArguments
        } else {
            demo.executableURL = URL(fileURLWithPath: lpaSim)
            demo.arguments = Array(demoArguments.dropFirst())
        }
        let output = Pipe()
        demo.standardOutput = output
        demo.standardError = FileHandle.standardError
        let lines = Self.lines(of: output.fileHandleForReading)
        try demo.run()
        defer {
            if demo.isRunning {
                kill(demo.processIdentifier, SIGTERM)
                demo.waitUntilExit()
            }
        }
        // The demo provisions its fleet, then says it keeps running: everything the test needs is printed by then.
        let watchdog = Task {
            try await Task.sleep(for: .seconds(300))
            if demo.isRunning { kill(demo.processIdentifier, SIGTERM) }
        }
        defer { watchdog.cancel() }
        var printed: [String] = []
        for await line in lines {
            printed.append(line)
            if line.hasPrefix("keeping the demo running") { break }
        }
        let text = printed.joined(separator: "\n")
        func value(after prefix: String) -> String? {
            printed.first { $0.hasPrefix(prefix) }.map { String($0.dropFirst(prefix.count)).trimmingCharacters(in: .whitespaces) }
        }
        guard let console = value(after: "console:"), let admin = value(after: "token (admin):"), let read = value(after: "token (read):"),
              let smdp = text.range(of: #"SM-DP\+ simulator on ([0-9.]+:[0-9]+)"#, options: .regularExpression).map({ String(text[$0].split(separator: " ").last!) })
        else {
            return XCTFail("the demo did not print its console URL, tokens and SM-DP+ address:\n\(text)")
        }
        XCTAssertTrue(text.contains("provisioned (device back on the new profile)  \(Self.terminals)"), text)

        let screenshots = Self.repository.appendingPathComponent(".build/console-screenshots").path
        let result = try await Self.run(python, [
            Self.repository.appendingPathComponent("Tests/ConsoleBrowser/console_test.py").path,
            "--url", console, "--admin-token", admin, "--read-token", read, "--smdp", smdp,
            "--terminals", "\(Self.terminals)", "--screenshots", screenshots, "--chromium", chromium, "--chromedriver", chromedriver,
        ])
        XCTAssertEqual(result.status, 0, "console_test.py failed:\n\(result.output)")
        XCTAssertTrue(result.output.contains("all console steps passed"), result.output)
        for page in ["fleet", "device", "campaign-completed", "campaign-paused", "jobs", "libraries-field-error", "campaign-read-only"] {
            XCTAssertTrue(FileManager.default.fileExists(atPath: "\(screenshots)/\(page).png"), "screenshot \(page).png")
        }
    }

    /// Lines written to `handle`, until it reaches end of file.
    static func lines(of handle: FileHandle) -> AsyncStream<String> {
        AsyncStream { continuation in
            let pending = LockedData()
            handle.readabilityHandler = { handle in
                let data = handle.availableData
                guard !data.isEmpty else {
                    handle.readabilityHandler = nil
                    continuation.finish()
                    return
                }
                let complete: [String] = pending.withLockedValue { buffer in
                    buffer.append(data)
                    var found: [String] = []
                    while let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) {
                        found.append(String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self))
                        buffer.removeSubrange(buffer.startIndex...newline)
                    }
                    return found
                }
                // Progress lines end in carriage returns; keep the last part of each.
                for line in complete { continuation.yield(line.split(separator: "\r").last.map(String.init) ?? "") }
            }
        }
    }

    /// Runs a program to its end; its standard output and error together.
    static func run(_ program: String, _ arguments: [String]) async throws -> (status: Int32, output: String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: program)
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let collected = LockedData()
        let finished = AsyncStream<Void> { continuation in
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    continuation.finish()
                } else {
                    collected.withLockedValue { $0.append(data) }
                }
            }
        }
        try process.run()
        for await _ in finished {}
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: collected.withLockedValue { $0 }, as: UTF8.self))
    }
}

/// Bytes shared between a pipe's reading handler and the test.
private final class LockedData: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()

    func withLockedValue<T>(_ body: (inout Data) -> T) -> T {
        lock.lock()
        defer { lock.unlock() }
        return body(&data)
    }
}
