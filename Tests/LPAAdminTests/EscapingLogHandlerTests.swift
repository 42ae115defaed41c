import LPAMetricsExport
import Logging
import NIOConcurrencyHelpers
import XCTest

/// Every log line is one line: control characters in messages and in metadata from any source are
/// escaped before the line is written.
final class EscapingLogHandlerTests: XCTestCase {
    /// Keeps what it is asked to log.
    struct Recorder: LogHandler {
        let events: NIOLockedValueBox<[LogEvent]>
        var metadata: Logger.Metadata = [:]
        var logLevel: Logger.Level = .trace
        subscript(metadataKey key: String) -> Logger.Metadata.Value? {
            get { metadata[key] }
            set { metadata[key] = newValue }
        }
        func log(event: LogEvent) { events.withLockedValue { $0.append(event) } }
    }

    func testControlCharactersAreEscapedEverywhere() throws {
        let events = NIOLockedValueBox<[LogEvent]>([])
        let provider = Logger.MetadataProvider { ["trace": "a\rb"] }
        var logger = Logger(label: "t") { _ in EscapingLogHandler(Recorder(events: events), metadataProvider: provider) }
        logger[metadataKey: "eid"] = "8904\nlevel=critical forged"
        logger.notice("refused \u{1B}[2Jterminal\u{2028}x", metadata: [
            "list": .array(["ok", "bad\u{0}"]),
            "map": .dictionary(["k": "\u{85}v"]),
            "described": .stringConvertible(42),
            "tab": "a\tb",
        ])
        let event = try XCTUnwrap(events.withLockedValue { $0.first })
        XCTAssertEqual(event.message.description, "refused \\u{1B}[2Jterminal\\u{2028}x")
        let metadata = try XCTUnwrap(event.metadata)
        XCTAssertEqual(metadata["eid"], .string("8904\\nlevel=critical forged"))
        XCTAssertEqual(metadata["trace"], .string("a\\rb"))
        XCTAssertEqual(metadata["list"], .array([.string("ok"), .string("bad\\u{0}")]))
        XCTAssertEqual(metadata["map"], .dictionary(["k": .string("\\u{85}v")]))
        XCTAssertEqual(metadata["described"], .string("42"))
        XCTAssertEqual(metadata["tab"], .string("a\\tb"))
        let line = "\(event.message) \(metadata)"
        XCTAssertFalse(line.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) || $0 == "\u{2028}" })
    }

    func testPlainTextIsUnchanged() {
        XCTAssertEqual(EscapingLogHandler<Recorder>.escape("plain ü text ✓"), "plain ü text ✓")
    }
}
