import Logging

/// A log handler that writes every line through `upstream` with control characters escaped in the
/// message and in every metadata value (its own, the metadata provider's and the event's): text a
/// peer sent — an identity field, an error text from an SM-DP+, a header — can never start a line
/// of its own or rewrite one on a terminal. `\n`, `\r` and `\t` become those two-character
/// escapes; other C0 and C1 controls, DEL, U+2028 and U+2029 become `\u{XX}`.
///
/// `upstream` receives the merged metadata with each event; its own metadata and provider stay empty.
public struct EscapingLogHandler<Upstream: LogHandler>: LogHandler {
    private var upstream: Upstream
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(_ upstream: Upstream, metadataProvider: Logger.MetadataProvider? = nil) {
        self.upstream = upstream
        self.metadata = upstream.metadata
        self.metadataProvider = metadataProvider
        self.upstream.metadata = [:]
    }

    public var logLevel: Logger.Level {
        get { upstream.logLevel }
        set { upstream.logLevel = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let own = event.metadata { merged.merge(own) { _, new in new } }
        var escaped = event
        escaped.message = Logger.Message(stringLiteral: Self.escape(event.message.description))
        escaped.metadata = merged.isEmpty ? nil : merged.mapValues(Self.escape)
        upstream.log(event: escaped)
    }

    /// `value` with every string in it escaped.
    static func escape(_ value: Logger.Metadata.Value) -> Logger.Metadata.Value {
        switch value {
        case .string(let s):
            return .string(escape(s))
        case .stringConvertible(let c):
            return .string(escape(c.description))
        case .array(let values):
            return .array(values.map(escape))
        case .dictionary(let d):
            return .dictionary(d.mapValues(escape))
        }
    }

    /// `text` with control characters escaped; unchanged (no copy) when it has none.
    public static func escape(_ text: String) -> String {
        guard text.unicodeScalars.contains(where: isControl) else { return text }
        var out = String.UnicodeScalarView()
        for scalar in text.unicodeScalars {
            guard isControl(scalar) else {
                out.append(scalar)
                continue
            }
            let escape: String
            switch scalar {
            case "\n": escape = "\\n"
            case "\r": escape = "\\r"
            case "\t": escape = "\\t"
            default: escape = "\\u{\(String(scalar.value, radix: 16, uppercase: true))}"
            }
            out.append(contentsOf: escape.unicodeScalars)
        }
        return String(out)
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.value {
        case 0x00...0x1F, 0x7F...0x9F, 0x2028, 0x2029: return true
        default: return false
        }
    }
}

/// How ServerLPA's processes set up logging: one line per event on standard error, control
/// characters escaped (``EscapingLogHandler``), at `level`.
public enum ProcessLogging {
    public static func bootstrap(level: Logger.Level) {
        LoggingSystem.bootstrap { label in
            var handler = EscapingLogHandler(StreamLogHandler.standardError(label: label))
            handler.logLevel = level
            return handler
        }
    }
}
