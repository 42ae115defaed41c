import LPATLS

/// Where PEM material (certificates or a private key) for an operator connection comes from.
/// In configuration files it is `{ file: /path/to.pem }` or `{ pem: "-----BEGIN …" }`.
/// Its description never shows inline PEM text, so keys do not reach logs.
public enum OperatorPEM: Sendable, Equatable, Codable, CustomStringConvertible, CustomDebugStringConvertible {
    case file(String)
    case pem(String)

    private enum CodingKeys: String, CodingKey {
        case file
        case pem
    }

    public init(from decoder: Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let file = try container.decodeIfPresent(String.self, forKey: .file)
        let pem = try container.decodeIfPresent(String.self, forKey: .pem)
        switch (file, pem) {
        case (let file?, nil): self = .file(file)
        case (nil, let pem?): self = .pem(pem)
        default:
            throw DecodingError.dataCorrupted(.init(
                codingPath: decoder.codingPath, debugDescription: "give exactly one of 'file' or 'pem'"))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .file(let path): try container.encode(path, forKey: .file)
        case .pem(let text): try container.encode(text, forKey: .pem)
        }
    }

    /// The TLS layer's form of the same source.
    public var source: TLSConfiguration.PEMSource {
        switch self {
        case .file(let path): return .file(path)
        case .pem(let text): return .pem(text)
        }
    }

    public var description: String {
        switch self {
        case .file(let path): return "file(\(path))"
        case .pem(let text): return "pem(\(text.utf8.count) bytes)"
        }
    }

    public var debugDescription: String { description }
}
